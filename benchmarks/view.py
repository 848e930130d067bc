"""The MCP App view in headless Chromium (the browser test's host page and harness): the time from
a host pushing a finished tool result to the view's first paint of it (its state and words), and
to the first paint of its image (which the view fetches through the server: `view_generations`,
then `view_image`, each a round trip through the host to this server over stdio). Each run is a
new image, so nothing is cached in the view. Clock: the browser's (`Date.now()` in the host page
and in the view), so the relay and the server's work are inside the figure.

    uv run python benchmarks/view.py [--runs 10] [--long-edge 2048]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support.browser import apps_server, quiet_environment, view_host
from tests.support.processes import standalone_emulator

MARKS = "document.documentElement.dataset"


async def main(runs: int, long_edge: int) -> None:
    executable = shutil.which("chromium")
    if executable is None:
        raise SystemExit("chromium is not installed: sudo apt-get install chromium")
    painted: list[float] = []
    pictured: list[float] = []
    with (
        standalone_emulator("--latency", "0", "--long-edge", str(long_edge)) as api,
        tempfile.TemporaryDirectory() as home,
    ):
        environment = quiet_environment(api.server_environment(Path(home)))
        async with apps_server(environment) as client, view_host(client, executable) as host:
            view = host.page.frames[1]
            for run in range(runs):
                arguments = {"prompt": f"run {run}: a lighthouse at dusk", "aspect_ratio": "16:9"}
                made = await client.call_tool("generate_image", arguments)
                assert made.structured_content is not None
                finished = await client.call_tool(
                    "get_generation", {"generation_id": made.structured_content["generation_id"]}
                )
                assert (finished.structured_content or {}).get("state") == "completed"
                await view.evaluate(f"() => {{ delete {MARKS}.paintedAt; delete {MARKS}.imagePaintedAt; }}")
                await host.show(arguments, finished)
                await view.wait_for_function(f"() => {MARKS}.imagePaintedAt")
                sent = (await host.log())["sentAt"]
                marks = await view.evaluate(f"() => [Number({MARKS}.paintedAt), Number({MARKS}.imagePaintedAt)]")
                painted.append(marks[0] - sent)
                pictured.append(marks[1] - sent)
    print(f"{runs} finished results, {long_edge}-px PNG outputs, headless Chromium, server over stdio")
    for name, values in (("first paint", painted), ("image painted", pictured)):
        print(
            f"tool result -> {name}: median {statistics.median(values):.0f} ms "
            f"(min {min(values):.0f}, max {max(values):.0f})"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Tool result to first paint in the MCP App view.")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--long-edge", type=int, default=2048)
    options = parser.parse_args()
    anyio.run(main, options.runs, options.long_edge)
