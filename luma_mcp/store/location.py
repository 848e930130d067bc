"""Which store a server uses (`LUMA_MCP_STORE_URL`), and how it is named in logs and errors.

By default, a SQLite file in the user's state folder, one per output folder (named from a hash of
the folder's path): never inside the pictures folder, which users often sync, and WAL is unsafe on
synced and network folders. `sqlite:///path/to.db` names the file; `redis://` and `rediss://` a
Redis server, for copies of this server behind a load balancer.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit, urlunsplit

if TYPE_CHECKING:  # types only: the settings check URLs with this module before any store is opened
    from ..media.bucket import BucketLocation
    from .base import Store

SCHEMES = ("sqlite", "redis", "rediss")
APP_FOLDER = "luma-agents-mcp"


def state_folder(environ: Mapping[str, str] = os.environ) -> Path:
    """Where this user's programs keep state: `$XDG_STATE_HOME` (or `~/.local/state`) on Linux,
    `~/Library/Application Support` on macOS, `%LOCALAPPDATA%` on Windows; then ours inside it."""
    home = Path(environ.get("HOME") or Path.home())
    if sys.platform == "win32":
        base = Path(environ.get("LOCALAPPDATA") or home / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        base = Path(environ.get("XDG_STATE_HOME") or home / ".local" / "state")
    return base / APP_FOLDER


def default_database(output_dir: Path | BucketLocation, environ: Mapping[str, str] = os.environ) -> Path:
    """The SQLite file of an output folder (or bucket)."""
    digest = hashlib.sha256(str(output_dir).encode()).hexdigest()[:16]
    return state_folder(environ) / f"{digest}.db"


def hidden(url: str) -> str:
    """`url` with its password (if any) replaced by `***`: fit for logs and errors."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        user = f"{parts.username}:" if parts.username else ":"
        host = parts.netloc.rpartition("@")[2]
        return urlunsplit(parts._replace(netloc=f"{user}***@{host}"))
    except ValueError:
        return "<a URL that cannot be read>"


def problem_with(url: str) -> str | None:
    """Why `url` cannot name a store (None if it can)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "it is not a URL"
    if parts.scheme not in SCHEMES:
        return "use sqlite:///path/to/file.db, redis://host:6379/0 or rediss://… (TLS)"
    if parts.scheme == "sqlite" and (parts.netloc or not parts.path.strip("/")):
        return "a SQLite store is sqlite:///path/to/file.db (three slashes, then the file's path)"
    if parts.scheme != "sqlite" and not parts.hostname:
        return "a Redis URL names its host: redis://host:6379/0"
    return None


def open_store(url: str | None, output_dir: Path | BucketLocation) -> Store:
    """The store `url` names (checked by `problem_with` already), or the output folder's SQLite
    file. Nothing is connected until its first use."""
    if url is None or url.startswith("sqlite:"):
        from .sqlite import SqliteStore

        path = default_database(output_dir) if url is None else Path(unquote(urlsplit(url).path)).expanduser()
        return SqliteStore(path)
    from .redis import RedisStore

    return RedisStore(url, hidden(url))
