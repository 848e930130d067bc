"""The emulated API's behaviour, apart from HTTP: accounts, generations, files, storage, scripting.

`Emulator` is also the in-process handle tests use to script outcomes and faults, move the clock
and read the request log. `app.py` puts HTTP in front of it.
"""

from __future__ import annotations

import dataclasses
import math
import secrets
import uuid
from collections import deque
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

import anyio.to_thread

from . import presign, render
from .clock import Clock
from .config import EmulatorConfig
from .errors import ApiError
from .media import MAX_IMAGE_BYTES, check_image, decode_base64
from .ratelimit import check_limits, success_headers
from .state import (
    BASE_PRICE,
    FAILURE_CODES,
    FAILURE_REASONS,
    PRICE_PER_REF,
    REFUNDED_FAILURES,
    ROUTES,
    Account,
    Fault,
    FaultKind,
    Generation,
    InputImage,
    KeyState,
    Outcome,
    Output,
    RequestRecord,
    Route,
    StoredFile,
)
from .validation import CreateRequest, ImageRefSpec, parse_create_request
from .wire import StorageAnswer, fingerprint, iso, parse_iso, s3_error, s3_etag

if TYPE_CHECKING:
    from starlette.types import ASGIApp

    from .transport import EmulatorTransport

KEY_PREFIX = "luma-api-"
FILE_MIME_TYPES = ("image/gif", "image/jpeg", "image/png", "image/webp")
MAX_FILE_BYTES = 5 * 1024**3  # "Up to 5 GiB (the S3 single-PUT ceiling)" [doc]
FILE_PROCESSING_SECONDS = 1.0  # complete → ready [guess]
MAX_INPUT_PIXELS_EDGE = 16384  # larger inputs fail with image_too_large [guess]


@dataclasses.dataclass(frozen=True)
class RegisteredUrl:
    status: int
    content_type: str
    data: bytes


class Emulator:
    """An in-memory Luma Agents API: state, behaviour, and the handles tests script it with."""

    def __init__(self, config: EmulatorConfig | None = None, *, clock: Clock | None = None) -> None:
        self.config = config or EmulatorConfig()
        self.clock = clock or Clock(frozen=True)
        self.requests: list[RequestRecord] = []
        """Every request the emulator served (admin paths excepted), oldest first."""
        self._secret = secrets.token_bytes(32)
        self._accounts: dict[str, Account] = {}
        self._generations: dict[str, Generation] = {}
        self._files: dict[str, StoredFile] = {}
        self._outcomes: deque[Outcome] = deque()
        self._faults: dict[Route, deque[Fault]] = {route: deque() for route in ROUTES}
        self._urls: dict[str, RegisteredUrl] = {}
        self._app: ASGIApp | None = None

    # ----------------------------------------------------------------- wiring

    @property
    def app(self) -> ASGIApp:
        """The Starlette app serving the API, storage and `/_emulator` admin paths."""
        if self._app is None:
            from .app import build_app

            self._app = build_app(self)
        return self._app

    @property
    def base_url(self) -> str:
        return self.config.api_base_url

    def transport(self) -> EmulatorTransport:
        """An `httpx2` transport into this emulator that also emulates dropped connections."""
        from .transport import EmulatorTransport

        return EmulatorTransport(self)

    # -------------------------------------------------------------- scripting

    def configure(self, **changes: Any) -> None:
        """Change settings of `EmulatorConfig` on the fly, e.g. `configure(latency=5, rpm=2)`."""
        self.config = dataclasses.replace(self.config, **changes)

    def set_key(self, key: str, state: KeyState = "active", *, credits_usd: float | None = None) -> None:
        """Register a key in a state (`revoked`, `expired`, `suspended`, `invalid`…) with a balance."""
        account = self._account(key)
        account.state = state
        account.credits_micro = None if credits_usd is None else round(credits_usd * 1_000_000)

    def script_next(
        self,
        count: int = 1,
        *,
        latency: float | None = None,
        failure_code: str | None = None,
        failure_reason: str | None = None,
    ) -> None:
        """Decide how the next `count` generations end (`latency=math.inf`: never)."""
        if failure_code is not None and failure_code not in FAILURE_CODES:
            raise ValueError(f"unknown failure code {failure_code!r}; known: {', '.join(FAILURE_CODES)}")
        self._outcomes.extend([Outcome(latency, failure_code, failure_reason)] * count)

    def fail_next(self, failure_code: str, count: int = 1, *, reason: str | None = None) -> None:
        """Make the next `count` generations fail with `failure_code`."""
        self.script_next(count, failure_code=failure_code, failure_reason=reason)

    def inject(
        self,
        route: Route,
        kind: FaultKind,
        *,
        count: int = 1,
        status: int = 502,
        detail: str | None = None,
        retry_after: int | None = None,
        delay: float = 0.0,
        created: bool | None = None,
    ) -> None:
        """Queue a fault for the next `count` requests on `route` (see `Fault` for the kinds)."""
        if route not in ROUTES:
            raise ValueError(f"unknown route {route!r}; known: {', '.join(ROUTES)}")
        if kind in ("truncate", "corrupt") and route != "download":
            raise ValueError(f"{kind!r} applies to downloads only")
        if created is None:
            created = kind not in ("status", "refuse", "slow")
        fault = Fault(route, kind, status, detail, retry_after, delay, created)
        self._faults[route].extend([fault] * count)

    def register_url(self, url: str, data: bytes, *, content_type: str = "image/png", status: int = 200) -> None:
        """Serve `data` when a request names `url` as an image input."""
        self._urls[url] = RegisteredUrl(status, content_type, data)

    def requests_to(self, route: str) -> list[RequestRecord]:
        return [r for r in self.requests if r.route == route]

    def spent_usd(self, key: str) -> float:
        """What the key has been charged so far, refunds deducted."""
        return self._spent_micro(fingerprint(key)) / 1_000_000

    def generation_ids(self) -> list[str]:
        return list(self._generations)

    def generation(self, generation_id: str) -> Generation:
        """The emulator's record of a generation (timings, request, outcome), for inspection."""
        return self._generations[generation_id]

    async def output_bytes(self, generation_id: str, index: int = 0) -> bytes:
        """The bytes a completed generation's output `index` downloads as."""
        return (await self._outputs(self._generations[generation_id]))[index].data

    def reset(self) -> None:
        """Forget all state, scripts, faults and the log (the clock and config stay)."""
        self.requests.clear()
        self._accounts.clear()
        self._generations.clear()
        self._files.clear()
        self._outcomes.clear()
        for queue in self._faults.values():
            queue.clear()
        self._urls.clear()

    def take_fault(self, route: str) -> Fault | None:
        queue = self._faults.get(route)  # pyright: ignore[reportArgumentType]
        return queue.popleft() if queue else None

    def peek_fault(self, route: str) -> Fault | None:
        queue = self._faults.get(route)  # pyright: ignore[reportArgumentType]
        return queue[0] if queue else None

    # ------------------------------------------------------------------- auth

    def _account(self, key: str) -> Account:
        fp = fingerprint(key)
        if fp not in self._accounts:
            self._accounts[fp] = Account(fp)
        return self._accounts[fp]

    def authenticate(self, authorization: str | None) -> Account:
        """The account behind an `Authorization` header, or the contract's 401/403."""
        scheme, _, key = (authorization or "").partition(" ")
        if scheme != "Bearer" or not key.startswith(KEY_PREFIX) or len(key) <= len(KEY_PREFIX):
            raise ApiError(401, "Missing or invalid API key")
        known = fingerprint(key) in self._accounts
        if not known and self.config.api_keys is not None and key not in self.config.api_keys:
            raise ApiError(401, "Invalid API key")
        account = self._account(key)
        match account.state:
            case "invalid":
                raise ApiError(401, "Invalid API key")
            case "revoked":
                raise ApiError(401, "API key has been revoked")
            case "expired":
                raise ApiError(401, "API key has expired")
            case "suspended":
                raise ApiError(403, "API client is suspended")
            case "active":
                return account

    # ------------------------------------------------------------ generations

    def _spent_micro(self, owner: str) -> int:
        now = self.clock.now()
        return sum(
            g.price_micro
            for g in self._generations.values()
            if g.owner == owner and not (g.state(now) == "failed" and g.failure_code in REFUNDED_FAILURES)
        )

    async def create_generation(self, account: Account, body: Any) -> tuple[dict[str, Any], dict[str, str]]:
        """Validate, check limits and balance, queue: the 201 body and its `X-RateLimit-*` headers."""
        request = parse_create_request(body)
        inputs = await self._resolve_inputs(account, request)
        sizes, input_failure = await anyio.to_thread.run_sync(_inspect_inputs, [i.data for i in inputs])

        now = self.clock.now()
        config = self.config
        units = config.weights.get(f"{request.model}/{request.type}", 1)
        unfinished = sum(
            g.units for g in self._generations.values() if g.owner == account.fingerprint and g.unfinished(now)
        )
        check_limits(
            account.window,
            unfinished,
            now=now,
            units=units,
            rpm=config.rpm,
            concurrency=config.concurrency,
            weighted=bool(config.weights),
        )
        price = BASE_PRICE[(request.model, request.type)] + PRICE_PER_REF * len(request.image_refs)
        if account.credits_micro is not None and account.credits_micro - self._spent_micro(account.fingerprint) < price:
            raise ApiError(402, "Insufficient credits. Please add credits to continue.")

        outcome = self._outcomes.popleft() if self._outcomes else Outcome()
        failure_code, failure_reason = outcome.failure_code, outcome.failure_reason
        failure_code = failure_code or input_failure
        latency = config.latency if outcome.latency is None else outcome.latency
        latency += config.web_search_extra if request.web_search else 0.0
        size, output_format, names = self._plan_outputs(request, inputs, sizes)
        generation = Generation(
            id=str(uuid.uuid4()),
            owner=account.fingerprint,
            request=request,
            created_at=now,
            started_at=now + (latency if math.isfinite(latency) else config.latency) * config.queued_share,
            finished_at=now + latency,
            output_format=output_format,
            size=size,
            output_names=names,
            units=units,
            price_micro=price,
            inputs=tuple(inputs),
            failure_code=failure_code,
            failure_reason=(failure_reason or FAILURE_REASONS[failure_code]) if failure_code else None,
        )
        self._generations[generation.id] = generation
        account.window.entries.append((now, units))
        # The 201 always shows the job just queued, even one that will be done at once.
        created: dict[str, Any] = {**self.generation_json(generation), "state": "queued", "output": []}
        return created, success_headers(account.window, now=now, rpm=config.rpm)

    def _plan_outputs(
        self, request: CreateRequest, inputs: list[InputImage], sizes: list[tuple[int, int] | None]
    ) -> tuple[tuple[int, int], str, tuple[str, ...]]:
        """Size, format and file names of the outputs, fixed when the job is queued."""
        long_edge = self.config.long_edge
        if request.type == "layering":
            source = sizes[0] or (long_edge, long_edge)
            edge = long_edge if request.layer_resolution == "2k" else long_edge // 2
            scale = edge / max(source)
            size = (max(1, round(source[0] * scale)), max(1, round(source[1] * scale)))
            return size, "png", tuple(f"layer-{i}.png" for i in range(len(render.LAYER_PLAN)))
        if request.type == "image_edit":
            size = sizes[0] or (long_edge, long_edge)
            source_format = {"image/jpeg": "jpeg"}.get(inputs[0].media_type, "png")
            output_format = request.output_format or source_format  # [guess] the model keeps the source's
        else:
            ratio = request.aspect_ratio or render.pick_aspect_ratio(request.prompt, request.style)
            size = render.output_size(ratio, long_edge)
            output_format = request.output_format or render.pick_output_format(request.prompt)
        return size, output_format, (f"output.{render.EXTENSIONS[output_format]}",)

    def get_generation(self, account: Account, generation_id: str) -> dict[str, Any]:
        generation = self._generations.get(generation_id)
        if generation is None or generation.owner != account.fingerprint:
            raise ApiError(404, "Generation not found")
        return self.generation_json(generation)

    def generation_json(self, generation: Generation) -> dict[str, Any]:
        """The Generation object, with output URLs minted now when it is completed."""
        now = self.clock.now()
        state = generation.state(now)
        output: list[dict[str, Any]] = []
        if state == "completed":
            for index, name in enumerate(generation.output_names):
                url = presign.presign(
                    self.config.storage_base_url,
                    f"/generations/{generation.id}/{name}",
                    method="GET",
                    now=now,
                    ttl=self.config.url_ttl,
                    secret=self._secret,
                )
                item: dict[str, Any] = {"type": "image", "url": url}
                if generation.request.type == "layering":
                    label, description, alpha_hint = render.LAYER_PLAN[index]
                    item["layer"] = {
                        "index": index,
                        "label": label,
                        "description": description,
                        "alpha_hint": alpha_hint,
                    }
                output.append(item)
        return {
            "id": generation.id,
            "type": generation.request.type,
            "state": state,
            "model": generation.request.model,
            "created_at": iso(generation.created_at),
            "output": output,
            "failure_reason": generation.failure_reason if state == "failed" else None,
            "failure_code": generation.failure_code if state == "failed" else None,
        }

    async def _outputs(self, generation: Generation) -> tuple[Output, ...]:
        """Render a generation's outputs once (in a worker thread) and keep them."""
        async with generation.render_lock:
            if generation.outputs is None:
                generation.outputs = await anyio.to_thread.run_sync(self._render, generation)
        return generation.outputs

    def _render(self, generation: Generation) -> tuple[Output, ...]:
        request = generation.request
        if request.type == "layering":
            layers = render.render_layers(generation.inputs[0].data, request.prompt, long_edge=max(generation.size))
            return tuple(
                Output(data, "image/png", name, {"label": label})
                for (data, label, _, _), name in zip(layers, generation.output_names, strict=True)
            )
        if request.type == "image_edit":
            data = render.render_edit(
                generation.inputs[0].data, request.prompt, output_format=generation.output_format, model=request.model
            )
        else:
            data = render.render_image(
                request.prompt,
                size=generation.size,
                output_format=generation.output_format,
                model=request.model,
                style=request.style,
                refs=[i.data for i in generation.inputs],
            )
        return (Output(data, render.MEDIA_TYPES[generation.output_format], generation.output_names[0]),)

    # ----------------------------------------------------------------- inputs

    async def _resolve_inputs(self, account: Account, request: CreateRequest) -> list[InputImage]:
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
            generation = self._generations.get(spec.generation_id)
            if generation is None or generation.owner != account.fingerprint:
                raise ApiError(422, f"{field}: generation '{spec.generation_id}' not found")  # [guess]
            state = generation.state(self.clock.now())
            if state != "completed":
                raise ApiError(
                    422, f"{field}: generation '{spec.generation_id}' is not completed (state: {state})"
                )  # [guess]
            output = (await self._outputs(generation))[0]
            return InputImage(field, "generation_id", output.media_type, output.data)
        file_id = spec.file_id or ""
        stored = self._files.get(file_id)
        if stored is None or stored.owner != account.fingerprint:
            raise ApiError(422, f"{field}: file '{file_id}' not found")  # [guess]
        now = self.clock.now()
        state = stored.state(now)
        if state != "ready" or stored.content is None:
            raise ApiError(422, f"{field}: file '{file_id}' is not ready (state: {state})")  # [guess]
        if stored.expires_at is not None and now > stored.expires_at:
            raise ApiError(422, f"{field}: file '{file_id}' has expired")  # [guess]
        return InputImage(field, "file_id", stored.mime_type, stored.content)

    async def _fetch(self, field: str, url: str) -> tuple[bytes, str]:
        """Bytes and content type behind an image URL (the emulator's own outputs included)."""
        fetched = self._urls.get(url) or await self._own_output(url)
        if fetched is None and not self.config.fetch_urls:
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
        if parts.netloc != urlsplit(self.config.storage_base_url).netloc:
            return None
        answer = await self.download(parts.path, dict(parse_qsl(parts.query)), authorization_sent=False)
        return RegisteredUrl(answer.status, answer.headers.get("Content-Type", ""), answer.body)

    # ---------------------------------------------------------------- storage

    def _verify_storage_query(self, path: str, query: Mapping[str, str], method: str) -> StorageAnswer | None:
        verdict = presign.verify(query, method=method, path=path, now=self.clock.now(), secret=self._secret)
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
        refused = self._verify_storage_query(path, query, "GET")
        if refused is not None:
            return refused
        segments = path.strip("/").split("/")
        generation = self._generations.get(segments[1]) if len(segments) == 3 else None
        if generation is None or generation.state(self.clock.now()) != "completed":
            return s3_error(404, "NoSuchKey", "The specified key does not exist.")
        outputs = await self._outputs(generation)
        match = [o for o in outputs if o.name == segments[2]]
        if not match:
            return s3_error(404, "NoSuchKey", "The specified key does not exist.")
        data = match[0].data
        return StorageAnswer(
            200,
            {"Content-Type": match[0].media_type, "ETag": s3_etag(data)},
            data,
        )

    # ------------------------------------------------------------------ files

    def _file_json(self, stored: StoredFile) -> dict[str, Any]:
        now = self.clock.now()
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
        now = self.clock.now()
        expires_at = now + self.config.file_ttl
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
        self._files[stored.id] = stored
        return stored

    def create_file(self, account: Account, body: Any) -> dict[str, Any]:
        """The presigned flow: a pending file and where to PUT its bytes."""
        if not isinstance(body, dict):
            raise ApiError(400, "Request body must be a JSON object")  # [guess]
        fields: dict[str, Any] = body  # pyright: ignore[reportUnknownVariableType]
        mime_type, size = fields.get("mime_type"), fields.get("size_bytes")
        if mime_type not in FILE_MIME_TYPES:
            raise ApiError(400, f"Unsupported mime_type '{mime_type}'. Valid: {', '.join(FILE_MIME_TYPES)}")  # [guess]
        if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= MAX_FILE_BYTES:
            raise ApiError(400, f"size_bytes must be an integer between 1 and {MAX_FILE_BYTES}")  # [guess]
        stored = self._new_file(account, fields, size=size, mime_type=str(mime_type))
        now = self.clock.now()
        path = f"/uploads/{stored.id}"
        url = presign.presign(
            self.config.storage_base_url, path, method="PUT", now=now, ttl=self.config.url_ttl, secret=self._secret
        )
        upload = {
            "url": url,
            "method": "PUT",
            "headers": {"Content-Type": stored.mime_type},
            "expires_at": iso(now + self.config.url_ttl),
        }
        return self._create_file_response(stored, upload)

    def _create_file_response(self, stored: StoredFile, upload: dict[str, Any] | None) -> dict[str, Any]:
        file = self._file_json(stored)
        return {"id": stored.id, "file": file, "state": file["state"], "upload": upload}

    def create_file_inline(
        self, account: Account, fields: Mapping[str, Any], data: bytes, part_type: str | None
    ) -> dict[str, Any]:
        """The multipart flow: bytes inline, no upload step, ready after processing."""
        if len(data) > self.config.inline_file_cap:
            raise ApiError(
                413, f"Inline upload exceeds {self.config.inline_file_cap} bytes; use the presigned flow"
            )  # [guess]
        mime_type = fields.get("mime_type") or part_type or "application/octet-stream"
        if mime_type not in FILE_MIME_TYPES:
            raise ApiError(400, f"Unsupported mime_type '{mime_type}'. Valid: {', '.join(FILE_MIME_TYPES)}")  # [guess]
        stored = self._new_file(account, fields, size=len(data), mime_type=str(mime_type))
        self._store_upload(stored, data)
        self._complete(stored)
        return self._create_file_response(stored, None)

    def _store_upload(self, stored: StoredFile, data: bytes) -> None:
        stored.content = data

    def upload(self, path: str, query: Mapping[str, str], content_type: str | None, data: bytes) -> StorageAnswer:
        """PUT to a presigned upload URL."""
        refused = self._verify_storage_query(path, query, "PUT")
        if refused is not None:
            return refused
        stored = self._files.get(path.rsplit("/", 1)[-1])
        if stored is None or stored.deleted_at is not None:
            return s3_error(404, "NoSuchUpload", "The specified upload does not exist.")
        if (content_type or "").split(";")[0].strip() != stored.mime_type:
            return s3_error(
                403,
                "SignatureDoesNotMatch",
                f"Content-Type must be {stored.mime_type}, as signed in the upload headers.",
            )
        self._store_upload(stored, data)
        return StorageAnswer(200, {"ETag": s3_etag(data)}, b"")

    def _owned_file(self, account: Account, file_id: str) -> StoredFile:
        stored = self._files.get(file_id)
        if stored is None or stored.owner != account.fingerprint:
            raise ApiError(404, "File not found")  # [guess]
        return stored

    def _complete(self, stored: StoredFile) -> None:
        now = self.clock.now()
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

    def complete_file(self, account: Account, file_id: str) -> dict[str, Any]:
        stored = self._owned_file(account, file_id)
        if stored.deleted_at is not None:
            raise ApiError(404, "File not found")
        if stored.content is None:
            raise ApiError(409, "File upload has not been received")  # [guess]
        if stored.completed_at is None:
            self._complete(stored)
        return self._file_json(stored)

    def get_file(self, account: Account, file_id: str) -> dict[str, Any]:
        return self._file_json(self._owned_file(account, file_id))

    def list_files(self, account: Account, query: Mapping[str, str]) -> dict[str, Any]:
        try:
            limit = int(query.get("limit", "25"))
        except ValueError:
            limit = 0
        if not 1 <= limit <= 100:
            raise ApiError(400, "limit must be between 1 and 100")  # [guess]
        now = self.clock.now()
        owned = [f for f in reversed(self._files.values()) if f.owner == account.fingerprint]
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

    def delete_file(self, account: Account, file_id: str) -> None:
        stored = self._owned_file(account, file_id)
        if stored.deleted_at is None:
            stored.deleted_at = self.clock.now()
            stored.content = None


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


def _inspect_inputs(images: list[bytes]) -> tuple[list[tuple[int, int] | None], str | None]:
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


__all__ = ["Emulator"]
