"""Spending in the Redis store. Keys of an account (after its prefix): `sd:<day>` and `sm:<month>`
(what was spent, in micro-dollars, kept as counters), `sc:<charge id>` (a `Charge`), `sg:<job id>`
(the charge of a job) and `srecent` (charge ids by time). A reservation checks the counters against
the caps and adds its charges in one Lua script, so replicas cannot pass a cap together; a
settlement moves the counters by the difference, in one script too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from typing import Any, Protocol, cast

from .base import Caps, Charge, Pending, Totals

KEPT_SECONDS = 400 * 86_400
"""How long charges and counters are kept: a month's total outlives its month, and a year's listing."""
RECENT_KEPT = 1000
"""Charges listed in `srecent` (the oldest beyond are dropped from the list, not the totals)."""

RESERVE = """
local day = tonumber(redis.call('GET', KEYS[1]) or '0')
local month = tonumber(redis.call('GET', KEYS[2]) or '0')
local adding = tonumber(ARGV[3])
if (ARGV[1] ~= '' and day + adding > tonumber(ARGV[1])) or (ARGV[2] ~= '' and month + adding > tonumber(ARGV[2])) then
  return {day, month}
end
for i = 1, 2 do
  redis.call('INCRBY', KEYS[i], adding)
  redis.call('PEXPIRE', KEYS[i], ARGV[4])
end
for i = 7, #ARGV, 3 do
  redis.call('SET', ARGV[5] .. 'sc:' .. ARGV[i], ARGV[i + 1], 'PX', ARGV[4])
  redis.call('ZADD', KEYS[3], ARGV[i + 2], ARGV[i])
end
redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -tonumber(ARGV[6]) - 1)
return false
"""
CHANGE = """
local key = KEYS[1]
if ARGV[2] == 'settle' then
  local id = redis.call('GET', key)
  if not id then return 0 end
  key = ARGV[1] .. 'sc:' .. id
end
local held = redis.call('GET', key)
if not held then return 0 end
local charge = cjson.decode(held)
if charge.settled then return 0 end
local new = charge.micro_usd
if ARGV[2] == 'attach' then
  charge.generation_id = ARGV[3]
  redis.call('SET', ARGV[1] .. 'sg:' .. ARGV[3], charge.charge_id, 'PX', ARGV[6])
elseif ARGV[2] == 'settle' then
  new = tonumber(ARGV[4])
  charge.settled = true
  charge.estimate = ARGV[5] == '1'
else
  new = 0
end
local delta = new - charge.micro_usd
charge.micro_usd = new
if delta ~= 0 then
  redis.call('INCRBY', ARGV[1] .. 'sd:' .. charge.day, delta)
  redis.call('INCRBY', ARGV[1] .. 'sm:' .. string.sub(charge.day, 1, 7), delta)
end
if ARGV[2] == 'release' then
  redis.call('DEL', key)
  redis.call('ZREM', ARGV[1] .. 'srecent', charge.charge_id)
else
  redis.call('SET', key, cjson.encode(charge), 'KEEPTTL')
end
return 1
"""
SCRIPTS = (("reserve", RESERVE), ("change", CHANGE))
"""Functions of `RedisStore`'s batch script, with its own (`redis.OPS`)."""


def _refusal(answer: Any) -> Totals | None:
    """The `reserve` op's answer: None, or the totals that refused it."""
    return None if answer is None else Totals(int(answer[0]), int(answer[1]))


class Scripts(Protocol):
    """What `RedisStore` offers its accounts: a guarded call."""

    async def guarded(self, call: Any) -> Any: ...


class RedisSpending:
    """The spending methods of `RedisAccount`."""

    _prefix: str

    def _scripts(self) -> Scripts:
        raise NotImplementedError

    def _client(self) -> Any:
        raise NotImplementedError

    async def _script(self, name: str, keys: Sequence[str], args: Sequence[Any], *, later: bool = False) -> Any:
        """Op `name` run after the queued writes, or queued itself (`RedisAccount._script`)."""
        raise NotImplementedError

    def _queued_op(
        self, name: str, keys: Sequence[str], args: Sequence[Any], pending: Pending[Any] | None = None
    ) -> None:
        """Op `name` queued for the next trip (`RedisAccount._queued_op`)."""
        raise NotImplementedError

    async def flush(self) -> None:
        raise NotImplementedError

    async def reserve(self, charges: Sequence[Charge], caps: Caps) -> Totals | None:
        return _refusal(await self._script("reserve", *self._reserving(charges, caps)))

    def queue_reservation(self, charges: Sequence[Charge], caps: Caps) -> Pending[Totals | None]:
        pending = Pending(_refusal)
        self._queued_op("reserve", *self._reserving(charges, caps), pending)
        return pending

    def _reserving(self, charges: Sequence[Charge], caps: Caps) -> tuple[list[str], list[Any]]:
        """The keys and arguments of the `reserve` op."""
        p, day = self._prefix, charges[0].day
        args: list[Any] = [
            "" if caps.daily_micro is None else caps.daily_micro,
            "" if caps.monthly_micro is None else caps.monthly_micro,
            sum(charge.micro_usd for charge in charges),
            KEPT_SECONDS * 1000,
            p,
            RECENT_KEPT,
        ]
        for charge in charges:
            args += [charge.charge_id, charge.dumps(), charge.at]
        return [f"{p}sd:{day}", f"{p}sm:{day[:7]}", f"{p}srecent"], args

    async def _change(
        self,
        key: str,
        mode: str,
        generation_id: str = "",
        micro: int = 0,
        *,
        estimate: bool = False,
        later: bool = False,
    ) -> None:
        args = [self._prefix, mode, generation_id, micro, "1" if estimate else "0", KEPT_SECONDS * 1000]
        await self._script("change", [key], args, later=later)

    async def attach_job(self, charge_id: str, generation_id: str, *, later: bool = False) -> None:
        await self._change(f"{self._prefix}sc:{charge_id}", "attach", generation_id, later=later)

    async def settle_job(self, generation_id: str, micro_usd: int, *, estimate: bool, later: bool = False) -> None:
        key = f"{self._prefix}sg:{generation_id}"
        await self._change(key, "settle", generation_id, micro_usd, estimate=estimate, later=later)

    async def release(self, charge_ids: Sequence[str]) -> None:
        await self.flush()
        for charge_id in charge_ids:
            await self._change(f"{self._prefix}sc:{charge_id}", "release")

    async def totals(self, day: str) -> Totals:
        keys = [f"{self._prefix}sd:{day}", f"{self._prefix}sm:{day[:7]}"]
        # The queued writes (a look's settlement) go first, in the same trip.
        found = cast("list[bytes | None]", await self._script("mget", keys, []))
        return Totals(*(int(value or 0) for value in found))

    async def recent_charges(self, limit: int) -> list[Charge]:
        await self.flush()
        p, client = self._prefix, self._client()
        ids = cast(
            "list[bytes]",
            await self._scripts().guarded(
                lambda: cast("Awaitable[Any]", client.zrevrange(f"{p}srecent", 0, limit - 1))
            ),
        )
        if not ids:
            return []
        keys = [f"{p}sc:{charge_id.decode()}" for charge_id in ids]
        texts = cast("list[bytes | None]", await self._scripts().guarded(lambda: client.mget(keys)))
        return [Charge.loads(text) for text in texts if text is not None]
