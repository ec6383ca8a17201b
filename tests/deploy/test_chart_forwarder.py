"""The forwarder Deployment: off by default; on, it reads its AMQP URL from a Secret, its queues from values."""

from __future__ import annotations

from typing import Any

from orchestrator.forwarder.config import ChannelTarget, load_config
from tests.deploy.chart import RELEASE, container, env, example, merge, mounted_files, pod_spec, render, render_error

ORG1 = "distributed-org-1.yaml"
FORWARDER = {
    "enabled": True,
    "amqp": {"urlSecret": {"name": "rabbitmq-forwarder", "key": "url"}},
    "queues": [{"mspid": "MyOrg1MSP", "channels": ["mychannel", "yourchannel"]},
               {"mspid": "MyOrg2MSP", "channels": ["mychannel"]}],
}


def _org1(forwarder: dict[str, Any]) -> dict[str, Any]:
    return merge(example(ORG1), {"forwarder": forwarder})


def _deployment(values: dict[str, Any]) -> dict[str, Any]:
    return render(values).get("Deployment", f"{RELEASE}-forwarder")


def test_the_forwarder_is_off_by_default() -> None:
    for values in (None, example(ORG1)):
        rendered = render(values)
        assert f"{RELEASE}-forwarder" not in rendered.names("Deployment")
        assert f"{RELEASE}-forwarder-state" not in rendered.names("PersistentVolumeClaim")


def test_its_environment_is_a_configuration_the_forwarder_accepts() -> None:
    deployment = _deployment(_org1(FORWARDER))
    variables = env(deployment)
    assert variables.pop("ORCHESTRATOR_FORWARDER_AMQP_URL") == {
        "secretKeyRef": {"name": "rabbitmq-forwarder", "key": "url"}}  # the password stays in the Secret
    config = load_config([], {**variables, "ORCHESTRATOR_FORWARDER_AMQP_URL": "amqp://u:p@rabbitmq:5672/"})
    assert config.gateway == f"{RELEASE}-gateway:9000"
    assert config.mspid == "MyOrg1MSP"  # fabric.mspid
    assert config.channels == (ChannelTarget("mychannel", "mycc"), ChannelTarget("yourchannel", "yourcc"))
    assert config.queues == {"MyOrg1MSP": ("mychannel", "yourchannel"), "MyOrg2MSP": ("mychannel",)}
    assert config.metrics_listen == "0.0.0.0:8000"


def test_checkpoints_live_on_a_claim_of_their_own_and_one_pod_runs_at_a_time() -> None:
    rendered = render(_org1(FORWARDER))
    deployment = rendered.get("Deployment", f"{RELEASE}-forwarder")
    claim = rendered.get("PersistentVolumeClaim", f"{RELEASE}-forwarder-state")
    assert claim["spec"]["resources"]["requests"]["storage"] == "100Mi"
    volumes = {volume["name"]: volume for volume in pod_spec(deployment)["volumes"]}
    assert volumes["state"]["persistentVolumeClaim"]["claimName"] == f"{RELEASE}-forwarder-state"
    mounts = {mount["name"]: mount["mountPath"] for mount in container(deployment)["volumeMounts"]}
    assert env(deployment)["ORCHESTRATOR_FORWARDER_STATE_DIR"] == mounts["state"]
    assert deployment["spec"]["replicas"] == 1 and deployment["spec"]["strategy"]["type"] == "Recreate"
    without = _deployment(_org1({**FORWARDER, "persistence": {"enabled": False}}))
    assert {v["name"]: v for v in pod_spec(without)["volumes"]}["state"] == {"name": "state", "emptyDir": {}}


def test_probes_use_the_status_endpoints() -> None:
    forwarder = container(_deployment(_org1(FORWARDER)))
    assert forwarder["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
    assert forwarder["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}


def test_gateway_tls_and_the_broker_ca_are_mounted_and_named_in_the_environment() -> None:
    ca = {"secretName": "orchestrator-tls", "key": "ca.crt"}
    values = _org1({**FORWARDER, "gatewayTLS": {"ca": ca, "certificate": {"secretName": "fw", "key": "tls.crt"},
                                                "key": {"secretName": "fw", "key": "tls.key"}},
                    "amqp": {**FORWARDER["amqp"], "ca": {"secretName": "rabbitmq-ca", "key": "ca.crt"}}})
    rendered = render(values)
    deployment = rendered.get("Deployment", f"{RELEASE}-forwarder")
    files = mounted_files(rendered, deployment)
    variables = env(deployment)
    assert files[variables["ORCHESTRATOR_FORWARDER_TLS_CA"]] == ("Secret", "orchestrator-tls", "ca.crt")
    assert files[variables["ORCHESTRATOR_FORWARDER_TLS_CERT"]] == ("Secret", "fw", "tls.crt")
    assert files[variables["ORCHESTRATOR_FORWARDER_TLS_KEY"]] == ("Secret", "fw", "tls.key")
    assert files[variables["ORCHESTRATOR_FORWARDER_AMQP_CA"]] == ("Secret", "rabbitmq-ca", "ca.crt")


def test_a_forwarder_without_its_url_secret_or_with_a_queue_on_a_channel_it_does_not_forward_is_refused() -> None:
    assert "forwarder.amqp.urlSecret.name" in render_error(_org1({**FORWARDER, "amqp": {"urlSecret": {"name": ""}}}))
    message = render_error(_org1({**FORWARDER, "channels": ["mychannel"]}))
    assert "forwarder.queues[0].channels" in message and "yourchannel" in message
    assert "forwarder.channels[0]" in render_error(_org1({**FORWARDER, "channels": ["nochannel"]}))
    embedded = merge(example("embedded.yaml"), {"forwarder": {**FORWARDER, "queues": []}})
    assert "forwarder.mspid" in render_error(embedded)
