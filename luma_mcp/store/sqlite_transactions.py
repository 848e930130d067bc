"""How the SQLite store writes: in transactions that take the write lock before they read (atomic
across processes), and, for writes queued to go with the next call, in that call's transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Generator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

T = TypeVar("T")


def is_busy(error: sqlite3.OperationalError) -> bool:
    """Whether SQLite refused for a lock another connection holds."""
    return "locked" in str(error) or "busy" in str(error)


JOINING: ContextVar[bool] = ContextVar("JOINING", default=False)
"""True while queued writes and the call they go with run as one transaction: theirs joins it."""


def write(connection: sqlite3.Connection, work: Callable[[], T]) -> T:
    """`work` in a write transaction taken before it reads (atomic across processes); while queued
    writes are sent together (`JOINING`), as a part of theirs."""
    if JOINING.get():
        return work()
    if connection.in_transaction:  # left open by a failure: never joined (its writes would be lost)
        connection.execute("ROLLBACK")
    connection.execute("BEGIN IMMEDIATE")
    try:
        result = work()
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    return result


@contextmanager
def joined() -> Generator[None]:
    """Inside: every `write` is a part of the transaction already open (queued writes sent together)."""
    joining = JOINING.set(True)
    try:
        yield
    finally:
        JOINING.reset(joining)
