"""Spending in the SQLite store: the `charges` table (migration 3), the running totals of each day
and month in `spent` (migration 4: a total is one row to read, however many charges a month holds),
and the `Account` methods that read and write them. The totals are kept by triggers on `charges`,
so every change of a charge moves them, whichever process (or version of this server) makes it. A
reservation reads the totals and inserts its charges in one `BEGIN IMMEDIATE` transaction, so calls
in several processes on one file cannot pass a cap together.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, cast

from .base import Caps, Charge, Pending, Totals
from .sqlite_transactions import write

T = TypeVar("T")

SPENDING_MIGRATION = [
    """CREATE TABLE charges (
        account TEXT NOT NULL, charge_id TEXT NOT NULL, call_id TEXT NOT NULL, at REAL NOT NULL,
        day TEXT NOT NULL, month TEXT NOT NULL, tool TEXT NOT NULL, model TEXT NOT NULL,
        micro_usd INTEGER NOT NULL, settled INTEGER NOT NULL, estimate INTEGER NOT NULL, generation_id TEXT,
        PRIMARY KEY (account, charge_id))""",
    "CREATE INDEX charges_day ON charges (account, day, micro_usd)",
    "CREATE INDEX charges_month ON charges (account, month, micro_usd)",
    "CREATE INDEX charges_job ON charges (account, generation_id)",
    "CREATE INDEX charges_recent ON charges (account, at DESC)",
]
"""Migration 3: one row per `Charge`."""

_MOVE = (
    "INSERT INTO spent (account, period, micro_usd) VALUES ({row}.account, {row}.day, {amount}), "
    "({row}.account, substr({row}.day, 1, 7), {amount}) "
    "ON CONFLICT (account, period) DO UPDATE SET micro_usd = micro_usd + excluded.micro_usd;"
)
TOTALS_MIGRATION = [
    "CREATE TABLE spent (account TEXT NOT NULL, period TEXT NOT NULL, micro_usd INTEGER NOT NULL, "
    "PRIMARY KEY (account, period))",
    "INSERT INTO spent SELECT account, day, SUM(micro_usd) FROM charges GROUP BY account, day",
    "INSERT INTO spent SELECT account, month, SUM(micro_usd) FROM charges GROUP BY account, month",
    f"CREATE TRIGGER charge_added AFTER INSERT ON charges BEGIN {_MOVE.format(row='NEW', amount='NEW.micro_usd')} END",
    "CREATE TRIGGER charge_changed AFTER UPDATE OF micro_usd ON charges BEGIN "
    f"{_MOVE.format(row='NEW', amount='NEW.micro_usd - OLD.micro_usd')} END",
    "CREATE TRIGGER charge_removed AFTER DELETE ON charges BEGIN "
    f"{_MOVE.format(row='OLD', amount='-OLD.micro_usd')} END",
    "DROP INDEX charges_day",
    "DROP INDEX charges_month",
]
"""Migration 4: the running total of each UTC day (`YYYY-MM-DD`) and month (`YYYY-MM`), from the
charges, and the triggers that keep it."""
RECENT = (
    "SELECT charge_id, call_id, at, day, tool, model, micro_usd, settled, estimate, generation_id FROM charges "
    "WHERE account = ? ORDER BY at DESC, rowid DESC LIMIT ?"
)


def _charge(row: Any) -> Charge:
    charge_id, call_id, at, day, tool, model, micro, settled, estimate, generation_id = cast("tuple[Any, ...]", row)
    return Charge(charge_id, call_id, at, day, tool, model, micro, bool(settled), bool(estimate), generation_id)


def _totals(connection: sqlite3.Connection, account: str, day: str) -> Totals:
    found = dict(
        connection.execute("SELECT period, micro_usd FROM spent WHERE account = ? AND period IN (?, ?)",
                           (account, day, day[:7]))
    )  # fmt: skip
    return Totals(int(found.get(day, 0)), int(found.get(day[:7], 0)))


def _passes(totals: Totals, adding: int, caps: Caps) -> bool:
    return (caps.daily_micro is not None and totals.day_micro + adding > caps.daily_micro) or (
        caps.monthly_micro is not None and totals.month_micro + adding > caps.monthly_micro
    )


class SqliteSpending:
    """The spending methods of `SqliteAccount`."""

    _name: str

    async def _run(self, work: Callable[[sqlite3.Connection], T], *, short: bool = True) -> T:
        """`work` on the store's connection (`SqliteAccount._run`)."""
        raise NotImplementedError

    async def _now_or_later(
        self, work: Callable[[sqlite3.Connection], T], later: bool, *, short: bool = True
    ) -> T | None:
        """`work` run now, or queued for the next call (`SqliteAccount._now_or_later`)."""
        raise NotImplementedError

    def _answer_later(self, work: Callable[[sqlite3.Connection], T]) -> Pending[T]:
        """`work` queued for the next trip, its answer to come (`SqliteAccount._answer_later`)."""
        raise NotImplementedError

    async def reserve(self, charges: Sequence[Charge], caps: Caps) -> Totals | None:
        return await self._run(self._reserving(charges, caps))

    def queue_reservation(self, charges: Sequence[Charge], caps: Caps) -> Pending[Totals | None]:
        return self._answer_later(self._reserving(charges, caps))

    def _reserving(self, charges: Sequence[Charge], caps: Caps) -> Callable[[sqlite3.Connection], Totals | None]:
        """The work of `reserve`."""
        adding = sum(charge.micro_usd for charge in charges)
        rows = [
            (self._name, c.charge_id, c.call_id, c.at, c.day, c.month, c.tool, c.model, c.micro_usd, int(c.settled),
             int(c.estimate), c.generation_id)
            for c in charges
        ]  # fmt: skip

        def take(connection: sqlite3.Connection) -> Totals | None:
            def work() -> Totals | None:
                totals = _totals(connection, self._name, charges[0].day)
                if _passes(totals, adding, caps):
                    return totals
                connection.executemany(
                    "INSERT INTO charges (account, charge_id, call_id, at, day, month, tool, model, micro_usd, "
                    "settled, estimate, generation_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )
                return None

            return write(connection, work)

        return take

    async def attach_job(self, charge_id: str, generation_id: str, *, later: bool = False) -> None:
        await self._now_or_later(
            lambda connection: connection.execute(
                "UPDATE charges SET generation_id = ? WHERE account = ? AND charge_id = ?",
                (generation_id, self._name, charge_id),
            ),
            later,
        )

    async def settle_job(self, generation_id: str, micro_usd: int, *, estimate: bool, later: bool = False) -> None:
        await self._now_or_later(
            lambda connection: connection.execute(
                "UPDATE charges SET micro_usd = ?, estimate = ?, settled = 1 "
                "WHERE account = ? AND generation_id = ? AND settled = 0",
                (micro_usd, int(estimate), self._name, generation_id),
            ),
            later,
        )

    async def release(self, charge_ids: Sequence[str]) -> None:
        def remove(connection: sqlite3.Connection) -> None:
            write(
                connection,
                lambda: connection.executemany(
                    "DELETE FROM charges WHERE account = ? AND charge_id = ?", [(self._name, i) for i in charge_ids]
                ),
            )

        await self._run(remove)

    async def totals(self, day: str) -> Totals:
        return await self._run(lambda connection: _totals(connection, self._name, day))

    async def recent_charges(self, limit: int) -> list[Charge]:
        def select(connection: sqlite3.Connection) -> list[Charge]:
            return [_charge(row) for row in connection.execute(RECENT, (self._name, limit))]

        return await self._run(select)
