"""The fault matrix of `tests/support/reliability.py`: every fault on create, GET and download ends as
expected, with no crash, no hang, no call longer than a host allows (on the emulator's clock), no
second create of unknown fate, no lost image, no key shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..support.reliability import SCENARIOS, Scenario, run_scenario

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("temporary_folder")]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
async def test_each_fault_ends_as_expected(scenario: Scenario, tmp_path: Path) -> None:
    run = await run_scenario(scenario, tmp_path / "images")
    assert run.outcome == scenario.expected, run.text[:2000]
    assert run.seconds <= 45.0
    if scenario.unknown_outcome:
        assert run.posts == 1  # never sent twice when its fate was unknown
    assert run.lost == 0
    assert run.leaks == []
    assert scenario.words in run.text
