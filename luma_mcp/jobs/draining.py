"""`Draining`: what ends waits early, with a hand-off, when the server begins to shut down."""

from __future__ import annotations

from collections.abc import Generator
from contextlib import contextmanager

import anyio


class Draining:
    """Set when the server begins to shut down: every wait for a job, and every pause before a
    create is sent again, ends at once (a wait hands its job off with id and next step), so callers
    get an answer inside the shutdown grace, not a cut connection. A create already sent is
    awaited, and downloads under way finish within their call's time."""

    def __init__(self) -> None:
        self.begun = False
        self._scopes: set[anyio.CancelScope] = set()

    def begin(self) -> None:
        """Call on the event loop's thread."""
        self.begun = True
        for scope in self._scopes:
            scope.cancel()

    @contextmanager
    def interruptible(self) -> Generator[anyio.CancelScope]:
        """A scope cancelled when draining begins (at once, if it has)."""
        with anyio.CancelScope() as scope:
            if self.begun:
                scope.cancel()
            self._scopes.add(scope)
            try:
                yield scope
            finally:
                self._scopes.discard(scope)
