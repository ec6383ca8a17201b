"""What the embedded ledger's integrity checks cost: opening a large ledger, scanning a damaged redo log.

Run from the repository root: ``.venv/bin/python benchmarks/ledger_faults.py`` (``--help`` for
options). Figures go to stdout; nothing is asserted (tests never time anything).

- open: ``SqliteLedger(path)`` on a closed ledger of about N MB, which runs ``PRAGMA
  quick_check`` before serving, against ``PRAGMA quick_check`` alone and against an open
  without it (the cold page cache is not dropped: figures are for a warm cache);
- scan: reading a redo log of about 8 MB (the size past which it is emptied) of task-sized
  records, intact, with 16 bytes overwritten in the middle, with its first record cut, and with
  its second half overwritten with random bytes (4 MB of damage to search for records in).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from orchestrator.gateway.ledger import sqlite as ledger_module  # noqa: E402
from orchestrator.gateway.ledger.redo import RedoRecord, encode, scan  # noqa: E402
from orchestrator.gateway.ledger.sqlite import SqliteLedger  # noqa: E402

VALUE = 1024  # about a compute task document


def build(path: Path, megabytes: int) -> None:
    SqliteLedger(path, "bench").close()
    conn = sqlite3.connect(path, isolation_level=None)
    rows = megabytes * 1024 * 1024 // 4700  # a 1 kB value spills into an overflow page: about 4.7 kB a row
    conn.execute("BEGIN")
    for start in range(0, rows, 10_000):
        conn.executemany("INSERT INTO state (key, value) VALUES (?, ?)",
                         [(f"computetask:{n:012d}".encode(), os.urandom(VALUE))
                          for n in range(start, min(start + 10_000, rows))])
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def timed(fn: object) -> float:
    started = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - started


def bench_open(folder: Path, megabytes: int) -> None:
    path = folder / f"ledger-{megabytes}.sqlite"
    build(path, megabytes)
    size = path.stat().st_size / 1e6

    def quick_check() -> None:
        with sqlite3.connect(path) as conn:
            assert conn.execute("PRAGMA quick_check").fetchone() == ("ok",)

    def open_close() -> None:
        SqliteLedger(path, "bench").close()

    def open_without_check() -> None:
        saved = ledger_module._quick_check
        ledger_module._quick_check = lambda *args: None  # type: ignore[assignment]
        try:
            SqliteLedger(path, "bench").close()
        finally:
            ledger_module._quick_check = saved

    checks = [timed(quick_check) for _ in range(3)]
    opens = [timed(open_close) for _ in range(3)]
    bare = [timed(open_without_check) for _ in range(3)]
    print(f"open {size:7.1f} MB ledger: {min(opens) * 1000:8.1f} ms (quick_check alone {min(checks) * 1000:8.1f} ms,"
          f" open without it {min(bare) * 1000:6.1f} ms)")
    path.unlink()


def bench_scan(folder: Path) -> None:
    record = RedoRecord(1, 0, "t" * 64, b"e" * 400, [(b"computetask:" + b"k" * 36, b"v" * VALUE)] * 4)
    size = len(encode(record))
    count = (8 << 20) // size
    data = b"".join(encode(RedoRecord(n, n, "t" * 64, b"e" * 400, record.writes)) for n in range(1, count + 1))
    path = folder / "bench.sqlite-redo"
    middle = bytearray(data)
    middle[len(data) // 2:len(data) // 2 + 16] = b"\xee" * 16
    garbage = data[:len(data) // 2] + os.urandom(len(data) - len(data) // 2)
    cases = {"intact": data, "16 bytes overwritten in the middle": bytes(middle), "first record cut": data[size // 2:],
             "second half overwritten with random bytes": garbage}
    for name, content in cases.items():
        path.write_bytes(content)
        elapsed = min(timed(lambda: scan(path)) for _ in range(3))
        found = scan(path)
        print(f"scan {len(content) / 1e6:5.1f} MB redo log, {name}: {elapsed * 1000:7.1f} ms "
              f"({len(found.records)} valid records, {len(found.damage)} damaged regions)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 500], help="ledger sizes in MB")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for megabytes in args.sizes:
            bench_open(folder, megabytes)
        bench_scan(folder)


if __name__ == "__main__":
    main()
