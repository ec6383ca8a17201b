"""Storage faults under a running gateway: a full disk and no file descriptor left, for real (issue 14).

The gateway runs as a process, as in production. A full disk is a small tmpfs mounted for the
test, filled by a ballast file (when the tests run as root, as CI does); elsewhere a file-size
limit (``RLIMIT_FSIZE``) set on the gateway makes its writes fail the same way. Running out of
file descriptors is ``RLIMIT_NOFILE`` set on the gateway. In each case clients get
RESOURCE_EXHAUSTED or UNAVAILABLE, never INTERNAL; readiness names the failed ledger while the
liveness service stays SERVING; once the cause is gone the ledger serves again without a restart,
with every acknowledged write and every event once, in order.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import sqlite3
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from orchestrator.api import common_pb2, computetask_pb2, event_pb2, info_pb2
from tests import builders as b
from tests.client import GatewayClient, GatewayProcess, connected, free_port
from tests.e2e import steps

RETRYABLE = {grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.UNAVAILABLE}


def _mount_tmpfs(path: Path, size: str) -> bool:
    if os.geteuid() != 0:
        return False
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
    return done.returncode == 0


class FullDisk:
    """The data directory of a gateway whose disk can be filled and freed."""

    def __init__(self, data_dir: Path, mounted: bool) -> None:
        self.data_dir = data_dir
        self.mounted = mounted
        self.gateway: GatewayProcess | None = None

    def popen(self) -> dict[str, object]:
        """How to start the gateway: past a file-size limit its writes fail with EFBIG instead of a signal."""
        if self.mounted:
            return {}
        return {"preexec_fn": lambda: signal.signal(signal.SIGXFSZ, signal.SIG_IGN)}

    def fill(self) -> None:
        if self.mounted:  # a ballast file takes every block left
            with open(self.data_dir / "ballast", "wb") as ballast, contextlib.suppress(OSError):
                while True:
                    ballast.write(bytes(64 * 1024))
                    ballast.flush()
        else:  # no file of the gateway may grow any more
            assert self.gateway is not None
            largest = max(f.stat().st_size for f in self.data_dir.rglob("*") if f.is_file())
            resource.prlimit(self.gateway.process.pid, resource.RLIMIT_FSIZE, (largest, resource.RLIM_INFINITY))

    def free(self) -> None:
        if self.mounted:
            (self.data_dir / "ballast").unlink()
        else:
            assert self.gateway is not None
            resource.prlimit(self.gateway.process.pid, resource.RLIMIT_FSIZE,
                             (resource.RLIM_INFINITY, resource.RLIM_INFINITY))


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[FullDisk]:
    data_dir = tmp_path / "data"
    mounted = _mount_tmpfs(data_dir, "4m")
    try:
        yield FullDisk(data_dir, mounted)
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(data_dir)], check=False)


def readyz(port: int) -> tuple[int, str]:
    for _ in range(20):  # the gateway may be short of file descriptors: try again
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()
        except OSError:
            time.sleep(0.1)
    raise AssertionError("/readyz does not answer")


def metric(port: int, line_start: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        for line in answer.read().decode().splitlines():
            if line.startswith(line_start + " "):
                return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no metric {line_start}")


def health(channel: grpc.Channel, service: str = "") -> int:
    return int(health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service),
                                                        timeout=10).status)


def eventually(check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _code(call: Callable[[], object]) -> grpc.StatusCode:
    try:
        call()
    except grpc.RpcError as exc:
        return exc.code()  # type: ignore[no-any-return]
    return grpc.StatusCode.OK


def check_everything_acknowledged_is_there(client: GatewayClient, acknowledged: list[str], db: Path | None) -> None:
    """Every acknowledged task is stored, has exactly one creation event, and the event log has no gap."""
    listed = {t.key for t in client.query_tasks(computetask_pb2.QueryTasksParam(page_size=100_000)).tasks}
    assert set(acknowledged) <= listed
    created = client.query_events(asset_kind=common_pb2.ASSET_COMPUTE_TASK, event_kind=event_pb2.EVENT_ASSET_CREATED)
    assert sorted(e.asset_key for e in created) == sorted(listed)  # one each: none missing, none twice
    every = client.query_events()
    assert len({e.id for e in every}) == len(every)
    stream = client.subscribe(timeout=30)
    streamed = [next(stream) for _ in range(len(every))]
    stream.cancel()
    assert [e.id for e in streamed] == [e.id for e in every]  # the same events, in the same order
    if db is not None:
        with sqlite3.connect(db) as conn:
            seqs = [row[0] for row in conn.execute("SELECT seq FROM events ORDER BY seq")]
        assert seqs == list(range(1, len(seqs) + 1))


def test_a_full_disk_is_resource_exhausted_then_the_ledger_heals_without_a_restart(full_disk: FullDisk) -> None:
    metrics_port = free_port()
    gateway = full_disk.gateway = GatewayProcess(full_disk.data_dir, "--metrics-listen", f"127.0.0.1:{metrics_port}",
                                                 **full_disk.popen()).wait_serving()
    acknowledged: list[str] = []
    codes: set[grpc.StatusCode] = set()
    try:
        with connected(gateway.address) as channel:
            client = GatewayClient(channel).register()
            steps.setup_train(client)
            steps.register_task(client, b.new_train_task("before"))
            acknowledged.append(b.key("before"))
            full_disk.fill()
            for n in range(2000):  # until a write finds the disk full
                code = _code(lambda n=n: steps.register_task(client, b.new_train_task(f"t{n}")))
                if code != grpc.StatusCode.OK:
                    codes.add(code)
                    break
                acknowledged.append(b.key(f"t{n}"))
            assert codes and codes <= RETRYABLE, codes
            if full_disk.mounted:
                assert codes == {grpc.StatusCode.RESOURCE_EXHAUSTED}
            # the ledger is failed: reads and writes are refused with the same status, and it says so
            assert _code(lambda: steps.get_plan(client)) in RETRYABLE
            assert _code(lambda: steps.register_task(client, b.new_train_task("refused"))) in RETRYABLE
            status, body = readyz(metrics_port)
            assert status == 503 and "ledger mychannel/mycc failed" in body, body
            eventually(lambda: health(channel) == health_pb2.HealthCheckResponse.NOT_SERVING)
            assert health(channel, "liveness") == health_pb2.HealthCheckResponse.SERVING
            assert metric(metrics_port, 'orchestrator_ledger_state{chaincode="mycc",channel="mychannel"}') == 1
            assert metric(metrics_port,
                          'orchestrator_ledger_failures_total{chaincode="mycc",channel="mychannel"}') == 1
            if full_disk.mounted:  # opening another channel's ledger on a full disk is refused the same way
                other = GatewayClient(channel, channel_name="otherchannel")
                assert _code(lambda: other.register_organization()) == grpc.StatusCode.RESOURCE_EXHAUSTED

            full_disk.free()
            eventually(lambda: _code(lambda: steps.get_plan(client)) == grpc.StatusCode.OK)
            eventually(lambda: readyz(metrics_port)[0] == 200)
            eventually(lambda: health(channel) == health_pb2.HealthCheckResponse.SERVING)
            assert metric(metrics_port, 'orchestrator_ledger_state{chaincode="mycc",channel="mychannel"}') == 0
            steps.register_task(client, b.new_train_task("after"))
            acknowledged.append(b.key("after"))
            assert steps.get_plan(client).task_count == len(acknowledged)  # "refused" left nothing
            check_everything_acknowledged_is_there(client, acknowledged, None)
    finally:
        status, log = gateway.stop(signal.SIGTERM)
    assert status == 0, log
    assert "recovered" in log
    failed_lines = [line for line in log.splitlines() if "ledger of channel mychannel, chaincode mycc failed" in line]
    assert len(failed_lines) == 1, log  # one line for the change of state, not one per refused call
    restarted = GatewayProcess(full_disk.data_dir).wait_serving()
    try:
        assert "calls replayed from the redo log" in restarted.log_path.read_text()  # said at start, not at a call
        with connected(restarted.address) as channel:
            check_everything_acknowledged_is_there(GatewayClient(channel), acknowledged, None)
    finally:
        restarted.stop(signal.SIGTERM)
    check_db = full_disk.data_dir / "mychannel" / "mycc.sqlite"
    with sqlite3.connect(check_db) as conn:
        seqs = [row[0] for row in conn.execute("SELECT seq FROM events ORDER BY seq")]
    assert seqs == list(range(1, len(seqs) + 1))


def test_a_full_disk_under_concurrent_writers_loses_no_acknowledged_write(full_disk: FullDisk) -> None:
    gateway = full_disk.gateway = GatewayProcess(full_disk.data_dir, **full_disk.popen()).wait_serving()
    acknowledged: list[str] = []
    codes: set[grpc.StatusCode] = set()
    lock = threading.Lock()
    try:
        with connected(gateway.address) as channel:
            client = GatewayClient(channel).register()
            steps.setup_train(client)
            stop = threading.Event()

            def write(writer: int) -> None:
                for n in range(100_000):
                    if stop.is_set():
                        return
                    ref = f"w{writer}-{n}"
                    code = _code(lambda ref=ref: steps.register_task(client, b.new_train_task(ref)))
                    with lock:
                        if code == grpc.StatusCode.OK:
                            acknowledged.append(b.key(ref))
                        else:
                            codes.add(code)

            writers = [threading.Thread(target=write, args=(i,)) for i in range(4)]
            for thread in writers:
                thread.start()
            eventually(lambda: len(acknowledged) >= 20)
            full_disk.fill()
            eventually(lambda: bool(codes))
            time.sleep(0.3)
            full_disk.free()
            eventually(lambda: len(acknowledged) >= 20 and _code(lambda: steps.get_plan(client)) == grpc.StatusCode.OK)
            count = len(acknowledged)
            eventually(lambda: len(acknowledged) > count + 20)  # writes go through again
            stop.set()
            for thread in writers:
                thread.join(timeout=60)
            assert codes <= RETRYABLE, codes
            check_everything_acknowledged_is_there(client, acknowledged, None)
            listed = steps.get_plan(client).task_count
            assert listed == len(acknowledged)  # nothing refused was applied, nothing acknowledged is missing
    finally:
        status, log = gateway.stop(signal.SIGTERM)
    assert status == 0, log
    with sqlite3.connect(full_disk.data_dir / "mychannel" / "mycc.sqlite") as conn:
        seqs = [row[0] for row in conn.execute("SELECT seq FROM events ORDER BY seq")]
    assert seqs == list(range(1, len(seqs) + 1))


def _lowest_free_fd(pid: int) -> int:
    used = {int(name) for name in os.listdir(f"/proc/{pid}/fd")}
    fd = 0
    while fd in used:
        fd += 1
    return fd


def test_no_file_descriptor_left_is_unavailable_then_the_ledger_heals(tmp_path: Path) -> None:
    metrics_port = free_port()
    gateway = GatewayProcess(tmp_path / "data", "--metrics-listen", f"127.0.0.1:{metrics_port}").wait_serving()
    pid = gateway.process.pid
    acknowledged: list[str] = []
    try:
        with connected(gateway.address) as channel:
            client = GatewayClient(channel).register()
            steps.setup_train(client)
            other = GatewayClient(channel, channel_name="otherchannel")
            readyz(metrics_port)  # the HTTP server's threads exist before the limit
            # One descriptor left: an HTTP probe fits, an SQLite ledger (database, WAL, index, redo log) does not.
            soft, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
            resource.prlimit(pid, resource.RLIMIT_NOFILE, (_lowest_free_fd(pid) + 1, hard))
            assert _code(lambda: other.register_organization()) == grpc.StatusCode.UNAVAILABLE
            steps.register_task(client, b.new_train_task("open ledger"))  # its files are open: it still serves
            acknowledged.append(b.key("open ledger"))
            status, body = readyz(metrics_port)
            assert status == 503 and "ledger otherchannel/mycc failed" in body, body
            eventually(lambda: health(channel) == health_pb2.HealthCheckResponse.NOT_SERVING)
            assert health(channel, "liveness") == health_pb2.HealthCheckResponse.SERVING
            assert _code(lambda: other.query_version(info_pb2.QueryVersionParam())) == grpc.StatusCode.UNAVAILABLE

            resource.prlimit(pid, resource.RLIMIT_NOFILE, (soft, hard))
            eventually(lambda: _code(lambda: other.register()) == grpc.StatusCode.OK)
            eventually(lambda: readyz(metrics_port)[0] == 200)
            eventually(lambda: health(channel) == health_pb2.HealthCheckResponse.SERVING)
            steps.register_task(client, b.new_train_task("after"))
            acknowledged.append(b.key("after"))
            check_everything_acknowledged_is_there(client, acknowledged, None)
            assert [o.id for o in other.get_all_organizations().organizations] == ["MyOrg1MSP"]
    finally:
        status, log = gateway.stop(signal.SIGTERM)
    assert status == 0, log
    assert "SQLITE_CANTOPEN" in log and "recovered" in log
    with sqlite3.connect(tmp_path / "data" / "mychannel" / "mycc.sqlite") as conn:
        seqs = [row[0] for row in conn.execute("SELECT seq FROM events ORDER BY seq")]
    assert seqs == list(range(1, len(seqs) + 1))
