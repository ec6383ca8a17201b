"""The embedded ledger's group commit: calls acknowledged through the redo log, committed to SQLite in groups."""

from __future__ import annotations

import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.api import computetask_pb2
from orchestrator.gateway.ledger import eventlog
from orchestrator.gateway.ledger import sqlite as ledger_module
from orchestrator.gateway.ledger.redo import RedoRecord, decode_all, encode
from orchestrator.shared.store.transaction import CHAINCODE_EVENT_NAME, encode_events
from orchestrator.shared.store.worldstate import WorldState
from tests import builders as b
from tests.network import Network

REPO = Path(__file__).resolve().parents[2]
TASKS = 30

#: Registers TASKS tasks one call each on a ledger that never commits a group on its own,
#: reports each acknowledged key, then kills itself: the calls are only in the redo log.
CHILD = """
import os, signal, sys
from pathlib import Path
from orchestrator.gateway.ledger import eventlog
from orchestrator.gateway.ledger import sqlite as ledger_module
ledger_module.GROUP_AGE = 3600.0
ledger_module.GROUP_CALLS = 1000
from tests.gateway.test_ledger import build
net = build(Path(sys.argv[1]))
print("uncommitted", net.ledger.uncommitted_calls, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def build(path: Path) -> Network:
    """Task assets, then TASKS tasks registered one per call (each child of the previous one)."""
    net = Network(path).with_orgs_registered()
    b.register_task_assets(net.org1)
    for n in range(TASKS):
        parents = (f"t{n - 1}",) if n else ()
        net.org1.register_tasks(computetask_pb2.RegisterTasksParam(tasks=[b.new_train_task(f"t{n}", parents=parents)]))
    return net


@pytest.fixture
def net(tmp_path: Path) -> Iterator[Network]:
    network = Network(tmp_path).with_orgs_registered()
    yield network
    network.close()


def dump_of(path: Path) -> list[tuple[bytes, bytes]]:
    """The state that :func:`build` leaves at ``path``, on a ledger closed afterwards."""
    net = build(path)
    try:
        return net.ledger.dump()
    finally:
        net.close()


@pytest.fixture
def no_commit_on_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """Groups commit only when something needs them committed."""
    monkeypatch.setattr(ledger_module, "GROUP_AGE", 3600.0)
    monkeypatch.setattr(ledger_module, "GROUP_CALLS", 1000)


def count_documents(conn: sqlite3.Connection, kind: str) -> int:
    """Documents of one kind in a ledger's SQLite file (keys ``<kind>:<key>``)."""
    return conn.execute("SELECT COUNT(*) FROM state WHERE key >= ? AND key < ?",
                        (f"{kind}:".encode(), f"{kind};".encode())).fetchone()[0]


def events_table(path: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT * FROM events ORDER BY seq").fetchall()


def test_calls_acknowledged_only_in_the_redo_log_survive_a_sigkill_byte_for_byte(tmp_path: Path) -> None:
    crashed = tmp_path / "crashed"
    crashed.mkdir()
    child = subprocess.run([sys.executable, "-c", CHILD, str(crashed)], cwd=REPO, capture_output=True, text=True,
                           timeout=120)
    assert child.returncode == -signal.SIGKILL, child.stderr
    uncommitted = int(child.stdout.split()[-1])
    assert uncommitted > TASKS  # every task call (and the set-up) was acknowledged by the redo log alone

    expected_state = dump_of(tmp_path)  # the same calls, same ids and timestamps, never interrupted
    reopened = Network(crashed)
    try:
        assert reopened.ledger.uncommitted_calls == 0
        assert reopened.ledger.dump() == expected_state
        for n in range(TASKS):
            assert reopened.org1.get_task(computetask_pb2.GetTaskParam(key=b.key(f"t{n}"))).key == b.key(f"t{n}")
    finally:
        reopened.close()
    assert events_table(crashed / "mychannel.db") == events_table(tmp_path / "mychannel.db")


def test_a_torn_record_at_the_end_of_the_redo_log_is_an_unacknowledged_call_and_is_dropped(
    tmp_path: Path, no_commit_on_its_own: None
) -> None:
    net = build(tmp_path / "live")
    image = tmp_path / "image"  # the files as a crash at this instant leaves them
    image.mkdir()
    for name in ("mychannel.db", "mychannel.db-wal", "mychannel.db-redo"):
        shutil.copy(tmp_path / "live" / name, image / name)
    net.close()
    torn = encode(RedoRecord(10_000, 0, "cut short", None, [(b"key", b"value" * 100)]))
    with open(image / "mychannel.db-redo", "ab") as redo:
        redo.write(torn[:-7])

    reopened = Network(image)
    try:
        state = reopened.ledger.dump()
    finally:
        reopened.close()
    assert state == dump_of(tmp_path)
    assert b"key" not in dict(state)


def test_an_evaluation_sees_every_acknowledged_call_and_commits_the_group(net: Network, no_commit_on_its_own: None
                                                                          ) -> None:
    b.register_task_assets(net.org1)
    net.org1.register_tasks(computetask_pb2.RegisterTasksParam(tasks=[b.new_train_task("t")]))
    assert net.ledger.uncommitted_calls > 0
    assert net.org1.get_task(computetask_pb2.GetTaskParam(key=b.key("t"))).key == b.key("t")
    assert net.ledger.uncommitted_calls == 0


def test_followers_get_the_latest_events_before_their_group_commits(net: Network, no_commit_on_its_own: None) -> None:
    log = net.ledger.events
    position = log.after(0, 10_000)[-1].seq
    b.register_task_assets(net.org1)
    assert net.ledger.uncommitted_calls > 0
    recent = log.after(position, 10_000)
    assert net.ledger.uncommitted_calls > 0  # served from memory: nothing committed to read them
    assert [e.event.asset_key for e in recent][-1] == b.key("cp")
    assert [e.seq for e in recent] == list(range(position + 1, position + 1 + len(recent)))


def test_followers_behind_the_events_in_memory_read_the_store_with_every_acknowledged_call(
    tmp_path: Path, no_commit_on_its_own: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(eventlog, "RECENT_EVENTS_BYTES", 1500)  # a few events
    net = Network(tmp_path).with_orgs_registered()
    try:
        log = net.ledger.events
        registered = len(log.after(0, 10_000))
        b.register_task_assets(net.org1)  # more events than fit in memory
        assert net.ledger.uncommitted_calls > 0
        every = log.after(registered, 10_000)  # older than the 3 in memory: read from SQLite
        assert net.ledger.uncommitted_calls == 0
        assert len(every) > 3
        assert [e.seq for e in every] == list(range(registered + 1, registered + len(every) + 1))
        assert every[-1].event.asset_key == b.key("cp")
        assert log.after(every[-4].seq, 10_000) == every[-3:]  # the events in memory are the same
    finally:
        net.close()


@pytest.mark.parametrize("first_of_its_group", [False, True], ids=["in-a-group", "first-of-a-group"])
def test_a_call_that_fails_while_being_recorded_leaves_nothing_and_its_group_intact(
    net: Network, no_commit_on_its_own: None, first_of_its_group: bool
) -> None:
    b.register_task_assets(net.org1)
    if first_of_its_group:
        net.ledger.flush()
    pending = net.ledger.uncommitted_calls
    assert (pending == 0) is first_of_its_group

    def emit(world_state: WorldState, key: str) -> None:
        world_state.put(key, b"v")
        world_state.set_event(CHAINCODE_EVENT_NAME, encode_events([net.ledger.events.after(0, 1)[0].event]))

    with pytest.raises(sqlite3.IntegrityError):  # the event's id is already logged: recording it fails
        net.ledger.run_write(lambda ws: emit(ws, "failed"), creator_msp="MyOrg1MSP", tx_id="t", timestamp_ns=1)
    assert net.ledger.uncommitted_calls == pending
    net.org1.register_tasks(computetask_pb2.RegisterTasksParam(tasks=[b.new_train_task("after")]))
    state = dict(net.ledger.dump())
    assert b"failed" not in state
    assert f"computetask:{b.key('after')}".encode() in state and f"computeplan:{b.key('cp')}".encode() in state


def test_a_call_that_fills_the_group_commits_it_and_needs_no_redo_record(
    net: Network, no_commit_on_its_own: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    b.register_task_assets(net.org1)
    assert net.ledger.uncommitted_calls > 0
    monkeypatch.setattr(ledger_module, "GROUP_WRITES", 50)
    redo = net.ledger.path.with_name(net.ledger.path.name + "-redo")
    logged = len(list(decode_all(redo.read_bytes())))
    batch = [b.new_train_task(f"t{n}") for n in range(10)]
    net.org1.register_tasks(computetask_pb2.RegisterTasksParam(tasks=batch))
    assert net.ledger.uncommitted_calls == 0
    assert len(list(decode_all(redo.read_bytes()))) == logged
    with sqlite3.connect(net.ledger.path) as conn:  # committed: any connection sees the batch
        assert count_documents(conn, "computetask") == 10


def test_a_group_commits_on_its_own_once_it_is_old_enough(net: Network) -> None:
    b.register_task_assets(net.org1)
    deadline = time.monotonic() + 10
    while net.ledger.uncommitted_calls and time.monotonic() < deadline:
        time.sleep(0.01)
    assert net.ledger.uncommitted_calls == 0
    with sqlite3.connect(net.ledger.path) as conn:
        assert conn.execute("SELECT value FROM state WHERE key = ?",
                            (f"computeplan:{b.key('cp')}".encode(),)).fetchone() is not None


def test_closing_commits_every_call_and_empties_the_redo_log(tmp_path: Path, no_commit_on_its_own: None) -> None:
    net = Network(tmp_path).with_orgs_registered()
    b.register_task_assets(net.org1)
    redo = net.ledger.path.with_name(net.ledger.path.name + "-redo")
    assert redo.stat().st_size > 0
    net.close()
    assert redo.stat().st_size == 0
    with sqlite3.connect(tmp_path / "mychannel.db") as conn:
        assert count_documents(conn, "algo") == len(b.TASK_ALGOS)


def test_redo_records_round_trip_with_deletions_and_without_event() -> None:
    records = [
        RedoRecord(1, 1_654_041_600_000_000_000, "é-tx", b"\x0a\x01x", [(b"a", b"1"), (b"b", None), (b"c", b"")]),
        RedoRecord(2, -5, "", None, []),
    ]
    data = b"".join(encode(record) for record in records)
    assert list(decode_all(data)) == records
    assert list(decode_all(data[:-1])) == records[:1]
    corrupt = bytearray(data)
    corrupt[12] ^= 0xFF  # inside the first record's body: its checksum fails, and the log ends there
    assert list(decode_all(bytes(corrupt))) == []


#: Fills the file-size limit while only the redo log grows, then reports what each call did.
DISK_FULL_CHILD = """
import os, resource, signal, sqlite3, sys, time
from pathlib import Path
from orchestrator.gateway.ledger import sqlite as ledger_module
from orchestrator.gateway.ledger.faults import LedgerFault, LedgerState
ledger_module.GROUP_AGE = 3600.0
ledger_module.GROUP_CALLS = 1000
from orchestrator.api import computetask_pb2
from tests import builders as b
from tests.network import Network
net = Network(Path(sys.argv[1])).with_orgs_registered()
b.register_task_assets(net.org1)
redo = net.ledger.path.with_name(net.ledger.path.name + "-redo")
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # past the limit, a write fails with EFBIG instead of killing us
limit = redo.stat().st_size + 700  # part of the next task's record fits
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
try:
    net.org1.register_tasks(computetask_pb2.RegisterTasksParam(tasks=[b.new_train_task("full")]))
    print("full acknowledged")
except LedgerFault as exc:
    print("full", exc.status_name, net.ledger.state.name)
resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
deadline = time.monotonic() + 30
while net.ledger.state is not LedgerState.UP and time.monotonic() < deadline:
    time.sleep(0.01)
net.org1.register_tasks(computetask_pb2.RegisterTasksParam(tasks=[b.new_train_task("after")]))
print("after acknowledged", net.ledger.uncommitted_calls)
os.kill(os.getpid(), signal.SIGKILL)  # "after" is in the redo log only
"""


def test_a_full_disk_refuses_the_call_and_the_ledger_heals_with_every_acknowledged_call(tmp_path: Path) -> None:
    child = subprocess.run([sys.executable, "-c", DISK_FULL_CHILD, str(tmp_path)], cwd=REPO, capture_output=True,
                           text=True, timeout=120)
    assert child.returncode == -signal.SIGKILL, child.stderr
    lines = child.stdout.splitlines()
    assert lines[0] == "full RESOURCE_EXHAUSTED FAILED"
    assert lines[1].startswith("after acknowledged") and int(lines[1].split()[-1]) > 0
    reopened = Network(tmp_path)
    try:
        state = dict(reopened.ledger.dump())
        assert f"computeplan:{b.key('cp')}".encode() in state  # acknowledged before the disk filled
        assert f"computetask:{b.key('full')}".encode() not in state  # refused: nothing of it
        assert f"computetask:{b.key('after')}".encode() in state  # acknowledged after healing
        seqs = [row[0] for row in events_table(tmp_path / "mychannel.db")]
        assert seqs == list(range(1, len(seqs) + 1))
    finally:
        reopened.close()


def test_the_wal_is_started_over_while_calls_keep_coming(net: Network, monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite restarts a WAL only when a write begins after a complete checkpoint; groups begin back to back."""
    monkeypatch.setattr(ledger_module, "GROUP_CALLS", 8)
    monkeypatch.setattr(ledger_module, "WAL_RESTART_FRAMES", 64)
    b.register_task_assets(net.org1)
    for n in range(400):
        net.org1.register_tasks(computetask_pb2.RegisterTasksParam(tasks=[b.new_train_task(f"t{n}")]))
    wal = net.ledger.path.with_name(net.ledger.path.name + "-wal")
    assert wal.stat().st_size < 6 * 1024 * 1024  # about 1 MB; without restarts 13 MB (50 commits of ~65 pages)
