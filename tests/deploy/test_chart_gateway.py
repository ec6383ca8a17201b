"""The gateway: ports, probes, environment, configuration file, mounted secrets, metrics, exposure."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from orchestrator.gateway.config import load_config
from tests.deploy.chart import (
    EXAMPLES,
    RELEASE,
    Manifest,
    Rendered,
    container,
    env,
    example,
    gateway_config,
    mounted_files,
    pod_spec,
    render,
    render_example,
)

GATEWAY = f"{RELEASE}-gateway"
ORG1 = "distributed-org-1.yaml"
ORG2 = "distributed-org-2.yaml"
EMBEDDED = "embedded.yaml"
NO_TLS = {"gateway": {"tls": {"enabled": False, "clientAuth": {"enabled": False}}}}
PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def _gateway(rendered: Rendered) -> Manifest:
    """The gateway's controller: a StatefulSet in fabric mode, a Deployment in embedded mode."""
    kinds = {m["kind"] for m in rendered.manifests if m["metadata"]["name"] == GATEWAY}
    return rendered.get("StatefulSet" if "StatefulSet" in kinds else "Deployment", GATEWAY)


def test_gateway_serves_grpc_on_9000_and_metrics_on_9090() -> None:
    rendered = render_example(ORG1)
    gateway = _gateway(rendered)
    ports = {port["name"]: port["containerPort"] for port in container(gateway)["ports"]}
    assert ports == {"grpc": 9000, "metrics": 9090}
    assert env(gateway)["ORCHESTRATOR_LISTEN"] == "0.0.0.0:9000"
    assert env(gateway)["ORCHESTRATOR_METRICS_LISTEN"] == "0.0.0.0:9090"
    service = rendered.get("Service", GATEWAY)
    assert {(p["name"], p["port"], p["targetPort"]) for p in service["spec"]["ports"]} == {
        ("grpc", 9000, "grpc"),
        ("metrics", 9090, "metrics"),
    }
    assert next(p for p in service["spec"]["ports"] if p["name"] == "grpc")["appProtocol"] == "grpc"


def test_gateway_ports_follow_the_values() -> None:
    gateway = _gateway(render({"gateway": {"grpcPort": 50051, "metricsPort": 8484}}))
    assert env(gateway)["ORCHESTRATOR_LISTEN"] == "0.0.0.0:50051"
    assert env(gateway)["ORCHESTRATOR_METRICS_LISTEN"] == "0.0.0.0:8484"
    assert container(gateway)["readinessProbe"]["grpc"] == {"port": 50051}


def test_gateway_probes_use_grpc_health_when_tls_is_off() -> None:
    gateway = container(_gateway(render_example(ORG1, NO_TLS)))
    for probe in ("startupProbe", "livenessProbe"):  # a failed ledger drops readiness, it needs no restart
        assert gateway[probe]["grpc"] == {"port": 9000, "service": "liveness"}, probe
    assert gateway["readinessProbe"]["grpc"] == {"port": 9000}
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert "httpGet" not in gateway[probe]


def test_gateway_probes_use_http_healthz_and_readyz_when_tls_is_on() -> None:
    gateway = container(_gateway(render_example(ORG1)))
    assert gateway["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    assert gateway["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    assert gateway["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
    assert all("grpc" not in gateway[probe] for probe in ("startupProbe", "livenessProbe", "readinessProbe"))


def test_gateway_environment_names_mode_config_data_dir_and_logging() -> None:
    variables = env(_gateway(render_example(ORG1)))
    assert variables["ORCHESTRATOR_MODE"] == "fabric"
    assert variables["ORCHESTRATOR_CONFIG"] == "/etc/orchestrator/config/config.yaml"
    assert variables["ORCHESTRATOR_DATA_DIR"] == "/var/lib/orchestrator"
    assert variables["ORCHESTRATOR_LOG_LEVEL"] == "INFO"
    assert variables["ORCHESTRATOR_LOG_FORMAT"] == "json"
    assert variables["ORCHESTRATOR_GRACE_PERIOD"] == "20"
    assert "ORCHESTRATOR_MAX_MESSAGE_SIZE" not in variables
    assert (
        env(_gateway(render({"gateway": {"maxMessageSize": 16777216}})))["ORCHESTRATOR_MAX_MESSAGE_SIZE"] == "16777216"
    )


def test_limits_and_failover_reach_the_gateway_which_accepts_them(tmp_path: Path) -> None:
    limits = {"maxLedgers": 3, "maxResponseBytes": "2MiB", "subscriberBufferBytes": 1048576,
              "ledgerCacheBytes": "64MiB", "eventCacheBytes": "512KiB"}
    rendered = render_example(ORG1, {"gateway": {"limits": limits, "fabricFailover": False}})
    variables = {key: str(value) for key, value in env(_gateway(rendered)).items()}
    assert variables["ORCHESTRATOR_MAX_LEDGERS"] == "3"
    assert variables["ORCHESTRATOR_SUBSCRIBER_BUFFER_BYTES"] == "1048576"  # an integer, not 1.048576e+06
    assert variables["ORCHESTRATOR_FABRIC_FAILOVER"] == "off"
    config_file = tmp_path / "config.yaml"
    config_file.write_text(rendered.get("ConfigMap", GATEWAY)["data"]["config.yaml"])
    config = load_config([], {**variables, "ORCHESTRATOR_CONFIG": str(config_file)})
    assert (config.max_ledgers, config.max_response_bytes, config.subscriber_buffer_bytes, config.ledger_cache_bytes,
            config.event_cache_bytes) == (3, 2 * 1024**2, 1024**2, 64 * 1024**2, 512 * 1024)
    assert config.fabric_failover is False


def test_unset_limits_keep_the_gateway_defaults_and_failover_is_on_in_fabric_mode() -> None:
    fabric = env(_gateway(render_example(ORG1)))
    embedded = env(_gateway(render_example(EMBEDDED)))
    limit_variables = {"ORCHESTRATOR_MAX_LEDGERS", "ORCHESTRATOR_MAX_RESPONSE_BYTES",
                       "ORCHESTRATOR_SUBSCRIBER_BUFFER_BYTES", "ORCHESTRATOR_LEDGER_CACHE_BYTES",
                       "ORCHESTRATOR_EVENT_CACHE_BYTES"}
    assert not limit_variables & (set(fabric) | set(embedded))
    assert fabric["ORCHESTRATOR_FABRIC_FAILOVER"] == "on"
    assert "ORCHESTRATOR_FABRIC_FAILOVER" not in embedded


def test_termination_grace_outlasts_the_gateway_grace_period() -> None:
    gateway = _gateway(render({"gateway": {"gracePeriodSeconds": 45}}))
    assert env(gateway)["ORCHESTRATOR_GRACE_PERIOD"] == "45"
    assert pod_spec(gateway)["terminationGracePeriodSeconds"] > 45


def test_gateway_config_file_lists_channels_and_the_organization_identity_and_peers() -> None:
    config = gateway_config(render_example(ORG1))
    assert config["channels"] == {
        "mychannel": {"organizations": ["MyOrg1MSP", "MyOrg2MSP"], "chaincodes": ["mycc"]},
        "yourchannel": {"organizations": ["MyOrg1MSP"], "chaincodes": ["yourcc"]},
    }
    assert list(config["organizations"]) == ["MyOrg1MSP"]
    organization = config["organizations"]["MyOrg1MSP"]
    assert set(organization["identity"]) == {"certificate", "key"}
    (peer,) = organization["peers"]
    assert peer["address"] == "network-org-1-peer-1-hlf-peer.org-1.svc.cluster.local:7051"
    assert set(peer) == {"address", "tls_ca", "tls_client_certificate", "tls_client_key"}


def test_peer_server_name_override_and_plain_peer_tls_reach_the_config() -> None:
    values = {
        "fabric": {
            "peers": [{"address": "peer0:7051", "serverNameOverride": "peer0.org1.example.com"}],
            "peerTLS": {"clientAuth": {"enabled": False}},
        }
    }
    (peer,) = gateway_config(render_example(ORG1, values))["organizations"]["MyOrg1MSP"]["peers"]
    assert peer["server_name_override"] == "peer0.org1.example.com"
    assert "tls_client_certificate" not in peer and "tls_client_key" not in peer


def test_every_file_named_by_the_gateway_config_is_mounted_from_the_hlf_k8s_secrets() -> None:
    rendered = render_example(ORG1)
    files = mounted_files(rendered, _gateway(rendered))
    organization = gateway_config(rendered)["organizations"]["MyOrg1MSP"]
    (peer,) = organization["peers"]
    assert files[organization["identity"]["certificate"]] == ("Secret", "hlf-msp-cert-user", "cert.pem")
    assert files[organization["identity"]["key"]] == ("Secret", "hlf-msp-key-user", "key.pem")
    assert files[peer["tls_ca"]] == ("Secret", "hlf-cacert", "cacert.pem")
    assert files[peer["tls_client_certificate"]] == ("Secret", "hlf-tls-user", "tls.crt")
    assert files[peer["tls_client_key"]] == ("Secret", "hlf-tls-user", "tls.key")
    assert files[env(_gateway(rendered))["ORCHESTRATOR_CONFIG"]] == ("ConfigMap", GATEWAY, "config.yaml")


def test_gateway_tls_and_mutual_tls_files_are_mounted_where_the_env_points() -> None:
    rendered = render_example(ORG1)
    files = mounted_files(rendered, _gateway(rendered))
    variables = env(_gateway(rendered))
    assert files[variables["ORCHESTRATOR_TLS_CERT"]] == ("Secret", "orchestrator-gateway-tls", "tls.crt")
    assert files[variables["ORCHESTRATOR_TLS_KEY"]] == ("Secret", "orchestrator-gateway-tls", "tls.key")
    (client_ca,) = variables["ORCHESTRATOR_TLS_CLIENT_CA"].split(",")
    assert files[client_ca] == ("Secret", "hlf-cacert", "cacert.pem")
    (org_ca,) = variables["ORCHESTRATOR_ORG_CA"].split(",")
    mspid, path = org_ca.split("=")
    assert mspid == "MyOrg1MSP"
    assert files[path] == ("Secret", "hlf-cacert", "cacert.pem")


def test_several_client_and_organization_cas_are_comma_separated() -> None:
    cas = [{"secretName": "ca-a", "key": "ca.crt"}, {"secretName": "ca-b", "key": "ca.crt"}]
    org_cas = [
        {"mspid": "MyOrg1MSP", "certificate": {"secretName": "ca-a", "key": "ca.crt"}},
        {"mspid": "MyOrg2MSP", "certificate": {"secretName": "ca-b", "key": "ca.crt"}},
    ]
    values = {"gateway": {"tls": {"clientAuth": {"cas": cas, "orgCAs": org_cas}}}}
    rendered = render_example(ORG1, values)
    files = mounted_files(rendered, _gateway(rendered))
    variables = env(_gateway(rendered))
    assert [files[path][1] for path in variables["ORCHESTRATOR_TLS_CLIENT_CA"].split(",")] == ["ca-a", "ca-b"]
    pairs = dict(pair.split("=") for pair in variables["ORCHESTRATOR_ORG_CA"].split(","))
    assert {mspid: files[path][1] for mspid, path in pairs.items()} == {"MyOrg1MSP": "ca-a", "MyOrg2MSP": "ca-b"}


def test_without_tls_no_tls_variable_nor_file_is_given() -> None:
    rendered = render_example(ORG1, NO_TLS)
    variables = env(_gateway(rendered))
    assert not {
        "ORCHESTRATOR_TLS_CERT",
        "ORCHESTRATOR_TLS_KEY",
        "ORCHESTRATOR_TLS_CLIENT_CA",
        "ORCHESTRATOR_ORG_CA",
    } & (variables.keys())
    assert not any(path.startswith("/etc/orchestrator/tls") for path in mounted_files(rendered, _gateway(rendered)))


def test_tls_without_client_auth_sets_no_client_ca() -> None:
    values = {"gateway": {"tls": {"clientAuth": {"enabled": False}}}}
    variables = env(_gateway(render_example(ORG1, values)))
    assert "ORCHESTRATOR_TLS_CERT" in variables
    assert "ORCHESTRATOR_TLS_CLIENT_CA" not in variables and "ORCHESTRATOR_ORG_CA" not in variables


def test_inline_pem_values_are_stored_in_a_chart_secret_and_mounted() -> None:
    values = {"gateway": {"tls": {"certificate": {"value": PEM}, "key": {"value": PEM.replace("CERTIFICATE", "KEY")}}}}
    rendered = render_example(ORG1, values)
    secret = rendered.get("Secret", f"{RELEASE}-files")
    files = mounted_files(rendered, _gateway(rendered))
    kind, name, key = files[env(_gateway(rendered))["ORCHESTRATOR_TLS_CERT"]]
    assert (kind, name) == ("Secret", f"{RELEASE}-files")
    assert base64.b64decode(secret["data"][key]).decode() == PEM


def test_no_chart_secret_when_every_file_comes_from_existing_secrets() -> None:
    assert not render_example(ORG1).of_kind("Secret")


def test_gateway_pods_roll_when_the_configuration_changes() -> None:
    def checksum(values: dict[str, Any]) -> str:
        return _gateway(render_example(ORG1, values))["spec"]["template"]["metadata"]["annotations"]["checksum/config"]

    assert checksum({}) == checksum({})
    assert checksum({}) != checksum(
        {"channels": [{"name": "mychannel", "organizations": ["MyOrg1MSP"], "chaincodes": ["mycc"]}]}
    )


def test_gateway_pods_carry_prometheus_scrape_annotations() -> None:
    annotations = _gateway(render_example(ORG1))["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == "9090"
    assert annotations["prometheus.io/path"] == "/metrics"
    quiet = _gateway(render({"gateway": {"metrics": {"podAnnotations": False}}}))
    assert "prometheus.io/scrape" not in quiet["spec"]["template"]["metadata"]["annotations"]


def test_service_monitor_is_optional_and_scrapes_the_metrics_port() -> None:
    assert not render_example(ORG1).of_kind("ServiceMonitor")
    monitor = render_example(ORG2).get("ServiceMonitor", GATEWAY)
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["metadata"]["labels"]["release"] == "prometheus"
    assert monitor["spec"]["endpoints"] == [
        {"port": "metrics", "path": "/metrics", "scheme": "http", "interval": "30s", "scrapeTimeout": "10s"}
    ]


def test_ingress_is_optional_and_routes_to_the_grpc_port() -> None:
    assert not render_example(ORG2).of_kind("Ingress")
    ingress = render_example(ORG1).get("Ingress", GATEWAY)
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/ssl-passthrough"] == "true"
    (rule,) = ingress["spec"]["rules"]
    assert rule["host"] == "orchestrator.org-1.example.org"
    (path,) = rule["http"]["paths"]
    assert path["backend"] == {"service": {"name": GATEWAY, "port": {"name": "grpc"}}}


def test_embedded_mode_runs_one_gateway_on_a_claim_and_nothing_of_fabric() -> None:
    rendered = render_example(EMBEDDED)
    gateway = _gateway(rendered)
    assert gateway["spec"]["replicas"] == 1
    assert gateway["spec"]["strategy"] == {"type": "Recreate"}
    assert env(gateway)["ORCHESTRATOR_MODE"] == "embedded"
    claim = rendered.get("PersistentVolumeClaim", f"{GATEWAY}-data")
    assert claim["spec"]["resources"]["requests"]["storage"] == "2Gi"
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    data = next(v for v in pod_spec(gateway)["volumes"] if v["name"] == "data")
    assert data["persistentVolumeClaim"]["claimName"] == f"{GATEWAY}-data"
    mount = next(m for m in container(gateway)["volumeMounts"] if m["name"] == "data")
    assert mount["mountPath"] == env(gateway)["ORCHESTRATOR_DATA_DIR"]
    assert sorted({m["kind"] for m in rendered.manifests}) == [
        "ConfigMap",
        "Deployment",
        "PersistentVolumeClaim",
        "Service",
        "ServiceAccount",
    ]
    assert list(gateway_config(rendered)) == ["channels"]
    assert not any(path.startswith("/etc/orchestrator/fabric") for path in mounted_files(rendered, gateway))


def test_gateway_data_dir_is_an_empty_dir_without_persistence() -> None:
    rendered = render_example(ORG1, {"gateway": {"persistence": {"enabled": False}, "replicas": 3}})
    gateway = _gateway(rendered)
    assert not rendered.of_kind("PersistentVolumeClaim")
    assert next(v for v in pod_spec(gateway)["volumes"] if v["name"] == "data")["emptyDir"] == {}
    assert "volumeClaimTemplates" not in gateway["spec"]
    assert gateway["spec"]["replicas"] == 3
    assert gateway["spec"]["updateStrategy"] == {"type": "RollingUpdate"}


def test_fabric_mode_runs_any_number_of_gateway_replicas_each_with_its_own_event_log_claim() -> None:
    values = {"gateway": {"replicas": 3, "persistence": {"size": "5Gi", "storageClassName": "fast", "keep": True}}}
    rendered = render_example(ORG1, values)
    gateway = rendered.get("StatefulSet", GATEWAY)
    assert not rendered.of_kind("Deployment") or GATEWAY not in rendered.names("Deployment")
    assert gateway["spec"]["replicas"] == 3
    assert gateway["spec"]["serviceName"] == GATEWAY
    assert gateway["spec"]["podManagementPolicy"] == "Parallel"
    assert not rendered.of_kind("PersistentVolumeClaim")  # no claim shared by the replicas
    (template,) = gateway["spec"]["volumeClaimTemplates"]
    assert template["metadata"]["name"] == "data"
    assert template["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert template["spec"]["storageClassName"] == "fast"
    assert template["spec"]["resources"]["requests"]["storage"] == "5Gi"
    assert gateway["spec"]["persistentVolumeClaimRetentionPolicy"]["whenDeleted"] == "Retain"  # keep: true
    assert not any(v["name"] == "data" for v in pod_spec(gateway)["volumes"])
    mount = next(m for m in container(gateway)["volumeMounts"] if m["name"] == "data")
    assert mount["mountPath"] == env(gateway)["ORCHESTRATOR_DATA_DIR"]


def test_several_fabric_gateway_replicas_get_a_disruption_budget_selecting_exactly_their_pods() -> None:
    rendered = render_example(ORG1, {"gateway": {"replicas": 2}})
    budget = rendered.get("PodDisruptionBudget", GATEWAY)
    assert budget["apiVersion"] == "policy/v1"
    assert budget["spec"]["maxUnavailable"] == 1
    selector = budget["spec"]["selector"]["matchLabels"]
    pods = [w["spec"]["template"]["metadata"]["labels"] for w in rendered.workloads()]
    assert [labels for labels in pods if selector.items() <= labels.items()] == [
        _gateway(rendered)["spec"]["template"]["metadata"]["labels"]]
    percent = render_example(ORG1, {"gateway": {"replicas": 4, "podDisruptionBudget": {"maxUnavailable": "25%"}}})
    assert percent.get("PodDisruptionBudget", GATEWAY)["spec"]["maxUnavailable"] == "25%"


def test_no_disruption_budget_for_a_single_gateway_or_when_turned_off() -> None:
    assert not render_example(ORG1).of_kind("PodDisruptionBudget")
    assert not render_example(EMBEDDED).of_kind("PodDisruptionBudget")
    off = {"gateway": {"replicas": 2, "podDisruptionBudget": {"enabled": False}}}
    assert not render_example(ORG1, off).of_kind("PodDisruptionBudget")


def test_existing_claim_is_used_and_none_is_created() -> None:
    rendered = render_example(EMBEDDED, {"gateway": {"persistence": {"existingClaim": "ledgers"}}})
    assert not rendered.of_kind("PersistentVolumeClaim")
    data = next(v for v in pod_spec(_gateway(rendered))["volumes"] if v["name"] == "data")
    assert data["persistentVolumeClaim"] == {"claimName": "ledgers"}


def test_claim_settings_follow_the_values() -> None:
    values = {"gateway": {"persistence": {"storageClassName": "fast", "keep": True, "annotations": {"a": "b"}}}}
    claim = render_example(EMBEDDED, values).get("PersistentVolumeClaim", f"{GATEWAY}-data")
    assert claim["spec"]["storageClassName"] == "fast"
    assert claim["metadata"]["annotations"] == {"helm.sh/resource-policy": "keep", "a": "b"}
    no_class = render_example(EMBEDDED, {"gateway": {"persistence": {"storageClassName": "-"}}})
    assert no_class.get("PersistentVolumeClaim", f"{GATEWAY}-data")["spec"]["storageClassName"] == ""
    default = render_example(EMBEDDED).get("PersistentVolumeClaim", f"{GATEWAY}-data")
    assert "storageClassName" not in default["spec"] and "annotations" not in default["metadata"]


def test_network_policy_opens_only_the_grpc_and_metrics_ports() -> None:
    peers = [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "org-1"}}}]
    rendered = render_example(ORG1, {"networkPolicy": {"enabled": True, "gatewayFrom": peers}})
    policy = rendered.get("NetworkPolicy", GATEWAY)
    assert policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "gateway"
    grpc, metrics = policy["spec"]["ingress"]
    assert grpc == {"ports": [{"port": "grpc", "protocol": "TCP"}], "from": peers}
    assert metrics == {"ports": [{"port": "metrics", "protocol": "TCP"}]}
    assert not render_example(ORG1).of_kind("NetworkPolicy")


def test_image_registry_tag_and_digest_compose_the_image_reference() -> None:
    digest = "sha256:" + "a" * 64
    values = {
        "imageRegistry": "registry.example.org/substra/",
        "gateway": {"image": {"tag": "1.2.3", "digest": digest}},
    }
    image = container(_gateway(render(values)))["image"]
    assert image == f"registry.example.org/substra/orchestrator-gateway:1.2.3@{digest}"


def test_service_account_token_is_never_mounted() -> None:
    rendered = render_example(ORG1)
    account = rendered.get("ServiceAccount", RELEASE)
    assert account["automountServiceAccountToken"] is False
    assert all(pod_spec(w)["serviceAccountName"] == RELEASE for w in rendered.workloads())
    borrowed = render({"serviceAccount": {"create": False, "name": "backend"}})
    assert not borrowed.of_kind("ServiceAccount")
    assert pod_spec(_gateway(borrowed))["serviceAccountName"] == "backend"


@pytest.mark.parametrize("name", EXAMPLES)
def test_gateway_accepts_the_configuration_the_chart_renders(name: str, tmp_path: Path) -> None:
    rendered = render_example(name)
    variables = {key: str(value) for key, value in env(_gateway(rendered)).items()}
    config_file = tmp_path / "config.yaml"
    config_file.write_text(rendered.get("ConfigMap", GATEWAY)["data"]["config.yaml"])
    variables["ORCHESTRATOR_CONFIG"] = str(config_file)
    config = load_config([], variables)
    values = example(name)
    assert config.mode == values["mode"]
    assert config.listen == "0.0.0.0:9000" and config.metrics_listen == "0.0.0.0:9090"
    assert sorted(config.channels.channels or {}) == sorted(channel["name"] for channel in values["channels"])
    assert config.tls == values.get("gateway", {}).get("tls", {}).get("enabled", False)
    if values["mode"] == "fabric":
        assert list(config.organizations) == [values["fabric"]["mspid"]]
