"""`build_server(settings)`: the MCP server. Its lifespan owns the one HTTP client every call shares."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncGenerator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
import httpx2
from mcp.server import MCPServer
from mcp.server.context import CallNext, HandlerResult, ServerMiddleware, ServerRequestContext
from mcp.server.request_state import RequestStateSecurity
from mcp.server.subscriptions import InMemorySubscriptionBus

from . import __version__
from .api.http import SharedHttpClient
from .config import Settings
from .media.folders import OutputFolder, private_folder
from .process import bound_allocator, bound_worker_threads
from .resources import register_templates, resources_listed_first
from .store.legacy import LegacyLog
from .store.location import default_database
from .tools import build_tools
from .ui.extension import build_app_tools, build_apps, hide_app_only_tools
from .workspaces import AppState, Workspace, Workspaces

if TYPE_CHECKING:
    from .api import Timekeeper
    from .catalog import ImageCatalog
    from .jobs.draining import Draining
    from .store.base import Store
    from .store.records import HistoryEntry

logger = logging.getLogger(__name__)

EMULATOR_KEY = "luma-api-emulator"
EMULATOR_BASE_URL = "http://api.luma-emulator.test/v1"
"""Where the embedded emulator (`--emulator`) answers: in-process only, never on the network."""
EMULATOR_STATE_SUFFIX = ".emulator"
"""The embedded emulator's folder: the output folder's store file with this suffix instead of `.db`."""

INSTRUCTIONS = """\
Generate and edit images with the Luma Agents API (models uni-1 and uni-1-max).
- generate_image makes an image from a prompt. It returns a preview you can see, the saved file's \
path, a download link and a generation_id.
- Images take 30–60 s. If a call returns before the image is ready, call wait_for_generation with \
its generation_id (repeat until completed); nothing is lost and nothing is charged twice.
- To change a result, call edit_image with source {"generation_id": "<id>"}; chain edits the same way.
- generate_image and edit_image take count (1–4) for several candidates at once; split_into_layers \
splits an image into transparent layers (edit one with source {"generation_id": "<id>", "output_index": N}).
- Every result says what it cost (cost_usd); get_spending shows what was spent today and this month, \
against the server's caps. A call refused for its price quotes it: send confirm_spend_usd only if the user agrees.
- get_generation looks a generation up again: fresh download link, and the file saved if it was not.
- Every generate_image or edit_image call is a new paid image: do not repeat one just to check on it.\
"""


def _embedded_emulator(latency: float, state: Path | None) -> httpx2.AsyncBaseTransport:
    """A transport into an emulator of the API inside this process (`--emulator`), at
    `EMULATOR_BASE_URL`, finishing jobs after `latency` seconds of real time, keeping them in
    `state` (see `emulator_state_folder`) or, for None, in this process only."""
    from .emulator import Clock, Emulator, EmulatorConfig

    config = EmulatorConfig(
        latency=latency, api_base_url=EMULATOR_BASE_URL, state_dir=None if state is None else str(state)
    )
    return Emulator(config, clock=Clock(frozen=False)).transport()


def emulator_state_folder(settings: Settings) -> Path | None:
    """Where the embedded emulator keeps its jobs, so that a later process (hosts start one per
    session, the Inspector CLI one per call) can chain off them, as the real API keeps jobs: one
    folder per output folder, beside the output folder's store file in the user's state folder
    (like the store, never inside the pictures folder: users sync it, and SQLite's WAL is unsafe
    there), of this user's alone. None (jobs kept in this process only) where it cannot be made,
    which is logged."""
    folder = default_database(settings.output_dir).with_suffix(EMULATOR_STATE_SUFFIX)
    try:
        folder.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        private_folder(folder.parent, Path(folder.name), create=True)
    except OSError as exc:
        logger.warning("the emulator keeps its jobs in this process only: %s", exc.strerror or exc)
        return None
    return folder


async def tools_listed_first(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    """Middleware: work that waits for the host to have its tools (an earlier version's history
    imported) begins once a `tools/list` is answered, or when any other request comes first, so
    that spawn to the tools listed stays as fast with a history to import."""
    state = ctx.lifespan_context
    if not isinstance(state, AppState) or ctx.method in ("initialize", "ping"):
        return await call_next(ctx)
    if ctx.method != "tools/list":
        state.tools_listed()
    answered = await call_next(ctx)
    state.tools_listed()
    return answered


def on_first_use(
    server: MCPServer[AppState], methods: str, register: Callable[[MCPServer[AppState]], None]
) -> ServerMiddleware[Any]:
    """Middleware: `register` adds its part to `server` (resource templates, prompts) before the
    first request whose method starts with `methods`. Adding them makes pydantic models of their
    functions (~10 ms for the templates): work a host that spawns the server to list its tools
    should not wait for. What a client sees, `initialize` included, is the same."""
    registered = False

    async def register_first(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        nonlocal registered
        if not registered and ctx.method.startswith(methods):
            registered = True
            register(server)
        return await call_next(ctx)

    return register_first


def _register_prompts(server: MCPServer[AppState]) -> None:
    from .prompts import register_prompts

    register_prompts(server)


IMPORT_AFTER_SECONDS = 2.0
"""An earlier version's history is imported once the tools are listed, or this long after start."""
LISTING_SENT_SECONDS = 0.2
"""How long after the tools are listed the import begins: the answer is on its way first (the
import's first steps load modules and open the store, holding the event loop)."""


def _earlier_history(folder: OutputFolder) -> bool:
    """Whether an earlier version's history log is there to import (see `store/legacy.py`), in
    the folders the server's own workspace reads them from."""
    logs = (LegacyLog(folder.preferred), LegacyLog(folder.fallback, folder.fallback_is_private))
    return any(log.size() for log in logs)


def build_server(
    settings: Settings,
    *,
    transport: httpx2.AsyncBaseTransport | None = None,
    timekeeper: Timekeeper | None = None,
    clock: Callable[[], float] | None = None,
    draining: Draining | None = None,
) -> MCPServer[AppState]:
    """The server. `transport`, `timekeeper` and `clock` (the wall clock the store's records are
    stamped with) are for tests (an emulator and its clock); `draining`, set by the HTTP server
    when it shuts down, ends waits early with a hand-off."""
    wall = clock or time.time
    bus = InMemorySubscriptionBus()  # the SDK's default, held here so the catalog can publish on it

    @asynccontextmanager
    async def lifespan(server: MCPServer[AppState]) -> AsyncGenerator[AppState]:
        bound_worker_threads()
        base_url, api_key = settings.base_url, settings.api_key
        key = api_key.get_secret_value() if api_key else None
        embedded = settings.emulator and transport is None
        emulator_state: Path | None = None
        if embedded:
            base_url, key = EMULATOR_BASE_URL, EMULATOR_KEY
            emulator_state = (
                await anyio.to_thread.run_sync(emulator_state_folder, settings) if settings.keeps_files else None
            )
        timeout = httpx2.Timeout(settings.http_timeout, connect=min(10.0, settings.http_timeout))

        def open_client() -> httpx2.AsyncClient:
            """The shared client, opened by the first request: work that can wait until a call
            needs it waits here, not before `tools/list` (the embedded emulator; the allocator's
            bounds, which matter only once calls run)."""
            bound_allocator()
            http_transport = _embedded_emulator(settings.emulator_latency, emulator_state) if embedded else transport
            return httpx2.AsyncClient(transport=http_transport, timeout=timeout, follow_redirects=True)

        store_url = settings.store_url.get_secret_value() if settings.store_url else None
        local = settings.output_dir if isinstance(settings.output_dir, Path) else None
        max_bytes = int(settings.max_download_mb * 1024 * 1024)
        bucket = None
        if settings.bucket is not None:
            from .jobs.uploads import OutputBucket

            bucket = OutputBucket(settings.bucket, settings, wall=wall)
            for note in bucket.notes(store_url):
                logger.warning("%s", note)
        lists_saved = not settings.byok and settings.keeps_files  # the server's own saved images
        importing = False
        if lists_saved and local is not None:
            # Before the first paid image, and before the first call makes the server's workspace.
            folder = OutputFolder(local)
            problem = await folder.check()
            if problem is not None:
                logger.warning("LUMA_MCP_OUTPUT_DIR: %s", problem)
            importing = await anyio.to_thread.run_sync(_earlier_history, folder)
        # What calls use is made by the first call that needs it, not before `tools/list`: the
        # store, the workspaces (and the client, jobs and media modules they import), the catalog.
        opened: list[Store] = []
        catalogs: list[ImageCatalog] = []
        async with SharedHttpClient(open_client) as http, anyio.create_task_group() as background:

            def store() -> Store:
                if not opened:
                    from .store.location import open_store

                    opened.append(open_store(store_url, settings.output_dir))
                return opened[0]

            def catalog() -> ImageCatalog:
                """The catalog of the server's own saved images, with the workspace they are in."""
                if not catalogs:
                    from .catalog import ImageCatalog

                    shared = workspaces.shared()
                    assert shared is not None, "the catalog is the server's own workspace's"
                    catalogs.append(ImageCatalog(server, bus, shared, background))
                return catalogs[0]

            def workspace(user_key: str | None, label: str | None) -> Workspace:
                """A client, runner and inputs for one key: the server's (label None) or a user's."""
                from .api import LumaClient, StoredFile
                from .jobs.runner import GenerationRunner
                from .jobs.sources import OutputSources
                from .media.resolver import InputResolver
                from .store.base import SERVER_ACCOUNT
                from .workspaces import KEY_HEADER_SHOWN

                client = LumaClient(
                    http,
                    api_key=key if user_key is None else user_key,
                    base_url=base_url,
                    timekeeper=timekeeper,
                    user_agent=f"luma-agents-mcp/{__version__}",
                    key_header=None if user_key is None else KEY_HEADER_SHOWN,
                )

                async def upload(data: bytes, media_type: str, name: str, deadline: float) -> StoredFile:
                    return await client.upload_file(data, media_type, filename=name, deadline=deadline)

                async def on_saved(entry: HistoryEntry) -> None:
                    await catalog().add(entry)

                # Users' files and histories are kept apart; only the server's own are listed.
                folder = None if local is None else local if label is None else local / label
                account = store().account(label or SERVER_ACCOUNT)
                runner = GenerationRunner(
                    client,
                    http,
                    settings,
                    account,
                    wall=wall,
                    folder=folder,
                    label=label,
                    on_saved=on_saved if label is None else None,
                    draining=draining,
                    bucket=None if bucket is None else bucket.outputs(label),
                )
                sources = OutputSources(
                    client, http, runner.history,
                    contains=runner.contains, read_saved=runner.read_saved, max_bytes=max_bytes,
                )  # fmt: skip
                inputs = InputResolver(
                    allowed_dirs=settings.readable_dirs,
                    upload_threshold=int(settings.upload_threshold_mb * 1_000_000),
                    uploader=upload,
                    cache=account,
                    outputs=sources.output_image,
                    clock=wall,
                )
                return Workspace(runner, inputs, sources)

            async def resources_listed() -> None:
                await catalog().listed()

            workspaces = Workspaces(workspace, byok=settings.byok)
            listed = anyio.Event()
            state = (
                AppState(settings, workspaces, resources_listed, listed.set)
                if lists_saved
                else AppState(settings, workspaces, tools_listed=listed.set)
            )
            if importing:  # in the background, so that no call waits for all of it: once the tools are listed

                async def import_once_listed() -> None:
                    with anyio.move_on_after(IMPORT_AFTER_SECONDS):  # a client that never lists them
                        await listed.wait()
                        await anyio.sleep(LISTING_SENT_SECONDS)
                    await resources_listed()

                background.start_soon(import_once_listed)
            try:
                yield state
            finally:
                background.cancel_scope.cancel()
                with anyio.CancelScope(shield=True):
                    for each in opened:
                        await each.aclose()

    state_key = settings.request_state_key
    server = MCPServer(
        "luma-agents-mcp",
        # Questions asked over 2026-07-28 ride a sealed state: replicas share the key that seals it.
        request_state_security=None if state_key is None else RequestStateSecurity(keys=[state_key.get_secret_value()]),
        title="Luma Agents",
        version=__version__,
        instructions=INSTRUCTIONS,
        website_url="https://github.com/luma-agents-mcp/luma-agents-mcp",
        lifespan=lifespan,
        tools=[*build_tools(settings), *build_app_tools()],
        subscriptions=bus,
        extensions=[build_apps()],
        middleware=[hide_app_only_tools, resources_listed_first, tools_listed_first],
    )
    server.middleware.append(on_first_use(server, "resources/", register_templates))
    server.middleware.append(on_first_use(server, "prompts/", _register_prompts))
    return server
