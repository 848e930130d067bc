"""`RedisStore`: the store on a Redis server (`redis://` or `rediss://`), for copies of this server
behind a load balancer, through the `redis` package's asyncio client. What must be atomic across
them (a claim, a swap, a job's end) is one Lua script each; every account's keys share a prefix,
`luma-mcp:<account>:`.

Keys of an account: `g:<id>` (a hash: the entry and when it was recorded), `recent` (ids by
creation time), `w:<word>` (ids whose entry has that word) and `vocab` (every word, to expand a
query word to the words it starts), `c:<key>` (a claim) and `j:<id>` (the claim of a created job),
`u:<digest>` (an upload), `legacy` (offsets of imported logs); spending's are in `redis_spending`.
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
from .base import Account, Claim, Store, shielded
from .records import HistoryEntry
from .redis_spending import SCRIPTS, RedisSpending
from .words import entry_words

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.client import Pipeline

T = TypeVar("T")

logger = logging.getLogger(__name__)

EXPANDED_WORDS = 100
"""At most this many words of the history a query word is looked up by (those it starts); a word
that starts more is matched against the entries the other words find, a page at a time."""
SCAN_PAGE = 200
"""Entries read at a time when a query word starts too many words to look them all up."""

PUT_ENTRY = """
local recorded = redis.call('HGET', KEYS[1], 'r')
if recorded and recorded > ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'e', ARGV[1], 'r', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
for i = 4, #KEYS do
  redis.call('ZADD', KEYS[i], ARGV[3], ARGV[4])
  redis.call('ZADD', KEYS[3], 0, ARGV[i + 1])
end
return 1
"""
CLAIM = """
local held = redis.call('GET', KEYS[1])
if held and cjson.decode(held).expires >= tonumber(ARGV[3]) then return held end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false
"""
SWAP = """
local held = redis.call('GET', KEYS[1])
if not held or cjson.decode(held).token ~= ARGV[1] then return 0 end
if ARGV[2] == '' then
  redis.call('DEL', KEYS[1])
else
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  if ARGV[4] ~= '' then redis.call('SET', ARGV[4], KEYS[1], 'PX', ARGV[3]) end
end
return 1
"""
JOB = """
local key = redis.call('GET', KEYS[1])
if not key then return 0 end
local held = redis.call('GET', key)
if not held then return 0 end
local claim = cjson.decode(held)
if claim.state ~= 'created' or claim.generation_id ~= ARGV[1] then return 0 end
if ARGV[2] == '' then
  redis.call('DEL', key, KEYS[1])
elseif claim.finished_at == cjson.null or claim.finished_at == nil then
  claim.finished_at = tonumber(ARGV[2])
  claim.expires = tonumber(ARGV[3])
  redis.call('SET', key, cjson.encode(claim), 'PX', ARGV[4])
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
end
return 1
"""


def _milliseconds(seconds: float) -> int:
    return max(1, int(seconds * 1000))


class RedisStore(Store):
    def __init__(self, url: str, shown: str) -> None:
        """Connects on the first call (start-up stays fast); `shown` is `url` with its password hidden."""
        from redis.asyncio import Redis

        self.shown = shown
        self._password = _password(url)
        self.client: Redis = Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5)  # pyright: ignore[reportUnknownMemberType]
        self._sources = dict((("put", PUT_ENTRY), ("claim", CLAIM), ("swap", SWAP), ("job", JOB), *SCRIPTS))
        self._scripts = {name: self.client.register_script(source) for name, source in self._sources.items()}

    def account(self, name: str) -> RedisAccount:
        return RedisAccount(self, f"luma-mcp:{name}:")

    async def aclose(self) -> None:
        await self.client.aclose()

    async def script(self, name: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        return await self.guarded(lambda: self._scripts[name](keys=list(keys), args=list(args)))

    def add_script(self, pipe: Pipeline, name: str, keys: Sequence[str], args: Sequence[Any]) -> None:
        """Add a run of script `name` to `pipe`, sent whole (`EVAL`: no script to load first)."""
        pipe.eval(self._sources[name], len(keys), *keys, *args)  # pyright: ignore[reportUnknownMemberType]

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
        self._queued: list[Callable[[Pipeline], object]] = []
        """Writes queued with `later=True`, each adding its command to the next call's pipeline."""
        self._sending = anyio.Lock(fast_acquire=True)
        """Held while queued writes are on their way: a call waits for them (a write another call
        took is sent before anything the caller does next)."""

    def _scripts(self) -> RedisStore:
        return self._store

    def _client(self) -> Redis:
        return self._store.client

    async def _script(self, name: str, keys: Sequence[str], args: Sequence[Any], *, later: bool = False) -> Any:
        """Script `name`'s answer, the queued writes sent ahead of it in the same round trip; or, if
        `later`, the script queued itself."""
        if later:
            self._queued.append(lambda pipe: self._store.add_script(pipe, name, keys, args))
            return None
        if not self._waiting():
            return await self._store.script(name, keys, args)
        return (await self._with_queued(lambda pipe: self._store.add_script(pipe, name, keys, args)))[-1]

    async def _with_queued(self, own: Callable[[Pipeline], object] | None) -> list[Any]:
        """Send the queued writes, then the commands `own` adds, in one pipeline: the answers to
        `own`'s. Sent even by a call cancelled meanwhile (one may be a lock's release), after any
        another call took."""
        return await shielded(lambda: self._sent_with(own))

    async def _sent_with(self, own: Callable[[Pipeline], object] | None) -> list[Any]:
        async with self._sending:
            queued, self._queued = self._queued, []
            if not queued and own is None:
                return []
            pipe = self._store.client.pipeline(transaction=False)
            for add in queued:
                add(pipe)
            if own is not None:
                own(pipe)
            try:
                answers: list[Any] = await self._store.guarded(pipe.execute)
            except StoreError as exc:
                if queued:
                    logger.warning("the store may not have kept %d queued writes: %s", len(queued), exc.problem)
                raise
            return answers[len(queued) :]

    async def _answer(self, command: Callable[[Any], Any]) -> Any:
        """The answer to one command (`command` calls it on the client, or adds it to a pipeline):
        alone, or after the queued writes, in their pipeline."""
        if self._waiting():
            return (await self._with_queued(command))[0]
        return await self._store.guarded(lambda: command(self._store.client))

    def _waiting(self) -> bool:
        """Whether a trip must go through `_with_queued`: writes are queued, or on their way."""
        return bool(self._queued) or self._sending.locked()

    async def flush(self) -> None:
        if self._waiting():
            await self._with_queued(None)

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
        if len(runs) == 1 and legacy is None:  # one entry: its script is atomic on its own
            await self._script("put", *runs[0], later=later)
            return
        await self.flush()
        pipe = self._store.client.pipeline(transaction=True)
        for keys, args in runs:
            self._store.add_script(pipe, "put", keys, args)
        if legacy is not None:
            pipe.hset(f"{p}legacy", legacy[0], str(legacy[1]))
        await self._store.guarded(pipe.execute)

    async def entry(self, generation_id: str) -> HistoryEntry | None:
        key = f"{self._prefix}g:{generation_id}"
        text = cast("bytes | None", await self._answer(lambda target: target.hget(key, "e")))
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
        ttl = _milliseconds(claim.expires - claim.at)
        held = await self._script("claim", [f"{self._prefix}c:{key}"], [claim.dumps(), ttl, claim.at])
        return None if held is None else Claim.loads(cast("bytes", held))

    async def claim_and_read(
        self, key: str, claim: Claim, generation_id: str
    ) -> tuple[Claim | None, HistoryEntry | None]:
        args = [claim.dumps(), _milliseconds(claim.expires - claim.at), claim.at]
        entry_key = f"{self._prefix}g:{generation_id}"

        def both(pipe: Pipeline) -> None:
            self._store.add_script(pipe, "claim", [f"{self._prefix}c:{key}"], args)
            pipe.hget(entry_key, "e")  # pyright: ignore[reportUnknownMemberType]

        held, text = await self._with_queued(both)
        return (
            None if held is None else Claim.loads(cast("bytes", held)),
            None if text is None else HistoryEntry.model_validate_json(cast("bytes", text)),
        )

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
