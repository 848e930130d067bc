"""The fault matrix of tests/support/reliability.py, run once and printed as the table in
docs/reliability.md, with its totals: scenarios, crashes, hangs, duplicate creates of unknown
fate, lost images, key leaks, the longest call.

    uv run python benchmarks/reliability.py
"""

from __future__ import annotations

import logging
import sys
import tempfile
import time
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support.reliability import SCENARIOS, run_scenario


async def main() -> None:
    logging.disable(logging.CRITICAL)  # MCPServer turns on INFO logging; the report prints only itself
    runs = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        for index, scenario in enumerate(SCENARIOS):
            runs.append(await run_scenario(scenario, Path(folder) / str(index)))
    elapsed = time.perf_counter() - started
    print("| route | fault | what the user gets | as expected | creates the API received | call time (emulated) |")
    print("|---|---|---|---|---|---|")
    for run in runs:
        scenario = run.scenario
        ok = "yes" if run.outcome == scenario.expected and not run.lost and not run.leaks else f"NO ({run.outcome})"
        cells = [scenario.route, scenario.fault, scenario.outcome, ok, str(run.posts), f"{run.seconds:.1f} s"]
        print(f"| {' | '.join(cells)} |")
    duplicates = sum(1 for run in runs if run.scenario.unknown_outcome and run.posts > 1)
    print()
    print(f"scenarios: {len(runs)}, as expected: {sum(r.outcome == r.scenario.expected for r in runs)}")
    print(f"crashes: {sum(r.outcome == 'crashed' for r in runs)}, hangs: {sum(r.outcome == 'hung' for r in runs)}")
    print(f"longest call on the emulator's clock: {max(r.seconds for r in runs):.1f} s (hosts allow ~45 s)")
    print(f"duplicate creates of unknown fate: {duplicates}, lost images: {sum(r.lost for r in runs)}")
    print(f"key leaks: {sum(len(r.leaks) for r in runs)}")
    orphaned = sum(r.orphaned for r in runs)
    print(f"jobs created at the API whose id no answer carried (a create's fate unknowable): {orphaned}")
    print(f"real time: {elapsed:.1f} s (the emulator's clock jumps; nothing waits)")


if __name__ == "__main__":
    anyio.run(main)
