"""Fixtures shared by every test: an in-process emulator and an HTTP client into it, and the
check that no key any test uses shows up in a log line."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx2
import pytest

from luma_mcp.emulator import Emulator, EmulatorConfig

from .samples import AUTH

TESTS = Path(__file__).resolve().parents[1]


def _every_test_source() -> str:
    return "\n".join(path.read_text() for path in TESTS.rglob("*.py"))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def state_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test's own state folder (where the store's SQLite files go), never the user's."""
    folder = tmp_path / "state"
    monkeypatch.setenv("XDG_STATE_HOME", str(folder))
    return folder / "luma-agents-mcp"


@pytest.fixture
def emulator() -> Emulator:
    # Small images keep rendering fast; every other setting is the contract's default.
    return Emulator(EmulatorConfig(long_edge=128))


@pytest.fixture
async def api(emulator: Emulator) -> AsyncIterator[httpx2.AsyncClient]:
    """A raw HTTP client on the emulator's base URL, carrying a valid key."""
    async with httpx2.AsyncClient(transport=emulator.transport(), base_url=emulator.base_url, headers=AUTH) as client:
        yield client


KEYS_IN_TESTS = frozenset(re.findall(r"\bluma-api-[A-Za-z0-9-]{6,}", _every_test_source()))
"""Every API key the tests use (the literals `luma-api-…` in their sources)."""


@pytest.fixture(autouse=True)
def no_key_in_any_log(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Across the whole suite: whatever a test does, no key it used shows up in a log line."""
    caplog.set_level(logging.DEBUG)
    yield
    shown = sorted(key for key in KEYS_IN_TESTS if key in caplog.text)
    assert not shown, f"API keys in the log: {shown}"
