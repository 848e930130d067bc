"""The storage host, S3's part of the contract: presigned URLs, downloads of outputs, upload PUTs.

Answers are `StorageAnswer`s in S3's shape (XML errors, `ETag`), not the API's `{"detail": ...}`.
"""

from __future__ import annotations

from collections.abc import Mapping

from . import presign
from .outputs import rendered_outputs
from .state import EmulatorState
from .wire import StorageAnswer, s3_error, s3_etag


class Storage:
    """Signs URLs on the storage host and answers the requests made with them."""

    def __init__(self, state: EmulatorState) -> None:
        self._state = state

    def presigned_url(self, path: str, *, method: str, now: float) -> str:
        """A URL for `method path` on the storage host, valid for `url_ttl` seconds from `now`."""
        config = self._state.config
        return presign.presign(
            config.storage_base_url, path, method=method, now=now, ttl=config.url_ttl, secret=self._state.secret
        )

    def _refusal(self, path: str, query: Mapping[str, str], method: str) -> StorageAnswer | None:
        """S3's answer to an expired or edited URL; None when the URL is good."""
        now = self._state.clock.now()
        verdict = presign.verify(query, method=method, path=path, now=now, secret=self._state.secret)
        if verdict == "expired":
            return s3_error(403, "AccessDenied", "Request has expired")
        if verdict == "bad-signature":
            return s3_error(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            )
        return None

    async def download(self, path: str, query: Mapping[str, str], *, authorization_sent: bool) -> StorageAnswer:
        """GET of a presigned output URL, answered the way S3 would."""
        if authorization_sent:
            return s3_error(
                400,
                "InvalidArgument",
                "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
                "Signature query string parameter or the Authorization header should be specified",
            )
        refused = self._refusal(path, query, "GET")
        if refused is not None:
            return refused
        segments = path.strip("/").split("/")
        generation = await self._state.generation(segments[1]) if len(segments) == 3 else None
        if generation is None or generation.state(self._state.clock.now()) != "completed":
            return s3_error(404, "NoSuchKey", "The specified key does not exist.")
        outputs = await rendered_outputs(generation, stock=self._state.config.stock_images)
        match = [o for o in outputs if o.name == segments[2]]
        if not match:
            return s3_error(404, "NoSuchKey", "The specified key does not exist.")
        data = match[0].data
        return StorageAnswer(200, {"Content-Type": match[0].media_type, "ETag": s3_etag(data)}, data)

    async def upload(self, path: str, query: Mapping[str, str], content_type: str | None, data: bytes) -> StorageAnswer:
        """PUT to a presigned upload URL: the bytes of a file made by `POST /v1/files`."""
        refused = self._refusal(path, query, "PUT")
        if refused is not None:
            return refused
        stored = await self._state.file(path.rsplit("/", 1)[-1])
        if stored is None or stored.deleted_at is not None:
            return s3_error(404, "NoSuchUpload", "The specified upload does not exist.")
        if (content_type or "").split(";")[0].strip() != stored.mime_type:
            return s3_error(
                403,
                "SignatureDoesNotMatch",
                f"Content-Type must be {stored.mime_type}, as signed in the upload headers.",
            )
        stored.content = data
        await self._state.keep_file(stored)
        return StorageAnswer(200, {"ETag": s3_etag(data)}, b"")
