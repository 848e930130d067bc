"""Start-up cost: spawn → `tools/list` answered, for this server (with and without `--emulator`),
a bare `MCPServer` with one tool (it imports nothing but the SDK), and the naive peer.

Hosts spawn MCP servers often (per session, per window), so start-up time is a feature. Each run
spawns every server once, in turns (the order rotating), each with a temporary HOME of its own: the
machine's own history must not shape a figure. Prints each server's median and its spread (the
middle half of the runs, and the whole range), and the ratio of medians to the bare server's, and
the spread of that ratio over the runs. Goal: ≤ 1.05× the bare server, `--emulator` included.

On a shared machine times wobble; `--instructions` counts instead the instructions each server runs
(valgrind's callgrind, once each) from spawn to its exit once it has answered `tools/list` and its
stdin has closed: the same figure on a busy machine as on an idle one.

    uv run python benchmarks/startup.py [--runs 30] [--instructions]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import anyio
from _process import thread_cpu_seconds
from _spawned import bare, base_environment, ours, peer, stdio
from mcp import Client

SERVERS = ("bare MCPServer", "luma-agents-mcp", "luma-agents-mcp --emulator", "naive peer")


async def time_to_tools(argv: list[str], home: Path) -> tuple[float, float]:
    """Seconds from spawn to `tools/list` answered, and the server's CPU seconds by then."""
    env = base_environment(home, LUMA_BASE_URL="http://127.0.0.1:9/v1", LUMA_AGENTS_API_KEY="luma-api-startup")
    pid_file = home / "server.pid"
    started = time.perf_counter()
    async with Client(stdio(argv, env, pid_file)) as client:
        await client.list_tools()
        elapsed = time.perf_counter() - started
        return elapsed, thread_cpu_seconds(int(pid_file.read_text()))


HANDSHAKE = [
    {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "startup", "version": "1"}}},
    {"jsonrpc": "2.0", "method": "notifications/initialized"},
    {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
]  # fmt: skip


def instructions_to_tools(argv: list[str], home: Path) -> int:
    """Instructions the server runs under callgrind, from spawn to its exit after answering
    `tools/list` (its stdin then closed)."""
    env = base_environment(home, LUMA_BASE_URL="http://127.0.0.1:9/v1", LUMA_AGENTS_API_KEY="luma-api-startup")
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *argv]
    with subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    ) as server:
        assert server.stdin is not None
        assert server.stdout is not None
        assert server.stderr is not None
        server.stdin.write("".join(json.dumps(message) + "\n" for message in HANDSHAKE))
        server.stdin.flush()
        for line in server.stdout:
            if json.loads(line).get("id") == 2:
                break
        server.stdin.close()
        report = server.stderr.read()
    counted = re.search(r"Collected : (\d+)", report)
    if counted is None:
        raise SystemExit(f"no instruction count from valgrind:\n{report[-2000:]}")
    return int(counted.group(1))


def count_instructions(commands: dict[str, list[str]]) -> None:
    if shutil.which("valgrind") is None:
        raise SystemExit("--instructions needs valgrind: sudo apt-get install valgrind")
    counts: dict[str, int] = {}
    for server in SERVERS:
        with tempfile.TemporaryDirectory() as home:
            counts[server] = instructions_to_tools(commands[server], Path(home))
    print("instructions from spawn to exit after tools/list (callgrind, once each)")
    for server in SERVERS:
        print(f"{server:<28}{counts[server] / 1e9:>8.3f} G{counts[server] / counts['bare MCPServer']:>9.3f}× bare")


def quartiles(samples: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(samples, n=4)
    return cuts[0], cuts[2]


async def main(runs: int, instructions: bool) -> None:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        commands = {
            "bare MCPServer": bare(folder),
            "luma-agents-mcp": ours(),
            "luma-agents-mcp --emulator": ours("--emulator"),
            "naive peer": peer(),
        }
        if instructions:
            for server in SERVERS:  # bytecode compiled and cached, as a user's second start finds it
                with tempfile.TemporaryDirectory() as home:
                    await time_to_tools(commands[server], Path(home))
            count_instructions(commands)
            return
        times: dict[str, list[float]] = {server: [] for server in SERVERS}
        cpus: dict[str, list[float]] = {server: [] for server in SERVERS}
        for run in range(runs + 1):  # the first run warms the file cache and bytecode, and is dropped
            order = SERVERS[run % len(SERVERS) :] + SERVERS[: run % len(SERVERS)]
            for server in order:
                with tempfile.TemporaryDirectory() as home:
                    elapsed, cpu = await time_to_tools(commands[server], Path(home))
                if run:
                    times[server].append(elapsed)
                    cpus[server].append(cpu)
    print(f"{runs} runs, each server once per run, in turns; temporary HOME each time")
    for what, figures in (("wall time, spawn → tools/list answered", times), ("the server's CPU time by then", cpus)):
        print(f"\n{what}")
        table(figures)
    print("\ngoal: luma-agents-mcp ÷ bare ≤ 1.05, with --emulator too (per run: the middle half of run-by-run ratios)")


def table(figures: dict[str, list[float]]) -> None:
    bare_times = figures["bare MCPServer"]
    bare_median = statistics.median(bare_times)
    print(f"{'server':<28}{'median ms':>10}{'middle half':>14}{'range':>14}{'÷ bare':>8}{'per run ÷ bare':>17}")
    for server in SERVERS:
        samples = [t * 1000 for t in figures[server]]
        low, high = quartiles(samples)
        ratios = [t / b for t, b in zip(figures[server], bare_times, strict=True)]
        low_ratio, high_ratio = quartiles(ratios)
        print(
            f"{server:<28}{statistics.median(samples):>10.1f}{f'{low:.0f}–{high:.0f}':>14}"
            f"{f'{min(samples):.0f}–{max(samples):.0f}':>14}{statistics.median(samples) / (bare_median * 1000):>8.3f}"
            f"{f'{low_ratio:.3f}–{high_ratio:.3f}':>17}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Start-up cost of this server against a bare MCPServer.")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--instructions", action="store_true", help="count instructions (valgrind) instead of time")
    arguments = parser.parse_args()
    anyio.run(main, arguments.runs, arguments.instructions)
