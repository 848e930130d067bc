"""Image inputs of a generation: each reference (inline data, URL, earlier output, uploaded file)
resolved to bytes and checked, then inspected for what the job will make of it."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from . import render
from .errors import ApiError
from .media import MAX_IMAGE_BYTES, check_image, decode_base64
from .outputs import rendered_outputs
from .state import Account, EmulatorState, InputImage, RegisteredUrl
from .storage import Storage
from .validation import CreateRequest, ImageRefSpec

MAX_INPUT_PIXELS_EDGE = 16384  # larger inputs fail with image_too_large [guess]


class Inputs:
    """Resolves the image references of a request for one emulator."""

    def __init__(self, state: EmulatorState, storage: Storage) -> None:
        self._state = state
        self._storage = storage

    async def resolve(self, account: Account, request: CreateRequest) -> list[InputImage]:
        """The request's `source` (if any) and `image_ref`s, in that order, as checked images."""
        specs = ([request.source] if request.source else []) + list(request.image_refs)
        return [await self._resolve(account, spec) for spec in specs]

    async def _resolve(self, account: Account, spec: ImageRefSpec) -> InputImage:
        field = spec.field
        if spec.data is not None:
            data = decode_base64(field, spec.data)
            return InputImage(field, "data", check_image(field, data, spec.media_type), data)
        if spec.url is not None:
            data, content_type = await self._fetch(field, spec.url)
            if not content_type.lower().startswith("image/"):
                raise ApiError(422, f"{field}: content-type is not an image")
            return InputImage(field, "url", check_image(field, data, None), data)
        if spec.generation_id is not None:
            generation = await self._state.generation(spec.generation_id)
            if generation is None or generation.owner != account.fingerprint:
                raise ApiError(422, f"{field}: generation '{spec.generation_id}' not found")  # [guess]
            state = generation.state(self._state.clock.now())
            if state != "completed":
                raise ApiError(
                    422, f"{field}: generation '{spec.generation_id}' is not completed (state: {state})"
                )  # [guess]
            output = (await rendered_outputs(generation, stock=self._state.config.stock_images))[0]
            return InputImage(field, "generation_id", output.media_type, output.data)
        file_id = spec.file_id or ""
        stored = await self._state.file(file_id)
        if stored is None or stored.owner != account.fingerprint:
            raise ApiError(422, f"{field}: file '{file_id}' not found")  # [guess]
        now = self._state.clock.now()
        state = stored.state(now)
        if state != "ready" or stored.content is None:
            raise ApiError(422, f"{field}: file '{file_id}' is not ready (state: {state})")  # [guess]
        if stored.expires_at is not None and now > stored.expires_at:
            raise ApiError(422, f"{field}: file '{file_id}' has expired")  # [guess]
        return InputImage(field, "file_id", stored.mime_type, stored.content)

    async def _fetch(self, field: str, url: str) -> tuple[bytes, str]:
        """Bytes and content type behind an image URL (the emulator's own outputs included)."""
        fetched = self._state.urls.get(url) or await self._own_output(url)
        if fetched is None and not self._state.config.fetch_urls:
            raise ApiError(503, "Image URL ingestion unavailable")
        if fetched is None:
            fetched = await _fetch_remote(field, url)
        if fetched.status != 200:
            raise ApiError(422, f"{field}: failed to fetch URL (HTTP {fetched.status})")
        if len(fetched.data) > MAX_IMAGE_BYTES:
            raise ApiError(413, f"{field}: image exceeds 50 MB limit")
        return fetched.data, fetched.content_type

    async def _own_output(self, url: str) -> RegisteredUrl | None:
        """An output URL this emulator minted, fetched as the storage host would answer it."""
        parts = urlsplit(url)
        if parts.netloc != urlsplit(self._state.config.storage_base_url).netloc:
            return None
        answer = await self._storage.download(parts.path, dict(parse_qsl(parts.query)), authorization_sent=False)
        return RegisteredUrl(answer.status, answer.headers.get("Content-Type", ""), answer.body)


async def _fetch_remote(field: str, url: str) -> RegisteredUrl:
    import httpx2

    body = bytearray()
    try:
        async with (
            httpx2.AsyncClient(timeout=10.0, follow_redirects=True) as client,
            client.stream("GET", url) as response,
        ):
            async for chunk in response.aiter_bytes():
                body.extend(chunk)
                if len(body) > MAX_IMAGE_BYTES:
                    raise ApiError(413, f"{field}: image exceeds 50 MB limit")
    except httpx2.HTTPError:
        raise ApiError(422, f"{field}: failed to fetch URL (connection error)") from None  # [guess]
    return RegisteredUrl(response.status_code, response.headers.get("content-type", ""), bytes(body))


def inspect_inputs(images: list[bytes]) -> tuple[list[tuple[int, int] | None], str | None]:
    """Pixel sizes of the inputs, and the failure code the job will end with if they are unusable:
    inputs that pass the synchronous checks but do not decode, or are huge, fail the job [guess]."""
    from PIL import Image

    sizes: list[tuple[int, int] | None] = []
    failure: str | None = None
    for data in images:
        try:
            size = render.open_image(data).size
        except Image.DecompressionBombError:
            sizes.append(None)
            failure = failure or "image_too_large"
            continue
        except Exception:  # noqa: BLE001 - any decoder error means the same thing: corrupt input
            sizes.append(None)
            failure = failure or "corrupt_input"
            continue
        sizes.append(size)
        if max(size) > MAX_INPUT_PIXELS_EDGE:
            failure = failure or "image_too_large"
    return sizes, failure
