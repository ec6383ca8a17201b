"""``orchestrator-chaincode-init`` on the stand-in network: waits, initializes once, is idempotent, fails clearly."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fabric_protos.peer import transaction_pb2

from orchestrator.gateway.fabric import init_job
from tests.fabric.ledger import INITIALIZED_KEY
from tests.fabric.network import StandInNetwork


def run(config: Path, *extra: str, environ: dict[str, str] | None = None) -> int:
    return init_job.main(["--config", str(config), "--mspid", "MyOrg1MSP", "--channel", "mychannel",
                          "--chaincode", "mycc", *extra], environ=environ or {})


@pytest.fixture
def init_network(tmp_path: Path) -> Iterator[StandInNetwork]:
    with StandInNetwork(tmp_path / "net", init_required=True) as network:
        yield network


def test_the_init_job_initializes_an_init_required_chaincode_once(init_network: StandInNetwork, tmp_path: Path,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    config = init_network.gateway_config(tmp_path / "gateway.yaml")
    caplog.set_level(logging.INFO)
    assert run(config, "--timeout", "60") == init_job.EXIT_DONE
    assert "initialized in transaction" in caplog.text
    state = init_network.ledgers["mychannel"].namespace("mycc")
    assert state[INITIALIZED_KEY][0] == b"1.0"
    caplog.clear()
    assert run(config, "--timeout", "60") == init_job.EXIT_DONE  # running it twice is safe
    assert "already initialized" in caplog.text
    valid = [tx for b in init_network.ledgers["mychannel"].blocks for tx in b.transactions
             if tx.code == transaction_pb2.VALID]
    assert len(valid) == 1


def test_the_init_job_accepts_a_chaincode_that_needs_no_init(network: StandInNetwork, tmp_path: Path,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    assert run(network.gateway_config(tmp_path / "gateway.yaml"), "--timeout", "60") == init_job.EXIT_DONE
    assert "does not require init" in caplog.text


def test_the_init_job_reads_the_definition_and_sends_no_init_when_none_is_required(
        network: StandInNetwork, tmp_path: Path) -> None:
    """An Init proposal to such a chaincode makes every peer log an ERROR; the definition says not to send one."""
    assert run(network.gateway_config(tmp_path / "gateway.yaml"), "--timeout", "60") == init_job.EXIT_DONE
    assert [peer.init_proposals for peers in network.peers.values() for peer in peers] == [0, 0]
    assert sum(peer.calls.get("Evaluate", 0) for peers in network.peers.values() for peer in peers) >= 2
    valid = [tx for b in network.ledgers["mychannel"].blocks for tx in b.transactions
             if tx.code == transaction_pb2.VALID]
    assert len(valid) == 1  # the init function, as a normal transaction


def test_the_init_job_sends_init_when_the_definition_requires_it(init_network: StandInNetwork,
                                                                 tmp_path: Path) -> None:
    assert run(init_network.gateway_config(tmp_path / "gateway.yaml"), "--timeout", "60") == init_job.EXIT_DONE
    assert sum(peer.init_proposals for peers in init_network.peers.values() for peer in peers) >= 1
    assert INITIALIZED_KEY in init_network.ledgers["mychannel"].namespace("mycc")


def test_the_init_job_tries_init_when_the_peer_refuses_to_show_the_definition(
        init_network: StandInNetwork, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    init_network.peer("MyOrg1MSP").lifecycle_acl_refuses = True
    assert run(init_network.gateway_config(tmp_path / "gateway.yaml"), "--timeout", "60") == init_job.EXIT_DONE
    assert "cannot read the definition of mycc on mychannel" in caplog.text
    assert INITIALIZED_KEY in init_network.ledgers["mychannel"].namespace("mycc")


def test_the_init_job_waits_until_the_chaincode_answers(init_network: StandInNetwork, tmp_path: Path) -> None:
    config = init_network.gateway_config(tmp_path / "gateway.yaml")
    peer = init_network.peer("MyOrg1MSP")
    peer.stop()
    result: list[int] = []
    job = threading.Thread(target=lambda: result.append(run(config, "--timeout", "120")))
    job.start()
    peer.start()  # the peer comes back while the job retries
    job.join()
    assert result == [init_job.EXIT_DONE]
    assert INITIALIZED_KEY in init_network.ledgers["mychannel"].namespace("mycc")


def test_the_init_job_gives_up_after_its_timeout_with_a_clear_message(
        init_network: StandInNetwork, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    config = init_network.gateway_config(tmp_path / "gateway.yaml")
    init_network.peer("MyOrg1MSP").stop()
    assert run(config, "--timeout", "1") == init_job.EXIT_TIMEOUT
    assert "not initialized after 1s" in caplog.text


def test_the_init_job_reads_its_settings_from_the_environment(init_network: StandInNetwork, tmp_path: Path) -> None:
    config = init_network.gateway_config(tmp_path / "gateway.yaml")
    environ = {"ORCHESTRATOR_CONFIG": str(config), "ORCHESTRATOR_MSPID": "MyOrg2MSP",
               "ORCHESTRATOR_CHANNEL": "yourchannel", "ORCHESTRATOR_CHAINCODE": "yourcc",
               "ORCHESTRATOR_INIT_TIMEOUT": "60s"}
    assert init_job.main([], environ=environ) == init_job.EXIT_DONE
    assert INITIALIZED_KEY in init_network.ledgers["yourchannel"].namespace("yourcc")


def test_the_init_job_refuses_an_organization_without_identity(network: StandInNetwork, tmp_path: Path,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    config = network.gateway_config(tmp_path / "gateway.yaml", orgs=["MyOrg2MSP"])
    assert run(config) == init_job.EXIT_FAILED
    assert 'no signing identity configured for organization "MyOrg1MSP"' in caplog.text
    assert init_job.main(["--mspid", "MyOrg1MSP"], environ={}) == init_job.EXIT_FAILED
    assert "--channel (or ORCHESTRATOR_CHANNEL) is required" in caplog.text


def test_the_console_script_is_installed() -> None:
    done = subprocess.run([sys.executable, "-m", "orchestrator.gateway.fabric.init_job", "--help"],
                          capture_output=True, text=True, check=True)
    assert "ORCHESTRATOR_INIT_TIMEOUT" in done.stdout


def test_the_console_script_initializes_from_the_environment(init_network: StandInNetwork, tmp_path: Path) -> None:
    config = init_network.gateway_config(tmp_path / "gateway.yaml")
    script = Path(sys.executable).with_name("orchestrator-chaincode-init")
    environ = {"PATH": "/usr/bin:/bin", "ORCHESTRATOR_CONFIG": str(config), "ORCHESTRATOR_MSPID": "MyOrg1MSP",
               "ORCHESTRATOR_CHANNEL": "mychannel", "ORCHESTRATOR_CHAINCODE": "mycc",
               "ORCHESTRATOR_INIT_TIMEOUT": "60"}
    done = subprocess.run([str(script)], env=environ, capture_output=True, text=True, timeout=120)
    assert done.returncode == init_job.EXIT_DONE, done.stderr
    assert "initialized in transaction" in done.stderr
    again = subprocess.run([str(script)], env=environ, capture_output=True, text=True, timeout=120)
    assert again.returncode == init_job.EXIT_DONE and "already initialized" in again.stderr
