"""Finished images in an S3-compatible bucket (AWS S3, MinIO, R2, …), named by `s3://bucket/prefix`
and reached with the standard AWS variables (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
`AWS_SESSION_TOKEN`, `AWS_REGION`, `AWS_ENDPOINT_URL` for an endpoint of your own, and the role
credentials of containers). An object is named as a saved file is (`output_stem`), never over
another; its records say `s3://bucket/key`, and links to it are presigned here.

The client is `obstore` (Rust's `object_store`): async, multipart past `MULTIPART_BYTES`,
presigning, no dependencies of its own; imported at the first use, never at start-up.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from ..errors import OutputError
from .sniff import EXTENSIONS

if TYPE_CHECKING:
    from obstore.store import S3Store

    from .outputs import SavedFile

logger = logging.getLogger(__name__)

SCHEME = "s3://"
BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
"""S3's rule for bucket names: 3–63 lower-case letters, digits, dots and hyphens."""
PREFIX_PART = re.compile(r"^[A-Za-z0-9._-]+$")
MULTIPART_BYTES = 8 * 1024 * 1024
"""Objects larger than this go up in parts of this size, several at once."""
REQUEST_SECONDS = 15.0
"""One request to the bucket gives up after this long (a call's own deadline may cut it sooner)."""


class BucketLocation(BaseModel):
    """`s3://bucket/prefix`: where outputs are kept (each BYOK user under a prefix of their own)."""

    model_config = ConfigDict(frozen=True)

    bucket: str
    """The bucket's name."""
    prefix: str = ""
    """Slash-separated, with no slash at either end; empty for the bucket's root."""

    @classmethod
    def parse(cls, url: str) -> BucketLocation:
        """Raises `ValueError` naming what is wrong with `url` and what to write instead."""
        bucket, _, prefix = url.removeprefix(SCHEME).partition("/")
        if not BUCKET_NAME.match(bucket) or ".." in bucket:
            raise ValueError(
                f"{bucket!r} is not a bucket name (3–63 lower-case letters, digits, dots and hyphens): "
                "write s3://bucket/prefix"
            )
        parts = [part for part in prefix.split("/") if part]
        if any(part in (".", "..") or not PREFIX_PART.match(part) for part in parts):
            raise ValueError(
                f"the prefix {prefix!r} may hold only letters, digits, '.', '_', '-' and '/' (no '.' or '..' "
                "parts): write s3://bucket/prefix"
            )
        return cls(bucket=bucket, prefix="/".join(parts))

    def __str__(self) -> str:
        return f"{SCHEME}{self.bucket}/{self.prefix}".rstrip("/")

    def child(self, name: str) -> BucketLocation:
        """The location under this one named `name` (one part: a user's label)."""
        return BucketLocation(bucket=self.bucket, prefix=f"{self.prefix}/{name}".strip("/"))

    def key(self, name: str) -> str:
        return f"{self.prefix}/{name}".lstrip("/")

    def uri(self, key: str) -> str:
        return f"{SCHEME}{self.bucket}/{key}"

    def key_of(self, uri: str) -> str | None:
        """The key that `uri` names, if it lies directly in this location (so no record can name
        another user's objects, or climb out of the prefix); else None."""
        start = self.uri(self.key(""))
        if not uri.startswith(start):
            return None
        name = uri[len(start) :]
        if not name or "/" in name or name in (".", "..") or not PREFIX_PART.match(name):
            return None
        return self.key(name)


def is_object(path: str) -> bool:
    """Whether a saved file's `path` names an object in a bucket (`s3://…`) rather than a file."""
    return path.startswith(SCHEME)


def name_of(path: str) -> str:
    """The file name of a saved file's path or object URI."""
    return PurePosixPath(path).name if is_object(path) else Path(path).name


class Bucket:
    """One bucket, shared by every workspace (one connection pool); keys are whole, prefixes
    included. Every failure is an `OutputError` saying the bucket could not be used and why, in
    words of our own: the client's text can be long and quote the endpoint's answers."""

    def __init__(self, name: str, *, environ: Mapping[str, str] = os.environ) -> None:
        self.name = name
        self._environ = environ
        self._store: S3Store | None = None

    def _client(self) -> S3Store:
        if self._store is None:
            from obstore.store import S3Store

            endpoint = next(
                (
                    self._environ[v]
                    for v in ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_ENDPOINT")
                    if v in self._environ
                ),
                "",
            )
            options: Any = {
                "allow_http": endpoint.startswith("http://"),
                "timeout": timedelta(seconds=REQUEST_SECONDS),
                "connect_timeout": timedelta(seconds=5),
            }
            retry: Any = {"max_retries": 2, "retry_timeout": timedelta(seconds=REQUEST_SECONDS)}
            region = self._environ.get("AWS_REGION") or self._environ.get("AWS_DEFAULT_REGION") or "us-east-1"
            # The endpoint is passed on as found: `object_store` reads `AWS_ENDPOINT_URL` but not the
            # S3-only `AWS_ENDPOINT_URL_S3` of the AWS tools, which would then be ignored.
            where: Any = {"endpoint": endpoint} if endpoint else {}
            self._store = S3Store(self.name, region=region, client_options=options, retry_config=retry, **where)
        return self._store

    async def upload(self, spooled: SavedFile, place: BucketLocation, stem: str) -> SavedFile:
        """Put a checked file (`spooled`, on disk) at `place` as `stem.<ext>` (or `stem-2.<ext>`,
        …: never over another object): the same record, naming the object."""
        import obstore
        from obstore.exceptions import AlreadyExistsError

        store = self._client()
        large = spooled.size_bytes > MULTIPART_BYTES
        extension = EXTENSIONS[spooled.media_type]
        for attempt in range(1, 1000):
            key = place.key(f"{stem}.{extension}" if attempt == 1 else f"{stem}-{attempt}.{extension}")
            try:
                # Asked first even where the put is conditional: S3-compatible servers that ignore
                # If-None-Match would overwrite, and a multipart put cannot be conditional at all.
                if await self._exists(key):
                    continue
                await obstore.put_async(
                    store, key, Path(spooled.path),
                    attributes={"Content-Type": spooled.media_type},
                    mode=None if large else "create",  # a multipart upload cannot be conditional
                    chunk_size=MULTIPART_BYTES, max_concurrency=4,
                )  # fmt: skip
            except AlreadyExistsError:
                continue
            except Exception as exc:
                raise self._failed("could not take the image", exc) from exc
            return spooled.model_copy(update={"path": place.uri(key)})
        raise OutputError(f"No free object name for {stem} in {place}")

    async def _exists(self, key: str) -> bool:
        import obstore

        try:
            await obstore.head_async(self._client(), key)
        except FileNotFoundError:  # obstore's "not found"
            return False
        return True

    async def read(self, key: str, *, max_bytes: int) -> bytes:
        """The object's bytes (at most `max_bytes`)."""
        import obstore

        try:
            got = await obstore.get_async(self._client(), key)
            if got.meta["size"] > max_bytes:
                raise OutputError(f"{key} is {got.meta['size']} bytes, over the {max_bytes}-byte cap")
            return bytes(await got.bytes_async())
        except OutputError:
            raise
        except Exception as exc:
            raise self._failed(f"could not give {key} back", exc) from exc

    async def link(self, key: str, lifetime: timedelta) -> str:
        """A presigned GET of the object, for `lifetime` (7 days at most: S3's limit)."""
        import obstore

        try:
            return await obstore.sign_async(self._client(), "GET", key, lifetime)
        except Exception as exc:
            raise self._failed(f"could not sign a link to {key}", exc) from exc

    def _failed(self, what: str, exc: Exception) -> OutputError:
        kind = type(exc).__name__
        reason = {
            "PermissionDeniedError": "access denied: check the credentials and the bucket's policy",
            "UnauthenticatedError": "the credentials were refused",
            "FileNotFoundError": "no such bucket or object",
        }.get(kind, f"unreachable or failing: {kind}")
        logger.debug("bucket %s: %s: %s", self.name, what, exc)
        return OutputError(f"The bucket s3://{self.name} {what} ({reason})", retry="again")


class CredentialsLife(BaseModel):
    """How long the bucket's credentials last, as far as the environment tells: presigned links
    stop working when the credentials that signed them expire, whatever the link says."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    expires_at: float | None = None
    """When they expire (seconds since the epoch), if known."""
    note: str | None = None
    """What to tell the operator (at start) and the user (in results) when links may die early."""

    def link_expiry(self, signed_at: float, lifetime: timedelta) -> float:
        """When a link signed at `signed_at` for `lifetime` stops working, as far as is known."""
        wanted = float(int(signed_at + lifetime.total_seconds()))  # whole seconds, never later than true
        return wanted if self.expires_at is None else min(wanted, self.expires_at)


def credentials_life(lifetime: timedelta, *, now: float, environ: Mapping[str, str] = os.environ) -> CredentialsLife:
    """What the standard AWS variables say of the credentials' lifetime, against the links' own."""
    days = f"{lifetime.total_seconds() / 86400:g} day(s)"
    advice = "for links that last as set, give the server an IAM user's access key (or shorten LUMA_MCP_LINK_DAYS)"
    if environ.get("AWS_ACCESS_KEY_ID") and not environ.get("AWS_SESSION_TOKEN"):
        return CredentialsLife()  # a long-lived key: links last as set
    if environ.get("AWS_SESSION_TOKEN"):
        stated = environ.get("AWS_CREDENTIAL_EXPIRATION", "")
        try:
            expires = datetime.fromisoformat(stated.replace("Z", "+00:00"))
        except ValueError:
            return CredentialsLife(
                note=f"The bucket's credentials are temporary (AWS_SESSION_TOKEN) and their expiry is not known: "
                f"links stop working when they expire, perhaps within hours, not after {days}; {advice}."
            )
        at = (expires if expires.tzinfo else expires.replace(tzinfo=UTC)).timestamp()
        if at >= now + lifetime.total_seconds():
            return CredentialsLife(expires_at=at)
        left = max(at - now, 0.0) / 3600
        return CredentialsLife(
            expires_at=at,
            note=f"The bucket's credentials are temporary and expire at {_iso(at)} ({left:.1f} h from start): "
            f"links stop working then, not after {days}; {advice}.",
        )
    return CredentialsLife(
        note="The bucket's credentials are a role's (container, web identity or instance), renewed every few "
        f"hours: a link stops working when the credentials that signed it expire, usually within 1–12 hours, "
        f"not after {days}; get_generation gives a fresh one. {advice[0].upper()}{advice[1:]}."
    )


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
