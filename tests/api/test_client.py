"""`LumaClient` against `httpx2.MockTransport` handlers that answer exactly what each case needs."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx2
import pytest

from luma_mcp.api import (
    APIConnectionError,
    APIStatusError,
    Generation,
    GenerationRequest,
    LumaClient,
    MissingApiKeyError,
    OutcomeUnknownError,
    RateLimitError,
    ServerError,
    SharedHttpClient,
)

pytestmark = pytest.mark.anyio

BASE = "https://api.test/v1"
GID = "d290f1ee-6c54-4b01-90e6-d701748f0851"
Handler = Callable[[httpx2.Request], httpx2.Response]


def generation(state: str = "queued", **extra: object) -> dict[str, object]:
    return {"id": GID, "type": "image", "state": state, "model": "uni-1", "created_at": "2026-04-08T12:00:00Z",
            "output": [], "failure_reason": None, "failure_code": None, **extra}  # fmt: skip


class FakeTime:
    """A `Timekeeper` that records the waits instead of waiting."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Recorder:
    """Answers requests from a script, and keeps what it was sent."""

    def __init__(self, *answers: httpx2.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def client_for(handler: Handler, *, key: str | None = "luma-api-k", time: FakeTime | None = None) -> LumaClient:
    # MockTransport holds no connections: the client needs no closing.
    http = SharedHttpClient(lambda: httpx2.AsyncClient(transport=httpx2.MockTransport(handler)))
    return LumaClient(http, api_key=key, base_url=BASE, timekeeper=time or FakeTime())


def ok(body: dict[str, object], status: int = 200, **headers: str) -> httpx2.Response:
    return httpx2.Response(status, json=body, headers=headers)


def err(status: int, detail: str, **headers: str) -> httpx2.Response:
    return httpx2.Response(status, json={"detail": detail}, headers=headers)


REQUEST = GenerationRequest(prompt="a fox")


async def test_create_posts_the_payload_with_key_and_a_request_id() -> None:
    recorder = Recorder(ok(generation(), 201))
    created = await client_for(recorder).create(REQUEST)
    assert created == Generation.model_validate(generation())
    [sent] = recorder.requests
    assert (sent.method, str(sent.url)) == ("POST", f"{BASE}/generations")
    assert json.loads(sent.content) == {"prompt": "a fox", "model": "uni-1", "type": "image", "style": "auto",
                                         "web_search": False}  # fmt: skip
    assert sent.headers["Authorization"] == "Bearer luma-api-k"
    assert len(sent.headers["X-Request-Id"]) == 36


async def test_without_a_key_nothing_is_sent() -> None:
    recorder = Recorder()
    with pytest.raises(MissingApiKeyError, match="LUMA_AGENTS_API_KEY"):
        await client_for(recorder, key=None).create(REQUEST)
    assert recorder.requests == []


async def test_get_is_retried_with_backoff_and_fresh_request_ids() -> None:
    time = FakeTime()
    recorder = Recorder(err(502, "Upstream service unavailable"), httpx2.ReadError("reset"), ok(generation()))
    result = await client_for(recorder, time=time).get(GID)
    assert result.state == "queued"
    assert len(recorder.requests) == 3
    assert len({r.headers["X-Request-Id"] for r in recorder.requests}) == 3
    assert len(time.sleeps) == 2
    assert 0.25 <= time.sleeps[0] <= 0.5 and 0.5 <= time.sleeps[1] <= 1.0  # noqa: PT018


async def test_get_honours_retry_after() -> None:
    time = FakeTime()
    recorder = Recorder(err(429, "Rate limit exceeded", **{"Retry-After": "7"}), ok(generation()))
    await client_for(recorder, time=time).get(GID)
    assert time.sleeps == [7.0]


async def test_get_gives_up_after_its_attempts_naming_the_request_id() -> None:
    recorder = Recorder(*[err(503, "down", **{"X-Request-Id": f"req-{i}"}) for i in range(4)])
    with pytest.raises(ServerError, match=r"Luma API error 503: down\. .*\(request id req-3\)"):
        await client_for(recorder).get(GID)
    assert len(recorder.requests) == 4


async def test_get_retries_an_unreadable_body() -> None:
    recorder = Recorder(httpx2.Response(200, content=b'{"id": "x", "sta'), ok(generation("processing")))
    assert (await client_for(recorder).get(GID)).state == "processing"


async def test_get_retries_stop_at_the_deadline() -> None:
    time = FakeTime()
    recorder = Recorder(err(429, "Rate limit exceeded", **{"Retry-After": "30"}))
    with pytest.raises(RateLimitError):
        await client_for(recorder, time=time).get(GID, deadline=10)
    assert time.sleeps == []


@pytest.mark.parametrize(
    "failure",
    [httpx2.ReadTimeout("slow"), httpx2.RemoteProtocolError("dropped"), httpx2.ReadError("reset")],
    ids=["read-timeout", "dropped", "reset"],
)
async def test_create_is_never_resent_when_its_outcome_is_unknown(failure: Exception) -> None:
    recorder = Recorder(failure, ok(generation(), 201))
    with pytest.raises(
        OutcomeUnknownError,
        match=r"after this generation request was sent.*not sent again, so it costs one image at most",
    ):
        await client_for(recorder).create(REQUEST)
    assert len(recorder.requests) == 1


async def test_create_with_an_unreadable_answer_is_not_resent() -> None:
    recorder = Recorder(httpx2.Response(201, content=b"<html>"), ok(generation(), 201))
    with pytest.raises(OutcomeUnknownError):
        await client_for(recorder).create(REQUEST)
    assert len(recorder.requests) == 1


async def test_a_5xx_to_a_create_is_an_unknown_outcome_and_not_resent() -> None:
    recorder = Recorder(err(502, "Upstream service unavailable"), ok(generation(), 201))
    with pytest.raises(
        OutcomeUnknownError, match=r"answered 502 \(Upstream service unavailable\).*not sent again"
    ) as raised:
        await client_for(recorder).create(REQUEST)
    assert raised.value.status == 502
    assert len(recorder.requests) == 1


async def test_a_503_url_ingestion_failure_to_a_create_is_reported_as_such() -> None:
    recorder = Recorder(err(503, "Image URL ingestion unavailable"))
    with pytest.raises(ServerError, match="pass the image as base64 data instead"):
        await client_for(recorder).create(REQUEST)


async def test_a_201_with_an_unreadable_body_keeps_the_id_it_shows() -> None:
    body = json.dumps(generation())
    recorder = Recorder(httpx2.Response(201, content=body[: len(body) // 2].encode()))
    created = await client_for(recorder).create(REQUEST)
    assert (created.id, created.state) == (GID, "queued")


async def test_a_201_without_a_readable_id_says_it_was_queued() -> None:
    recorder = Recorder(httpx2.Response(201, json={"status": "ok"}))
    with pytest.raises(OutcomeUnknownError, match=r"queued this generation request \(HTTP 201\).*charged as one image"):
        await client_for(recorder).create(REQUEST)
    assert len(recorder.requests) == 1


@pytest.mark.parametrize(
    "key",
    ["luma-api-secret\n", "luma-api-secret\u2026", "\u201cluma-api-secret\u201d", "luma-api-secr\u00e9t"],
    ids=["newline", "ellipsis", "curly-quotes", "accent"],
)
async def test_a_key_that_cannot_be_sent_is_not_quoted(key: str) -> None:
    recorder = Recorder()
    http = SharedHttpClient(lambda: httpx2.AsyncClient(transport=httpx2.MockTransport(recorder)))
    client = LumaClient(http, api_key=key, base_url=BASE, timekeeper=FakeTime())
    with pytest.raises(MissingApiKeyError, match="contains a character that cannot be in an API key") as raised:
        await client.get(GID)
    assert "luma-api-secret" not in str(raised.value)
    assert recorder.requests == []


async def test_a_user_brought_key_is_blamed_on_the_header_it_came_in_not_the_servers_setting() -> None:
    recorder = Recorder(err(401, "API key has been revoked"))
    http = SharedHttpClient(lambda: httpx2.AsyncClient(transport=httpx2.MockTransport(recorder)))
    client = LumaClient(http, api_key="luma-api-bob", base_url=BASE, timekeeper=FakeTime(), key_header="X-Key")
    with pytest.raises(APIStatusError) as rejected:
        await client.get(GID)
    assert "Check the key sent in the X-Key header" in str(rejected.value)
    assert "LUMA_AGENTS_API_KEY" not in str(rejected.value)
    unusable = LumaClient(http, api_key="luma-api-b\tob", base_url=BASE, timekeeper=FakeTime(), key_header="X-Key")
    with pytest.raises(MissingApiKeyError) as refused:
        await unusable.get(GID)
    assert "sent in the X-Key header contains a character that cannot be in an API key" in str(refused.value)
    assert "LUMA_AGENTS_API_KEY" not in str(refused.value)
    assert len(recorder.requests) == 1  # the unusable key was never sent


async def test_a_long_retry_after_on_a_get_is_reported_not_slept() -> None:
    time = FakeTime()
    recorder = Recorder(err(503, "down", **{"Retry-After": "120"}))
    with pytest.raises(ServerError):
        await client_for(recorder, time=time).get(GID)
    assert time.sleeps == []


async def test_create_is_resent_when_the_connection_never_opened() -> None:
    recorder = Recorder(httpx2.ConnectError("refused"), ok(generation(), 201))
    assert (await client_for(recorder).create(REQUEST)).id == GID
    assert len(recorder.requests) == 2


async def test_a_create_waits_for_a_free_connection_only_briefly_and_is_resent_after_a_pause() -> None:
    # Its attempt cannot be cancelled once begun: the part where nothing was sent yet is kept short.
    from luma_mcp.api.client import CREATE_POOL_SECONDS

    time = FakeTime()
    recorder = Recorder(httpx2.PoolTimeout("all connections busy"), ok(generation(), 201))
    assert (await client_for(recorder, time=time).create(REQUEST)).id == GID
    assert [r.extensions["timeout"]["pool"] for r in recorder.requests] == [CREATE_POOL_SECONDS] * 2
    assert len(time.sleeps) == 1  # the pause between, which a cancel ends


async def test_create_is_resent_after_a_429_with_a_short_retry_after() -> None:
    time = FakeTime()
    recorder = Recorder(err(429, "Too many concurrent jobs", **{"Retry-After": "3"}), ok(generation(), 201))
    assert (await client_for(recorder, time=time).create(REQUEST)).id == GID
    assert time.sleeps == [3.0]


async def test_create_reports_a_429_with_a_long_retry_after() -> None:
    time = FakeTime()
    recorder = Recorder(err(429, "Too many concurrent jobs", **{"Retry-After": "60"}))
    with pytest.raises(RateLimitError, match="Try again in 60 s") as raised:
        await client_for(recorder, time=time).create(REQUEST)
    assert raised.value.retry_after == 60
    assert time.sleeps == []


@pytest.mark.parametrize(
    ("status", "detail", "hint"),
    [
        (400, "Invalid aspect_ratio '4:3'", "Change the arguments"),
        (401, "Invalid API key", "LUMA_AGENTS_API_KEY"),
        (402, "Insufficient credits. Please add credits to continue.", "nothing was charged"),
        (404, "Generation not found", ""),
        (422, "source: failed to fetch URL (HTTP 404)", ""),
    ],
)
async def test_client_errors_are_not_retried_and_carry_status_detail_and_id(
    status: int, detail: str, hint: str
) -> None:
    recorder = Recorder(err(status, detail, **{"X-Request-Id": "req-7"}))
    with pytest.raises(APIStatusError) as raised:
        await client_for(recorder).get(GID)
    assert (raised.value.status, raised.value.detail, raised.value.request_id) == (status, detail, "req-7")
    assert hint in str(raised.value)
    assert len(recorder.requests) == 1


async def test_a_non_json_error_body_is_shown_as_text() -> None:
    recorder = Recorder(httpx2.Response(400, text="Bad gateway config"))
    with pytest.raises(APIStatusError, match="Bad gateway config"):
        await client_for(recorder).get(GID)


async def test_connection_errors_on_get_end_as_connection_errors() -> None:
    recorder = Recorder(*[httpx2.ConnectError("refused")] * 4)
    with pytest.raises(APIConnectionError, match="Could not reach the Luma API"):
        await client_for(recorder).get(GID)


async def test_poll_waits_before_the_first_get_and_stops_when_finished() -> None:
    time = FakeTime()
    seen: list[str] = []

    async def on_update(current: Generation) -> None:
        seen.append(current.state)

    recorder = Recorder(ok(generation("processing")), ok(generation("completed")))
    final = await client_for(recorder, time=time).poll(
        Generation.model_validate(generation()), deadline=60, on_update=on_update
    )
    assert final.state == "completed"
    assert seen == ["processing", "completed"]
    assert 2.0 <= time.sleeps[0] <= 4.0  # a random phase, so parallel waits do not poll in step
    assert time.sleeps[1:] == [2.0]


async def test_poll_returns_the_last_state_when_the_wait_ends() -> None:
    time = FakeTime()
    recorder = Recorder(*[ok(generation("processing")) for _ in range(10)])
    final = await client_for(recorder, time=time).poll(GID, deadline=5)
    assert final.state == "processing"
    assert sum(time.sleeps) == pytest.approx(5)  # never past the deadline, and a last look on it
    assert 3 <= len(recorder.requests) <= 4


def test_url_expiry_is_read_from_the_presigned_url() -> None:
    from luma_mcp.api import GenerationOutput

    url = "https://s.test/o.png?X-Amz-Date=20260408T120000Z&X-Amz-Expires=3600&X-Amz-Signature=abc"
    assert GenerationOutput(url=url).url_expires_at == 1775649600 + 3600
    assert GenerationOutput(url="https://s.test/o.png").url_expires_at is None
