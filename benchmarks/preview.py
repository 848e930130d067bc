"""Previewing full-size outputs: the server's way (PNG shrunk by libvips, JPEG by Pillow at a reduced
decode scale) against Pillow alone (the way before libvips, and the fallback where it cannot load),
in the same run, in turns, for every ratio, PNG and JPEG.

The outputs are the emulator's 2048-px renders (grain makes the PNGs a realistic few MB). Time is
the median of `--runs` previews in `auto` mode (long edge 1024, 700 KB budget), wall and CPU (the
CPU of every thread: libvips shrinks on several); memory is the rise of peak RSS (VmHWM, Linux) in
a fresh process previewing one image once, after imports and a warm-up, the median of `--probes`;
both with the server's allocator bounds (`process.py`).
The headline is the 2048×2048 PNG, the slowest case, with its floor: the CPU of decoding it alone
(libvips, Pillow), which any preview of a PNG pays (it has no reduced-size decode). Goals: ≤ 0.6×
Pillow's time, ≤ 30 MB extra.

    uv run python benchmarks/preview.py [--runs 9] [--probes 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from luma_mcp.media.previews import Preview, encode_within, make_preview, shrunk_by_pillow
from luma_mcp.media.vips import libvips
from luma_mcp.process import bound_allocator

RATIOS = ["1:1", "3:1", "2:1", "16:9", "3:2", "2:3", "9:16", "1:2", "1:3"]
EDGE, BUDGET = 1024, 700_000

# Peak RSS from /proc/self/status (VmHWM): ru_maxrss would not do, Linux carries it across exec
# from the parent, whose own peak (rendering all the images) would hide the child's.
PEAK_PROBE = """
import json, sys
from pathlib import Path
from luma_mcp.media.previews import encode_within, make_preview, shrunk_by_pillow
from luma_mcp.process import bound_allocator

bound_allocator()  # as the server runs


def peak_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

if sys.argv[3] == "pillow":  # Pillow alone
    preview = lambda path: encode_within(shrunk_by_pillow(path, 1024), 700_000)
else:
    preview = lambda path: make_preview(path, max_edge=1024, budget=700_000)
preview(Path(sys.argv[2]))
before = peak_mb()
preview(Path(sys.argv[1]))
print(json.dumps({"extra_mb": peak_mb() - before}))
"""


def ours(path: Path) -> Preview:
    return make_preview(path, max_edge=EDGE, budget=BUDGET)


def with_pillow(path: Path) -> Preview:
    return encode_within(shrunk_by_pillow(path, EDGE), BUDGET)


WAYS: dict[str, Callable[[Path], Preview]] = {"ours": ours, "pillow": with_pillow}


def render_all(folder: Path) -> list[tuple[str, str, Path]]:
    from luma_mcp.emulator.render import output_size, render_image

    images: list[tuple[str, str, Path]] = []
    for ratio in RATIOS:
        for fmt in ("png", "jpeg"):
            size = output_size(ratio, 2048)
            data = render_image(f"benchmark {ratio} {fmt}", size=size, output_format=fmt, model="uni-1", style="auto")
            path = folder / f"{ratio.replace(':', 'x')}.{fmt}"
            path.write_bytes(data)
            images.append((ratio, fmt, path))
    return images


def timed(path: Path, runs: int) -> dict[str, tuple[float, float]]:
    """Median wall and CPU ms of each way, the runs taken in turns so drift hits both alike."""
    walls: dict[str, list[float]] = {name: [] for name in WAYS}
    cpus: dict[str, list[float]] = {name: [] for name in WAYS}
    for way in WAYS.values():
        way(path)  # warm-up
    for _ in range(runs):
        for name, way in WAYS.items():
            cpu, started = time.process_time(), time.perf_counter()
            way(path)
            walls[name].append((time.perf_counter() - started) * 1000)
            cpus[name].append((time.process_time() - cpu) * 1000)
    return {name: (statistics.median(walls[name]), statistics.median(cpus[name])) for name in WAYS}


def decoded_by_libvips(path: Path) -> None:
    vips = libvips()
    assert vips is not None
    vips.Image.new_from_file(str(path), access="sequential").avg()  # every pixel, nothing kept


def decoded_by_pillow(path: Path) -> None:
    from PIL import Image

    with Image.open(path) as image:
        image.load()


def decode_cpu(path: Path, runs: int) -> dict[str, float]:
    """Median CPU ms of decoding `path` alone, by each library, the runs taken in turns."""
    ways = {"libvips": decoded_by_libvips, "Pillow": decoded_by_pillow}
    cpus: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(runs):
        for name, way in ways.items():
            cpu = time.process_time()
            way(path)
            cpus[name].append((time.process_time() - cpu) * 1000)
    return {name: statistics.median(cpus[name]) for name in ways}


def peak_rise(path: Path, warm: Path, way: str, probes: int) -> float:
    rises: list[float] = []
    for _ in range(probes):
        probe = subprocess.run(
            [sys.executable, "-c", PEAK_PROBE, str(path), str(warm), way], capture_output=True, text=True, check=True
        )
        rises.append(json.loads(probe.stdout)["extra_mb"])
    return statistics.median(rises)


def main(runs: int, probes: int) -> None:
    from PIL import Image

    bound_allocator()  # the server's allocator bounds: large buffers mapped on their own
    if libvips() is None:
        raise SystemExit("libvips is not available here: nothing to compare")
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        warm = folder / "warm.png"
        Image.new("RGB", (64, 64)).save(warm)
        print(f"{runs} runs each, in turns; ours / Pillow alone")
        print(
            f"{'ratio':>5} {'fmt':>4} {'pixels':>10} {'file':>7} | {'wall ms':>15} {'ratio':>5} | {'CPU ms':>15} "
            f"{'ratio':>5} | {'peak +MB':>11} | preview"
        )
        headline: tuple[float, float, float, float, float] | None = None
        floor: dict[str, float] = {}
        for ratio, fmt, path in render_all(folder):
            times = timed(path, runs)
            (vips_wall, vips_cpu), (pil_wall, pil_cpu) = times["ours"], times["pillow"]
            vips_mb, pil_mb = (peak_rise(path, warm, way, probes) for way in WAYS)
            preview = ours(path)
            with Image.open(path) as image:
                pixels = f"{image.width}×{image.height}"
            print(
                f"{ratio:>5} {fmt:>4} {pixels:>10} {path.stat().st_size / 1e6:5.1f}MB | "
                f"{vips_wall:6.1f} /{pil_wall:6.1f} {vips_wall / pil_wall:5.2f} | "
                f"{vips_cpu:6.1f} /{pil_cpu:6.1f} {vips_cpu / pil_cpu:5.2f} | "
                f"{vips_mb:4.1f} /{pil_mb:5.1f} | {len(preview.data) / 1000:.0f} kB"
            )
            if ratio == "1:1" and fmt == "png":
                headline = (vips_wall, pil_wall, vips_cpu, pil_cpu, vips_mb)
                floor = decode_cpu(path, runs)
    assert headline is not None
    vips_wall, pil_wall, vips_cpu, pil_cpu, vips_mb = headline
    print(
        f"2048×2048 PNG: ours {vips_wall:.1f} ms, Pillow {pil_wall:.1f} ms: {vips_wall / pil_wall:.2f}× "
        f"(goal <= 0.6×); CPU {vips_cpu / pil_cpu:.2f}×; peak RSS +{vips_mb:.1f} MB (goal <= 30 MB)"
    )
    print(
        f"floor, decoding it alone: CPU {floor['libvips']:.1f} ms by libvips, {floor['Pillow']:.1f} ms by Pillow "
        f"({floor['libvips'] / vips_cpu:.0%} of our preview's CPU, {floor['libvips'] / pil_cpu:.2f}× Pillow's path)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Time and memory of previewing 2048-px outputs.")
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--probes", type=int, default=3, help="fresh processes per peak-memory figure")
    arguments = parser.parse_args()
    main(arguments.runs, arguments.probes)
