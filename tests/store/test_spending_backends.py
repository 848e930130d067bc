"""Both backends keep spending's promises, each against a real server or file: reservations from
many connections at once never pass a cap together, a settlement moves the totals by the difference,
a release removes what it reserved, and one account's spending never touches another's."""

from __future__ import annotations

import anyio
import pytest

from luma_mcp.store.base import Account, Caps, Charge, Claim, Totals

from ..support.stores import Opener

pytestmark = pytest.mark.anyio

NOW = 1_800_000_000.0
DAY = "2027-01-15"


def charge(charge_id: str, micro: int, *, day: str = DAY, at: float = NOW) -> Charge:
    return Charge(charge_id, f"call-{charge_id}", at, day, "generate_image", "uni-1", micro)


async def test_reservations_from_many_connections_at_once_stop_at_the_cap(opener: Opener) -> None:
    accounts = [opener().account("server") for _ in range(4)]
    kept: list[str] = []

    async def reserve(account: Account, number: int) -> None:
        if await account.reserve([charge(f"c{number}", 40_400)], Caps(daily_micro=5 * 40_400)) is None:
            kept.append(f"c{number}")

    async with anyio.create_task_group() as tasks:
        for number in range(20):
            tasks.start_soon(reserve, accounts[number % 4], number)
    assert len(kept) == 5
    assert await accounts[0].totals(DAY) == Totals(5 * 40_400, 5 * 40_400)
    refused = await accounts[1].reserve([charge("late", 40_400)], Caps(monthly_micro=6 * 40_400))
    assert refused is None  # the month has room for one more
    assert await accounts[2].reserve([charge("later", 1)], Caps(monthly_micro=6 * 40_400)) == Totals(
        6 * 40_400, 6 * 40_400
    )


async def test_a_settlement_moves_the_totals_and_a_release_removes_the_reservation(opener: Opener) -> None:
    account = opener().account("server")
    split = charge("split", 434_000)  # a split's worst case: 10 layers
    lost = charge("lost", 40_400, at=NOW + 1)
    refused = charge("refused", 40_400, at=NOW + 2)
    other_day = charge("yesterday", 100_000, day="2027-01-14", at=NOW - 86_400)
    for kept in ([split, lost, refused], [other_day]):
        assert await account.reserve(kept, Caps()) is None
    await account.attach_job("split", "job-1")
    await account.release(["refused"])
    assert await account.totals(DAY) == Totals(434_000 + 40_400, 434_000 + 40_400 + 100_000)
    await account.settle_job("job-1", 3 * 43_400, estimate=True)
    await account.settle_job("job-1", 0, estimate=False)  # settled once: a later look changes nothing
    assert await account.totals(DAY) == Totals(3 * 43_400 + 40_400, 3 * 43_400 + 40_400 + 100_000)
    recent = await account.recent_charges(10)
    assert [(c.charge_id, c.micro_usd, c.settled, c.generation_id) for c in recent] == [
        ("lost", 40_400, False, None),
        ("split", 3 * 43_400, True, "job-1"),
        ("yesterday", 100_000, False, None),
    ]
    assert recent[1].estimate is True


async def test_one_account_spending_never_touches_another(opener: Opener) -> None:
    store = opener()
    alice, bob = store.account("aaaaaaaaaaaaaaaa"), store.account("bbbbbbbbbbbbbbbb")
    assert await alice.reserve([charge("a", 40_400)], Caps(daily_micro=40_400)) is None
    assert await bob.reserve([charge("b", 40_400)], Caps(daily_micro=40_400)) is None
    assert await alice.reserve([charge("a2", 1)], Caps(daily_micro=40_400)) == Totals(40_400, 40_400)
    await alice.attach_job("a", "job-a")
    await bob.settle_job("job-a", 0, estimate=False)  # not bob's job
    assert await alice.totals(DAY) == Totals(40_400, 40_400)
    assert [c.charge_id for c in await bob.recent_charges(10)] == ["b"]


async def test_a_queued_settlement_counts_in_the_totals_read_next(opener: Opener) -> None:
    """A look queues its job's settlement; the running total the call reads next sends it first, so
    the total a result shows already counts the settled price."""
    account, elsewhere = opener().account("server"), opener().account("server")
    assert await account.reserve([charge("split", 434_000)], Caps()) is None
    await account.attach_job("split", "job-1", later=True)
    await account.settle_job("job-1", 2 * 43_400, estimate=False, later=True)
    assert await elsewhere.totals(DAY) == Totals(434_000, 434_000)  # not sent yet: the reservation counts
    assert await account.totals(DAY) == Totals(2 * 43_400, 2 * 43_400)
    assert await elsewhere.totals(DAY) == Totals(2 * 43_400, 2 * 43_400)


async def test_a_queued_reservation_is_answered_by_the_trip_that_carries_it(opener: Opener) -> None:
    """A call of one image queues its reservation for the ledger's claim to carry: one trip, and the
    reservation is checked against the cap in it as if sent alone."""
    account, elsewhere = opener().account("server"), opener().account("server")
    caps = Caps(daily_micro=100_000)
    kept = account.queue_reservation([charge("kept", 60_000)], caps)
    refused = account.queue_reservation([charge("refused", 60_000)], caps)
    assert not kept.sent
    assert await elsewhere.totals(DAY) == Totals(0, 0)  # not sent yet
    assert await account.claim("request-key", Claim("creating", "a", NOW, NOW + 60)) is None
    assert kept.answer() is None
    assert refused.answer() == Totals(60_000, 60_000)
    assert await elsewhere.totals(DAY) == Totals(60_000, 60_000)
