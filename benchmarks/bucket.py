"""What keeping outputs in a bucket costs the server, against a local folder: two stdio servers on
one standalone emulator (2048-px PNGs, no latency), one saving to a folder, the other to moto's S3
server on loopback (the tests' own, its authentication on), each asked for the same number of
`generate_image` calls (no previews) in alternating rounds. Prints the server's CPU per image in
each (read from /proc, so the emulator's rendering and moto's work are not counted), the
difference, and the wall time per call.

    uv run python benchmarks/bucket.py [--calls 10] [--rounds 4]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _process import cpu_seconds  # beside this script

from tests.support.buckets import BUCKET, S3Server  # the tests' S3 server
from tests.support.processes import StdioServer, standalone_emulator, stdio_server

sizes: list[int] = []


def calls(server: StdioServer, count: int, label: str, start: int) -> tuple[float, float]:
    """CPU seconds and wall seconds per call over `count` generating calls."""
    pid = server.child.process.pid
    cpu, wall = cpu_seconds(pid), time.perf_counter()
    for number in range(start, start + count):
        done = server.tool("generate_image", {"prompt": f"a harbor at dawn, {label} {number}", "preview": "none"})
        [output] = done["outputs"]
        assert output["path"], done["text"]
        sizes.append(output["size_bytes"])
    return (cpu_seconds(pid) - cpu) / count, (time.perf_counter() - wall) / count


def main(count: int, rounds: int) -> None:
    s3 = S3Server()
    s3.start()
    try:
        with (
            standalone_emulator("--latency", "0", "--long-edge", "2048") as api,
            tempfile.TemporaryDirectory() as home,
        ):
            base = {"HOME": home, "LUMA_BASE_URL": api.base_url, "LUMA_AGENTS_API_KEY": api.key}
            places = {"folder": str(Path(home) / "images"), "bucket": f"s3://{BUCKET}/benchmark-{int(time.time())}"}
            results: dict[str, list[tuple[float, float]]] = {name: [] for name in places}
            with (
                stdio_server({**base, "LUMA_MCP_OUTPUT_DIR": places["folder"]}) as folder,
                stdio_server({**base, **s3.environment(), "LUMA_MCP_OUTPUT_DIR": places["bucket"]}) as bucket,
            ):
                servers = {"folder": folder, "bucket": bucket}
                for name, server in servers.items():  # warm up: imports, connections
                    calls(server, 1, name, 0)
                for round_number in range(rounds):
                    order = list(servers.items()) if round_number % 2 == 0 else list(servers.items())[::-1]
                    for name, server in order:
                        results[name].append(calls(server, count, name, 1 + round_number * count))
    finally:
        s3.stop()
    cpu = {name: statistics.median(c for c, _ in samples) * 1000 for name, samples in results.items()}
    spread = {name: (min(c for c, _ in s) * 1000, max(c for c, _ in s) * 1000) for name, s in results.items()}
    for name in places:
        wall = statistics.median(w for _, w in results[name]) * 1000
        low, high = spread[name]
        print(
            f"{name:6}: server CPU {cpu[name]:6.1f} ms per 2048-px PNG (rounds {low:.1f}–{high:.1f}), "
            f"wall {wall:.0f} ms per call"
        )
    print(f"PNG size: {statistics.median(sizes) / 1e6:.1f} MB median")
    print(
        f"the bucket adds {cpu['bucket'] - cpu['folder']:+.1f} ms of server CPU per image "
        f"(medians of {rounds} rounds of {count})"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=4)
    arguments = parser.parse_args()
    main(arguments.calls, arguments.rounds)
