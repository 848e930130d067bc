"""`OutputSources`: any output of an earlier generation as an input image. The API's own
`generation_id` reference cannot say which output of a job of several (a split's layers) is
meant, so such an output is sent as its image: the saved file, or a download from a fresh link
where nothing is saved. And where the API no longer knows a generation (made by another process of
the emulator, or older than the API keeps jobs), the saved file stands in for it: used for an
output picked by index, named as the `path` to give instead in any other error."""

from __future__ import annotations

import hashlib
import logging
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio

from ..api import APIStatusError, Generation, GenerationRequest, LumaClient, SharedHttpClient
from ..errors import InputError, LumaError, OutputError, SavedInsteadError
from ..media.bucket import is_object, name_of
from ..media.outputs import SavedFile, download
from ..store.history import History

logger = logging.getLogger(__name__)


class OutputSources:
    def __init__(
        self,
        client: LumaClient,
        http: SharedHttpClient,
        history: History,
        *,
        contains: Callable[[str], bool],
        read_saved: Callable[[SavedFile], Awaitable[bytes]],
        max_bytes: int,
    ) -> None:
        """`contains` says which saved files may be read back (only the server's own);
        `read_saved` reads one, from its file or object (raising `OutputError`)."""
        self._client = client
        self._http = http
        self._history = history
        self._contains = contains
        self._read_saved = read_saved
        self._max_bytes = max_bytes

    async def output_image(self, generation_id: str, index: int, deadline: float) -> tuple[bytes, str, str] | None:
        """The image of output `index` of a generation, by `deadline`: bytes, media type and a file
        name; None where the API's own reference means that output (a job of one output). Raises
        `InputError` for an output that does not exist or cannot be had: nothing is sent then."""
        try:
            generation = await self._completed(generation_id, index, deadline)
        except InputError as exc:
            saved = await self._saved(generation_id, index) if _gone(exc.__cause__) else None
            if saved is None:
                raise
            return saved  # the API forgot the job; this server kept the output
        if len(generation.output) == 1:
            return None
        return await self._saved(generation_id, index) or await self._downloaded(generation, index)

    async def output_bytes(self, generation_id: str, index: int, deadline: float) -> tuple[bytes, str, str]:
        """The image of output `index` of a generation, whatever the job: the saved file where
        there is one (no request at all), else a download from a fresh link. Raises `InputError`
        as `output_image` does."""
        saved = await self._saved(generation_id, index)
        if saved is not None:
            return saved
        return await self._downloaded(await self._completed(generation_id, index, deadline), index)

    async def _completed(self, generation_id: str, index: int, deadline: float) -> Generation:
        """The generation, looked up, if it is completed and has output `index`."""
        name = f"generation {generation_id}"
        try:
            generation = await self._client.get(generation_id, deadline=deadline)
        except LumaError as exc:
            raise InputError(name, f"could not be looked up to take output {index}: {exc}") from exc
        if generation.state != "completed":
            raise InputError(name, f"is {generation.state}, so it has no output {index} yet: wait for it first")
        count = len(generation.output)
        if index >= count:
            raise InputError(name, f"has {count} output(s), numbered from 0: there is no output {index}")
        return generation

    async def _saved_file(self, generation_id: str, index: int) -> SavedFile | None:
        """The record of output `index` as this server saved it, if it did (in its own folders)."""
        entry = await self._history.get(generation_id)
        return next((f for f in (entry.files if entry else []) if f.index == index and self._contains(f.path)), None)

    async def _saved(self, generation_id: str, index: int) -> tuple[bytes, str, str] | None:
        """Output `index` as this server saved it, if it did and the file is still there, unchanged."""
        saved = await self._saved_file(generation_id, index)
        return None if saved is None else await self._unchanged(saved, generation_id, index)

    async def _unchanged(self, saved: SavedFile, generation_id: str, index: int) -> tuple[bytes, str, str] | None:
        """The saved output's bytes, type and name; None where it cannot be read or was changed since."""
        try:
            data = await self._read_saved(saved)
        except OutputError as exc:
            logger.warning("saved output %d of %s cannot be read (%s); downloading it again", index, generation_id, exc)
            return None
        if hashlib.sha256(data).hexdigest() != saved.sha256:
            logger.warning("saved output %d of %s was changed since; downloading it again", index, generation_id)
            return None
        return data, saved.media_type, name_of(saved.path)

    async def _downloaded(self, generation: Generation, index: int) -> tuple[bytes, str, str]:
        """Output `index` downloaded from the generation's (fresh) link into a scratch folder."""
        http = await self._http.get()
        with tempfile.TemporaryDirectory(prefix="luma-input-") as folder:
            try:
                got = await download(
                    http, generation.output[index].url, Path(folder), "output", max_bytes=self._max_bytes
                )
            except LumaError as exc:
                name = f"generation {generation.id}"
                raise InputError(name, f"output {index} could not be downloaded: {exc}") from exc
            data = await anyio.Path(got.path).read_bytes()
        return data, got.media_type, f"{generation.id}-{index}{Path(got.path).suffix}"

    async def instead_of_gone(self, exc: LumaError, inputs: list[tuple[str | None, str]]) -> LumaError:
        """`exc`, or where it says the API does not know some of `inputs` ((field, or None for
        the generation looked at; generation_id)) whose images this server saved, the error that
        names those files as the `path` inputs to give instead."""
        if not _gone(exc):
            return exc
        assert isinstance(exc, APIStatusError)
        saved: list[tuple[str | None, str, str]] = []
        for field, generation_id in inputs:
            if exc.status == 404 or generation_id in exc.detail:  # a 422 names the input it refused
                found = await self._saved_file(generation_id, 0)
                # A file there, unchanged (an object in a bucket is no `path` input)
                if found is not None and not is_object(found.path) and await self._unchanged(found, generation_id, 0):
                    saved.append((field, generation_id, found.path))
        return SavedInsteadError(exc, saved) if saved else exc


def _gone(exc: BaseException | None) -> bool:
    """Whether the API said it does not know something asked of it: a 404, or a 422 (an input it
    refused, such as a generation it cannot find)."""
    return isinstance(exc, APIStatusError) and exc.status in (404, 422)


def generation_inputs(request: GenerationRequest) -> list[tuple[str | None, str]]:
    """The inputs of a request that name an earlier generation: (field, generation_id)."""
    refs = [("source", request.source)] if request.source else []
    refs += [(f"image_ref[{i}]", ref) for i, ref in enumerate(request.image_ref)]
    return [(field, ref.generation_id) for field, ref in refs if ref.generation_id]
