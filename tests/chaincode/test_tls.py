"""TLS between peer and chaincode: mutual TLS by default, TLS alone without a client CA, strangers refused."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from orchestrator.chaincode.shim.server import ChaincodeServer, TlsSettings
from tests.chaincode.harness import ChaincodeConnection, HarnessPeer, TlsMaterial, chaincode_server


@pytest.fixture(scope="module")
def material() -> TlsMaterial:
    return TlsMaterial.generate("org1")


@pytest.fixture(scope="module")
def mutual(material: TlsMaterial) -> Iterator[ChaincodeServer]:
    with chaincode_server(tls=TlsSettings(material.server_key, material.server_cert, material.ca_pem)) as running:
        yield running


def _credentials(material: TlsMaterial, *, client: bool = True, client_material: TlsMaterial | None = None
                 ) -> grpc.ChannelCredentials:
    pair = client_material or material
    return grpc.ssl_channel_credentials(material.ca_pem, pair.client_key if client else None,
                                        pair.client_cert if client else None)


def test_a_peer_with_its_organizations_client_certificate_registers_and_transacts(
        mutual: ChaincodeServer, material: TlsMaterial) -> None:
    with ChaincodeConnection(mutual.address, credentials=_credentials(material)).connect() as connection:
        assert HarnessPeer(connection).query("MyOrg1MSP", "orchestrator.info:QueryVersion") is not None


def test_a_peer_without_a_client_certificate_cannot_connect_under_mutual_tls(
        mutual: ChaincodeServer, material: TlsMaterial) -> None:
    connection = ChaincodeConnection(mutual.address, credentials=_credentials(material, client=False))
    with pytest.raises((grpc.FutureTimeoutError, ConnectionError)):
        connection.open(timeout=3)
    connection.close()


def test_a_client_certificate_from_another_ca_is_refused(mutual: ChaincodeServer, material: TlsMaterial) -> None:
    stranger = TlsMaterial.generate("stranger")
    connection = ChaincodeConnection(mutual.address,
                                     credentials=_credentials(material, client_material=stranger))
    with pytest.raises((grpc.FutureTimeoutError, ConnectionError)):
        connection.open(timeout=3)
    connection.close()


def test_health_is_served_on_the_same_tls_port(mutual: ChaincodeServer, material: TlsMaterial) -> None:
    with grpc.secure_channel(mutual.address, _credentials(material)) as channel:
        answer = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
    assert answer.status == health_pb2.HealthCheckResponse.SERVING


def test_without_a_client_ca_the_chaincode_serves_tls_to_any_peer(material: TlsMaterial) -> None:
    with chaincode_server(tls=TlsSettings(material.server_key, material.server_cert)) as server, \
            ChaincodeConnection(server.address, credentials=_credentials(material, client=False)).connect() as conn:
        assert HarnessPeer(conn).query("MyOrg1MSP", "orchestrator.info:QueryVersion") is not None
