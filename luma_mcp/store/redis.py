"""`RedisStore`: the store on a Redis server (`redis://` or `rediss://`), for copies of this server
behind a load balancer, through the `redis` package's asyncio client. What must be atomic across
them (a claim, a swap, a job's end) is one Lua function each (`redis_scripts.OPS`); every
account's keys share a prefix, `luma-mcp:<account>:`.

A trip to the server is one `EVALSHA` of `redis_scripts.BATCH`, which runs several of those
functions in order: an account's queued writes and the call they go with (`Op`). One command per
trip costs less than a pipeline of several (fewer bytes, no script text, one reply). A server
that forgot the script runs none of a batch (a restarted one answers `NOSCRIPT`; the script is
loaded and the batch sent again); one op that fails (foreign or damaged data) stops the ops after
it, and those before it are kept, as Redis keeps a script's writes up to an error.

Keys of an account: `g:<id>` (a hash: the entry, when it was recorded, what it is indexed by),
`recent` (ids by creation time), `w:<word>` (ids whose entry has that word) and `vocab` (every
word, to expand a query word to the words it starts), `c:<key>` (a claim) and `j:<id>` (the claim
of a created job), `u:<digest>` (an upload), `legacy` (offsets of imported logs); spending's are in `redis_spending`.
Claims and uploads expire by themselves; windows are checked against the caller's clock too, so a
claim is never trusted past its time.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, cast

import anyio

from ..errors import StoreError
from .base import Account, Claim, Pending, Store, shielded
from .records import HistoryEntry
from .redis_scripts import Op, batch_source
from .redis_spending import RedisSpending
from .words import entry_words

if TYPE_CHECKING:
    from redis.asyncio import Redis

T = TypeVar("T")

logger = logging.getLogger(__name__)

EXPANDED_WORDS = 100
"""At most this many words of the history a query word is looked up by (those it starts); a word
that starts more is matched against the entries the other words find, a page at a time."""
SCAN_PAGE = 200
"""Entries read at a time when a query word starts too many words to look them all up."""


def _held(answer: Any) -> Claim | None:
    """The `claim` op's answer: None (taken), or the claim held there."""
    return None if answer is None else Claim.loads(cast("bytes", answer))


def _milliseconds(seconds: float) -> int:
    return max(1, int(seconds * 1000))


class RedisStore(Store):
    def __init__(self, url: str, shown: str) -> None:
        """Connects on the first call (start-up stays fast); `shown` is `url` with its password hidden."""
        from redis.asyncio import Redis

        self.shown = shown
        self._password = _password(url)
        self.client: Redis = Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5)  # pyright: ignore[reportUnknownMemberType]
        self._batch = self.client.register_script(batch_source())

    def account(self, name: str) -> RedisAccount:
        return RedisAccount(self, f"luma-mcp:{name}:")

    async def aclose(self) -> None:
        await self.client.aclose()

    async def run(self, ops: Sequence[Op]) -> list[Any]:
        """The answers to `ops`, run in order in one trip (one `EVALSHA` of `BATCH`)."""
        keys: list[str] = []
        args: list[Any] = [len(ops)]
        for op in ops:
            args += (op.name, len(op.keys), len(op.args))
            keys += op.keys
        for op in ops:
            args += op.args
        return cast("list[Any]", await self.guarded(lambda: self._batch(keys=keys, args=args)))

    async def guarded(self, call: Callable[[], Awaitable[T]]) -> T:
        """`call`, its Redis errors raised as `StoreError` (never naming the password)."""
        from redis.exceptions import RedisError

        try:
            return await call()
        except RedisError as exc:
            problem = f"{type(exc).__name__}: {exc}"
            raise StoreError(
                self.shown, problem.replace(self._password, "***") if self._password else problem
            ) from None


def _password(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).password or ""


class RedisAccount(RedisSpending, Account):
    def __init__(self, store: RedisStore, prefix: str) -> None:
        self._store = store
        self._prefix = prefix
        self._queued: list[Op] = []
        """Writes queued with `later=True`, run ahead of the next call's own in its trip."""
        self._sending = anyio.Lock(fast_acquire=True)
        """Held while queued writes are on their way: a call waits for them (a write another call
        took is sent before anything the caller does next)."""

    def _scripts(self) -> RedisStore:
        return self._store

    def _client(self) -> Redis:
        return self._store.client

    async def _script(self, name: str, keys: Sequence[str], args: Sequence[Any], *, later: bool = False) -> Any:
        """Op `name`'s answer, the queued writes sent ahead of it in the same trip; or, if `later`,
        the op queued itself."""
        if later:
            self._queued_op(name, keys, args)
            return None
        return (await self._trip(Op(name, keys, args)))[0]

    def _queued_op(
        self, name: str, keys: Sequence[str], args: Sequence[Any], pending: Pending[Any] | None = None
    ) -> None:
        """Op `name` queued for the next trip; its answer to `pending`, if given."""
        self._queued.append(Op(name, keys, args, pending))

    async def _trip(self, *own: Op) -> list[Any]:
        """The answers to `own`, run after the queued writes in one trip. A trip that carries queued
        writes is sent even by a call cancelled meanwhile (one may be a lock's release), after any
        another call took."""
        if not self._waiting():
            return await self._store.run(own) if own else []
        return await shielded(lambda: self._sent_with(own))

    async def _sent_with(self, own: Sequence[Op]) -> list[Any]:
        async with self._sending:
            queued, self._queued = self._queued, []
            if not queued and not own:
                return []
            try:
                answers = await self._store.run([*queued, *own])
            except StoreError as exc:
                if queued:
                    logger.warning("the store may not have kept %d queued writes: %s", len(queued), exc.problem)
                for op in queued:
                    if op.pending is not None:
                        op.pending.failed(exc)
                raise
            for op, answer in zip(queued, answers, strict=False):
                if op.pending is not None:
                    op.pending.answered(answer)
            return answers[len(queued) :]

    def _waiting(self) -> bool:
        """Whether a trip must go through `_sent_with`: writes are queued, or on their way."""
        return bool(self._queued) or self._sending.locked()

    async def flush(self) -> None:
        await self._trip()

    async def put_entries(
        self, entries: Sequence[HistoryEntry], *, legacy: tuple[str, int] | None = None, later: bool = False
    ) -> None:
        p = self._prefix
        runs: list[tuple[list[str], list[Any]]] = []
        for entry in entries:
            words = entry_words(entry)
            keys = [f"{p}g:{entry.generation_id}", f"{p}recent", f"{p}vocab", *(f"{p}w:{word}" for word in words)]
            json_text = entry.model_dump_json(exclude_defaults=True)
            runs.append((keys, [json_text, entry.recorded_at, entry.created_seconds(), entry.generation_id, *words]))
        ops = [Op("put", keys, args) for keys, args in runs]
        if legacy is not None:
            ops.append(Op("hset", [f"{p}legacy"], [legacy[0], str(legacy[1])]))
        if later:
            self._queued += ops
        else:
            await self._trip(*ops)  # one batch: no other client's command between them

    async def entry(self, generation_id: str) -> HistoryEntry | None:
        text = cast("bytes | None", await self._script("hget", [f"{self._prefix}g:{generation_id}"], ["e"]))
        return None if text is None else HistoryEntry.model_validate_json(text)

    async def recent(self, words: Sequence[str], limit: int, offset: int) -> list[HistoryEntry]:
        await self.flush()
        p, client = self._prefix, self._store.client
        if not words:
            return await self._entries(await self._latest("recent", offset, offset + limit - 1))
        lookup = client.pipeline(transaction=False)
        for word in words:
            lookup.zrangebylex(f"{p}vocab", b"[" + word.encode(), b"[" + word.encode() + b"\xff", 0, EXPANDED_WORDS + 1)
        expansions = cast("list[list[bytes]]", await self._store.guarded(lookup.execute))
        if not all(expansions):
            return []
        precise = [expanded for expanded in expansions if len(expanded) <= EXPANDED_WORDS]
        broad = [word for word, expanded in zip(words, expansions, strict=True) if len(expanded) > EXPANDED_WORDS]
        if not broad:
            return await self._entries(await self._matching(precise, offset, offset + limit - 1))
        # A word that starts more words of the history than can be looked up one by one (a letter
        # or two): the entries the other words find, most recent first, are read a page at a time
        # and kept where one of their words starts with it. Such a word is common: pages are few.
        kept: list[HistoryEntry] = []
        seen: set[bytes] = set()  # an entry made meanwhile moves the ranks: none is kept twice
        found = f"{p}tmp:{secrets.token_hex(8)}"  # what the other words find, made once for every page
        try:
            start = 0
            while len(kept) < offset + limit:
                stop = start + SCAN_PAGE - 1
                if not precise:
                    ids = await self._latest("recent", start, stop)
                elif start == 0:
                    ids = await self._matching(precise, start, stop, kept_as=found)
                else:
                    ids = await self._latest(found, start, stop)
                if not ids:
                    break
                for entry in await self._entries([i for i in ids if i not in seen]):
                    own = entry_words(entry)
                    if all(any(word.startswith(prefix) for word in own) for prefix in broad):
                        kept.append(entry)
                seen.update(ids)
                start += SCAN_PAGE
        finally:
            if precise:
                await self._store.guarded(lambda: client.delete(found))
        return kept[offset : offset + limit]

    async def _latest(self, key: str, start: int, stop: int) -> list[bytes]:
        """The ids ranked `start` to `stop`, most recent first, in `key` (`recent`, or a search's)."""
        client, key = self._store.client, key if key.startswith(self._prefix) else f"{self._prefix}{key}"
        ids = await self._store.guarded(lambda: client.zrevrange(key, start, stop))  # pyright: ignore[reportUnknownMemberType, reportUnknownLambdaType, reportUnknownVariableType]
        return cast("list[bytes]", ids)

    async def _matching(
        self, expansions: Sequence[Sequence[bytes]], start: int, stop: int, *, kept_as: str | None = None
    ) -> list[bytes]:
        """The ids, most recent first (ranks `start` to `stop`), of the entries that have, for each
        of `expansions`, one of its words; all of them kept under `kept_as` for a minute if given."""
        p, client = self._prefix, self._store.client
        scratch = kept_as or f"{p}tmp:{secrets.token_hex(8)}"
        unions = [f"{scratch}:{i}" for i in range(len(expansions))]
        query = client.pipeline(transaction=True)
        for union, expanded in zip(unions, expansions, strict=True):
            query.zunionstore(union, [f"{p}w:{word.decode()}" for word in expanded], aggregate="MAX")
        query.zinterstore(scratch, unions, aggregate="MAX")
        query.zrevrange(scratch, start, stop)  # pyright: ignore[reportUnknownMemberType]
        if kept_as:
            query.delete(*unions)
            query.pexpire(scratch, 60_000)
        else:
            query.delete(scratch, *unions)
        return cast("list[bytes]", (await self._store.guarded(query.execute))[len(unions) + 1])

    async def _entries(self, ids: Sequence[bytes]) -> list[HistoryEntry]:
        fetch = self._store.client.pipeline(transaction=False)
        for generation_id in ids:
            fetch.hget(f"{self._prefix}g:{generation_id.decode()}", "e")
        texts = cast("list[bytes | None]", await self._store.guarded(fetch.execute))
        return [HistoryEntry.model_validate_json(text) for text in texts if text is not None]

    async def legacy_offset(self, path: str) -> int:
        await self.flush()
        found = await self._store.guarded(
            lambda: cast("Awaitable[bytes | None]", self._store.client.hget(f"{self._prefix}legacy", path))  # pyright: ignore[reportUnknownMemberType]
        )
        return int(found) if found else 0

    async def claim(self, key: str, claim: Claim) -> Claim | None:
        return _held(await self._script("claim", *self._claiming(key, claim)))

    def queue_claim(self, key: str, claim: Claim) -> Pending[Claim | None]:
        pending = Pending(_held)
        self._queued_op("claim", *self._claiming(key, claim), pending)
        return pending

    def _claiming(self, key: str, claim: Claim) -> tuple[list[str], list[Any]]:
        """The keys and arguments of the `claim` op."""
        return [f"{self._prefix}c:{key}"], [claim.dumps(), _milliseconds(claim.expires - claim.at), claim.at]

    async def claim_and_read(
        self, key: str, claim: Claim, generation_id: str
    ) -> tuple[Claim | None, HistoryEntry | None]:
        held, text = await self._trip(
            Op("claim", *self._claiming(key, claim)), Op("hget", [f"{self._prefix}g:{generation_id}"], ["e"])
        )
        return _held(held), None if text is None else HistoryEntry.model_validate_json(cast("bytes", text))

    async def swap(self, key: str, expected: Claim, new: Claim | None, *, later: bool = False) -> bool | None:
        if new is None:
            args: list[Any] = [expected.token, "", 1, ""]
        else:
            job = f"{self._prefix}j:{new.generation_id}" if new.state == "created" else ""
            args = [expected.token, new.dumps(), _milliseconds(new.expires - new.at), job]
        swapped = await self._script("swap", [f"{self._prefix}c:{key}"], args, later=later)
        return None if later else bool(swapped)

    async def job_finished(self, generation_id: str, at: float, expires: float, *, later: bool = False) -> None:
        args = [generation_id, at, expires, _milliseconds(expires - at)]
        await self._script("job", [f"{self._prefix}j:{generation_id}"], args, later=later)

    async def forget_job(self, generation_id: str, *, later: bool = False) -> None:
        await self._script("job", [f"{self._prefix}j:{generation_id}"], [generation_id, "", "", ""], later=later)

    async def upload(self, digest: str, now: float) -> str | None:
        await self.flush()
        found = await self._store.guarded(lambda: self._store.client.get(f"{self._prefix}u:{digest}"))
        if not found:
            return None
        file_id, _, until = cast("bytes", found).decode().partition("|")
        return file_id if float(until) > now else None

    async def remember_upload(self, digest: str, file_id: str, until: float, now: float) -> None:
        key, value = f"{self._prefix}u:{digest}", f"{file_id}|{until}"
        await self.flush()
        await self._store.guarded(lambda: self._store.client.set(key, value, px=_milliseconds(until - now)))
