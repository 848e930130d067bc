"""HTTP in front of `Emulator`: the API under `/v1`, the storage host, and `/_emulator` admin paths.

Every API answer carries `X-Request-Id` (the client's, echoed, or a new UUID) and `X-API-Version`;
errors are `{"detail": "..."}`. Faults queued with `Emulator.inject` are taken here and applied
through `faults.py`. The handlers are plain functions; each reaches its emulator through
`request.app.state.emulator`, set by `build_app`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from .admin import admin
from .config import API_VERSION
from .errors import ApiError
from .faults import api_fault_response, storage_fault_response
from .request_log import elide, log_request, request_id_of
from .state import Account, Fault
from .wire import StorageAnswer

if TYPE_CHECKING:
    from .handle import Emulator

ApiAnswer = tuple[int, Any, Mapping[str, str]]
"""What an API handler answers: status, JSON payload (None: no body), extra headers."""
ApiHandler = Callable[[Request, "Emulator", Account, Any], Awaitable[ApiAnswer]]
"""An API handler: the request, its emulator, the authenticated account, the decoded body."""
StorageHandler = Callable[[Request, "Emulator", bytes], Awaitable[StorageAnswer]]
"""A storage handler: the request, its emulator, the raw body."""
Endpoint = Callable[[Request], Awaitable[Response]]


def build_app(emulator: Emulator) -> Starlette:
    """The ASGI app of one emulator."""
    routes = [
        Route("/v1/generations", api_endpoint("create", create_generation), methods=["POST"]),
        Route("/v1/generations/{generation_id}", api_endpoint("get", get_generation), methods=["GET"]),
        Route("/v1/files", api_endpoint("files", file_collection), methods=["GET", "POST"]),
        Route("/v1/files/{file_id}", api_endpoint("files", file_item), methods=["GET", "DELETE"]),
        Route("/v1/files/{file_id}/complete", api_endpoint("files", complete_file), methods=["POST"]),
        Route("/generations/{generation_id}/{name}", storage_endpoint("download", download), methods=["GET"]),
        Route("/uploads/{file_id}", storage_endpoint("upload", upload), methods=["PUT"]),
        Mount("/_emulator", routes=[Route("/{action}", admin, methods=["GET", "POST", "DELETE"])]),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: http_error})
    app.state.emulator = emulator
    return app


def emulator_of(request: Request) -> Emulator:
    return request.app.state.emulator


# ---------------------------------------------------------------- API paths


def api_endpoint(route: str, handler: ApiHandler) -> Endpoint:
    """An API path on fault route `route`: log, read the body, apply a fault, authenticate, handle."""

    async def endpoint(request: Request) -> Response:
        return await _answer_api(request, route, handler)

    return endpoint


async def _answer_api(request: Request, route: str, handler: ApiHandler) -> Response:
    emulator = emulator_of(request)
    request_id = request_id_of(request)
    headers = {"X-Request-Id": request_id, "X-API-Version": API_VERSION}
    success = 201 if route == "create" else 200
    fault = emulator.take_fault(route)
    record = log_request(emulator, request, request_id=request_id, fault=fault)
    body: Any = None  # the decoded JSON body, for the log and the handler
    try:
        raw = await _read_body(request, limit=emulator.config.max_body_bytes)
        record.body_bytes = len(raw)
        if raw and request.headers.get("content-type", "").startswith("application/json"):
            try:
                body = json.loads(raw)
            except ValueError:
                raise ApiError(400, "Request body must be valid JSON") from None  # [guess]
            record.body = elide(body)
        if fault and fault.kind == "slow":
            await emulator.clock.sleep(fault.delay)
        elif fault and not fault.created:
            # The fault hits before the request is handled: nothing is created or changed.
            record.status = fault.status if fault.kind == "status" else success
            return _fault_response(emulator, fault, headers, {}, success)
        account = emulator.accounts.authenticate(request.headers.get("authorization"))
        status, payload, extra = await handler(request, emulator, account, raw if body is None else body)
        if route == "create" and isinstance(payload, dict):
            record.generation_id = str(payload.get("id"))  # pyright: ignore[reportUnknownMemberType, reportUnknownArgumentType]
    except ApiError as error:
        status, payload, extra = error.status, {"detail": error.detail}, error.headers
    headers.update(extra)
    record.status = status
    if fault is not None and fault.kind != "slow":
        return _fault_response(emulator, fault, headers, payload, status)
    if payload is None:
        return Response(status_code=status, headers=headers)
    return JSONResponse(payload, status_code=status, headers=headers)


def _fault_response(emulator: Emulator, fault: Fault, headers: dict[str, str], payload: Any, status: int) -> Response:
    return api_fault_response(fault, headers, payload, status, now=emulator.clock.now(), rpm=emulator.config.rpm)


async def _read_body(request: Request, *, limit: int) -> bytes:
    declared = request.headers.get("content-length")
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


async def create_generation(_: Request, emulator: Emulator, account: Account, body: Any) -> ApiAnswer:
    payload, headers = await emulator.generations.create(account, body)
    return 201, payload, headers


async def get_generation(request: Request, emulator: Emulator, account: Account, _: Any) -> ApiAnswer:
    return 200, await emulator.generations.get(account, request.path_params["generation_id"]), {}


async def file_collection(request: Request, emulator: Emulator, account: Account, body: Any) -> ApiAnswer:
    if request.method == "GET":
        return 200, await emulator.files.page(account, request.query_params), {}
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        return 201, await _inline_upload(request, emulator, account, body), {}
    return 201, await emulator.files.create(account, body), {}


async def _inline_upload(request: Request, emulator: Emulator, account: Account, raw: Any) -> dict[str, Any]:
    # The body was already read (and capped) by `_answer_api`; parse the multipart form from it.
    async def replay() -> dict[str, Any]:
        return {"type": "http.request", "body": raw or b"", "more_body": False}

    async with Request(request.scope, replay).form(max_part_size=emulator.config.max_body_bytes) as form:
        part = form.get("file")
        if part is None or isinstance(part, str):
            raise ApiError(400, "multipart upload needs a 'file' part")  # [guess]
        data = await part.read()
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
    return await emulator.files.create_inline(account, fields, data, part.content_type)


async def file_item(request: Request, emulator: Emulator, account: Account, _: Any) -> ApiAnswer:
    file_id = request.path_params["file_id"]
    if request.method == "DELETE":
        await emulator.files.delete(account, file_id)
        return 204, None, {}
    return 200, await emulator.files.get(account, file_id), {}


async def complete_file(request: Request, emulator: Emulator, account: Account, _: Any) -> ApiAnswer:
    return 200, await emulator.files.complete(account, request.path_params["file_id"]), {}


# ------------------------------------------------------------ storage paths


def storage_endpoint(route: str, handler: StorageHandler) -> Endpoint:
    """A storage path on fault route `route`: log, apply a fault's delay, handle, apply the fault."""

    async def endpoint(request: Request) -> Response:
        emulator = emulator_of(request)
        fault = emulator.take_fault(route)
        record = log_request(emulator, request, request_id="", fault=fault)
        if fault and fault.delay:  # "slow" answers late; any other storage fault may too
            await emulator.clock.sleep(fault.delay)
        raw = await request.body() if request.method == "PUT" else b""
        record.body_bytes = len(raw)
        answer = await handler(request, emulator, raw)
        response = storage_fault_response(fault, answer.status, dict(answer.headers), answer.body)
        record.status = response.status_code
        return response

    return endpoint


async def download(request: Request, emulator: Emulator, _: bytes) -> StorageAnswer:
    authorization_sent = "authorization" in request.headers
    return await emulator.storage.download(
        request.url.path, request.query_params, authorization_sent=authorization_sent
    )


async def upload(request: Request, emulator: Emulator, raw: bytes) -> StorageAnswer:
    content_type = request.headers.get("content-type")
    return await emulator.storage.upload(request.url.path, request.query_params, content_type, raw)


# ---------------------------------------------------------------- not found


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    headers = {"X-Request-Id": request_id_of(request), "X-API-Version": API_VERSION}
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)
