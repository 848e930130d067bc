"""Tool calls, this server against the naive peer (`naive_peer.py`, the server a user would write
instead), measured in one run, in turns, each server a fresh stdio process with a temporary HOME:
for each output size and format, `--singles` calls one after another, then `--calls` at once.

Like with like: the emulator runs in its own process with `--stock-images` (every image of a size
and format is one rendering, served as cached bytes), so what is measured is the server; and both
servers look at a job on the same schedule (2 s after the create, then every 2 s: ours with its
random first-look spread set to 0), with jobs that finish in `--latency` seconds.

For PNG, the floor of any preview: the CPU of decoding the emulator's image alone (libvips, in this
process), against the peer's whole call.

Per server, after one call that warms it up (imports, clients): one call's wall time (median), its
result's size, the server's CPU per call (user + system, every thread, over all its calls: /proc
counts in 10 ms ticks), the wall time of the calls at once (and its ratio to one call), and the server's peak RSS. Goals
(2048-px PNG): CPU ≤ 1.5× the peer's, results ≤ 1 MB, peak RSS ≤ 150 MB, calls at once ≤ 1.3×
one call.

    uv run python benchmarks/calls.py [--sizes 512 1024 2048] [--formats png jpeg] [--rounds 2]
                                      [--singles 3] [--calls 64] [--latency 1]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, fields
from pathlib import Path

import anyio
from _process import cpu_seconds, memory_mb
from _spawned import base_environment, ours_even_polls, peer, stdio
from mcp import Client
from mcp_types import CallToolResult

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support.processes import Standalone, standalone_emulator

SERVERS = ("ours", "peer")


@dataclass(frozen=True)
class Figures:
    one_call: float
    """Seconds, median of the single calls."""
    result_bytes: float
    """The result as JSON, median of the single calls."""
    cpu_per_call: float
    """Seconds of the server's CPU per call, over all its calls but the warm-up."""
    together: float
    """Seconds for all the calls at once."""
    peak_rss: float
    """MB, the server's peak over its life."""
    failed: float
    """Calls that did not end with an image."""


def completed(result: CallToolResult) -> bool:
    if result.is_error:
        return False
    return result.structured_content is None or result.structured_content.get("state") == "completed"


async def measure(server: str, api: Standalone, fmt: str, *, singles: int, calls: int, tag: str) -> Figures:
    with tempfile.TemporaryDirectory() as name:
        home = Path(name)
        pid_file = home / "server.pid"
        if server == "ours":
            params = stdio(ours_even_polls(), api.server_environment(home), pid_file)
        else:
            env = base_environment(home, LUMA_BASE_URL=api.base_url, LUMA_AGENTS_API_KEY=api.key)
            params = stdio(peer(), env, pid_file)
        arguments = {"aspect_ratio": "1:1", "output_format": fmt}
        async with Client(params) as client:
            pid = int(pid_file.read_text())
            await client.call_tool("generate_image", {"prompt": f"{tag} warm-up", **arguments})  # imports, clients
            walls: list[float] = []
            sizes: list[int] = []
            failed = 0
            cpu_before = cpu_seconds(pid)
            for i in range(singles):
                started = time.perf_counter()
                result = await client.call_tool("generate_image", {"prompt": f"{tag} alone {i}", **arguments})
                walls.append(time.perf_counter() - started)
                sizes.append(len(result.model_dump_json(by_alias=True)))
                failed += not completed(result)

            async def one(i: int) -> None:
                nonlocal failed
                result = await client.call_tool("generate_image", {"prompt": f"{tag} together {i}", **arguments})
                failed += not completed(result)

            started = time.perf_counter()
            async with anyio.create_task_group() as group:
                for i in range(calls):
                    group.start_soon(one, i)
            together = time.perf_counter() - started
            cpu_per_call = (cpu_seconds(pid) - cpu_before) / (singles + calls)  # /proc counts 10 ms ticks
            peak = memory_mb(pid, "VmHWM")
    return Figures(statistics.median(walls), statistics.median(sizes), cpu_per_call, together, peak, failed)


def combined(runs: list[Figures]) -> Figures:
    """The median of each figure over the rounds; failures added up."""
    medians = {field.name: statistics.median(getattr(run, field.name) for run in runs) for field in fields(Figures)}
    return Figures(**{**medians, "failed": sum(run.failed for run in runs)})


def report(size: int, fmt: str, figures: dict[str, Figures], calls: int) -> None:
    ours, theirs = figures["ours"], figures["peer"]
    rows = [
        ("one call, s", lambda f: f.one_call, "{:.2f}"),
        ("result, kB", lambda f: f.result_bytes / 1000, "{:.0f}"),
        ("server CPU per call, ms", lambda f: f.cpu_per_call * 1000, "{:.0f}"),
        (f"{calls} calls at once, s", lambda f: f.together, "{:.2f}"),
        (f"{calls} at once / one call", lambda f: f.together / f.one_call, "{:.2f}"),
        ("server peak RSS, MB", lambda f: f.peak_rss, "{:.0f}"),
    ]
    print(f"\n{size}-px {fmt.upper()} (failed calls: ours {ours.failed}, peer {theirs.failed})")
    print(f"  {'':<26}{'ours':>9}{'peer':>9}{'ours/peer':>11}")
    for label, value, shape in rows:
        mine, peers = value(ours), value(theirs)
        print(f"  {label:<26}{shape.format(mine):>9}{shape.format(peers):>9}{mine / peers:>10.2f}×")


def decode_floor(size: int, runs: int = 5) -> float:
    """CPU seconds of decoding the emulator's stock PNG of `size` alone, by libvips in this process
    (median of `runs`): what any preview of it costs at the least, PNG having no reduced-size decode."""
    from luma_mcp.emulator.outputs import stock_image
    from luma_mcp.emulator.render import output_size
    from luma_mcp.media.vips import libvips

    vips = libvips()
    assert vips is not None
    data = stock_image(output_size("1:1", size), "png")
    cpus: list[float] = []
    for _ in range(runs):
        cpu = time.process_time()
        vips.Image.new_from_buffer(data, "", access="sequential").avg()  # every pixel, nothing kept
        cpus.append(time.process_time() - cpu)
    return statistics.median(cpus)


async def main(arguments: argparse.Namespace) -> None:
    print(
        f"emulator: stock images, jobs done in {arguments.latency:g} s; both servers look 2 s after the create, "
        f"then every 2 s; {arguments.rounds} rounds in turns, medians over rounds"
    )
    for size in arguments.sizes:
        with standalone_emulator(
            "--latency", str(arguments.latency), "--rpm", "100000", "--concurrency", "100000",
            "--long-edge", str(size), "--stock-images",
        ) as api:  # fmt: skip
            for fmt in arguments.formats:
                runs: dict[str, list[Figures]] = {server: [] for server in SERVERS}
                for round_number in range(arguments.rounds):
                    order = SERVERS if round_number % 2 == 0 else SERVERS[::-1]
                    for server in order:
                        tag = f"{size} {fmt} {round_number} {server}"
                        runs[server].append(
                            await measure(server, api, fmt, singles=arguments.singles, calls=arguments.calls, tag=tag)
                        )
                figures = {server: combined(runs[server]) for server in SERVERS}
                report(size, fmt, figures, arguments.calls)
                if fmt == "png":
                    floor = decode_floor(size)
                    print(
                        f"  floor: decoding the PNG alone takes {floor * 1000:.0f} ms of CPU (libvips), "
                        f"{floor / figures['peer'].cpu_per_call:.2f}× the peer's whole call"
                    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Tool calls: this server against the naive peer.")
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 1024, 2048], help="long edges, px")
    parser.add_argument("--formats", nargs="+", default=["png", "jpeg"], choices=["png", "jpeg"])
    parser.add_argument("--rounds", type=int, default=2, help="processes per server per case, in turns")
    parser.add_argument("--singles", type=int, default=3, help="calls one after another, per process")
    parser.add_argument("--calls", type=int, default=64, help="calls at once, per process")
    parser.add_argument("--latency", type=float, default=1.0, help="seconds until a job is done")
    anyio.run(main, parser.parse_args())
