"""Workspaces: one account's runner, inputs and history. A single one serves every call, unless the server
runs in bring-your-own-key mode, where each request names its user's key in a header and gets a
workspace of its own: its own client, uploads, deduplication and (if files are kept) folder, so
two users' keys, files and histories never mix. Keys are only ever named by a short hash, which
also names the user's account in the store.

What a workspace must not forget (the history, the reuse ledger, the uploads) is the store's, shared
by every copy of the server on it: a workspace in memory is only a client and its locks, dropped
when idle and made again at no loss."""

from __future__ import annotations

import hashlib
import io
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, NamedTuple, Protocol

from .errors import LumaError, MissingApiKeyError
from .media.image_threads import in_image_thread

if TYPE_CHECKING:
    # Types only: a workspace is made by the first call that needs one, and what it runs is
    # imported then (see `server.py`), not at start-up.
    from mcp.server.mcpserver import Context

    from .api import GenerationRequest, ImageRef
    from .config import Settings
    from .jobs.pricing import Price
    from .jobs.report import Progress, SetReport
    from .jobs.runner import GenerationRunner
    from .jobs.sources import OutputSources
    from .jobs.spending import Spending, SpendingSummary
    from .media.image_input import ImageInput, InlineImage
    from .media.outputs import SavedFile
    from .media.previews import Preview, PreviewMode
    from .media.resolver import InputResolver, Upload
    from .store.history import History
    from .store.records import HistoryEntry

KEY_HEADER = "x-luma-agents-api-key"
"""The BYOK header, as looked up (lower case)."""
KEY_HEADER_SHOWN = "X-Luma-Agents-Api-Key"
"""The same header as messages name it."""


class Confirm(Protocol):
    """Asked, once a call's price (for its count of images) is known and reserved, whether to spend it:
    returns to go on, raises (a `LumaError`, or the tool layer's own signal) to send nothing."""

    def asks(self, price: Price) -> bool:
        """Whether a call of `price` is confirmed at all (a question, or a refusal with its quote)."""
        ...

    async def __call__(self, price: Price, request: GenerationRequest, count: int) -> None: ...


KEPT_WORKSPACES = 256
"""Workspaces kept warm in BYOK mode; the least recently used idle ones beyond this are dropped."""


class GenerationOrder(Protocol):
    """What a generating call asks for: its input images, and the request they make once resolved
    (the tools' argument models are such orders)."""

    @property
    def preview(self) -> PreviewMode | None: ...

    @property
    def new_variation(self) -> bool: ...

    @property
    def count(self) -> int:
        """How many separate generations to make of the request."""
        ...

    def images(self) -> list[tuple[str, ImageInput]]:
        """The input images, each with the field that names it in errors, in the API's order."""
        ...

    def request(self, refs: tuple[ImageRef, ...]) -> GenerationRequest:
        """The API request, given `images()` in the API's form, in the same order."""
        ...


class Workspace(NamedTuple):  # not a dataclass (nor AppState): making one costs ~0.8 ms at every start-up
    """One account's work: what a tool call does, in one call each."""

    runner: GenerationRunner
    inputs: InputResolver
    sources: OutputSources
    """Earlier generations' outputs as inputs, and their saved files where the API forgot them."""

    @property
    def history(self) -> History:
        return self.runner.history

    @property
    def spending(self) -> Spending:
        return self.runner.spending

    def contains(self, path: str) -> bool:
        """Whether `path` is in this workspace's folders (or its part of the bucket): only such
        files are ever read back."""
        return self.runner.contains(path)

    async def read_saved(self, saved: SavedFile) -> bytes:
        """The bytes of a saved output of this workspace's, from its file or object. Raises `OutputError`."""
        return await self.runner.read_saved(saved)

    async def generate(
        self, order: GenerationOrder, progress: Progress, *, tool: str, confirm: Confirm | None = None
    ) -> SetReport:
        """Resolve the input images once (uploading large ones), reserve what the call may spend
        (refused past a cap), `confirm` it, then submit `order.count` jobs and wait: one time
        budget, from the first upload on, and the workspace kept for all of it. The report carries
        the account's spending after the call (`spent`)."""
        with self.runner.busy():
            started = self.runner.now()
            inputs = await self.inputs.resolve_all(order.images(), deadline=self.runner.inputs_deadline(started))
            request = order.request(inputs.refs)
            try:
                # One image's reservation goes with the ledger's claim (one trip to the store), unless
                # the user is asked first: a call past a cap is refused before any question.
                async with self.spending.call(tool, request, order.count) as reserved:
                    if confirm is not None and confirm.asks(reserved.price):
                        await self.spending.reserved(reserved.members[0])
                        await confirm(reserved.price, request, order.count)
                    made = await self.runner.run_many(
                        request, order.count, progress, preview=order.preview, started=started,
                        new_variation=order.new_variation, notes=inputs.notes, charges=reserved.members,
                    )  # fmt: skip
            except BaseException as exc:
                await self.runner.flush()  # what its looks queued, should one have ended before its read
                if isinstance(exc, LumaError):  # an input the API forgot, and this server saved: say which file
                    from .jobs.sources import generation_inputs

                    raise await self.sources.instead_of_gone(exc, generation_inputs(request)) from exc
                raise
            if len(made.members) == 1 and not made.failures and all(member.sent for member in reserved.members):
                return replace(made, spent=made.members[0].spent)  # read by its look, once settled
            return replace(made, spent=await self.spending.today())  # after every member settled

    async def spent(self, limit: int) -> SpendingSummary:
        """What this account spent today and this month, its caps, and its last `limit` calls."""
        return await self.spending.summary(limit)

    async def look(self, generation_id: str, preview: PreviewMode | None) -> SetReport:
        """One look at a generation (saved and previewed if completed)."""
        from .jobs.report import SetReport

        try:
            return SetReport((await self.runner.fetch(generation_id, preview=preview),))
        except LumaError as exc:
            raise await self.sources.instead_of_gone(exc, [(None, generation_id)]) from exc

    async def wait(
        self, generation_ids: Sequence[str], max_wait: float, progress: Progress, preview: PreviewMode | None
    ) -> SetReport:
        """Wait up to `max_wait` seconds for generations to finish (together), then look at them."""
        from .jobs.report import SetReport

        if len(generation_ids) == 1:
            return SetReport((await self.runner.wait(generation_ids[0], max_wait, progress, preview=preview),))
        return await self.runner.wait_many(generation_ids, max_wait, progress, preview=preview)

    async def recent(self, query: str | None, limit: int, offset: int = 0) -> tuple[list[HistoryEntry], list[str]]:
        """What this workspace made, most recent first by creation time, filtered by words of the
        prompt, from `offset` on; and warnings (an earlier version's history still being
        imported). Raises `StoreError` if the store cannot be read."""
        entries = await self.history.recent(query=query, limit=limit, offset=offset)
        return entries, [self.history.behind] if self.history.behind else []

    async def rendition(self, generation_id: str, index: int, *, max_edge: int, budget: int) -> Preview:
        """A rendition of output `index` of a generation (long edge ≤ `max_edge`, ≤ `budget` bytes),
        made from the saved file, or from a fresh download where nothing was saved."""
        deadline = self.runner.inputs_deadline(self.runner.now())
        data, _, _ = await self.sources.output_bytes(generation_id, index, deadline)
        return await in_image_thread(_rendition, data, max_edge, budget)

    async def upload(self, path: str | None, inline: InlineImage | None) -> tuple[Upload, str]:
        """Upload a local file or checked data once: the upload and the file's name."""
        data, media_type, name = await self.inputs.read("image", path=path, inline=inline)
        deadline = self.runner.inputs_deadline(self.runner.now())
        return await self.inputs.upload(data, media_type, name, deadline=deadline), name


def _rendition(data: bytes, max_edge: int, budget: int) -> Preview:
    from .media.previews import make_preview

    return make_preview(io.BytesIO(data), max_edge=max_edge, budget=budget)


def key_label(key: str) -> str:
    """A short, stable, non-reversible name for a key (folder names, logs)."""
    return hashlib.sha256(key.encode()).hexdigest()[:16]


WorkspaceFactory = Callable[[str | None, str | None], Workspace]
"""(key or None for the server's own, its label) → a workspace."""


class Workspaces:
    def __init__(self, make: WorkspaceFactory, *, byok: bool) -> None:
        self._make = make
        self._byok = byok
        self._shared: Workspace | None = None
        # Keyed by the key's whole SHA-256: two keys sharing a short label must never share a client.
        self._per_key: OrderedDict[bytes, Workspace] = OrderedDict()

    def for_headers(self, headers: Mapping[str, str] | None) -> Workspace:
        """The workspace of the request with these HTTP headers (None outside HTTP)."""
        if not self._byok:
            if self._shared is None:
                self._shared = self._make(None, None)
            return self._shared
        key = ((headers or {}).get(KEY_HEADER) or "").strip()
        if not key:
            raise MissingApiKeyError(header=KEY_HEADER_SHOWN)
        digest = hashlib.sha256(key.encode()).digest()
        workspace = self._per_key.get(digest)
        if workspace is None:
            workspace = self._per_key[digest] = self._make(key, key_label(key))
            self._drop_idle()
        self._per_key.move_to_end(digest)
        return workspace

    def _drop_idle(self) -> None:
        """Beyond `KEPT_WORKSPACES`, drop the least recently used idle ones. A workspace with a
        call under way is kept whatever the count (what identical requests get back is the
        store's, so dropping an idle one forgets nothing)."""
        for digest in list(self._per_key)[:-1]:  # never the one just made, for the call at hand
            if len(self._per_key) <= KEPT_WORKSPACES:
                return
            if self._per_key[digest].runner.idle():
                del self._per_key[digest]

    def shared(self) -> Workspace | None:
        """The single workspace, when there is one (not in BYOK mode)."""
        return None if self._byok else self.for_headers(None)


async def _nothing_to_list() -> None:
    """The saved images listed as resources where the server lists none (bring-your-own-key mode,
    or no files kept)."""


class AppState(NamedTuple):
    """What the server's lifespan hands every tool call and resource read."""

    settings: Settings
    workspaces: Workspaces
    resources_listed: Callable[[], Awaitable[None]] = _nothing_to_list
    """Returns once the images saved before start-up are listed as resources, listing them on its
    first call (a `resources/list` waits for it, a few seconds at most; start-up does not)."""
    tools_listed: Callable[[], None] = lambda: None
    """Called once the host has the tools (its first `tools/list` answered): work that could
    wait for it (an earlier version's history imported) begins."""

    def workspace(self, ctx: Context[AppState]) -> Workspace:
        """The workspace of this call (its user's, in bring-your-own-key mode)."""
        return self.workspaces.for_headers(ctx.headers)
