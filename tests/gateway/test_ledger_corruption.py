"""Damaged ledger files are never served in silence, and ``orchestrator-ledger`` reports and repairs them exactly.

A crash image is what a killed gateway leaves: calls committed to SQLite, then calls acknowledged
only by the redo log. Its files are then cut or overwritten at the head, the middle or the tail.
A torn tail is an append the process never finished: dropped with a warning. Anything else that
loses acknowledged calls keeps the ledger down (DATA_LOSS) until it is repaired.
"""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from orchestrator.api import computetask_pb2, info_pb2, organization_pb2
from orchestrator.gateway.ledger import sqlite as ledger_module
from orchestrator.gateway.ledger.faults import LedgerCorrupt, LedgerState
from orchestrator.gateway.ledger.redo import decode_all, encode
from orchestrator.gateway.server import GatewayThread
from orchestrator.shared import codec
from orchestrator.shared.functions import BY_HANDLER
from tests import builders as b
from tests.client import GatewayClient, connected, free_port, test_config
from tests.network import Network

COMMITTED = 5  # tasks committed to SQLite before the crash (their records stay in the redo log)
PENDING = 12  # tasks acknowledged by the redo log only
FILES = ("mychannel.db", "mychannel.db-wal", "mychannel.db-redo")


@pytest.fixture
def no_commit_on_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ledger_module, "GROUP_AGE", 3600.0)
    monkeypatch.setattr(ledger_module, "GROUP_CALLS", 1000)


def task(n: int) -> computetask_pb2.RegisterTasksParam:
    return computetask_pb2.RegisterTasksParam(tasks=[b.new_train_task(f"t{n}")])


def crash_image(tmp_path: Path) -> tuple[Path, list[int], int]:
    """A ledger as a kill leaves it: (folder, offsets of the pending records in the redo log, last committed call)."""
    live = tmp_path / "live"
    net = Network(live).with_orgs_registered()
    b.register_task_assets(net.org1)
    for n in range(COMMITTED):
        net.org1.register_tasks(task(n))
    net.ledger.flush()  # committed; the records stay in the redo log (it is emptied past 8 MB)
    with sqlite3.connect(net.ledger.path) as conn:
        last = conn.execute("SELECT last FROM calls").fetchone()[0]
    for n in range(COMMITTED, COMMITTED + PENDING):
        net.org1.register_tasks(task(n))
    assert net.ledger.uncommitted_calls == PENDING
    image = tmp_path / "image"
    image.mkdir()
    for name in FILES:
        shutil.copy(live / name, image / name)
    net.close()
    data = (image / "mychannel.db-redo").read_bytes()
    offsets, position = [], 0
    for record in decode_all(data):
        if record.call > last:
            offsets.append(position)
        position += len(encode(record))
    assert len(offsets) == PENDING and position == len(data)
    return image, offsets, last


def write_fresh(net: Network, n: int) -> None:
    """Register task ``t<n>`` with a fresh transaction id (a reopened test network would reuse its ids)."""
    net.ledger.submit("MyOrg1MSP", BY_HANDLER["register_tasks"].name, codec.encode(task(n)))
    assert b.key(f"t{n}") in stored_tasks(net)


def stored_tasks(net: Network) -> set[str]:
    return {key.decode().partition(":")[2] for key, _ in net.ledger.dump() if key.startswith(b"computetask:")}


def check_events_complete(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT seq, id FROM events ORDER BY seq").fetchall()
    assert [seq for seq, _ in rows] == list(range(1, len(rows) + 1))
    assert len({event_id for _, event_id in rows}) == len(rows)


def overwrite(path: Path, offset: int, data: bytes) -> None:
    with open(path, "r+b") as handle:
        handle.seek(offset)
        handle.write(data)


def cut(path: Path, start: int, end: int | None = None) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:start] + (data[end:] if end is not None else b""))


def digest(folder: Path) -> dict[str, str]:
    """Contents of the database and the redo log (SQLite may add an empty WAL and its index beside them)."""
    return {name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in ("mychannel.db", FILES[2])}


def ledger_cli(*args: str) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("orchestrator-ledger")
    return subprocess.run([str(script), *args], capture_output=True, text=True, timeout=120)


def open_refused(image: Path, caplog: pytest.LogCaptureFixture) -> str:
    """Open the damaged ledger: it must refuse calls with DATA_LOSS; return its ERROR line."""
    with caplog.at_level(logging.INFO):
        net = Network(image)
    try:
        assert net.ledger.state is LedgerState.CORRUPT
        with pytest.raises(LedgerCorrupt) as refused:
            net.org1.get_task(computetask_pb2.GetTaskParam(key=b.key("t0")))
        assert refused.value.status_name == "DATA_LOSS"
        with pytest.raises(LedgerCorrupt):
            net.org1.register_tasks(task(999))
    finally:
        net.close()
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1, errors
    return errors[0]


# -- the redo log ------------------------------------------------------------------------


def test_16_bytes_overwritten_in_the_middle_of_the_redo_log_refuse_the_ledger_and_name_the_damage(
    tmp_path: Path, no_commit_on_its_own: None, caplog: pytest.LogCaptureFixture
) -> None:
    image, offsets, last = crash_image(tmp_path)
    redo = image / "mychannel.db-redo"
    overwrite(redo, offsets[5] + 40, b"\xee" * 16)
    before = digest(image)["mychannel.db-redo"]
    error = open_refused(image, caplog)
    assert f"redo log {redo} is damaged at offset {offsets[5]} ({offsets[6] - offsets[5]} bytes)" in error
    assert f"{PENDING - 6} valid records follow" in error
    assert f"calls {last + 6} after the last committed call {last} are lost" in error
    assert digest(image)["mychannel.db-redo"] == before  # a refused redo log is left as it was, for inspection
    before_all = digest(image)

    inspected = ledger_cli("inspect", str(image / "mychannel.db"))
    assert inspected.returncode == 1, inspected.stderr
    assert f"redo log damage: {offsets[6] - offsets[5]} bytes at offset {offsets[5]}, followed by " \
           f"{PENDING - 6 + COMMITTED * 0} valid records" in inspected.stdout
    assert f"acknowledged calls lost: {PENDING - 5} (calls {last + 6}-{last + PENDING};" in inspected.stdout
    assert "5 calls to apply at the next start" in inspected.stdout
    refused = ledger_cli("repair", str(image / "mychannel.db"))
    assert refused.returncode == 1 and "nothing changed" in refused.stdout
    assert digest(image) == before_all  # inspect and a refused repair change nothing

    repaired = ledger_cli("repair", "--accept-loss", str(image / "mychannel.db"))
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert f"{PENDING - 5} acknowledged calls dropped" in repaired.stdout
    assert hashlib.sha256((image / "mychannel.db-redo.damaged").read_bytes()).hexdigest() == before
    net = Network(image)
    try:
        assert net.ledger.state is LedgerState.UP
        assert stored_tasks(net) == {b.key(f"t{n}") for n in range(COMMITTED + 5)}  # everything before the damage
    finally:
        net.close()
    check_events_complete(image / "mychannel.db")
    assert ledger_cli("inspect", str(image / "mychannel.db")).returncode == 0


def test_a_redo_log_cut_at_its_head_loses_acknowledged_calls_and_is_refused(
    tmp_path: Path, no_commit_on_its_own: None, caplog: pytest.LogCaptureFixture
) -> None:
    image, offsets, last = crash_image(tmp_path)
    redo = image / "mychannel.db-redo"
    cut(redo, 0, offsets[1] - 10)  # the committed records and most of the first pending one
    error = open_refused(image, caplog)
    assert f"redo log {redo} is damaged at offset 0 (10 bytes) and {PENDING - 1} valid records follow" in error
    assert f"calls {last + 1} after the last committed call {last} are lost" in error


def test_bytes_cut_from_the_middle_of_the_redo_log_are_refused(
    tmp_path: Path, no_commit_on_its_own: None, caplog: pytest.LogCaptureFixture
) -> None:
    image, offsets, last = crash_image(tmp_path)
    cut(image / "mychannel.db-redo", offsets[3] + 20, offsets[7] + 20)  # records 3 to 7 lose bytes
    error = open_refused(image, caplog)
    assert f"calls {last + 4}-{last + 8} after the last committed call {last} are lost" in error
    assert f"{PENDING - 8} valid records follow" in error


@pytest.mark.parametrize("damage", ["cut", "overwritten"])
def test_a_torn_tail_is_dropped_with_a_warning_counting_bytes_and_records(
    tmp_path: Path, no_commit_on_its_own: None, caplog: pytest.LogCaptureFixture, damage: str
) -> None:
    image, offsets, _ = crash_image(tmp_path)
    redo = image / "mychannel.db-redo"
    size = redo.stat().st_size
    if damage == "cut":
        cut(redo, size - 100)
    else:
        overwrite(redo, size - 100, b"\x00" * 100)
    with caplog.at_level(logging.INFO):
        net = Network(image)
    try:
        assert net.ledger.state is LedgerState.UP
        assert stored_tasks(net) == {b.key(f"t{n}") for n in range(COMMITTED + PENDING - 1)}
        write_fresh(net, 500)  # and it takes writes
    finally:
        net.close()
    torn = size - offsets[-1] - (100 if damage == "cut" else 0)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(f"dropping its torn tail, {torn} bytes at offset {offsets[-1]} (1 incomplete record(s)" in w
               for w in warnings), warnings
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any(f"{PENDING - 1} calls replayed from the redo log" in r.getMessage() for r in caplog.records)
    check_events_complete(image / "mychannel.db")


def test_damage_to_records_already_committed_loses_nothing_and_is_served_with_a_warning(
    tmp_path: Path, no_commit_on_its_own: None, caplog: pytest.LogCaptureFixture
) -> None:
    image, _, _ = crash_image(tmp_path)
    overwrite(image / "mychannel.db-redo", 30, b"\xee" * 16)  # inside the first record, committed long ago
    with caplog.at_level(logging.INFO):
        net = Network(image)
    try:
        assert net.ledger.state is LedgerState.UP
        assert stored_tasks(net) == {b.key(f"t{n}") for n in range(COMMITTED + PENDING)}
    finally:
        net.close()
    assert any("already committed to the database, nothing is lost" in r.getMessage() for r in caplog.records
               if r.levelno == logging.WARNING)
    check_events_complete(image / "mychannel.db")


# -- the database ------------------------------------------------------------------------


def closed_ledger(tmp_path: Path, tasks: int = 300) -> Path:
    folder = tmp_path / "ledger"
    net = Network(folder).with_orgs_registered()
    b.register_task_assets(net.org1)
    net.org1.register_tasks(computetask_pb2.RegisterTasksParam(tasks=[b.new_train_task(f"t{n}") for n in range(tasks)]))
    net.close()  # checkpointed: everything is in the database file
    return folder


@pytest.mark.parametrize("damage", ["cut in half", "overwritten in the middle"])
def test_a_damaged_database_is_found_at_open_and_not_served(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: str
) -> None:
    folder = closed_ledger(tmp_path)
    db = folder / "mychannel.db"
    size = db.stat().st_size
    if damage == "cut in half":
        cut(db, size // 2)
    else:
        overwrite(db, (size // 4096 // 2) * 4096, b"\xa5" * 8192)
    error = open_refused(folder, caplog)
    assert f"{db}" in error and ("quick_check" in error or "malformed" in error), error

    inspected = ledger_cli("inspect", str(db))
    assert inspected.returncode == 1
    assert "database: DAMAGED" in inspected.stdout
    readable_entries = int(re.search(r"state entries readable: (\d+)", inspected.stdout)[1])  # type: ignore[index]
    readable_events = int(re.search(r"events readable: (\d+)", inspected.stdout)[1])  # type: ignore[index]
    assert readable_entries > 0 and "are unreadable" in inspected.stdout
    refused = ledger_cli("repair", str(db))
    assert refused.returncode == 1 and "nothing changed" in refused.stdout
    repaired = ledger_cli("repair", "--accept-loss", str(db))
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert "database rebuilt from what was readable" in repaired.stdout
    assert (folder / "mychannel.db.damaged").exists()
    with sqlite3.connect(db) as conn:  # everything the report called readable was kept
        assert conn.execute("SELECT COUNT(*) FROM state").fetchone() == (readable_entries,)
        assert conn.execute("SELECT COUNT(*) FROM events").fetchone() == (readable_events,)
    net = Network(folder)
    try:
        assert net.ledger.state is LedgerState.UP
        kept = stored_tasks(net)
        assert kept < {b.key(f"t{n}") for n in range(300)}  # some were on the damaged pages
        net.ledger.submit("MyOrg9MSP", BY_HANDLER["register_organization"].name,
                          codec.encode(organization_pb2.RegisterOrganizationParam()))  # and it takes writes
    finally:
        net.close()
    check_events_complete_or_reported(folder / "mychannel.db", repaired.stdout)
    assert ledger_cli("inspect", str(db)).returncode == 0


def check_events_complete_or_reported(db: Path, report: str) -> None:
    """Events after repair: ids unique; positions may miss only the ones the report counted as unreadable."""
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        ids = [row[0] for row in conn.execute("SELECT id FROM events")]
    assert len(set(ids)) == len(ids)
    assert "events readable" in report


# -- what a gateway reports --------------------------------------------------------------


def test_a_gateway_over_a_damaged_ledger_answers_data_loss_and_is_not_ready(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    source = closed_ledger(tmp_path)
    (data_dir / "mychannel").mkdir(parents=True)
    shutil.copy(source / "mychannel.db", data_dir / "mychannel" / "mycc.sqlite")
    cut(data_dir / "mychannel" / "mycc.sqlite", (data_dir / "mychannel" / "mycc.sqlite").stat().st_size // 2)
    metrics_port = free_port()
    config = test_config(data_dir, metrics_listen=f"127.0.0.1:{metrics_port}")
    with GatewayThread(config) as gateway, connected(gateway.address) as channel:
        status, body = _readyz(metrics_port)  # checked at start, before any call reaches it
        assert status == 503 and "ledger mychannel/mycc corrupt" in body
        client = GatewayClient(channel)
        code = _code(lambda: client.query_version(info_pb2.QueryVersionParam()))
        assert code == grpc.StatusCode.DATA_LOSS
        assert _code(lambda: GatewayClient(channel, channel_name="otherchannel").register()) == grpc.StatusCode.OK
        health = health_pb2_grpc.HealthStub(channel)
        deadline = 100
        while health.Check(health_pb2.HealthCheckRequest()).status != health_pb2.HealthCheckResponse.NOT_SERVING:
            deadline -= 1
            assert deadline, "health stays SERVING"
            threading_wait(0.05)
        assert health.Check(health_pb2.HealthCheckRequest(service="liveness")).status == \
            health_pb2.HealthCheckResponse.SERVING
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as answer:
            text = answer.read().decode()
        assert 'orchestrator_ledger_state{chaincode="mycc",channel="mychannel"} 2.0' in text
        assert 'orchestrator_ledger_state{chaincode="mycc",channel="otherchannel"} 0.0' in text


def test_the_ledger_commands_refuse_to_touch_the_files_of_a_running_gateway(tmp_path: Path) -> None:
    with GatewayThread(test_config(tmp_path / "data")) as gateway, connected(gateway.address) as channel:
        GatewayClient(channel).register()
        answer = ledger_cli("repair", "--accept-loss", str(tmp_path / "data"))
    assert answer.returncode == 2
    assert "a gateway is using" in answer.stderr and "stop it first" in answer.stderr


def _code(call: Callable[[], object]) -> grpc.StatusCode:
    try:
        call()
    except grpc.RpcError as exc:
        return exc.code()  # type: ignore[no-any-return]
    return grpc.StatusCode.OK


def _readyz(port: int) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def threading_wait(seconds: float) -> None:
    import threading

    threading.Event().wait(seconds)
