"""Shared by the benchmarks: what a server process costs, read from /proc (Linux)."""

from __future__ import annotations

import os
from pathlib import Path


def memory_mb(pid: int, field: str = "VmRSS") -> float:
    """A line of /proc/<pid>/status in MB: VmRSS (now) or VmHWM (the peak)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of the process, all its threads (in 10 ms ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def thread_cpu_seconds(pid: int) -> float:
    """CPU time of the process's live threads, to the nanosecond (/proc's schedstat): finer than
    `cpu_seconds`, but blind to threads that have ended."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        total += int((task / "schedstat").read_text().split()[0])
    return total / 1e9
