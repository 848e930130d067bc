"""An emulator of the Luma Agents API, written from `shared/luma-api/CONTRACT.md` alone.

It shares no code with the client side (`luma_mcp.api`): it is a second, independent reading of the
contract, so a misunderstanding in one is caught by the other.

    emulator = Emulator(EmulatorConfig(long_edge=256))
    async with httpx2.AsyncClient(transport=emulator.transport(), base_url=emulator.base_url) as http:
        ...
    emulator.clock.advance(30)          # the job completes; no sleeping
    emulator.fail_next("content_moderated")
    emulator.inject("get", "status", status=502)

Modules, by what each one answers for:
- `handle`: `Emulator`, the services composed on one shared state, and the scripting handle.
- services, apart from HTTP: `accounts` (keys, 401/403), `generations` (create, read, spending),
  `inputs` (image references resolved and inspected), `outputs` (planned, then rendered once),
  `files` (the Files API), `storage` (the storage host: presigned URLs, downloads, upload PUTs).
- records and rules: `state` (records and `EmulatorState`), `config`, `clock`, `validation` and
  `media` (request checks), `ratelimit`, `presign` (signed URLs), `render` (images), `errors`.
- HTTP: `app` (routes and handlers), `faults` (what injected faults make of answers),
  `request_log`, `admin` (`/_emulator` paths), `wire` (formats shared with the services),
  `transport` (in-process `httpx2` transport), `standalone` (serve on a port).
"""

from .clock import Clock
from .config import EmulatorConfig
from .handle import Emulator
from .wire import fingerprint

__all__ = ["Clock", "Emulator", "EmulatorConfig", "fingerprint"]
