"""The forwarder follows a gateway served over mutual TLS, as a backend would (its stream and its other calls)."""

from __future__ import annotations

import time
from pathlib import Path

import grpc

from tests.client import GatewayClient, connected, ledger_order, running_gateway
from tests.forwarder.broker import RabbitBroker
from tests.forwarder.harness import Consumer, ForwarderProcess, fill, setup_manager
from tests.gateway.certs import issue, make_ca


def test_events_reach_the_queue_from_a_gateway_served_over_mutual_tls(
        tmp_path: Path, broker: RabbitBroker, consumer: Consumer, state_dir: Path) -> None:
    pki = tmp_path / "pki"
    server_ca = make_ca(pki, "server-ca", "Gateway CA")
    org1_ca = make_ca(pki, "org1-ca", "ca.org1.example.com", "MyOrg1MSP")
    server = issue(pki, "server", server_ca, "localhost", server=True)
    org1 = issue(pki, "org1-client", org1_ca, "forwarder.org1", organization="MyOrg1MSP")
    with running_gateway(tmp_path / "gateway", tls_cert=server.cert_path, tls_key=server.key_path,
                         org_ca=(("MyOrg1MSP", org1_ca.cert_path),)) as gateway:
        credentials = grpc.ssl_channel_credentials(root_certificates=server_ca.cert_pem, private_key=org1.key_pem,
                                                   certificate_chain=org1.cert_pem)
        with connected(gateway.address, credentials) as channel:
            client = GatewayClient(channel).register()
            setup_manager(client)
            fill(client, "s", 2, 10)
            ledger = [event.id for event in ledger_order(client.query_events())]
        process = ForwarderProcess(gateway.address, broker.url, state_dir, "--tls-ca", str(server_ca.cert_path),
                                   "--tls-cert", str(org1.cert_path), "--tls-key", str(org1.key_path),
                                   "--tls-server-name", "localhost").wait_ready()
        try:
            assert consumer.ids("MyOrg1MSP", len(ledger)) == ledger
            deadline = time.monotonic() + 20
            while process.status()[1]["channels"]["mychannel"]["last_confirmed_event"] != ledger[-1]:
                assert time.monotonic() < deadline, "the last event was never confirmed"
                time.sleep(0.1)
            assert process.status()[1]["channels"]["mychannel"]["gateway_connected"] is True
        finally:
            process.stop()
