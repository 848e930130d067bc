"""Both backends keep the store's promises, each against a real server or file: a claim is taken by
one process only, a swap replaces only what it saw, the history comes most recent first by creation
time and is searched by the words of the prompt, and accounts never see one another."""

from __future__ import annotations

import anyio
import pytest

from luma_mcp.store.base import Account, Claim
from luma_mcp.store.records import HistoryEntry

from ..support.stores import Opener

pytestmark = pytest.mark.anyio

NOW = 1_800_000_000.0


def entry(generation_id: str, prompt: str, created: str, recorded: str = "2027-01-01T00:00:00.000000Z") -> HistoryEntry:
    return HistoryEntry(generation_id=generation_id, prompt=prompt, created_at=created, recorded_at=recorded)


async def test_one_claim_wins_among_many_processes_at_once(opener: Opener) -> None:
    accounts = [opener().account("server") for _ in range(4)]
    won: list[Claim] = []

    async def claim(account: Account, number: int) -> None:
        mine = Claim("creating", f"process-{number}", NOW, NOW + 60)
        if await account.claim("request-key", mine) is None:
            won.append(mine)

    async with anyio.create_task_group() as tasks:
        for number in range(20):
            tasks.start_soon(claim, accounts[number % 4], number)
    assert len(won) == 1
    held = await accounts[0].claim("request-key", Claim("creating", "late", NOW, NOW + 60))
    assert held is not None
    assert held.token == won[0].token


async def test_a_swap_replaces_only_the_claim_it_saw_and_an_expired_claim_is_gone(opener: Opener) -> None:
    account = opener().account("server")
    first = Claim("creating", "a", NOW, NOW + 60)
    assert await account.claim("k", first) is None
    created = Claim("created", "a", NOW, NOW + 60, generation_id="g1")
    assert await account.swap("k", first, created)
    assert not await account.swap("k", first, None)  # someone else's view of it is out of date
    held = await account.claim("k", Claim("creating", "b", NOW + 1, NOW + 61))
    assert held == created
    await account.job_finished("g1", NOW + 5, NOW + 10)
    assert await account.claim("k", Claim("creating", "b", NOW + 6, NOW + 66)) == Claim(
        "created", "a", NOW, NOW + 10, "g1", NOW + 5, created.token
    )
    assert await account.claim("k", Claim("creating", "b", NOW + 11, NOW + 71)) is None  # past its time


async def test_a_failed_job_is_forgotten(opener: Opener) -> None:
    account = opener().account("server")
    mine = Claim("creating", "a", NOW, NOW + 60)
    await account.claim("k", mine)
    await account.swap("k", mine, Claim("created", "a", NOW, NOW + 60, generation_id="g1"))
    await account.forget_job("g1")
    assert await account.claim("k", Claim("creating", "b", NOW, NOW + 60)) is None


async def test_the_history_is_newest_created_first_searched_by_words_and_paged(opener: Opener) -> None:
    account = opener().account("server")
    await account.put_entries(
        [
            entry("id-old", "a red fox in the snow", "2026-01-01T00:00:00Z"),
            entry("id-new", "Crème brûlée on a plate", "2026-03-01T00:00:00.5Z"),
            entry("id-mid", "two red foxes", "2026-02-01T00:00:00Z"),
        ]
    )
    # A later record of the oldest job (a look at it) does not move it up.
    await account.put_entries(
        [entry("id-old", "a red fox in the snow", "2026-01-01T00:00:00Z", "2027-02-01T00:00:00.000000Z")]
    )

    async def ids(*words: str, limit: int = 10, offset: int = 0) -> list[str]:
        return [e.generation_id for e in await account.recent(list(words), limit, offset)]

    assert await ids() == ["id-new", "id-mid", "id-old"]
    assert await ids("fox") == ["id-mid", "id-old"]  # "fox" starts "foxes" too
    assert await ids("red", "foxes") == ["id-mid"]
    assert await ids("creme", "brul") == ["id-new"]  # accents and case do not matter
    assert await ids("giraffe") == []
    assert await ids(limit=2) == ["id-new", "id-mid"]
    assert await ids(limit=2, offset=2) == ["id-old"]
    found = await account.entry("id-old")
    assert found is not None
    assert found.recorded_at.startswith("2027-02-01")
    # An older record arriving late (an old log imported) does not replace a newer one.
    await account.put_entries([entry("id-old", "stale", "2026-01-01T00:00:00Z", "2026-06-01T00:00:00.000000Z")])
    assert (await account.entry("id-old")).prompt == "a red fox in the snow"  # type: ignore[union-attr]
    # A later record whose words or creation time changed is found by its new words, in its new place.
    await account.put_entries(
        [entry("id-mid", "two red foxes on a hill", "2026-04-01T00:00:00Z", "2027-03-01T00:00:00.000000Z")]
    )
    assert await ids("hill") == ["id-mid"]
    assert await ids() == ["id-mid", "id-new", "id-old"]
    await account.put_entries(
        [entry("id-mid", "two red foxes on a hill", "2025-01-01T00:00:00Z", "2027-04-01T00:00:00.000000Z")]
    )
    assert await ids("red") == ["id-old", "id-mid"]  # the same words, a new place among them too


async def test_a_query_word_that_starts_hundreds_of_words_still_finds_every_entry(opener: Opener) -> None:
    """ "s" starts every word of 300 prompts (and "sea" 150 of them): the search still finds them
    all, in order, however the backend looks them up."""
    account = opener().account("server")
    await account.put_entries(
        [
            entry(
                f"id-{n:03d}", f"{'sea' if n % 2 else 'sky'}{n:03d} study", f"2026-01-01T00:{n // 60:02d}:{n % 60:02d}Z"
            )
            for n in range(300)
        ]
    )
    newest_first = [f"id-{n:03d}" for n in reversed(range(300))]

    async def ids(*words: str, limit: int = 400, offset: int = 0) -> list[str]:
        return [e.generation_id for e in await account.recent(list(words), limit, offset)]

    assert await ids("s") == newest_first
    assert await ids("sea") == [i for i in newest_first if int(i[3:]) % 2]
    assert await ids("s", "study", limit=5, offset=10) == newest_first[10:15]
    assert await ids("s", "study", limit=5, offset=250) == newest_first[250:255]  # past the first page
    assert await ids("sea", "sky") == []


async def test_accounts_never_see_one_another(opener: Opener) -> None:
    store = opener()
    alice, bob = store.account("a" * 16), store.account("b" * 16)
    await alice.put_entries([entry("alice-job", "alice's fox", "2026-01-01T00:00:00Z")])
    await alice.claim("k", Claim("creating", "a", NOW, NOW + 60))
    await alice.remember_upload("digest", "file-alice", NOW + 60, NOW)
    assert await bob.recent([], 10, 0) == []
    assert await bob.recent(["fox"], 10, 0) == []
    assert await bob.entry("alice-job") is None
    assert await bob.claim("k", Claim("creating", "b", NOW, NOW + 60)) is None
    assert await bob.upload("digest", NOW) is None
    assert await alice.upload("digest", NOW) == "file-alice"


async def test_an_upload_is_handed_out_until_its_time(opener: Opener) -> None:
    account = opener().account("server")
    await account.remember_upload("digest", "file-1", NOW + 100, NOW)
    assert await opener().account("server").upload("digest", NOW + 99) == "file-1"  # another process too
    assert await account.upload("digest", NOW + 100) is None


async def test_queued_writes_go_with_the_next_trip_in_their_order(opener: Opener) -> None:
    """What a step writes with `later=True` (a create's claim, charge and history entry) reaches the
    store with that account's next call, before it; another process sees none of it until then."""
    mine, other = opener().account("server"), opener().account("server")
    creating = Claim("creating", "a", NOW, NOW + 60)
    assert await mine.claim("k", creating) is None
    created = Claim("created", "a", NOW, NOW + 60, generation_id="g1")
    assert await mine.swap("k", creating, created, later=True) is None
    await mine.job_finished("g1", NOW + 5, NOW + 10, later=True)  # after the swap, or it would find no job
    await mine.put_entries([entry("g1", "a queued fox", "2026-01-01T00:00:00Z")], later=True)
    assert await other.entry("g1") is None
    assert await other.claim("k", Claim("creating", "b", NOW + 1, NOW + 61)) == creating  # not sent yet
    found = await mine.entry("g1")  # the next call: the queued writes go first
    assert found is not None
    assert found.prompt == "a queued fox"
    assert await other.claim("k", Claim("creating", "b", NOW + 6, NOW + 66)) == Claim(
        "created", "a", NOW, NOW + 10, "g1", NOW + 5, created.token
    )


async def test_a_flush_sends_the_queued_writes_alone(opener: Opener) -> None:
    mine, other = opener().account("server"), opener().account("alice")
    await mine.put_entries([entry("g2", "a flushed heron", "2026-01-01T00:00:00Z")], later=True)
    await mine.flush()
    await mine.flush()  # nothing queued: nothing sent, nothing raised
    found = await opener().account("server").entry("g2")
    assert found is not None
    assert found.prompt == "a flushed heron"
    assert await other.entry("g2") is None  # queued in one account: written in that account only


async def test_a_lock_is_taken_and_its_job_read_in_one_call(opener: Opener) -> None:
    """A save takes the job's lock and reads what the history knows of the job together: the
    reader sees what the previous holder recorded before it let go."""
    first, second = opener().account("server"), opener().account("server")
    mine = Claim("saving", "a", NOW, NOW + 60)
    assert await first.claim_and_read("saving:g3", mine, "g3") == (None, None)
    await first.put_entries([entry("g3", "a saved owl", "2026-01-01T00:00:00Z")], later=True)
    await first.swap("saving:g3", mine, None, later=True)
    theirs = Claim("saving", "b", NOW + 1, NOW + 61)
    held, seen = await second.claim_and_read("saving:g3", theirs, "g3")
    assert held == mine  # not let go yet: the release is still queued
    assert seen is None
    await first.flush()
    held, seen = await second.claim_and_read("saving:g3", theirs, "g3")
    assert held is None
    assert seen is not None
    assert seen.prompt == "a saved owl"


async def test_queued_writes_are_sent_even_by_a_call_that_is_cancelled(opener: Opener) -> None:
    """The trip that carries queued writes (a saved entry, a save lock's release) finishes even when
    the call that makes it is cancelled meanwhile: they are never silently dropped."""
    mine = opener().account("server")  # its first trip also opens the store
    await mine.put_entries([entry("g4", "a cancelled heron", "2026-01-01T00:00:00Z")], later=True)
    with anyio.CancelScope() as scope:
        scope.cancel()
        await mine.entry("g4")
    found = await opener().account("server").entry("g4")
    assert found is not None
    assert found.prompt == "a cancelled heron"


class ManualTime:
    """A `Timekeeper` the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


async def test_a_save_lock_queued_with_a_create_serves_only_a_save_it_lasts_for(opener: Opener) -> None:
    """A job's save lock goes with its create's record. A look that saves for longer than that lock
    lasts (its own wait is longer than the creating call's) takes the lock anew for its own time, so
    a look elsewhere meanwhile finds it held and saves nothing twice."""
    from luma_mcp.jobs.locks import SharedLocks

    time = ManualTime()
    here, elsewhere = opener().account("server"), opener().account("server")
    mine = SharedLocks(here, wall=lambda: NOW + time.now, time=time)
    theirs = SharedLocks(elsewhere, wall=lambda: NOW + time.now, time=time)
    mine.take_new("job-1", entry("job-1", "a fox", "2026-01-01T00:00:00Z"), until=time.now + 5)
    await here.flush()  # the create's record
    async with mine.hold("job-1", until=time.now + 60, poll=1) as held:
        assert held.state == "held"
        time.now += 20  # past what the create's lock lasts, well within this look's own 60 s
        async with theirs.hold("job-1", until=time.now + 5, poll=1) as other:
            assert other.state == "busy"


class RunningTime(ManualTime):
    """Time that also moves while it is read, a few microseconds each time (as a real clock does
    between reading it and reading another)."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def monotonic(self) -> float:
        self.reads += 1
        self.now += (1, 7, 3, 5, 2)[self.reads % 5] * 1e-6
        return self.now


async def test_a_creating_calls_save_uses_the_lock_taken_with_its_create_on_real_clocks(opener: Opener) -> None:
    """On running clocks (the wall and the monotonic one read one after the other), the creating
    call's own save is served by the lock its create's record took: it asks the store for none,
    unless the wall clock jumped meanwhile."""
    from luma_mcp.jobs.locks import SharedLocks

    time = RunningTime()
    here = opener().account("server")
    asked: list[str] = []
    claim_and_read = here.claim_and_read

    async def counted(key: str, claim: Claim, generation_id: str) -> tuple[Claim | None, HistoryEntry | None]:
        asked.append(key)
        return await claim_and_read(key, claim, generation_id)

    here.claim_and_read = counted  # type: ignore[method-assign]
    slept = [0.0]
    mine = SharedLocks(here, wall=lambda: NOW + slept[0] + time.now, time=time)
    for number in range(10):
        name = f"job-{number}"
        save_by = time.monotonic() + 127  # the call's deadline and its save's time
        mine.take_new(name, entry(name, "a fox", "2026-01-01T00:00:00Z"), until=save_by)
        await here.flush()  # the create's record
        time.now += 2.5  # the job's end, seen
        async with mine.hold(name, until=save_by, poll=1) as held:
            assert held.state == "held"
    assert asked == []
    # The wall clock moved 5 minutes further than the monotonic one (the machine slept): the lock
    # may end in the store before the save does, so it is taken anew for the save's own time.
    save_by = time.monotonic() + 127
    mine.take_new("job-slept", entry("job-slept", "a fox", "2026-01-01T00:00:00Z"), until=save_by)
    await here.flush()
    slept[0] = 300.0
    async with mine.hold("job-slept", until=save_by, poll=1) as held:
        assert held.state == "held"
    assert asked == ["saving:job-slept"]
