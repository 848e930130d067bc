"""The Files API (`/v1/files`): presigned and inline uploads, completion and processing, reading,
listing and deleting uploaded files."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from .errors import ApiError
from .media import check_image
from .state import Account, EmulatorState, StoredFile
from .storage import Storage
from .wire import iso, parse_iso

FILE_MIME_TYPES = ("image/gif", "image/jpeg", "image/png", "image/webp")
MAX_FILE_BYTES = 5 * 1024**3  # "Up to 5 GiB (the S3 single-PUT ceiling)" [doc]
FILE_PROCESSING_SECONDS = 1.0  # complete → ready [guess]


class Files:
    """The uploaded files of one emulator; their bytes arrive inline or through `Storage.upload`."""

    def __init__(self, state: EmulatorState, storage: Storage) -> None:
        self._state = state
        self._storage = storage

    def _file_json(self, stored: StoredFile) -> dict[str, Any]:
        now = self._state.clock.now()
        return {
            "id": stored.id,
            "created_at": iso(stored.created_at),
            "mime_type": stored.mime_type,
            "purpose": stored.purpose,
            "size_bytes": stored.size_bytes,
            "state": stored.state(now),
            "deleted_at": None if stored.deleted_at is None else iso(stored.deleted_at),
            "expires_at": None if stored.expires_at is None else iso(stored.expires_at),
            "failure_reason": stored.failure_reason if stored.state(now) == "failed" else None,
            "filename": stored.filename,
            "user_id": stored.user_id,
        }

    def _new_file(self, account: Account, fields: Mapping[str, Any], *, size: int, mime_type: str) -> StoredFile:
        purpose = fields.get("purpose") or "input"
        if purpose not in ("input", "reference"):
            raise ApiError(400, f"Invalid purpose '{purpose}'. Valid: input, reference")  # [guess]
        filename, user_id = fields.get("filename"), fields.get("user_id")
        if filename is not None and (not isinstance(filename, str) or len(filename) > 255):
            raise ApiError(400, "filename must be a string of at most 255 characters")  # [guess]
        if user_id is not None and (not isinstance(user_id, str) or len(user_id) > 256):
            raise ApiError(400, "user_id must be a string of at most 256 characters")  # [guess]
        now = self._state.clock.now()
        expires_at = now + self._state.config.file_ttl
        raw_expiry = fields.get("expires_at")
        if raw_expiry is not None:
            try:
                expires_at = parse_iso(str(raw_expiry))
            except ValueError:
                raise ApiError(400, "expires_at must be an ISO 8601 timestamp") from None  # [guess]
        stored = StoredFile(
            id=str(uuid.uuid4()),
            owner=account.fingerprint,
            created_at=now,
            mime_type=mime_type,
            size_bytes=size,
            purpose=str(purpose),
            filename=filename,
            user_id=user_id,
            expires_at=expires_at,
        )
        self._state.files[stored.id] = stored
        return stored

    async def create(self, account: Account, body: Any) -> dict[str, Any]:
        """The presigned flow: a pending file and where to PUT its bytes."""
        if not isinstance(body, dict):
            raise ApiError(400, "Request body must be a JSON object")  # [guess]
        fields: dict[str, Any] = body  # pyright: ignore[reportUnknownVariableType]
        mime_type, size = fields.get("mime_type"), fields.get("size_bytes")
        _check_mime_type(mime_type)
        if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= MAX_FILE_BYTES:
            raise ApiError(400, f"size_bytes must be an integer between 1 and {MAX_FILE_BYTES}")  # [guess]
        stored = self._new_file(account, fields, size=size, mime_type=str(mime_type))
        await self._state.keep_file(stored)
        now = self._state.clock.now()
        upload = {
            "url": self._storage.presigned_url(f"/uploads/{stored.id}", method="PUT", now=now),
            "method": "PUT",
            "headers": {"Content-Type": stored.mime_type},
            "expires_at": iso(now + self._state.config.url_ttl),
        }
        return self._create_file_response(stored, upload)

    def _create_file_response(self, stored: StoredFile, upload: dict[str, Any] | None) -> dict[str, Any]:
        file = self._file_json(stored)
        return {"id": stored.id, "file": file, "state": file["state"], "upload": upload}

    async def create_inline(
        self, account: Account, fields: Mapping[str, Any], data: bytes, part_type: str | None
    ) -> dict[str, Any]:
        """The multipart flow: bytes inline, no upload step, ready after processing."""
        cap = self._state.config.inline_file_cap
        if len(data) > cap:
            raise ApiError(413, f"Inline upload exceeds {cap} bytes; use the presigned flow")  # [guess]
        mime_type = fields.get("mime_type") or part_type or "application/octet-stream"
        _check_mime_type(mime_type)
        stored = self._new_file(account, fields, size=len(data), mime_type=str(mime_type))
        stored.content = data
        self._process(stored)
        await self._state.keep_file(stored)
        return self._create_file_response(stored, None)

    async def _owned_file(self, account: Account, file_id: str) -> StoredFile:
        stored = await self._state.file(file_id)
        if stored is None or stored.owner != account.fingerprint:
            raise ApiError(404, "File not found")  # [guess]
        return stored

    def _process(self, stored: StoredFile) -> None:
        """Mark the upload complete; after `FILE_PROCESSING_SECONDS` it is ready, or failed."""
        now = self._state.clock.now()
        stored.completed_at = now
        stored.ready_at = now + FILE_PROCESSING_SECONDS
        content = stored.content or b""
        if len(content) != stored.size_bytes:
            stored.failure_reason = f"Uploaded {len(content)} bytes; size_bytes said {stored.size_bytes}"  # [guess]
            return
        try:
            check_image("file", content, stored.mime_type)
        except ApiError as error:
            stored.failure_reason = error.detail.removeprefix("file: ")

    async def complete(self, account: Account, file_id: str) -> dict[str, Any]:
        """`POST /v1/files/{id}/complete`, after the bytes were PUT; completing twice changes nothing."""
        stored = await self._owned_file(account, file_id)
        if stored.deleted_at is not None:
            raise ApiError(404, "File not found")
        if stored.content is None:
            raise ApiError(409, "File upload has not been received")  # [guess]
        if stored.completed_at is None:
            self._process(stored)
            await self._state.keep_file(stored)
        return self._file_json(stored)

    async def get(self, account: Account, file_id: str) -> dict[str, Any]:
        return self._file_json(await self._owned_file(account, file_id))

    async def page(self, account: Account, query: Mapping[str, str]) -> dict[str, Any]:
        """`GET /v1/files`: newest first, filtered by `state` and `purpose`, paged by `cursor`."""
        try:
            limit = int(query.get("limit", "25"))
        except ValueError:
            limit = 0
        if not 1 <= limit <= 100:
            raise ApiError(400, "limit must be between 1 and 100")  # [guess]
        now = self._state.clock.now()
        owned = list(reversed(await self._state.files_of(account.fingerprint)))
        wanted_state, purpose = query.get("state"), query.get("purpose")
        owned = [
            f
            for f in owned
            if (f.state(now) == wanted_state if wanted_state else f.deleted_at is None)
            and (purpose is None or f.purpose == purpose)
        ]
        cursor = query.get("cursor")
        if cursor:
            ids = [f.id for f in owned]
            owned = owned[ids.index(cursor) + 1 :] if cursor in ids else []
        page = owned[:limit]
        has_more = len(owned) > limit
        return {
            "data": [self._file_json(f) for f in page],
            "has_more": has_more,
            "next_cursor": page[-1].id if has_more and page else None,
        }

    async def delete(self, account: Account, file_id: str) -> None:
        stored = await self._owned_file(account, file_id)
        if stored.deleted_at is None:
            stored.deleted_at = self._state.clock.now()
            stored.content = None
            await self._state.keep_file(stored)


def _check_mime_type(mime_type: object) -> None:
    if mime_type not in FILE_MIME_TYPES:
        raise ApiError(400, f"Unsupported mime_type '{mime_type}'. Valid: {', '.join(FILE_MIME_TYPES)}")  # [guess]
