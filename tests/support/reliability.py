"""The fault matrix: each fault the emulator can inject into a create, a GET or a download, what a
user of `generate_image` should see, and a runner that checks it. Shared by the test
(`tests/jobs/test_fault_matrix.py`) and the report (`benchmarks/reliability.py`).

For every scenario the runner checks, besides the expected outcome: the call returns (never hangs,
and within the host's 45 s on the emulator's clock),
never crashes (no generic error), never sends a second create when the first one's fate was
unknown, never leaves a completed image unsaved once it can be saved (a follow-up `get_generation`
after the faults have passed), and never shows the API key anywhere.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import anyio
from mcp import Client
from mcp_types import TextContent

from luma_mcp.config import Settings
from luma_mcp.emulator import Emulator, EmulatorConfig, fingerprint
from luma_mcp.server import build_server

from .clocks import AutojumpTime

SECRET = "luma-api-reliability-secret-7f3a9c"
Expected = Literal["saved", "saved on the next look", "reported", "handed off"]
REAL_SECONDS_LIMIT = 30.0
"""No call may take longer than this in real time: a hang fails the scenario."""
HOST_SECONDS_LIMIT = 45.0
"""No call may take longer than this on the emulator's clock: hosts drop longer calls (HOSTS.md)."""


@dataclass(frozen=True)
class Scenario:
    name: str
    route: Literal["create", "get", "download"]
    fault: str
    setup: Callable[[Emulator], None]
    expected: Expected
    outcome: str
    """What the user sees, in words (for the report)."""
    unknown_outcome: bool = False
    """The create's fate cannot be known: exactly one POST, never resent."""
    words: str = ""
    """Words the error or warning must hold (the cause)."""


def _inject(route: Any, kind: Any, **options: Any) -> Callable[[Emulator], None]:
    return lambda emulator: emulator.inject(route, kind, **options)


def _both(*steps: Callable[[Emulator], None]) -> Callable[[Emulator], None]:
    def run(emulator: Emulator) -> None:
        for step in steps:
            step(emulator)

    return run


SCENARIOS: list[Scenario] = [
    # --- create ---------------------------------------------------------------------------------
    Scenario("create: 429, minute window", "create", "429 Rate limit exceeded, Retry-After 5",
             _inject("create", "status", status=429, retry_after=5), "saved",
             "waited 5 s as asked, sent again (nothing was queued), image saved"),
    Scenario("create: 429, concurrency", "create", "429 Too many concurrent jobs, Retry-After 60",
             _inject("create", "status", status=429, retry_after=60, detail="Too many concurrent jobs"), "reported",
             "error: nothing queued, wait for a running job, try again in 60 s", words="wait for one to finish"),
    Scenario("create: 502 before queuing", "create", "502, nothing created",
             _inject("create", "status", status=502), "reported",
             "error: may have been queued, not sent again", unknown_outcome=True, words="answered 502"),
    Scenario("create: 502 after queuing", "create", "502, job created anyway",
             _inject("create", "status", status=502, created=True), "reported",
             "error: may have been queued, not sent again (one job, id unknowable)", unknown_outcome=True,
             words="answered 502"),
    Scenario("create: 503 URL ingestion", "create", "503 Image URL ingestion unavailable",
             _inject("create", "status", status=503), "reported",
             "error: nothing queued; send the image as data instead", words="base64 data"),
    Scenario("create: slow beyond the timeout", "create", "answer after 120 s (timeout 30 s)",
             _inject("create", "slow", delay=120), "reported",
             "error: may have been queued, not sent again", unknown_outcome=True, words="ReadTimeout"),
    Scenario("create: dropped before handling", "create", "connection cut before the server acted",
             _inject("create", "drop", created=False), "reported",
             "error: may have been queued, not sent again", unknown_outcome=True, words="connection failed"),
    Scenario("create: dropped after queuing", "create", "connection cut after the job was created",
             _inject("create", "drop"), "reported",
             "error: may have been queued, not sent again (one job, id unknowable)", unknown_outcome=True,
             words="connection failed"),
    Scenario("create: refused", "create", "connection refused before sending",
             _inject("create", "refuse"), "saved", "sent again (nothing had left), image saved"),
    Scenario("create: malformed JSON", "create", "201 with half a JSON body",
             _inject("create", "malformed_json"), "saved", "id read from the half body, image saved"),
    Scenario("create: wrong shape", "create", "201 with a JSON body of another shape",
             _inject("create", "wrong_shape"), "reported",
             "error: queued but its id unreadable, not sent again", unknown_outcome=True,
             words="queued this generation request (HTTP 201)"),
    # --- get ------------------------------------------------------------------------------------
    Scenario("get: 429", "get", "429, Retry-After 3, twice",
             _inject("get", "status", status=429, retry_after=3, count=2), "saved",
             "GET retried after Retry-After, image saved"),
    Scenario("get: 502", "get", "502 twice", _inject("get", "status", status=502, count=2), "saved",
             "GET retried with backoff, image saved"),
    Scenario("get: 503", "get", "503 twice", _inject("get", "status", status=503, count=2), "saved",
             "GET retried with backoff, image saved"),
    Scenario("get: slow beyond the timeout", "get", "answer after 120 s (timeout 30 s)",
             _inject("get", "slow", delay=120), "saved", "that GET timed out after 30 s, retried, image saved"),
    Scenario("get: dropped", "get", "connection cut, twice", _inject("get", "drop", count=2), "saved",
             "GET retried, image saved"),
    Scenario("get: refused", "get", "connection refused, twice", _inject("get", "refuse", count=2), "saved",
             "GET retried, image saved"),
    Scenario("get: malformed JSON", "get", "200 with half a JSON body", _inject("get", "malformed_json"), "saved",
             "GET retried, image saved"),
    Scenario("get: wrong shape", "get", "200 with a JSON body of another shape", _inject("get", "wrong_shape"),
             "saved", "GET retried, image saved"),
    Scenario("get: API gone mid-wait", "get", "every GET refused", _inject("get", "refuse", count=1000),
             "handed off", "job handed off with its id and a warning; saved on a later look",
             words="stopped answering"),
    Scenario("get: job never finishes", "get", "job stays processing",
             lambda emulator: emulator.script_next(latency=math.inf), "handed off",
             "handed off at the deadline with its id; wait_for_generation to go on"),
    # --- download -------------------------------------------------------------------------------
    Scenario("download: truncated once", "download", "body cut halfway", _inject("download", "truncate"), "saved",
             "downloaded again, image saved"),
    Scenario("download: truncated twice", "download", "body cut halfway, twice",
             _inject("download", "truncate", count=2), "saved on the next look",
             "result has the id, the link and why; saved on the next look", words="RemoteProtocolError"),
    Scenario("download: corrupt", "download", "bytes flipped, length right", _inject("download", "corrupt"),
             "saved", "checksum caught it, downloaded again, image saved"),
    Scenario("download: dropped", "download", "connection cut", _inject("download", "drop"), "saved",
             "downloaded again, image saved"),
    Scenario("download: expired link", "download", "403 from storage", _inject("download", "status", status=403),
             "saved", "fresh link from a GET, image saved"),
    Scenario("download: storage 503", "download", "503 from storage", _inject("download", "status", status=503),
             "saved", "downloaded again, image saved"),
    Scenario("download: slow beyond the timeout", "download", "answer after 120 s (timeout 30 s)",
             _inject("download", "slow", delay=120), "saved on the next look",
             "the download gave up at the call's time limit, with the link; the next look saved it"),
    Scenario("download: 429 + truncated + 502", "download", "a 429 on create, a 502 on GET, a cut download",
             _both(_inject("create", "status", status=429, retry_after=2), _inject("get", "status", status=502),
                   _inject("download", "truncate")), "saved", "each retried where safe, image saved"),
]  # fmt: skip


@dataclass
class Run:
    """What one scenario did."""

    scenario: Scenario
    outcome: Expected | Literal["crashed", "hung", "too slow"] = "crashed"
    seconds: float = 0.0
    """How long the call took on the emulator's clock."""
    posts: int = 0
    created: int = 0
    lost: int = 0
    """Completed images whose id the user got but which are not on disk after the follow-up look."""
    orphaned: int = 0
    """Jobs created at the API whose id never reached the user (a create's unknowable fate)."""
    leaks: list[str] = field(default_factory=list[str])
    text: str = ""


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


async def run_scenario(scenario: Scenario, folder: Path) -> Run:
    """One generate_image call under the scenario's faults, then a look once they have passed."""
    emulator = Emulator(EmulatorConfig(long_edge=64))
    scenario.setup(emulator)
    settings = Settings(api_key=SECRET, base_url=emulator.base_url, output_dir=folder)  # pyright: ignore[reportArgumentType]
    time = AutojumpTime(emulator.clock)
    run = Run(scenario)
    capture = _Capture()
    root = logging.getLogger()
    root.addHandler(capture)
    previous_level = root.level
    root.setLevel(logging.DEBUG)
    try:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(time.drive)
            server = build_server(settings, transport=emulator.transport(), timekeeper=time)
            async with Client(server) as client:
                result = None
                started = emulator.clock.now()
                with anyio.move_on_after(REAL_SECONDS_LIMIT):
                    result = await client.call_tool("generate_image", {"prompt": f"scenario {scenario.name}"})
                run.seconds = emulator.clock.now() - started
                if result is None:
                    run.outcome = "hung"
                    tasks.cancel_scope.cancel()
                    return run
                run.text = json.dumps(result.model_dump(mode="json"))
                data = result.structured_content or {}
                texts = " ".join(b.text for b in result.content if isinstance(b, TextContent))
                if result.is_error:
                    # The SDK's text for an exception nobody meant: a crash, not a report.
                    run.outcome = "crashed" if texts.strip() == "Error executing tool generate_image" else "reported"
                elif data.get("state") in ("queued", "processing"):
                    run.outcome = "handed off"
                elif data.get("state") == "completed":
                    saved = all(o.get("path") for o in data.get("outputs", []))
                    run.outcome = "saved" if saved else "saved on the next look"
                if run.seconds > HOST_SECONDS_LIMIT:
                    run.outcome = "too slow"
                run.posts = len(emulator.requests_to("create"))
                run.created = len(emulator.generation_ids())
                # The faults have passed: the job finishes, and one look must save what the user holds.
                for fault_route in ("create", "get", "download"):
                    while emulator.take_fault(fault_route):
                        pass
                emulator.clock.advance(24 * 3600 if math.isinf(_latest_latency(emulator)) else 600)
                known = data.get("generation_id")
                for generation_id in emulator.generation_ids():
                    if generation_id != known:
                        run.orphaned += 1
                        continue
                    look = await client.call_tool("get_generation", {"generation_id": generation_id})
                    run.text += json.dumps(look.model_dump(mode="json"))
                    look_data = look.structured_content or {}
                    if look_data.get("state") == "completed" and not all(
                        o.get("path") and Path(o["path"]).is_file() for o in look_data.get("outputs", [])
                    ):
                        run.lost += 1
            tasks.cancel_scope.cancel()
    finally:
        root.removeHandler(capture)
        root.setLevel(previous_level)
    log_text = "\n".join(capture.lines)
    if SECRET in run.text:
        run.leaks.append("a tool result")
    if SECRET in log_text:
        run.leaks.append("a log line")
    for record in emulator.requests:
        if record.route in ("download", "upload") and record.authorization_sent:
            run.leaks.append(f"a request to the storage host ({record.path})")
        if record.route in ("create", "get") and record.key_fingerprint not in (None, fingerprint(SECRET)):
            run.leaks.append("another key")
    return run


def _latest_latency(emulator: Emulator) -> float:
    generations = [emulator.generation(g) for g in emulator.generation_ids()]
    return max((g.finished_at - g.created_at for g in generations), default=0.0)
