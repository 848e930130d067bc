"""`BucketOutputs`: one account's outputs kept in a bucket (`LUMA_MCP_OUTPUT_DIR=s3://…`). Each one is
downloaded from the API's storage to a spool file and checked as a saved file is (type, size,
decode), then uploaded under the same browsable name, under the account's prefix; links of our
own are presigned at each look. A bucket that fails leaves the image at the API's link, the output
unsaved, and the next look saves it."""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from pathlib import Path

import anyio

from ..config import Settings
from ..errors import OutputError
from ..media.bucket import Bucket, BucketLocation, CredentialsLife, credentials_life
from ..media.outputs import SavedFile
from .downloads import Downloader, Downloads

logger = logging.getLogger(__name__)

UNSAVED = "the image stays at the API's link for its hour, and get_generation saves it once the bucket answers"


class BucketOutputs:
    """One account's part of the bucket (the server's own, or a BYOK user's prefix): where its
    outputs are uploaded, and the only objects it reads back or signs links to."""

    def __init__(
        self,
        bucket: Bucket,
        place: BucketLocation,
        *,
        lifetime: timedelta,
        credentials: CredentialsLife,
        wall: Callable[[], float],
        max_bytes: int,
    ) -> None:
        """`place`: this account's prefix; `lifetime`: the links' (`credentials` may cut it short);
        `wall`: the clock links are stamped with."""
        self._bucket = bucket
        self.place = place
        self._lifetime = lifetime
        self.credentials = credentials
        self._wall = wall
        self._max_bytes = max_bytes

    def contains(self, path: str) -> bool:
        """Whether `path` names an object under this account's prefix: only those are read or linked."""
        return self.place.key_of(path) is not None

    async def save_each(
        self,
        downloader: Downloader,
        downloads: Downloads,
        indexes: Sequence[int],
        stem: Callable[[int], str],
        *,
        finish_by: float,
        spool: Path | None,
    ) -> str | None:
        """Download the outputs at `indexes` into `spool` (or a temporary folder, for the upload
        only), checked, then upload each by `finish_by`, noting in `downloads` what became of it
        (an output is `saved` only once it is in the bucket, so a cancelled call never records a
        spool file; `local` says where the spool file is, to preview). A warning if the bucket failed."""
        spooled = Downloads(downloads.generation)
        failure: OutputError | None = None
        with contextlib.ExitStack() as stack:
            folder = spool or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="luma-upload-")))
            await downloader.download_each(spooled, indexes, folder, stem, finish_by)
            downloads.generation = spooled.generation
            downloads.errors.update(spooled.errors)
            with anyio.move_on_after(max(finish_by - downloader.now(), 0.0)):  # backstop, on the real clock
                for index, local in sorted(spooled.saved.items()):
                    if failure is not None:  # one refusal is enough: the rest would wait out the same
                        downloads.errors[index] = f"{failure}; {UNSAVED}"
                        continue
                    try:
                        downloads.saved[index] = await self._bucket.upload(local, self.place, stem(index))
                    except OutputError as exc:
                        failure = exc
                        downloads.errors[index] = f"{exc}; {UNSAVED}"
                        logger.warning(
                            "could not save %s output %d in the bucket: %s", spooled.generation.id, index, exc
                        )
                        continue
                    if spool is not None:
                        downloads.local[index] = Path(local.path)
        for index in spooled.saved:
            if index not in downloads.saved and index not in downloads.errors:
                downloads.errors[index] = f"Not uploaded within this call's time; {UNSAVED}"
        if failure is None:
            return None
        return (
            f"{failure}. Nothing more was charged: the images not saved stay at the API's link for an hour, and "
            "get_generation saves them once the bucket answers."
        )

    async def link(self, saved: SavedFile) -> tuple[str, float]:
        """A fresh link to a saved object, and when it stops working. Raises `OutputError`."""
        key = self._key(saved)
        signed_at = self._wall()
        url = await self._bucket.link(key, self._lifetime)
        return url, self.credentials.link_expiry(signed_at, self._lifetime)

    async def read(self, saved: SavedFile) -> bytes:
        """A saved object's bytes. Raises `OutputError`."""
        return await self._bucket.read(self._key(saved), max_bytes=self._max_bytes)

    def _key(self, saved: SavedFile) -> str:
        """The object's key in the bucket; `OutputError` where it is not in this account's part."""
        key = self.place.key_of(saved.path)
        if key is None:
            raise OutputError(f"{saved.path} is not in {self.place}")
        return key


class OutputBucket:
    """The bucket `LUMA_MCP_OUTPUT_DIR` names, opened once per server (one client, one connection
    pool; nothing is imported or connected before the first save): the links' lifetime, what the
    credentials allow, and each account's part of it."""

    def __init__(
        self,
        location: BucketLocation,
        settings: Settings,
        *,
        wall: Callable[[], float],
        environ: Mapping[str, str] = os.environ,
    ) -> None:
        self.location = location
        self._bucket = Bucket(location.bucket, environ=environ)
        self._lifetime = timedelta(days=settings.link_days)
        self._transport = settings.transport
        self._max_bytes = int(settings.max_download_mb * 1024 * 1024)
        self._wall = wall
        self.credentials = credentials_life(self._lifetime, now=wall(), environ=environ)

    def outputs(self, label: str | None) -> BucketOutputs:
        """The part of the bucket of the server's own account (`label` None), or of a BYOK user's."""
        place = self.location if label is None else self.location.child(label)
        return BucketOutputs(
            self._bucket, place,
            lifetime=self._lifetime, credentials=self.credentials, wall=self._wall, max_bytes=self._max_bytes,
        )  # fmt: skip

    def notes(self, store_url: str | None) -> list[str]:
        """What the operator should hear at start: links that die before their time, and copies of
        an HTTP server that would not share a store."""
        notes = [self.credentials.note] if self.credentials.note else []
        if self._transport == "http" and (store_url is None or store_url.startswith("sqlite:")):
            notes.append(
                f"Outputs go to the bucket {self.location}, but the store (history, reuse ledger) is a SQLite file "
                "on this machine: copies of this server behind a load balancer would each keep their own, and could "
                "pay for or save an image twice. For several copies, set LUMA_MCP_STORE_URL=redis://… on each."
            )
        return notes
