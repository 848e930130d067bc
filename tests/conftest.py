"""Fixtures shared by every test: an in-process emulator and an HTTP client into it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx2
import pytest

from luma_mcp.emulator import Emulator, EmulatorConfig

from .helpers import AUTH


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def emulator() -> Emulator:
    # Small images keep rendering fast; every other setting is the contract's default.
    return Emulator(EmulatorConfig(long_edge=128))


@pytest.fixture
async def api(emulator: Emulator) -> AsyncIterator[httpx2.AsyncClient]:
    """A raw HTTP client on the emulator's base URL, carrying a valid key."""
    async with httpx2.AsyncClient(transport=emulator.transport(), base_url=emulator.base_url, headers=AUTH) as client:
        yield client
