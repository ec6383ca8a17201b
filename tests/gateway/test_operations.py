"""Operations: health, reflection, metrics, liveness and readiness, logs, the console script (issue items 1, 6)."""

from __future__ import annotations

import io
import json
import logging
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.protobuf import descriptor_pool
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

from orchestrator.api import algo_pb2, info_pb2
from orchestrator.gateway.config import OPTIONS, ConfigError
from orchestrator.gateway.logs import (
    REQUEST_ID,
    JsonFormatter,
    RequestIdFilter,
    TextFormatter,
    configure_logging,
    stop_logging,
)
from orchestrator.gateway.server import GatewayThread
from orchestrator.shared.functions import SERVICES
from tests import builders as b
from tests.client import GatewayClient, connected, running_gateway, test_config

HEALTH = health_pb2.HealthCheckResponse


def test_health_reports_serving_for_the_server_and_each_service_without_headers(channel: grpc.Channel) -> None:
    stub = health_pb2_grpc.HealthStub(channel)
    for service in ("", "orchestrator.AlgoService", "orchestrator.EventService"):
        assert stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5).status == HEALTH.SERVING


@pytest.mark.parametrize("version", ["v1", "v1alpha"])
def test_reflection_lists_the_orchestrator_services_under_both_protocol_versions(channel: grpc.Channel,
                                                                                 version: str) -> None:
    # v1 is v1alpha's messages under another package: the v1alpha classes speak it on the wire.
    reflect = channel.stream_stream(
        f"/grpc.reflection.{version}.ServerReflection/ServerReflectionInfo",
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )
    answers = reflect(iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5)
    listed = {service.name for answer in answers for service in answer.list_services_response.service}
    assert {service.full_name for service in SERVICES} <= listed
    assert {"grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection"} <= listed


def test_reflection_describes_methods_with_the_bare_file_names(channel: grpc.Channel) -> None:
    database = ProtoReflectionDescriptorDatabase(channel)
    pool = descriptor_pool.DescriptorPool(database)
    service = pool.FindServiceByName("orchestrator.EventService")
    assert [m.name for m in service.methods] == ["QueryEvents", "SubscribeToEvents"]
    assert service.file.name == "event.proto"
    assert pool.FindMethodByName("orchestrator.EventService.SubscribeToEvents").server_streaming


@pytest.fixture
def metered(tmp_path: Path) -> Iterator[tuple[GatewayThread, GatewayClient]]:
    with running_gateway(tmp_path / "metered", metrics_listen="127.0.0.1:0") as gateway, \
            connected(gateway.address) as channel:
        yield gateway, GatewayClient(channel).register()


def _get(gateway: GatewayThread, path: str) -> tuple[int, str]:
    url = f"http://127.0.0.1:{gateway.gateway.metrics_port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_metrics_count_requests_by_method_and_status_and_time_them(metered: tuple[GatewayThread, GatewayClient]
                                                                   ) -> None:
    gateway, client = metered
    client.register_algo(b.new_algo())
    with pytest.raises(grpc.RpcError):
        client.get_algo(algo_pb2.GetAlgoParam(key=b.key("nothing")))
    status, text = _get(gateway, "/metrics")
    assert status == 200
    assert ('grpc_server_handled_total{grpc_code="OK",grpc_method="RegisterAlgo",'
            'grpc_service="orchestrator.AlgoService",grpc_type="unary"} 1.0') in text
    assert 'grpc_code="NOT_FOUND",grpc_method="GetAlgo"' in text
    assert 'grpc_server_handling_seconds_bucket{grpc_method="RegisterAlgo"' in text
    assert 'grpc_server_in_flight{grpc_type="unary"} 0.0' in text


def test_metrics_count_streamed_events_and_open_streams(metered: tuple[GatewayThread, GatewayClient]) -> None:
    gateway, client = metered
    stream = client.subscribe(timeout=30)
    next(stream)
    registry = gateway.gateway.metrics.registry
    assert registry.get_sample_value("orchestrator_event_subscribers", {"channel": "mychannel"}) == 1
    assert registry.get_sample_value("orchestrator_events_streamed_total", {"channel": "mychannel"}) == 1
    stream.cancel()
    _, text = _get(gateway, "/metrics")
    assert 'orchestrator_events_streamed_total{channel="mychannel"} 1.0' in text


def test_liveness_and_readiness_endpoints(metered: tuple[GatewayThread, GatewayClient]) -> None:
    gateway, _ = metered
    assert _get(gateway, "/healthz") == (200, "ok\n")
    assert _get(gateway, "/readyz") == (200, "ready\n")
    assert _get(gateway, "/nothing")[0] == 404


def test_readiness_turns_false_once_shutdown_starts(tmp_path: Path) -> None:
    gateway = GatewayThread(test_config(tmp_path / "d")).start()
    assert gateway.gateway.ready()
    gateway.stop()
    assert not gateway.gateway.ready()


@pytest.mark.skipif(not socket.has_ipv6, reason="no IPv6 on this machine")
def test_the_metrics_port_listens_on_an_ipv6_address(tmp_path: Path) -> None:
    with running_gateway(tmp_path / "v6", metrics_listen="[::1]:0") as gateway:
        url = f"http://[::1]:{gateway.gateway.metrics_port}/healthz"
        with urllib.request.urlopen(url, timeout=5) as answer:
            assert answer.status == 200


def test_the_metrics_port_is_off_unless_asked(gateway: GatewayThread) -> None:
    assert gateway.gateway.metrics_port == 0


def test_query_version_names_the_gateway_and_the_chaincode_versions__INFO_1(client: GatewayClient) -> None:
    import orchestrator

    answer = client.query_version(info_pb2.QueryVersionParam())
    assert answer.orchestrator == orchestrator.__version__
    assert answer.chaincode == orchestrator.__version__


# -- logs ------------------------------------------------------------------------------------

def _record(message: str, **extra: object) -> logging.LogRecord:
    record = logging.makeLogRecord({"name": "orchestrator.gateway.access", "levelname": "INFO", "levelno": 20,
                                    "msg": message, **extra})
    RequestIdFilter().filter(record)
    return record


def test_json_logs_are_one_object_per_line_with_the_request_id() -> None:
    token = REQUEST_ID.set("ab12cd34")
    try:
        line = JsonFormatter().format(_record("done", mspid="MyOrg1MSP", status="OK"))
    finally:
        REQUEST_ID.reset(token)
    body = json.loads(line)
    assert body["request_id"] == "ab12cd34"
    assert body["message"] == "done"
    assert (body["mspid"], body["status"], body["level"]) == ("MyOrg1MSP", "OK", "INFO")


def test_text_logs_carry_the_request_id_and_fields() -> None:
    line = TextFormatter().format(_record("done", mspid="MyOrg1MSP", error="two words"))
    assert "[req=-]" in line and "mspid=MyOrg1MSP" in line and 'error="two words"' in line


def test_the_access_log_has_one_line_per_call_without_payloads(client: GatewayClient, caplog: pytest.LogCaptureFixture
                                                               ) -> None:
    with caplog.at_level(logging.INFO, logger="orchestrator.gateway.access"):
        client.register_algo(b.new_algo())
    lines = [r for r in caplog.records if r.name == "orchestrator.gateway.access"]
    assert len(lines) == 1
    text = TextFormatter().format(lines[0])
    assert "RegisterAlgo OK" in text and "channel=mychannel" in text
    assert b.key("simple algo") not in text and "somewhere.local" not in text


# -- the console script ----------------------------------------------------------------------

def test_help_documents_every_option_with_its_environment_variable() -> None:
    script = Path(sys.executable).with_name("orchestrator-gateway")
    answer = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60, check=True)
    text = " ".join(answer.stdout.split())
    for option in OPTIONS:
        assert option.flag in text
        assert option.env in text
    for flag in ("--listen", "--data-dir", "--metrics-listen", "--tls-cert", "--tls-key", "--tls-client-ca",
                 "--org-ca", "--log-level", "--log-format", "--max-message-size", "--grace-period", "--mode"):
        assert flag in text


def test_a_bad_setting_exits_with_status_2_and_a_clear_message() -> None:
    script = Path(sys.executable).with_name("orchestrator-gateway")
    answer = subprocess.run([str(script), "--listen", "nowhere"], capture_output=True, text=True, timeout=60)
    assert answer.returncode == 2
    assert "--listen: 'nowhere' is not HOST:PORT" in answer.stderr


def test_logs_go_to_stderr_in_the_chosen_format() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        configure_logging("INFO", "json", stream)
        logging.getLogger("orchestrator.gateway.test").info("hello %s", "world")
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("orchestrator.gateway.test").exception("failed")
        stop_logging()  # lines are written by a thread of their own: wait for them
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    hello, failed = (json.loads(line) for line in stream.getvalue().splitlines())
    assert hello["message"] == "hello world"
    assert failed["message"] == "failed" and "ValueError: boom" in failed["exception"]


def test_a_port_already_served_is_refused_instead_of_shared(gateway: GatewayThread, tmp_path: Path) -> None:
    second = GatewayThread(test_config(tmp_path / "second", listen=gateway.address))
    with pytest.raises(ConfigError, match=f"cannot listen on {gateway.address}"):
        second.start()


def test_a_start_on_a_data_directory_in_use_logs_one_clean_error_and_exits_1(gateway: GatewayThread) -> None:
    script = Path(sys.executable).with_name("orchestrator-gateway")
    data_dir = gateway.gateway.config.data_dir
    answer = subprocess.run([str(script), "--listen", "127.0.0.1:0", "--data-dir", str(data_dir)],
                            capture_output=True, text=True, timeout=60)
    assert answer.returncode == 1
    lines = answer.stderr.strip().splitlines()
    assert len(lines) == 1, answer.stderr
    assert "ERROR" in lines[0] and "is in use by another gateway" in lines[0]
    assert "shutting down" not in answer.stderr and "stopped" not in answer.stderr
