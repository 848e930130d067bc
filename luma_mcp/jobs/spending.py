"""`Spending`: what a call may spend, reserved in the store before any of its creates is sent and
settled by the looks that see its jobs end; the caps it is held to; and what was spent.

The rules (their state is the store's, shared by every process and replica on it):
- a call reserves what it may spend: a set of `count` images, `count` times the price; a split,
  its worst case (`MAX_LAYERS` layers). The reservation and the check against the caps are one
  atomic step of the store, so calls at once cannot pass a cap together;
- a member whose create was refused, or never sent (reused, refused by the ledger), is released;
  one whose answer was lost keeps its reservation (it may be charged);
- a job handed off counts at its reservation until a look (here or in any process on the store)
  sees it end and settles it at its price: the layers a split made, nothing for a refunded failure.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncGenerator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import anyio

from ..api import GenerationRequest
from ..config import Settings
from ..errors import BudgetExceededError, StoreError
from ..store.base import Account, Caps, Charge, Pending, Totals
from .pricing import Price, format_micro, request_price
from .report import Report

logger = logging.getLogger(__name__)

CHARGES_PER_CALL = 4
"""The most charges one call holds (a set of 4): how many to read for a listing of calls."""


def micro(usd: float | None) -> int | None:
    """USD as micro-dollars (rounded to the nearest), None kept."""
    return None if usd is None else round(usd * 1_000_000)


def utc_day(wall: float) -> str:
    return datetime.fromtimestamp(wall, UTC).strftime("%Y-%m-%d")


@dataclass
class MemberCharge:
    """One generation's part of a call's reservation."""

    charge: Charge
    sent: bool = False
    """Its create went out (answered, or its answer lost): the charge stays until settled."""
    queued: Pending[Totals | None] | None = None
    """The call's reservation, while queued for the ledger's claim to carry (`Spending.call`)."""


@dataclass(frozen=True)
class CallCharges:
    """A call's reservation: one charge per generation, and their total."""

    members: tuple[MemberCharge, ...]
    price: Price


@dataclass(frozen=True)
class CallSpending:
    """One call of the past, as `get_spending` lists it."""

    at: float
    tool: str
    model: str
    micro_usd: int
    generations: tuple[str, ...]
    settled: bool
    estimate: bool


@dataclass(frozen=True)
class SpendingSummary:
    """What `get_spending` answers: the totals, the caps, the last calls."""

    day: str
    totals: Totals
    caps: Caps
    calls: tuple[CallSpending, ...]


class Spending:
    def __init__(self, account: Account, *, wall: Callable[[], float], settings: Settings) -> None:
        """`account`: whose spending (the server's key, or a BYOK user's); `wall`: the clock its
        days are read on."""
        self._account = account
        self._wall = wall
        self.caps = Caps(micro(settings.budget_daily_usd), micro(settings.budget_monthly_usd))
        self._byok = settings.byok

    @asynccontextmanager
    async def call(self, tool: str, request: GenerationRequest, count: int) -> AsyncGenerator[CallCharges]:
        """Reserve what sending `request` `count` times may cost, for the call inside; on the way
        out, release each member whose create was not sent. Raises `BudgetExceededError` (a cap
        would be passed) or `StoreError` before anything is sent. A call of one image queues its
        reservation for the account's next trip (the ledger's claim): `reserved` says whether it
        stands, before the create is sent."""
        each = request_price(request)
        total = Price(each.micro_usd * count, each.estimate)
        now = self._wall()
        call_id = secrets.token_hex(8)
        charges = [
            Charge(secrets.token_hex(8), call_id, now, utc_day(now), tool, request.model, each.micro_usd,
                   estimate=each.estimate)
            for _ in range(count)
        ]  # fmt: skip
        pending = self._account.queue_reservation(charges, self.caps) if count == 1 else None
        if pending is None and (refused := await self._account.reserve(charges, self.caps)) is not None:
            raise self._refusal(refused, total)
        members = tuple(MemberCharge(charge, queued=pending) for charge in charges)
        try:
            yield CallCharges(members, total)
        finally:
            unsent = [member.charge.charge_id for member in members if not member.sent]
            if unsent:
                with anyio.CancelScope(shield=True):
                    try:
                        await self._account.release(unsent)
                    except StoreError as exc:  # counted at its reservation: too much, never too little
                        logger.warning("could not release a reservation nothing was sent for: %s", exc)

    async def reserved(self, member: MemberCharge | None) -> None:
        """Returns once `member`'s reservation stands (one queued is sent first, if no trip carried
        it yet). Raises `BudgetExceededError` (a cap would be passed) or `StoreError`: its create
        must not be sent."""
        if member is None or member.queued is None:
            return
        if not member.queued.sent:
            await self._account.flush()
        refused = member.queued.answer()
        if refused is not None:
            # Only a call of one image is queued (`call`): its member's price is the call's.
            raise self._refusal(refused, Price(member.charge.micro_usd, member.charge.estimate))

    def _refusal(self, spent: Totals, price: Price) -> BudgetExceededError:
        daily, monthly = self.caps.daily_micro, self.caps.monthly_micro
        if daily is not None and spent.day_micro + price.micro_usd > daily:
            period, setting, used, cap = "today", "LUMA_MCP_BUDGET_DAILY_USD", spent.day_micro, daily
        else:
            assert monthly is not None
            period, setting, used, cap = "this month", "LUMA_MCP_BUDGET_MONTHLY_USD", spent.month_micro, monthly
        return BudgetExceededError(
            period=period, setting=setting, spent=format_micro(used), cap=format_micro(cap),
            price=format_micro(price.micro_usd), byok=self._byok,
        )  # fmt: skip

    async def created(self, member: MemberCharge | None, generation_id: str, *, later: bool = False) -> None:
        """Member `member`'s create answered with job `generation_id`: a look settles it from now on
        (`later`: queued for the account's next trip to the store)."""
        if member is None:
            return
        member.sent = True
        try:
            await self._account.attach_job(member.charge.charge_id, generation_id, later=later)
        except StoreError as exc:
            logger.warning("job %s counts at its reservation until the store can be written: %s", generation_id, exc)

    def lost(self, member: MemberCharge | None) -> None:
        """Member `member`'s create was sent and its answer lost: it may be charged, so it stays."""
        if member is not None:
            member.sent = True

    async def settle(self, report: Report, *, later: bool = False) -> None:
        """A look at a job: once it ended, its charge (if this store holds one) counts its price
        (`later`: queued for the account's next trip to the store)."""
        price = report.price
        if not report.generation.terminal or price is None:
            return
        try:
            await self._account.settle_job(report.generation.id, price.micro_usd, estimate=price.estimate, later=later)
        except StoreError as exc:
            logger.warning("the spending of job %s could not be settled: %s", report.generation.id, exc)

    async def today(self) -> Totals | None:
        """Today's and this month's totals (UTC); None where the store cannot say."""
        try:
            return await self._account.totals(utc_day(self._wall()))
        except StoreError as exc:
            logger.warning("the running total could not be read: %s", exc)
            return None

    async def summary(self, limit: int) -> SpendingSummary:
        """Today's and this month's totals, and the last `limit` calls. Raises `StoreError`."""
        day = utc_day(self._wall())
        totals = await self._account.totals(day)
        calls: dict[str, list[Charge]] = {}
        for charge in await self._account.recent_charges(limit * CHARGES_PER_CALL):
            if charge.call_id in calls or len(calls) < limit:
                calls.setdefault(charge.call_id, []).append(charge)
        return SpendingSummary(day, totals, self.caps, tuple(_call(charges) for charges in calls.values()))


def _call(charges: list[Charge]) -> CallSpending:
    first = charges[0]
    return CallSpending(
        at=first.at,
        tool=first.tool,
        model=first.model,
        micro_usd=sum(charge.micro_usd for charge in charges),
        generations=tuple(charge.generation_id for charge in charges if charge.generation_id),
        settled=all(charge.settled for charge in charges),
        estimate=any(charge.estimate for charge in charges),
    )
