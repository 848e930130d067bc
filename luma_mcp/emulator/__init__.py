"""An emulator of the Luma Agents API, written from `shared/luma-api/CONTRACT.md` alone.

It shares no code with the client side (`luma_mcp.api`): it is a second, independent reading of the
contract, so a misunderstanding in one is caught by the other.

    emulator = Emulator(EmulatorConfig(long_edge=256))
    async with httpx2.AsyncClient(transport=emulator.transport(), base_url=emulator.base_url) as http:
        ...
    emulator.clock.advance(30)          # the job completes; no sleeping
    emulator.fail_next("content_moderated")
    emulator.inject("get", "status", status=502)

Modules: `service` (behaviour and the scripting handle), `app` (HTTP), `validation` and `media`
(request checks), `ratelimit`, `presign` (output URLs), `render` (images), `state` (records),
`clock`, `transport` (in-process `httpx2` transport), `standalone` (serve on a port).
"""

from .clock import Clock
from .config import EmulatorConfig
from .service import Emulator
from .wire import fingerprint

__all__ = ["Clock", "Emulator", "EmulatorConfig", "fingerprint"]
