"""Start-up: a bad configuration, a bad AMQP URL or refused credentials end the forwarder with a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.forwarder.checkpoint import Checkpoint, CheckpointError, CheckpointStore
from orchestrator.forwarder.config import ChannelTarget, ConfigError, load_config
from orchestrator.gateway.server import GatewayThread
from tests.client import free_port
from tests.forwarder.broker import PASSWORD, USER, RabbitBroker
from tests.forwarder.harness import run_forwarder_once

REQUIRED = ("--gateway", "127.0.0.1:9000", "--mspid", "MyOrg1MSP", "--channel", "mychannel")


# -- configuration -------------------------------------------------------------------------

def test_every_option_has_an_environment_variable_and_flags_win() -> None:
    env = {"ORCHESTRATOR_FORWARDER_GATEWAY": "gw:9000", "ORCHESTRATOR_FORWARDER_MSPID": "MyOrg1MSP",
           "ORCHESTRATOR_FORWARDER_CHANNEL": "mychannel,yourchannel:othercc",
           "ORCHESTRATOR_FORWARDER_CHAINCODE": "mycc",
           "ORCHESTRATOR_FORWARDER_AMQP_URL": "amqps://u:p@rabbit:5671/orc",
           "ORCHESTRATOR_FORWARDER_QUEUE": "MyOrg1MSP=mychannel,yourchannel; MyOrg2MSP=mychannel",
           "ORCHESTRATOR_FORWARDER_STATE_DIR": "/var/lib/forwarder",
           "ORCHESTRATOR_FORWARDER_METRICS_LISTEN": "0.0.0.0:8000",
           "ORCHESTRATOR_FORWARDER_CONFIRM_WINDOW": "500"}
    config = load_config([], env)
    assert config.gateway == "gw:9000" and config.confirm_window == 500
    assert config.channels == (ChannelTarget("mychannel", "mycc"), ChannelTarget("yourchannel", "othercc"))
    assert config.queues == {"MyOrg1MSP": ("mychannel", "yourchannel"), "MyOrg2MSP": ("mychannel",)}
    assert config.state_dir == Path("/var/lib/forwarder") and config.metrics_listen == "0.0.0.0:8000"
    assert config.amqp_endpoint == "rabbit:5671 vhost 'orc'" and config.amqp_user == "u"
    assert load_config(["--mspid", "MyOrg2MSP"], env).mspid == "MyOrg2MSP"
    flags = load_config(["--channel", "other", "--queue", "MyOrg3MSP=other"], env)
    assert flags.channels == (ChannelTarget("other", "mycc"),) and flags.queues == {"MyOrg3MSP": ("other",)}


@pytest.mark.parametrize(("args", "message"), [
    ((), "missing required setting"),
    (("--amqp-url", "http://rabbit:5672/"), "scheme must be amqp or amqps"),
    (("--amqp-url", "amqp://"), "no host"),
    (("--amqp-url", "amqp://rabbit:notaport/"), "not a valid URL"),
    (("--amqp-url", "amqp://r/", "--queue", "MyOrg1MSP"), "not MSPID=CHANNEL"),
    (("--amqp-url", "amqp://r/", "--queue", "MyOrg1MSP=elsewhere"), "no --channel forwards"),
    (("--amqp-url", "amqp://r/", "--confirm-window", "0"), "must be positive"),
    (("--amqp-url", "amqp://r/", "--tls-cert", __file__), "go together"),
])
def test_an_invalid_setting_is_refused_with_its_name(args: tuple[str, ...], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config([*REQUIRED, *args] if args else [], {})


def test_a_bad_amqp_url_exits_2_before_connecting() -> None:
    result = run_forwarder_once(*REQUIRED, "--amqp-url", "http://user:pw@rabbit:5672/")
    assert result.returncode == 2
    assert "--amqp-url: the scheme must be amqp or amqps" in result.stderr


def test_an_unreachable_broker_at_start_up_exits_1_after_the_start_up_timeout(tmp_path: Path) -> None:
    result = run_forwarder_once(*REQUIRED, "--amqp-url", f"amqp://u:secret-pw@127.0.0.1:{free_port()}/",
                                "--state-dir", str(tmp_path), "--startup-timeout", "1", "--reconnect-max-delay", "0.2")
    assert result.returncode == 1
    assert "cannot connect to the broker" in result.stderr and "secret-pw" not in result.stderr


# -- against the broker ----------------------------------------------------------------------

def test_bad_credentials_exit_1_naming_the_user_never_the_password(
        broker: RabbitBroker, gateway: GatewayThread, tmp_path: Path) -> None:
    url = f"amqp://{USER}:wrong-password@127.0.0.1:{broker.port}/"
    result = run_forwarder_once("--gateway", gateway.address, "--mspid", "MyOrg1MSP", "--channel", "mychannel",
                                "--amqp-url", url, "--state-dir", str(tmp_path))
    assert result.returncode == 1
    assert f"user '{USER}'" in result.stderr and "refused the credentials" in result.stderr
    assert "wrong-password" not in result.stderr


def test_an_unknown_virtual_host_exits_1(broker: RabbitBroker, gateway: GatewayThread, tmp_path: Path) -> None:
    url = f"amqp://{USER}:{PASSWORD}@127.0.0.1:{broker.port}/no-such-vhost"
    result = run_forwarder_once("--gateway", gateway.address, "--mspid", "MyOrg1MSP", "--channel", "mychannel",
                                "--amqp-url", url, "--state-dir", str(tmp_path))
    assert result.returncode == 1
    assert "no-such-vhost" in result.stderr and "denied access to the virtual host" in result.stderr


# -- checkpoints -----------------------------------------------------------------------------

def test_a_checkpoint_is_replaced_whole_and_read_back(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path / "state")
    assert store.load("mychannel") == Checkpoint()
    store.save("mychannel", Checkpoint("tx:1", "tx:5", "1970-01-01T00:00:12Z"))
    store.save("yourchannel", Checkpoint("tx:9", "tx:9"))
    assert store.load("mychannel") == Checkpoint("tx:1", "tx:5", "1970-01-01T00:00:12Z")
    assert sorted(path.name for path in (tmp_path / "state").iterdir()) == ["mychannel.json", "yourchannel.json"]


def test_a_corrupt_or_foreign_checkpoint_is_an_error_not_a_silent_restart_from_zero(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path)
    (tmp_path / "mychannel.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="not a forwarder checkpoint"):
        store.load("mychannel")
    (tmp_path / "mychannel.json").write_text('{"channel": "yourchannel", "confirmed": "x"}')
    with pytest.raises(CheckpointError, match="channel 'yourchannel'"):
        store.load("mychannel")
