"""`Journal`: what a later emulator process needs to take over, kept in one SQLite file,
`emulator.sqlite3` in `EmulatorConfig.state_dir`: each generation with its request, its input
images and the plan of its outputs, and each uploaded file with its bytes.

The real API keeps an account's jobs; an emulator that forgot them when its process ended would
break every chain made across processes (hosts start a server per session, the Inspector CLI one
per call), and leave the client's history naming jobs nobody knows. Rendered outputs are not kept:
rendering is deterministic (the request, the inputs and the generation's id), so a later process
renders the same bytes again.

Several processes may use one journal at once: SQLite locks the file (in WAL mode, readers never
wait for the writer), and every method is one short transaction on a connection of its own, a
write in `BEGIN IMMEDIATE` (it takes the write lock before it reads, so two writers never
deadlock). SQLite answers "locked" at once, without waiting, in a few cases (two processes setting
the file up): those are tried again until `BUSY_SECONDS` pass. The methods block: callers on an
event loop run them in a worker thread.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Callable
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any, TypeVar

from .state import Generation, InputImage, StoredFile
from .validation import CreateRequest, ImageRefSpec

FILE_NAME = "emulator.sqlite3"
BUSY_SECONDS = 30.0
"""How long a transaction waits for another process's to end before giving up."""
RETRY_SECONDS = 0.01
"""Between two tries of a transaction SQLite answered "locked" without waiting."""
SCHEMA = """
CREATE TABLE IF NOT EXISTS generations (id TEXT PRIMARY KEY, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (id TEXT PRIMARY KEY, owner TEXT NOT NULL, record TEXT NOT NULL, content BLOB);
CREATE TABLE IF NOT EXISTS images (sha256 TEXT PRIMARY KEY, data BLOB NOT NULL);
"""
"""Input images are kept once per content: an edit chain names the same bytes again and again."""


_T = TypeVar("_T")


class Journal:
    """The journal in `folder` (created on first use, which must be a folder of this user's)."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / FILE_NAME
        self._ready = False

    def _transaction(self, work: Callable[[sqlite3.Connection], _T], *, write: bool = False) -> _T:
        """`work` in one transaction on a connection of its own: committed whole, or not at all."""
        deadline = time.monotonic() + BUSY_SECONDS
        while True:
            try:
                return self._once(work, write=write)
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise
                time.sleep(RETRY_SECONDS)

    def _once(self, work: Callable[[sqlite3.Connection], _T], *, write: bool) -> _T:
        if not self._ready:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=BUSY_SECONDS, isolation_level=None)
        try:
            if not self._ready:
                connection.execute("PRAGMA journal_mode=WAL")
                connection.executescript(SCHEMA)
                self._ready = True
            connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                result = work(connection)
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
            return result
        finally:
            connection.close()

    def save_generation(self, generation: Generation) -> None:
        record = _generation_record(generation)

        def save(db: sqlite3.Connection) -> None:
            db.executemany(
                "INSERT OR IGNORE INTO images (sha256, data) VALUES (?, ?)",
                [(_digest(image.data), image.data) for image in generation.inputs],
            )
            db.execute("INSERT OR REPLACE INTO generations (id, record) VALUES (?, ?)", (generation.id, record))

        self._transaction(save, write=True)

    def generation(self, generation_id: str) -> Generation | None:
        """The generation, as the process that created it saved it; None if no process did."""

        def read(db: sqlite3.Connection) -> Generation | None:
            row = db.execute("SELECT record FROM generations WHERE id = ?", (generation_id,)).fetchone()
            if row is None:
                return None
            record: dict[str, Any] = json.loads(row[0])
            inputs: list[InputImage] = []
            for image in record.pop("inputs"):
                (data,) = db.execute("SELECT data FROM images WHERE sha256 = ?", (image.pop("sha256"),)).fetchone()
                inputs.append(InputImage(data=data, **image))
            return _generation(record, inputs)

        return self._transaction(read)

    def save_file(self, stored: StoredFile) -> None:
        record = json.dumps({name: value for name, value in asdict(stored).items() if name != "content"})
        row = (stored.id, stored.owner, record, stored.content)
        # An upsert, not INSERT OR REPLACE: the row keeps its rowid, so listings stay oldest first.
        sql = (
            "INSERT INTO files (id, owner, record, content) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE"
            " SET owner = excluded.owner, record = excluded.record, content = excluded.content"
        )
        self._transaction(lambda db: db.execute(sql, row), write=True)

    def file(self, file_id: str) -> StoredFile | None:
        sql = "SELECT record, content FROM files WHERE id = ?"
        row = self._transaction(lambda db: db.execute(sql, (file_id,)).fetchone())
        return None if row is None else StoredFile(**json.loads(row[0]), content=row[1])

    def files_of(self, owner: str) -> list[StoredFile]:
        """Every file of the key with fingerprint `owner`, oldest first, without its bytes
        (`content` None: uploads can be large, and a listing needs only the records)."""
        sql = "SELECT record FROM files WHERE owner = ? ORDER BY rowid"
        rows = self._transaction(lambda db: db.execute(sql, (owner,)).fetchall())
        return [StoredFile(**json.loads(record)) for (record,) in rows]

    def clear(self) -> None:
        """Forget every generation and file (an emulator reset)."""

        def clear(db: sqlite3.Connection) -> None:
            for table in ("generations", "files", "images"):
                db.execute(f"DELETE FROM {table}")  # noqa: S608 - the table names are ours

        self._transaction(clear, write=True)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


KEPT = (
    *("id", "owner", "created_at", "started_at", "finished_at", "output_format", "units", "price_micro"),
    *("failure_code", "failure_reason"),
)
"""The fields of a `Generation` kept as they are; the request, size, names and inputs are kept in
their own forms, and the rendered outputs (and their lock) not at all."""


def _generation_record(generation: Generation) -> str:
    request = asdict(generation.request)
    # Inline image data is kept once, as the input image it became, not again as base64 here.
    for ref in [request["source"], *request["image_refs"]]:
        if ref is not None and ref["data"] is not None:
            ref["data"] = ""
    record = {name: getattr(generation, name) for name in KEPT}
    record |= {"request": request, "size": list(generation.size), "output_names": list(generation.output_names)}
    record["inputs"] = [
        {"field": image.field, "origin": image.origin, "media_type": image.media_type, "sha256": _digest(image.data)}
        for image in generation.inputs
    ]
    return json.dumps(record)  # an unending job's finished_at is inf: JSON's Infinity, read back as such


def _generation(record: dict[str, Any], inputs: list[InputImage]) -> Generation:
    request: dict[str, Any] = record.pop("request")
    source = request.pop("source")
    refs = request.pop("image_refs")
    parsed = CreateRequest(
        **request,
        source=None if source is None else ImageRefSpec(**source),
        image_refs=tuple(ImageRefSpec(**ref) for ref in refs),
    )
    width, height = record.pop("size")
    names = tuple(record.pop("output_names"))
    known = {field.name for field in fields(Generation)}
    kept = {name: value for name, value in record.items() if name in known}
    return Generation(request=parsed, size=(width, height), output_names=names, inputs=tuple(inputs), **kept)
