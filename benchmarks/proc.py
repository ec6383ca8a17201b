"""What a process has cost so far, read from Linux's /proc: the benchmarks' one source of CPU figures."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(path: Path) -> list[str]:
    return path.read_text().rsplit(")", 1)[1].split()  # after the command name, which may hold spaces


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process and all its threads (children not included)."""
    fields = _stat_fields(Path(f"/proc/{pid}/stat"))
    return (int(fields[11]) + int(fields[12])) / TICKS


def processes_cpu(pids: Iterable[int]) -> float:
    """CPU seconds of several processes; those that ended meanwhile count for nothing."""
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError):
            total += process_cpu(pid)
    return total


def children_cpu(pid: int) -> float:
    """CPU of a process's live child processes and theirs (chaincode servers)."""
    total = 0.0
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        with contextlib.suppress(OSError):
            total += process_cpu(int(child)) + children_cpu(int(child))
    return total


def group_cpu(group: int) -> float:
    """CPU of every live process of process group ``group`` (a broker: its script, VM and helpers)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = _stat_fields(stat)
        except OSError:
            continue
        if int(fields[2]) == group:
            total += (int(fields[11]) + int(fields[12])) / TICKS
    return total


def voluntary_switches(pid: int) -> int:
    """Voluntary context switches of every thread of a process so far: its thread hand-offs."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            for line in (task / "status").read_text().splitlines():
                if line.startswith("voluntary_ctxt_switches:"):
                    total += int(line.split()[1])
        except OSError:
            continue  # the thread ended meanwhile
    return total


def thread_count(pid: int) -> int:
    return len(list(Path(f"/proc/{pid}/task").iterdir()))
