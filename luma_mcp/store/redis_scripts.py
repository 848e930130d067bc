"""The Lua the Redis store runs: one function per step that must be atomic across replicas (`OPS`,
with spending's `redis_spending.SCRIPTS`), and `BATCH`, the one script a trip sends, which runs
several of them in order (`Op`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .base import Pending
from .redis_spending import SCRIPTS

PUT_ENTRY = """
local recorded = redis.call('HGET', KEYS[1], 'r')
if recorded and recorded > ARGV[2] then return 0 end
local indexed = redis.sha1hex(table.concat(ARGV, ' ', 3))
local same = redis.call('HGET', KEYS[1], 'i') == indexed
redis.call('HSET', KEYS[1], 'e', ARGV[1], 'r', ARGV[2], 'i', indexed)
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
if same then return 1 end
for i = 4, #KEYS do
  redis.call('ZADD', KEYS[i], ARGV[3], ARGV[4])
  redis.call('ZADD', KEYS[3], 0, ARGV[i + 1])
end
return 1
"""
"""An entry (`g:<id>`: its JSON `e`, when recorded `r`, and `i`, a hash of what it is indexed by),
unless a later record is there; its place in `recent`, and its words. A later record indexed by the
same words at the same time (a job's saved entry after its created one) adds none again."""
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

OPS = (
    ("put", PUT_ENTRY),
    ("claim", CLAIM),
    ("swap", SWAP),
    ("job", JOB),
    ("hget", "return redis.call('HGET', KEYS[1], ARGV[1])"),
    ("hset", "return redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])"),
    ("mget", "return redis.call('MGET', unpack(KEYS))"),
)
"""The functions a batch can run, by name, each on its own `KEYS` and `ARGV` (spending's are in
`redis_spending.SCRIPTS`)."""
BATCH = """
local results, k, a = {}, 1, 2 + 3 * tonumber(ARGV[1])
for i = 0, tonumber(ARGV[1]) - 1 do
  local name, nk, na = ARGV[2 + 3 * i], tonumber(ARGV[3 + 3 * i]), tonumber(ARGV[4 + 3 * i])
  local keys, args = {}, {}
  for j = 1, nk do keys[j] = KEYS[k + j - 1] end
  for j = 1, na do args[j] = ARGV[a + j - 1] end
  local answer = OPS[name](keys, args)
  if answer == nil then answer = false end
  results[i + 1] = answer
  k, a = k + nk, a + na
end
return results
"""
"""Runs the ops its `ARGV` names (how many, then each one's name and how many keys and arguments it
takes, then the arguments), in order, each on its part of `KEYS` and `ARGV`: their answers."""


@dataclass(frozen=True)
class Op:
    """One function of `OPS` to run in a trip, on its keys and arguments."""

    name: str
    keys: Sequence[str]
    args: Sequence[Any]
    pending: Pending[Any] | None = None
    """Where a queued op's answer goes (a queued reservation's or claim's)."""


def batch_source() -> str:
    functions = "".join(f"OPS['{name}'] = function(KEYS, ARGV)\n{body}\nend\n" for name, body in (*OPS, *SCRIPTS))
    return f"local OPS = {{}}\n{functions}{BATCH}"
