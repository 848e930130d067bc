"""Workspaces: one account's runner and inputs. A single one serves every call, unless the server
runs in bring-your-own-key mode, where each request names its user's key in a header and gets a
workspace of its own: its own client, uploads, deduplication and (if files are kept) folder, so
two users' keys, files and histories never mix. Keys are only ever named by a short hash.

The workspaces live in this process: behind a load balancer, each copy has its own, so its
deduplication covers only the calls that reach it."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .api import MissingApiKeyError
from .config import Settings
from .media.inputs import InputResolver
from .runner import GenerationRunner

if TYPE_CHECKING:
    from mcp.server.mcpserver import Context

KEY_HEADER = "x-luma-agents-api-key"
"""The BYOK header, as looked up (lower case)."""
KEY_HEADER_SHOWN = "X-Luma-Agents-Api-Key"
"""The same header as messages name it."""
KEPT_WORKSPACES = 256
"""Workspaces kept warm in BYOK mode; the least recently used idle ones beyond this are dropped."""


@dataclass(frozen=True)
class Workspace:
    runner: GenerationRunner
    inputs: InputResolver


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
        call under way, or a job an identical request must get back (or must not resend), is
        kept whatever the count: dropping it could charge its user twice."""
        for digest in list(self._per_key)[:-1]:  # never the one just made, for the call at hand
            if len(self._per_key) <= KEPT_WORKSPACES:
                return
            if self._per_key[digest].runner.idle():
                del self._per_key[digest]

    def shared(self) -> Workspace | None:
        """The single workspace, when there is one (not in BYOK mode)."""
        return None if self._byok else self.for_headers(None)


@dataclass(frozen=True)
class AppState:
    """What the server's lifespan hands every tool call and resource read."""

    settings: Settings
    workspaces: Workspaces

    def workspace(self, ctx: Context[AppState]) -> Workspace:
        """The workspace of this call (its user's, in bring-your-own-key mode)."""
        return self.workspaces.for_headers(ctx.headers)
