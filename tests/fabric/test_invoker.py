"""The gateway in Fabric mode: backend calls over gRPC → gateway → stand-in peers → contract, errors and events."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from orchestrator.api import algo_pb2, common_pb2, event_pb2, organization_pb2
from orchestrator.gateway.config import ConfigError
from orchestrator.gateway.fabric.config import parse_fabric_config
from orchestrator.gateway.invoke import create_invoker
from orchestrator.gateway.invoke.base import DataDirInUseError, InvocationError, Target
from orchestrator.gateway.invoke.fabric import FabricInvoker
from orchestrator.gateway.server import GatewayThread
from orchestrator.shared import codec
from tests import builders
from tests.client import GatewayClient, connected
from tests.fabric.gateway import fabric_config, fabric_gateway
from tests.fabric.network import StandInNetwork
from tests.fabric.orderer import OrdererUnavailableError


def new_algo(ref: str, name: str = "Algo test") -> algo_pb2.NewAlgo:
    return algo_pb2.NewAlgo(
        key=builders.key(ref), name=name, category=algo_pb2.ALGO_SIMPLE,
        description=builders.addressable(f"{ref} description"), algorithm=builders.addressable(f"{ref} algorithm"),
        new_permissions=builders.public(),
    )


@pytest.fixture
def gateway(network: StandInNetwork, tmp_path: Path) -> Iterator[GatewayThread]:
    with fabric_gateway(network, tmp_path / "gateway") as running:
        yield running


@pytest.fixture
def client(gateway: GatewayThread) -> Iterator[GatewayClient]:
    with connected(gateway.address) as channel:
        yield GatewayClient(channel).register()


def test_fabric_mode_is_registered_and_built_from_the_configuration(network: StandInNetwork, tmp_path: Path) -> None:
    invoker = create_invoker(fabric_config(network, tmp_path / "data"))
    try:
        assert isinstance(invoker, FabricInvoker)
        assert sorted(invoker.gateways) == ["MyOrg1MSP", "MyOrg2MSP"]
        assert invoker.ready()
    finally:
        invoker.close()


def test_a_submit_refused_while_the_network_closes_answers_unavailable(
        network: StandInNetwork, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    invoker = create_invoker(fabric_config(network, tmp_path / "data"))
    assert isinstance(invoker, FabricInvoker)
    try:
        channel = invoker.gateways["MyOrg1MSP"].get_network("mychannel")
        listener = channel.commit_listener()
        assert listener is not None
        while not listener.positioned:  # so that the submission is watched
            network.ledgers["mychannel"].wait_height(network.ledgers["mychannel"].height, 0.01)

        def close_then_refuse(name: str, envelope: bytes) -> None:  # the orderer refuses once the client closed
            channel.close()
            raise OrdererUnavailableError("ordering service stopped")

        monkeypatch.setattr(network.orderer, "broadcast", close_then_refuse)
        with pytest.raises(InvocationError) as caught:
            invoker.submit(Target("MyOrg1MSP", "mychannel", "mycc"), "orchestrator.organization:RegisterOrganization",
                           codec.encode(organization_pb2.RegisterOrganizationParam()), timeout=5)
        assert caught.value.status == grpc.StatusCode.UNAVAILABLE
    finally:
        invoker.close()


def test_a_registration_is_read_back_and_its_event_is_queryable_at_once(client: GatewayClient) -> None:
    algo = client.register_algo(new_algo("simple algo"))
    assert algo.owner == "MyOrg1MSP"
    assert client.get_algo(algo_pb2.GetAlgoParam(key=algo.key)) == algo
    events = client.query_events(asset_key=algo.key, asset_kind=common_pb2.ASSET_ALGO,
                                 event_kind=event_pb2.EVENT_ASSET_CREATED)
    assert len(events) == 1 and events[0].algo == algo and events[0].channel == "mychannel"


def test_domain_errors_keep_their_status_through_fabric(client: GatewayClient) -> None:
    client.register_algo(new_algo("simple algo"))
    with pytest.raises(grpc.RpcError) as missing:
        client.get_algo(algo_pb2.GetAlgoParam(key=builders.key("absent")))
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    assert missing.value.details().startswith("OE0002: ")
    with pytest.raises(grpc.RpcError) as twice:
        client.register_algo(new_algo("simple algo"))
    assert twice.value.code() == grpc.StatusCode.ALREADY_EXISTS
    invalid = new_algo("invalid algo")
    invalid.key = "not a uuid"
    with pytest.raises(grpc.RpcError) as bad:
        client.register_algo(invalid)
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_a_second_organization_calls_with_its_own_identity(client: GatewayClient) -> None:
    other = client.as_org("MyOrg2MSP").register()
    algo = other.register_algo(new_algo("org2 algo"))
    assert algo.owner == "MyOrg2MSP"


def test_an_organization_without_a_configured_identity_is_refused(network: StandInNetwork, tmp_path: Path) -> None:
    with fabric_gateway(network, tmp_path / "gateway", orgs=["MyOrg1MSP"]) as gateway, \
            connected(gateway.address) as channel:
        GatewayClient(channel).register()
        with pytest.raises(grpc.RpcError) as caught:
            GatewayClient(channel, "MyOrg2MSP").get_all_organizations()
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert 'no signing identity for organization "MyOrg2MSP"' in caught.value.details()


def test_a_channel_or_chaincode_not_allowed_is_refused(network: StandInNetwork, tmp_path: Path) -> None:
    invoker = FabricInvoker(parse_fabric_config({m: network.organization_config(m) for m in network.orgs}),
                            tmp_path / "data", channels=fabric_config(network, tmp_path).channels)
    try:
        with pytest.raises(InvocationError) as caught:
            invoker.evaluate(Target("MyOrg1MSP", "mychannel", "yourcc"), "orchestrator.info:QueryVersion", b"")
        assert caught.value.status == grpc.StatusCode.PERMISSION_DENIED
        assert 'chaincode "yourcc" is not available on channel "mychannel"' in caught.value.message
        with pytest.raises(InvocationError) as unknown:
            invoker.evaluate(Target("MyOrg1MSP", "otherchannel", "mycc"), "orchestrator.info:QueryVersion", b"")
        assert unknown.value.status == grpc.StatusCode.PERMISSION_DENIED
    finally:
        invoker.close()


def test_with_failover_off_an_unreachable_organization_answers_unavailable(network: StandInNetwork,
                                                                           tmp_path: Path) -> None:
    with fabric_gateway(network, tmp_path / "gateway", fabric_failover=False) as gateway, \
            connected(gateway.address) as channel:
        client = GatewayClient(channel).register()
        network.peer("MyOrg1MSP").stop()
        with pytest.raises(grpc.RpcError) as caught:
            client.get_all_organizations()
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
        assert network.peer("MyOrg2MSP").calls.get("Evaluate", 0) == 0


def test_one_peer_down_fails_over_to_the_organizations_other_peer(tmp_path: Path) -> None:
    with StandInNetwork(tmp_path / "net", peers_per_org={"MyOrg1MSP": 2}) as network, \
            fabric_gateway(network, tmp_path / "gateway") as gateway, connected(gateway.address) as channel:
        client = GatewayClient(channel).register()
        network.peer("MyOrg1MSP", 0).stop()
        algo = client.register_algo(new_algo("after failover"))
        assert client.get_algo(algo_pb2.GetAlgoParam(key=algo.key)) == algo
        assert network.peer("MyOrg1MSP", 1).calls.get("Endorse", 0) >= 1


def test_under_mutual_tls_commit_statuses_come_from_the_block_stream_bound_to_the_tls_session(
        tmp_path: Path) -> None:
    # A peer that requires client certificates refuses a Deliver request without the hash of the
    # certificate of its TLS session; each commit would then cost one more signed CommitStatus call.
    with StandInNetwork(tmp_path / "net", mutual_tls=True) as network, \
            fabric_gateway(network, tmp_path / "gateway") as gateway, connected(gateway.address) as channel:
        client = GatewayClient(channel).register()
        for index in range(3):
            client.register_algo(new_algo(f"warm-up {index}"))
        peer = network.peer("MyOrg1MSP")
        before = peer.calls.get("CommitStatus", 0)
        client.register_algo(new_algo("bound to its TLS session"))
        assert peer.calls.get("CommitStatus", 0) == before
        assert peer.calls["DeliverFiltered"] >= 1


def test_a_deadline_shorter_than_the_commit_is_deadline_exceeded_and_the_write_still_lands(
        network: StandInNetwork, client: GatewayClient) -> None:
    with network.orderer.hold("mychannel"):
        with pytest.raises(grpc.RpcError) as caught:
            client.register_algo(new_algo("slow algo"), timeout=1.0)
        assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    deadline = time.monotonic() + 30
    while True:  # the transaction was ordered before the deadline: it commits once blocks are cut again
        try:
            assert client.get_algo(algo_pb2.GetAlgoParam(key=builders.key("slow algo"))).key
            break
        except grpc.RpcError as exc:
            assert exc.code() == grpc.StatusCode.NOT_FOUND and time.monotonic() < deadline
            network.ledgers["mychannel"].wait_height(network.ledgers["mychannel"].height, 0.5)
    with pytest.raises(grpc.RpcError) as again:  # a registration of other content is still a conflict
        client.register_algo(new_algo("slow algo", name="another algo"))
    assert again.value.code() == grpc.StatusCode.ALREADY_EXISTS


def test_a_commit_slower_than_the_commit_timeout_is_resolved_not_resubmitted(
        network: StandInNetwork, tmp_path: Path) -> None:
    fabric = parse_fabric_config({m: network.organization_config(m) for m in network.orgs},
                                 environ={"ORCHESTRATOR_FABRIC_COMMIT_TIMEOUT": "300ms"})
    invoker = FabricInvoker(fabric, tmp_path / "data", channels=fabric_config(network, tmp_path).channels)
    with GatewayThread(fabric_config(network, tmp_path / "data"), invoker=invoker) as gateway, \
            connected(gateway.address) as channel:
        client = GatewayClient(channel).register()
        ledger = network.ledgers["mychannel"]
        with network.orderer.hold("mychannel"):
            result: dict[str, object] = {}
            call = threading.Thread(target=lambda: result.setdefault("algo", client.register_algo(
                new_algo("in doubt"), timeout=60)))
            call.start()
            while network.orderer.pending("mychannel") < 1:
                ledger.wait_height(ledger.height, 0.01)
            time.sleep(1.0)  # three commit timeouts pass while the block is held
            assert network.orderer.pending("mychannel") == 1  # still the same transaction, never a second one
        call.join()
        algo = result["algo"]
        assert algo.key == builders.key("in doubt")  # type: ignore[attr-defined]
        assert client.get_algo(algo_pb2.GetAlgoParam(key=algo.key)) == algo  # type: ignore[attr-defined]
        assert len(client.query_events(asset_key=algo.key)) == 1  # type: ignore[attr-defined]


def test_configuration_errors_name_the_organization_and_the_file(network: StandInNetwork, tmp_path: Path) -> None:
    entry = network.organization_config("MyOrg1MSP")
    entry["identity"]["key"] = str(tmp_path / "missing-key.pem")
    with pytest.raises(ConfigError, match=r"MyOrg1MSP.*missing-key\.pem"):
        parse_fabric_config({"MyOrg1MSP": entry})
    entry = network.organization_config("MyOrg1MSP")
    entry["identity"]["key"] = str(network.users["MyOrg2MSP"].key_path)
    with pytest.raises(ConfigError, match="does not match its certificate"):
        parse_fabric_config({"MyOrg1MSP": entry})
    with pytest.raises(ConfigError, match="no peer endpoint"):
        parse_fabric_config({"MyOrg1MSP": {"identity": network.organization_config("MyOrg1MSP")["identity"]}})


def test_a_client_of_org1_asking_as_org2_is_refused_before_any_fabric_call(network: StandInNetwork,
                                                                          tmp_path: Path) -> None:
    org1 = network.pki["MyOrg1MSP"]
    server = org1.tls_server("gateway")
    backend = org1.identity("backend@MyOrg1MSP")
    org_cas = tuple((mspid, pki.ca.cert_path) for mspid, pki in network.pki.items())
    with fabric_gateway(network, tmp_path / "gateway", tls_cert=server.cert_path, tls_key=server.key_path,
                        org_ca=org_cas) as gateway:
        credentials = grpc.ssl_channel_credentials(root_certificates=org1.tls_ca.cert_path.read_bytes(),
                                                   private_key=backend.key_pem, certificate_chain=backend.cert_pem)
        with connected(gateway.address, credentials) as channel:
            own = GatewayClient(channel).register()
            assert own.register_algo(new_algo("mine")).owner == "MyOrg1MSP"
            endorsements_before = network.peer("MyOrg2MSP").calls.get("Endorse", 0)
            with pytest.raises(grpc.RpcError) as caught:
                own.as_org("MyOrg2MSP").register_algo(new_algo("impersonated"))
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "invalid issuer" in caught.value.details()
    assert network.peer("MyOrg2MSP").calls.get("Endorse", 0) == endorsements_before


def test_conflicts_beyond_the_retry_budget_are_aborted_and_write_nothing(network: StandInNetwork,
                                                                         tmp_path: Path) -> None:
    fabric = parse_fabric_config({m: network.organization_config(m) for m in network.orgs},
                                 environ={"ORCHESTRATOR_FABRIC_MVCC_RETRIES": "0"})
    invoker = FabricInvoker(fabric, tmp_path / "data", channels=fabric_config(network, tmp_path).channels)
    target = Target("MyOrg1MSP", "mychannel", "mycc")
    argument = codec.encode(organization_pb2.RegisterOrganizationParam())
    outcomes: list[object] = []

    def register() -> None:
        try:
            outcomes.append(invoker.submit(target, "orchestrator.organization:RegisterOrganization", argument))
        except InvocationError as exc:
            outcomes.append(exc)

    try:
        with network.orderer.hold("mychannel"):
            calls = [threading.Thread(target=register) for _ in range(2)]
            for call in calls:
                call.start()
            while network.orderer.pending("mychannel") < 2:  # both endorsed on the same state
                network.ledgers["mychannel"].wait_height(network.ledgers["mychannel"].height, 0.01)
        for call in calls:
            call.join()
    finally:
        invoker.close()
    aborted = [o for o in outcomes if isinstance(o, InvocationError)]
    assert len(aborted) == 1 and aborted[0].status == grpc.StatusCode.ABORTED
    assert "MVCC_READ_CONFLICT" in aborted[0].message and "nothing was written" in aborted[0].message
    organizations = [tx for b in network.ledgers["mychannel"].blocks for tx in b.transactions if tx.code == 0]
    assert len(organizations) == 1


def test_two_gateways_cannot_share_a_data_directory(network: StandInNetwork, tmp_path: Path) -> None:
    fabric = parse_fabric_config({m: network.organization_config(m) for m in network.orgs})
    first = FabricInvoker(fabric, tmp_path / "data")
    try:
        with pytest.raises(DataDirInUseError):
            FabricInvoker(fabric, tmp_path / "data")
    finally:
        first.close()
    FabricInvoker(fabric, tmp_path / "data").close()  # released on close


def test_calls_of_one_organization_are_in_flight_together(network: StandInNetwork, client: GatewayClient) -> None:
    errors: list[BaseException] = []

    def register(index: int) -> None:
        try:
            client.register_algo(new_algo(f"parallel {index}"))
        except BaseException as exc:
            errors.append(exc)

    calls = [threading.Thread(target=register, args=(i,)) for i in range(16)]
    with network.orderer.hold("mychannel"):  # upstream ran one call per MSP at a time: at most one would wait here
        for call in calls:
            call.start()
        while network.orderer.pending("mychannel") < 16:
            network.ledgers["mychannel"].wait_height(network.ledgers["mychannel"].height, 0.01)
    for call in calls:
        call.join()
    assert not errors
    assert len({a.key for a in client.query_algos(algo_pb2.QueryAlgosParam(page_size=100)).Algos}) == 16


def test_a_chaincode_not_initialized_yet_is_a_failed_precondition_at_once(tmp_path: Path) -> None:
    with StandInNetwork(tmp_path / "net", init_required=True) as network:
        invoker = FabricInvoker(parse_fabric_config({m: network.organization_config(m) for m in network.orgs}),
                                tmp_path / "data", channels=fabric_config(network, tmp_path).channels)
        try:
            with pytest.raises(InvocationError) as caught:
                invoker.submit(Target("MyOrg1MSP", "mychannel", "mycc"),
                               "orchestrator.organization:RegisterOrganization",
                               codec.encode(organization_pb2.RegisterOrganizationParam()))
        finally:
            invoker.close()
        assert caught.value.status == grpc.StatusCode.FAILED_PRECONDITION
        assert "must call as init first" in caught.value.message
        assert network.peer("MyOrg1MSP").calls["Endorse"] == 1  # not retried
