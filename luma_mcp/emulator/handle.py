"""`Emulator`: one emulated API, composed of its services, and the handle tests script it with.

The services (`accounts`, `generations`, `inputs`, `files`, `storage`) share one `EmulatorState`;
the HTTP app calls them. Tests and the `/_emulator` admin paths call the scripting methods here:
outcomes, faults, keys, settings, registered URLs, the clock, and the request log.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .accounts import Accounts
from .clock import Clock
from .config import EmulatorConfig
from .files import Files
from .generations import Generations
from .inputs import Inputs
from .outputs import rendered_outputs
from .state import (
    FAILURE_CODES,
    MAX_LAYERS,
    ROUTES,
    EmulatorState,
    Fault,
    FaultKind,
    Generation,
    KeyState,
    Outcome,
    RegisteredUrl,
    RequestRecord,
    Route,
)
from .storage import Storage
from .wire import fingerprint

if TYPE_CHECKING:
    from starlette.types import ASGIApp

    from .transport import EmulatorTransport


class Emulator:
    """An in-memory Luma Agents API: its services, its state, and the handles tests script it with."""

    def __init__(self, config: EmulatorConfig | None = None, *, clock: Clock | None = None) -> None:
        config = config or EmulatorConfig()
        journal = None
        if config.state_dir is not None:
            from .journal import Journal  # its module only when state is kept

            journal = Journal(Path(config.state_dir))
        self.state = EmulatorState(config, clock or Clock(frozen=True), journal=journal)
        self.accounts = Accounts(self.state)
        self.storage = Storage(self.state)
        self.inputs = Inputs(self.state, self.storage)
        self.generations = Generations(self.state, self.inputs, self.storage)
        self.files = Files(self.state, self.storage)
        self._app: ASGIApp | None = None

    @property
    def config(self) -> EmulatorConfig:
        return self.state.config

    @property
    def clock(self) -> Clock:
        return self.state.clock

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request the emulator served (admin paths excepted), oldest first."""
        return self.state.requests

    # ----------------------------------------------------------------- wiring

    @property
    def app(self) -> ASGIApp:
        """The Starlette app serving the API, storage and `/_emulator` admin paths."""
        if self._app is None:
            from .app import build_app  # Starlette only when HTTP is wanted: start-up time

            self._app = build_app(self)
        return self._app

    @property
    def base_url(self) -> str:
        return self.config.api_base_url

    def transport(self) -> EmulatorTransport:
        """An `httpx2` transport into this emulator that also emulates dropped connections."""
        from .transport import EmulatorTransport  # httpx2 only when a client is wanted

        return EmulatorTransport(self)

    # -------------------------------------------------------------- scripting

    def configure(self, **changes: Any) -> None:
        """Change settings of `EmulatorConfig` on the fly, e.g. `configure(latency=5, rpm=2)`."""
        self.state.config = dataclasses.replace(self.state.config, **changes)

    def set_key(self, key: str, state: KeyState = "active", *, credits_usd: float | None = None) -> None:
        """Register a key in a state (`revoked`, `expired`, `suspended`, `invalid`…) with a balance."""
        self.accounts.set_key(key, state, credits_usd=credits_usd)

    def script_next(
        self,
        count: int = 1,
        *,
        latency: float | None = None,
        failure_code: str | None = None,
        failure_reason: str | None = None,
        layers: int | None = None,
    ) -> None:
        """Decide how the next `count` generations end (`latency=math.inf`: never), and for a
        layering job how many layers it makes."""
        if failure_code is not None and failure_code not in FAILURE_CODES:
            raise ValueError(f"unknown failure code {failure_code!r}; known: {', '.join(FAILURE_CODES)}")
        if layers is not None and not 1 <= layers <= MAX_LAYERS:
            raise ValueError(f"layers must be between 1 and {MAX_LAYERS}")
        self.state.outcomes.extend([Outcome(latency, failure_code, failure_reason, layers)] * count)

    def fail_next(self, failure_code: str, count: int = 1, *, reason: str | None = None) -> None:
        """Make the next `count` generations fail with `failure_code`."""
        self.script_next(count, failure_code=failure_code, failure_reason=reason)

    def inject(
        self,
        route: Route,
        kind: FaultKind,
        *,
        count: int = 1,
        status: int = 502,
        detail: str | None = None,
        retry_after: int | None = None,
        delay: float = 0.0,
        created: bool | None = None,
    ) -> None:
        """Queue a fault for the next `count` requests on `route` (see `Fault` for the kinds)."""
        if route not in ROUTES:
            raise ValueError(f"unknown route {route!r}; known: {', '.join(ROUTES)}")
        if kind in ("truncate", "corrupt") and route != "download":
            raise ValueError(f"{kind!r} applies to downloads only")
        if created is None:
            created = kind not in ("status", "refuse", "slow")
        fault = Fault(route, kind, status, detail, retry_after, delay, created)
        self.state.faults[route].extend([fault] * count)

    def take_fault(self, route: str) -> Fault | None:
        """The next fault queued on `route`, consumed (None if there is none)."""
        queue = self.state.faults.get(route)  # pyright: ignore[reportArgumentType]
        return queue.popleft() if queue else None

    def peek_fault(self, route: str) -> Fault | None:
        """The next fault queued on `route`, left in the queue."""
        queue = self.state.faults.get(route)  # pyright: ignore[reportArgumentType]
        return queue[0] if queue else None

    def register_url(self, url: str, data: bytes, *, content_type: str = "image/png", status: int = 200) -> None:
        """Serve `data` when a request names `url` as an image input."""
        self.state.urls[url] = RegisteredUrl(status, content_type, data)

    def reset(self) -> None:
        """Forget all state, scripts, faults and the log (the clock and config stay)."""
        self.state.reset()

    # ------------------------------------------------------------- inspection

    def requests_to(self, route: str) -> list[RequestRecord]:
        return [r for r in self.requests if r.route == route]

    def spent_usd(self, key: str) -> float:
        """What the key has been charged so far, refunds deducted."""
        return self.generations.spent_micro(fingerprint(key)) / 1_000_000

    def generation_ids(self) -> list[str]:
        return list(self.state.generations)

    def generation(self, generation_id: str) -> Generation:
        """The emulator's record of a generation (timings, request, outcome), for inspection."""
        return self.state.generations[generation_id]

    async def output_bytes(self, generation_id: str, index: int = 0) -> bytes:
        """The bytes a completed generation's output `index` downloads as."""
        generation = self.state.generations[generation_id]
        return (await rendered_outputs(generation, stock=self.config.stock_images))[index].data
