"""The chaincode servers: one Deployment and Service per chaincode on port 7052, package id, TLS files, probes."""

from __future__ import annotations

from tests.deploy.chart import RELEASE, container, env, mounted_files, pod_spec, render_example

ORG1 = "distributed-org-1.yaml"
ORG2 = "distributed-org-2.yaml"
MYCC = f"{RELEASE}-chaincode-mycc"
TLS_DIR = "/etc/orchestrator-chaincode/tls"


def test_each_chaincode_gets_a_deployment_and_a_service_on_port_7052() -> None:
    rendered = render_example(ORG1)
    names = [f"{RELEASE}-chaincode-mycc", f"{RELEASE}-chaincode-yourcc"]
    assert rendered.names("Deployment") == sorted(names)  # the gateway is a StatefulSet in fabric mode
    for name in names:
        deployment = rendered.get("Deployment", name)
        assert deployment["spec"]["replicas"] == 1
        assert container(deployment)["ports"] == [{"name": "chaincode", "containerPort": 7052, "protocol": "TCP"}]
        assert env(deployment)["CHAINCODE_SERVER_ADDRESS"] == "0.0.0.0:7052"
        service = rendered.get("Service", name)
        assert service["spec"]["type"] == "ClusterIP"
        assert service["spec"]["ports"] == [
            {"name": "chaincode", "port": 7052, "targetPort": "chaincode", "protocol": "TCP", "appProtocol": "grpc"}
        ]
        assert service["spec"]["selector"]["orchestrator.substra.org/chaincode"] == name.rsplit("-", 1)[1]


def test_chaincode_id_comes_from_an_existing_secret_as_hlf_k8s_hands_it_out() -> None:
    chaincode_id = env(render_example(ORG1).get("Deployment", MYCC))["CHAINCODE_ID"]
    assert chaincode_id == {"secretKeyRef": {"name": "chaincode-ccid-mycc-1.0", "key": "ccid"}}


def test_chaincode_id_secret_key_defaults_to_ccid() -> None:
    values = {
        "chaincodes": [{"name": "mycc", "idSecret": {"name": "ids"}}, {"name": "yourcc", "idSecret": {"name": "ids"}}]
    }
    chaincode_id = env(render_example(ORG1, values).get("Deployment", MYCC))["CHAINCODE_ID"]
    assert chaincode_id == {"secretKeyRef": {"name": "ids", "key": "ccid"}}


def test_chaincode_id_comes_from_the_value() -> None:
    chaincode = render_example(ORG2).get("Deployment", MYCC)
    assert env(chaincode)["CHAINCODE_ID"] == "mycc_1.0:5f1cbd7a8b9a2c6a4e3f2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a"


def test_chaincode_tls_files_come_from_the_organization_tls_pair_and_ca() -> None:
    rendered = render_example(ORG1)
    chaincode = rendered.get("Deployment", MYCC)
    variables = env(chaincode)
    files = mounted_files(rendered, chaincode)
    assert files[variables["CHAINCODE_TLS_CERT_FILE"]] == ("Secret", "hlf-tls-user", "tls.crt")
    assert files[variables["CHAINCODE_TLS_KEY_FILE"]] == ("Secret", "hlf-tls-user", "tls.key")
    assert files[variables["CHAINCODE_TLS_CLIENT_CACERT_FILE"]] == ("Secret", "hlf-cacert", "cacert.pem")
    assert set(files) == {f"{TLS_DIR}/tls.crt", f"{TLS_DIR}/tls.key", f"{TLS_DIR}/client-ca.crt"}
    assert "CHAINCODE_TLS_DISABLED" not in variables


def test_chaincode_without_client_ca_does_not_require_client_certificates() -> None:
    rendered = render_example(ORG1, {"chaincode": {"tls": {"clientCA": None}}})
    chaincode = rendered.get("Deployment", MYCC)
    assert "CHAINCODE_TLS_CLIENT_CACERT_FILE" not in env(chaincode)
    assert f"{TLS_DIR}/client-ca.crt" not in mounted_files(rendered, chaincode)


def test_chaincode_without_tls_says_so_and_mounts_no_secret() -> None:
    rendered = render_example(ORG1, {"chaincode": {"tls": {"enabled": False}}})
    chaincode = rendered.get("Deployment", MYCC)
    variables = env(chaincode)
    assert variables["CHAINCODE_TLS_DISABLED"] == "true"
    assert (
        not {"CHAINCODE_TLS_CERT_FILE", "CHAINCODE_TLS_KEY_FILE", "CHAINCODE_TLS_CLIENT_CACERT_FILE"} & variables.keys()
    )
    assert mounted_files(rendered, chaincode) == {}


def test_chaincode_probes_connect_to_the_chaincode_port() -> None:
    chaincode = container(render_example(ORG1).get("Deployment", MYCC))
    for probe in ("livenessProbe", "readinessProbe"):
        assert chaincode[probe]["tcpSocket"] == {"port": "chaincode"}
        assert not {"grpc", "httpGet", "exec"} & chaincode[probe].keys()


def test_chaincode_log_level_and_extra_env_reach_the_server() -> None:
    values = {"chaincode": {"logLevel": "DEBUG", "extraEnv": [{"name": "EXTRA", "value": "1"}]}}
    variables = env(render_example(ORG1, values).get("Deployment", MYCC))
    assert variables["LOG_LEVEL"] == "DEBUG"
    assert variables["EXTRA"] == "1"


def test_chaincode_port_follows_the_values() -> None:
    rendered = render_example(ORG1, {"chaincode": {"port": 9999}})
    assert env(rendered.get("Deployment", MYCC))["CHAINCODE_SERVER_ADDRESS"] == "0.0.0.0:9999"
    assert rendered.get("Service", MYCC)["spec"]["ports"][0]["port"] == 9999


def test_chaincode_names_become_valid_object_names() -> None:
    values = {
        "channels": [{"name": "mychannel", "organizations": ["MyOrg1MSP"], "chaincodes": ["My_CC"]}],
        "chaincodes": [{"name": "My_CC", "idSecret": {"name": "ids"}}],
    }
    rendered = render_example(ORG1, values)
    deployment = rendered.get("Deployment", f"{RELEASE}-chaincode-my-cc")
    assert deployment["metadata"]["labels"]["orchestrator.substra.org/chaincode"] == "My_CC"


def test_chaincodes_are_not_deployed_when_they_run_elsewhere() -> None:
    rendered = render_example(ORG1, {"chaincode": {"enabled": False}, "chaincodes": []})
    assert rendered.names("Deployment") == []
    assert rendered.names("StatefulSet") == [f"{RELEASE}-gateway"]
    assert len(rendered.of_kind("Job")) == 2


def test_chaincode_network_policy_opens_only_the_chaincode_port() -> None:
    peers = [{"podSelector": {"matchLabels": {"app": "hlf-peer"}}}]
    rendered = render_example(ORG1, {"networkPolicy": {"enabled": True, "chaincodeFrom": peers}})
    policy = rendered.get("NetworkPolicy", f"{RELEASE}-chaincode")
    assert policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "chaincode"
    assert policy["spec"]["ingress"] == [{"ports": [{"port": "chaincode", "protocol": "TCP"}], "from": peers}]


def test_chaincode_pods_share_the_pod_hardening() -> None:
    spec = pod_spec(render_example(ORG1).get("Deployment", MYCC))
    assert spec["securityContext"]["runAsUser"] == 10001
    assert spec["enableServiceLinks"] is False
