"""Previewing full-size outputs: time and peak memory per image, for every ratio, PNG and JPEG.

The outputs are the emulator's 2048-px renders (grain makes the PNGs a realistic few MB). Time is
the median of `--runs` previews in `auto` mode (long edge 1024, 700 KB budget); memory is the rise
of peak RSS (VmHWM, Linux) in a fresh process previewing one image once, after imports and a
warm-up.
Goals: ≤ 100 ms and ≤ 60 MB extra per image.

    uv run python benchmarks/preview.py [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RATIOS = ["3:1", "2:1", "16:9", "3:2", "1:1", "2:3", "9:16", "1:2", "1:3"]

# Peak RSS from /proc/self/status (VmHWM): ru_maxrss would not do, Linux carries it across exec
# from the parent, whose own peak (rendering all the images) would hide the child's.
PEAK_PROBE = """
import json, sys
from pathlib import Path
from luma_mcp.media.previews import make_preview

def peak_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

make_preview(Path(sys.argv[2]), max_edge=1024, budget=700_000)
before = peak_mb()
make_preview(Path(sys.argv[1]), max_edge=1024, budget=700_000)
print(json.dumps({"extra_mb": peak_mb() - before}))
"""


def render_all(folder: Path) -> list[tuple[str, str, Path]]:
    from luma_mcp.emulator.render import output_size, render_image

    images = []
    for ratio in RATIOS:
        for fmt in ("png", "jpeg"):
            size = output_size(ratio, 2048)
            data = render_image(f"benchmark {ratio} {fmt}", size=size, output_format=fmt, model="uni-1", style="auto")
            path = folder / f"{ratio.replace(':', 'x')}.{fmt}"
            path.write_bytes(data)
            images.append((ratio, fmt, path))
    return images


def main(runs: int) -> None:
    from PIL import Image

    from luma_mcp.media.previews import make_preview

    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        warm = folder / "warm.png"
        Image.new("RGB", (64, 64)).save(warm)
        times: list[float] = []
        extras: list[float] = []
        print(f"{'ratio':>5} {'fmt':>4} {'pixels':>10} {'file':>8} {'median ms':>9} {'peak +MB':>8} {'preview':>8}")
        for ratio, fmt, path in render_all(folder):
            durations: list[float] = []
            preview = make_preview(path, max_edge=1024, budget=700_000)  # warm-up, and the size shown
            for _ in range(runs):
                started = time.perf_counter()
                preview = make_preview(path, max_edge=1024, budget=700_000)
                durations.append(time.perf_counter() - started)
            probe = subprocess.run(
                [sys.executable, "-c", PEAK_PROBE, str(path), str(warm)], capture_output=True, text=True, check=True
            )
            extra = json.loads(probe.stdout)["extra_mb"]
            median = statistics.median(durations) * 1000
            times.append(median)
            extras.append(extra)
            with Image.open(path) as image:
                pixels = f"{image.width}×{image.height}"
            print(
                f"{ratio:>5} {fmt:>4} {pixels:>10} {path.stat().st_size / 1e6:6.1f}MB {median:9.1f} {extra:8.1f} "
                f"{len(preview.data) / 1000:6.0f}kB"
            )
    print(f"median of medians: {statistics.median(times):.1f} ms (worst {max(times):.1f} ms; goal <= 100 ms)")
    print(f"peak RSS rise:     median {statistics.median(extras):.1f} MB (worst {max(extras):.1f} MB; goal <= 60 MB)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Time and memory of previewing 2048-px outputs.")
    parser.add_argument("--runs", type=int, default=7)
    main(parser.parse_args().runs)
