"""TLS, mutual TLS and the mspid-versus-certificate check (issue item 5; DESIGN non-negotiable)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from orchestrator.api import algo_pb2, info_pb2
from orchestrator.gateway.server import GatewayThread
from orchestrator.gateway.tls import OrgCertificateAuthorities
from tests import builders as b
from tests.client import GatewayClient, connected, running_gateway
from tests.gateway.certs import Identity, issue, make_ca

VERSION = info_pb2.QueryVersionParam()


@dataclass(frozen=True)
class Pki:
    server_ca: Identity
    server: Identity
    org1_ca: Identity
    org2_ca: Identity
    org1_client: Identity
    org2_client: Identity
    rogue_ca: Identity  # same subject as org1's CA, another key
    rogue_client: Identity  # claims organization MyOrg1MSP, issued by the rogue CA
    org2_client_named_org1: Identity  # issued by org2's CA, Subject O=MyOrg1MSP
    other_ca: Identity  # trusted for TLS, maps to no organization
    other_client: Identity


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    d = tmp_path_factory.mktemp("pki")
    server_ca = make_ca(d, "server-ca", "Gateway CA")
    org1_ca = make_ca(d, "org1-ca", "ca.org1.example.com", "MyOrg1MSP")
    org2_ca = make_ca(d, "org2-ca", "ca.org2.example.com", "MyOrg2MSP")
    rogue_ca = make_ca(d, "rogue-ca", "ca.org1.example.com", "MyOrg1MSP")
    other_ca = make_ca(d, "other-ca", "ca.other.example.com", "OtherMSP")
    return Pki(
        server_ca=server_ca, server=issue(d, "server", server_ca, "localhost", server=True),
        org1_ca=org1_ca, org2_ca=org2_ca,
        org1_client=issue(d, "org1-client", org1_ca, "backend.org1", organization="MyOrg1MSP"),
        org2_client=issue(d, "org2-client", org2_ca, "backend.org2", organization="MyOrg2MSP"),
        rogue_ca=rogue_ca, rogue_client=issue(d, "rogue-client", rogue_ca, "backend.org1", organization="MyOrg1MSP"),
        other_ca=other_ca, other_client=issue(d, "other-client", other_ca, "backend.other", organization="OtherMSP"),
        org2_client_named_org1=issue(d, "org2-named-org1", org2_ca, "backend.org1", organization="MyOrg1MSP"),
    )


def _credentials(pki: Pki, client: Identity | None = None) -> grpc.ChannelCredentials:
    if client is None:
        return grpc.ssl_channel_credentials(root_certificates=pki.server_ca.cert_pem)
    return grpc.ssl_channel_credentials(root_certificates=pki.server_ca.cert_pem, private_key=client.key_pem,
                                        certificate_chain=client.cert_pem)


def _failure(call: object) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as failure:
        call()  # type: ignore[operator]
    return failure.value


@pytest.fixture
def tls_gateway(tmp_path: Path, pki: Pki) -> Iterator[GatewayThread]:
    with running_gateway(tmp_path / "tls", tls_cert=pki.server.cert_path, tls_key=pki.server.key_path) as gateway:
        yield gateway


@pytest.fixture
def mtls_gateway(tmp_path: Path, pki: Pki) -> Iterator[GatewayThread]:
    with running_gateway(
        tmp_path / "mtls", tls_cert=pki.server.cert_path, tls_key=pki.server.key_path,
        tls_client_ca=(pki.other_ca.cert_path,),
        org_ca=(("MyOrg1MSP", pki.org1_ca.cert_path), ("MyOrg2MSP", pki.org2_ca.cert_path)),
    ) as gateway:
        yield gateway


def test_tls_serves_clients_that_trust_the_server_ca(tls_gateway: GatewayThread, pki: Pki) -> None:
    with connected(tls_gateway.address, _credentials(pki)) as channel:
        assert GatewayClient(channel).query_version(VERSION).orchestrator


def test_a_plaintext_client_cannot_talk_to_a_tls_port(tls_gateway: GatewayThread) -> None:
    with grpc.insecure_channel(tls_gateway.address) as channel:
        error = _failure(lambda: GatewayClient(channel).query_version(VERSION, timeout=5))
    assert error.code() == grpc.StatusCode.UNAVAILABLE


def test_mutual_tls_refuses_a_client_without_certificate(mtls_gateway: GatewayThread, pki: Pki) -> None:
    with grpc.secure_channel(mtls_gateway.address, _credentials(pki)) as channel:
        error = _failure(lambda: GatewayClient(channel).query_version(VERSION, timeout=5))
    assert error.code() == grpc.StatusCode.UNAVAILABLE


def test_the_mspid_of_the_certificates_organization_is_served(mtls_gateway: GatewayThread, pki: Pki) -> None:
    for mspid, identity in (("MyOrg1MSP", pki.org1_client), ("MyOrg2MSP", pki.org2_client)):
        with connected(mtls_gateway.address, _credentials(pki, identity)) as channel:
            client = GatewayClient(channel, mspid).register()
            assert client.query_version(VERSION).orchestrator


def test_acting_as_another_organization_is_permission_denied_and_writes_nothing(
    mtls_gateway: GatewayThread, pki: Pki
) -> None:
    with connected(mtls_gateway.address, _credentials(pki, pki.org1_client)) as channel:
        impostor = GatewayClient(channel, "MyOrg2MSP")
        error = _failure(lambda: impostor.register_algo(b.new_algo()))
        assert error.code() == grpc.StatusCode.PERMISSION_DENIED
        assert error.details() == 'OE0102: invalid MSPID: invalid issuer for MSPID "MyOrg2MSP"'
        honest = GatewayClient(channel, "MyOrg1MSP")
        missing = _failure(lambda: honest.get_algo(algo_pb2.GetAlgoParam(key=b.key("simple algo"))))
        assert missing.code() == grpc.StatusCode.NOT_FOUND
        assert honest.get_all_organizations().organizations == []


def test_a_certificate_naming_another_organization_is_judged_by_its_issuer_not_its_subject(
    mtls_gateway: GatewayThread, pki: Pki
) -> None:
    with connected(mtls_gateway.address, _credentials(pki, pki.org2_client_named_org1)) as channel:
        error = _failure(lambda: GatewayClient(channel, "MyOrg1MSP").query_version(VERSION))
        assert error.code() == grpc.StatusCode.PERMISSION_DENIED
        assert "invalid issuer" in error.details()
        assert GatewayClient(channel, "MyOrg2MSP").query_version(VERSION).orchestrator


def test_the_org_check_verifies_the_signature_not_only_the_issuer_name(pki: Pki) -> None:
    cas = OrgCertificateAuthorities.load([("MyOrg1MSP", pki.org1_ca.cert_path)])
    assert pki.rogue_client.certificate.issuer == pki.org1_ca.certificate.subject  # same names, another key
    assert not cas.issued_by("MyOrg1MSP", pki.rogue_client.certificate)
    assert cas.issued_by("MyOrg1MSP", pki.org1_client.certificate)
    assert not cas.issued_by("MyOrg2MSP", pki.org1_client.certificate)


def test_an_organization_without_configured_ca_is_refused(mtls_gateway: GatewayThread, pki: Pki) -> None:
    with connected(mtls_gateway.address, _credentials(pki, pki.other_client)) as channel:
        error = _failure(lambda: GatewayClient(channel, "OtherMSP").query_version(VERSION))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert error.details() == 'OE0102: invalid MSPID: cannot find MSPID "OtherMSP" in allowed organizations'


def test_streams_get_the_certificate_check_too(mtls_gateway: GatewayThread, pki: Pki) -> None:
    with connected(mtls_gateway.address, _credentials(pki, pki.org1_client)) as channel:
        error = _failure(lambda: next(iter(GatewayClient(channel, "MyOrg2MSP").subscribe(timeout=10))))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED


def test_a_missing_mspid_is_still_failed_precondition_under_mutual_tls(mtls_gateway: GatewayThread, pki: Pki
                                                                       ) -> None:
    with connected(mtls_gateway.address, _credentials(pki, pki.org1_client)) as channel:
        error = _failure(lambda: GatewayClient(channel).query_version(VERSION, metadata=[("channel", "mychannel")]))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_health_needs_no_headers_under_mutual_tls(mtls_gateway: GatewayThread, pki: Pki) -> None:
    with connected(mtls_gateway.address, _credentials(pki, pki.org1_client)) as channel:
        answer = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
    assert answer.status == health_pb2.HealthCheckResponse.SERVING


def test_without_tls_the_server_warns_at_start(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="orchestrator.gateway"), running_gateway(tmp_path / "plain"):
        pass
    assert any("TLS is off" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
