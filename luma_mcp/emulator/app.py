"""HTTP in front of `Emulator`: the API under `/v1`, the storage host, and `/_emulator` admin paths.

Every API answer carries `X-Request-Id` (the client's, echoed, or a new UUID) and `X-API-Version`;
errors are `{"detail": "..."}`. Faults queued with `Emulator.inject` are applied here.
"""

from __future__ import annotations

import base64
import hmac
import json
import math
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.types import Receive, Scope, Send

from .config import API_VERSION
from .errors import ApiError
from .state import RequestRecord
from .wire import DEFAULT_STATUS_DETAIL, ConnectionDropped, StorageAnswer, fingerprint, iso, route_of

if TYPE_CHECKING:
    from .handle import Emulator
    from .state import Account, Fault

ELIDE_OVER = 4096
"""Strings longer than this are logged as their length and hash, so the log stays small."""

Handler = Callable[[Request, "Account", Any], Awaitable[tuple[int, Any, Mapping[str, str]]]]


class DropConnection(Response):
    """Start a response announcing all of `body`, send the first `keep` bytes, then cut."""

    def __init__(
        self, body: bytes, *, status: int = 200, headers: Mapping[str, str] | None = None, keep: int = 0
    ) -> None:
        super().__init__(status_code=status, headers=headers)
        self.full = body or b" "
        self.keep = keep

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.headers["content-length"] = str(len(self.full))
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        sent = self.full[: self.keep]
        await send({"type": "http.response.body", "body": sent, "more_body": True})
        raise ConnectionDropped(self.status_code, dict(self.headers), sent, len(self.full))


def _elide(value: Any) -> Any:
    if isinstance(value, str) and len(value) > ELIDE_OVER:
        return f"<{len(value)} chars>"
    if isinstance(value, dict):
        return {k: _elide(v) for k, v in value.items()}  # pyright: ignore[reportUnknownVariableType]
    if isinstance(value, list):
        return [_elide(v) for v in value]  # pyright: ignore[reportUnknownVariableType]
    return value


def build_app(emulator: Emulator) -> Starlette:
    """The ASGI app of one emulator."""

    def request_id_of(request: Request) -> str:
        sent = request.headers.get("x-request-id", "")
        return sent if 0 < len(sent) <= 128 and sent.isprintable() else str(uuid.uuid4())

    def log(request: Request, *, request_id: str, fault: Fault | None) -> RequestRecord:
        """Log a request on arrival; the caller fills in what it learns (body, status)."""
        authorization = request.headers.get("authorization")
        _, _, key = (authorization or "").partition(" ")
        record = RequestRecord(
            at=emulator.clock.now(),
            method=request.method,
            path=request.url.path,
            query=request.url.query,
            host=request.headers.get("host", ""),
            route=route_of(request.method, request.url.path),
            headers={k: v for k, v in request.headers.items() if k != "authorization"},
            key_fingerprint=fingerprint(key) if key else None,
            authorization_sent=authorization is not None,
            body=None,
            body_bytes=0,
            status=0,
            request_id=request_id,
            fault=fault.kind if fault else None,
        )
        emulator.requests.append(record)
        return record

    async def read_body(request: Request) -> bytes:
        declared = request.headers.get("content-length")
        limit = emulator.config.max_body_bytes
        if declared and declared.isdigit() and int(declared) > limit:
            raise ApiError(413, "Request body too large")  # [guess]
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise ApiError(413, "Request body too large")  # [guess]
            chunks.append(chunk)
        return b"".join(chunks)

    def fault_response(fault: Fault, headers: dict[str, str], payload: Any, status: int) -> Response:
        """The answer a fault makes of what would have been `status` + `payload`."""
        match fault.kind:
            case "status":
                detail = fault.detail or DEFAULT_STATUS_DETAIL.get(fault.status, "Emulated fault")
                if fault.retry_after is not None or fault.status == 429:
                    headers["Retry-After"] = str(fault.retry_after or 1)
                if fault.status == 429 and detail == "Rate limit exceeded":  # the contract's RPM 429 headers
                    now = emulator.clock.now()
                    reset = str(math.ceil(now + (fault.retry_after or 1)))
                    rpm = str(emulator.config.rpm)
                    headers |= {"X-RateLimit-Limit": rpm, "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}
                return JSONResponse({"detail": detail}, status_code=fault.status, headers=headers)
            case "malformed_json":
                text = json.dumps(payload)
                return Response(
                    text[: len(text) // 2], status_code=status, headers=headers, media_type="application/json"
                )
            case "wrong_shape":
                return JSONResponse({"status": "ok", "result": None}, status_code=status, headers=headers)
            case _:  # drop, refuse (on a real socket there is no refusing once accepted)
                return DropConnection(json.dumps(payload).encode(), status=status, headers=headers)

    async def api(request: Request, route: str, handler: Handler) -> Response:
        request_id = request_id_of(request)
        headers = {"X-Request-Id": request_id, "X-API-Version": API_VERSION}
        success = 201 if route == "create" else 200
        fault = emulator.take_fault(route)
        record = log(request, request_id=request_id, fault=fault)
        body: Any = None  # the decoded JSON body, for the log and the handler
        try:
            raw = await read_body(request)
            record.body_bytes = len(raw)
            if raw and request.headers.get("content-type", "").startswith("application/json"):
                try:
                    body = json.loads(raw)
                except ValueError:
                    raise ApiError(400, "Request body must be valid JSON") from None  # [guess]
                record.body = _elide(body)
            if fault and fault.kind == "slow":
                await emulator.clock.sleep(fault.delay)
            elif fault and not fault.created:
                # The fault hits before the request is handled: nothing is created or changed.
                record.status = fault.status if fault.kind == "status" else success
                return fault_response(fault, headers, {}, success)
            account = emulator.accounts.authenticate(request.headers.get("authorization"))
            status, payload, extra = await handler(request, account, raw if body is None else body)
            if route == "create" and isinstance(payload, dict):
                record.generation_id = str(payload.get("id"))  # pyright: ignore[reportUnknownMemberType, reportUnknownArgumentType]
        except ApiError as error:
            status, payload, extra = error.status, {"detail": error.detail}, error.headers
        headers.update(extra)
        record.status = status
        if fault is not None and fault.kind != "slow":
            return fault_response(fault, headers, payload, status)
        if payload is None:
            return Response(status_code=status, headers=headers)
        return JSONResponse(payload, status_code=status, headers=headers)

    # ------------------------------------------------------------ API routes

    async def create_generation(request: Request) -> Response:
        async def handle(_: Request, account: Account, body: Any) -> tuple[int, Any, Mapping[str, str]]:
            payload, headers = await emulator.generations.create(account, body)
            return 201, payload, headers

        return await api(request, "create", handle)

    async def get_generation(request: Request) -> Response:
        async def handle(req: Request, account: Account, _: Any) -> tuple[int, Any, Mapping[str, str]]:
            return 200, emulator.generations.get(account, req.path_params["generation_id"]), {}

        return await api(request, "get", handle)

    async def files(request: Request) -> Response:
        async def handle(req: Request, account: Account, body: Any) -> tuple[int, Any, Mapping[str, str]]:
            if req.method == "GET":
                return 200, emulator.files.page(account, req.query_params), {}
            content_type = req.headers.get("content-type", "")
            if content_type.startswith("multipart/form-data"):
                return 201, await inline_upload(req, account, body), {}
            return 201, emulator.files.create(account, body), {}

        return await api(request, "files", handle)

    async def inline_upload(request: Request, account: Account, raw: Any) -> dict[str, Any]:
        # The body was already read (and capped) by `api`; parse the multipart form from it.
        async def replay() -> dict[str, Any]:
            return {"type": "http.request", "body": raw or b"", "more_body": False}

        async with Request(request.scope, replay).form(max_part_size=emulator.config.max_body_bytes) as form:
            part = form.get("file")
            if part is None or isinstance(part, str):
                raise ApiError(400, "multipart upload needs a 'file' part")  # [guess]
            data = await part.read()
            fields = {k: v for k, v in form.items() if isinstance(v, str)}
        return emulator.files.create_inline(account, fields, data, part.content_type)

    async def file_item(request: Request) -> Response:
        async def handle(req: Request, account: Account, _: Any) -> tuple[int, Any, Mapping[str, str]]:
            file_id = req.path_params["file_id"]
            if req.method == "DELETE":
                emulator.files.delete(account, file_id)
                return 204, None, {}
            return 200, emulator.files.get(account, file_id), {}

        return await api(request, "files", handle)

    async def complete_file(request: Request) -> Response:
        async def handle(req: Request, account: Account, _: Any) -> tuple[int, Any, Mapping[str, str]]:
            return 200, emulator.files.complete(account, req.path_params["file_id"]), {}

        return await api(request, "files", handle)

    # -------------------------------------------------------- storage routes

    async def storage(request: Request, route: str, answer: Callable[[bytes], Awaitable[StorageAnswer]]) -> Response:
        fault = emulator.take_fault(route)
        record = log(request, request_id="", fault=fault)
        if fault and fault.delay:  # "slow" answers late; any other storage fault may too
            await emulator.clock.sleep(fault.delay)
        raw = await request.body() if request.method == "PUT" else b""
        record.body_bytes = len(raw)
        result = await answer(raw)
        status, headers, body = result.status, dict(result.headers), result.body
        applied = fault if fault and fault.kind != "slow" else None
        if applied is not None and applied.kind == "status":
            status, body = applied.status, b"Emulated storage fault"
            headers = {"Content-Type": "text/plain"}
        record.status = status
        if applied is not None and applied.kind in ("drop", "refuse"):
            return DropConnection(body, status=status, headers=headers)
        if applied is not None and applied.kind == "truncate":
            return DropConnection(body, status=status, headers=headers, keep=len(body) // 2)
        if applied is not None and applied.kind == "corrupt" and len(body) > 64:
            middle = len(body) // 2
            body = body[:middle] + bytes(b ^ 0xA5 for b in body[middle : middle + 1024]) + body[middle + 1024 :]
        return Response(body, status_code=status, headers=headers)

    async def download(request: Request) -> Response:
        async def answer(_: bytes) -> StorageAnswer:
            return await emulator.storage.download(
                request.url.path,
                request.query_params,
                authorization_sent="authorization" in request.headers,
            )

        return await storage(request, "download", answer)

    async def upload(request: Request) -> Response:
        async def answer(raw: bytes) -> StorageAnswer:
            return emulator.storage.upload(
                request.url.path, request.query_params, request.headers.get("content-type"), raw
            )

        return await storage(request, "upload", answer)

    # ---------------------------------------------------------- admin routes

    async def admin(request: Request) -> Response:
        action = request.path_params["action"]
        token = emulator.config.admin_token
        sent = request.headers.get("authorization", "").encode()
        if token is not None and not hmac.compare_digest(sent, f"Bearer {token}".encode()):
            # Anyone who can reach the admin paths can reset the emulator or change its keys.
            detail = "the /_emulator admin paths need Authorization: Bearer <LUMA_EMULATOR_ADMIN_TOKEN>"
            return JSONResponse({"detail": detail}, status_code=401, headers={"WWW-Authenticate": "Bearer"})
        try:
            payload: dict[str, Any] = json.loads(await request.body() or b"{}")
            result = admin_action(request.method, action, payload)
        except (TypeError, ValueError, KeyError) as error:
            return JSONResponse({"detail": f"{action}: {error}"}, status_code=400)
        return JSONResponse(result)

    def admin_action(method: str, action: str, payload: dict[str, Any]) -> Any:
        match method, action:
            case "GET", "requests":
                return [asdict(r) for r in emulator.requests]
            case "DELETE", "requests":
                emulator.requests.clear()
                return {"cleared": True}
            case "POST", "clock":
                return {"now": iso(emulator.clock.advance(float(payload["advance"])))}
            case "POST", "script":
                emulator.script_next(**payload)
            case "POST", "faults":
                emulator.inject(**payload)
            case "POST", "keys":
                emulator.set_key(**payload)
            case "POST", "config":
                emulator.configure(**payload)
            case "POST", "urls":
                data = base64.b64decode(payload.pop("data"))
                emulator.register_url(payload.pop("url"), data, **payload)
            case "POST", "reset":
                emulator.reset()
            case _:
                raise KeyError(f"no admin action {method} {action}")
        return {"ok": True}

    # ------------------------------------------------------------ not found

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        headers = {"X-Request-Id": request_id_of(request), "X-API-Version": API_VERSION}
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)

    routes = [
        Route("/v1/generations", create_generation, methods=["POST"]),
        Route("/v1/generations/{generation_id}", get_generation, methods=["GET"]),
        Route("/v1/files", files, methods=["GET", "POST"]),
        Route("/v1/files/{file_id}", file_item, methods=["GET", "DELETE"]),
        Route("/v1/files/{file_id}/complete", complete_file, methods=["POST"]),
        Route("/generations/{generation_id}/{name}", download, methods=["GET"]),
        Route("/uploads/{file_id}", upload, methods=["PUT"]),
        Mount("/_emulator", routes=[Route("/{action}", admin, methods=["GET", "POST", "DELETE"])]),
    ]
    return Starlette(routes=routes, exception_handlers={HTTPException: http_error})
