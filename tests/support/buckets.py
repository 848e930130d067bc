"""The S3-compatible server tests run against: moto's standalone server with its authentication on
(`s3_server.py`), started on a free loopback port for the session, one prefix per test. It can be
stopped and started again on the same port with the same credentials, as a bucket that goes away
and comes back."""

from __future__ import annotations

import contextlib
import os
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .processes import child
from .stores import free_port

BUCKET = "luma-tests"
ACCESS_KEY = "AKIALUMATESTS0000001"
SECRET_KEY = "luma-tests-secret-key-0000000000000000000"
START_SECONDS = 60.0


@dataclass
class S3Server:
    """moto on loopback: `stop()` ends the process (the bucket is then unreachable), `start()`
    brings a new one up on the same port, with the same credentials and an empty bucket."""

    port: int = field(default_factory=free_port)
    _running: ExitStack | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environment(self) -> dict[str, str]:
        """The standard AWS variables a server needs to reach it."""
        return {
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_REGION": "us-east-1",
        }

    def start(self) -> None:
        script = Path(__file__).with_name("s3_server.py")
        args = [sys.executable, str(script), "--port", str(self.port), "--access-key", ACCESS_KEY]
        args += ["--secret-key", SECRET_KEY, "--bucket", BUCKET]
        stack = ExitStack()
        running = stack.enter_context(child(args, env={"PATH": os.environ.get("PATH", "")}, terminate_first=True))
        assert running.stderr is not None
        deadline = time.monotonic() + START_SECONDS
        while "Running on" not in (line := running.stderr.next(deadline, "the S3 server did not start")):
            if not line:
                stack.close()
                raise EOFError("the S3 server exited before it listened")
        self._running = stack

    def stop(self) -> None:
        if self._running is not None:
            self._running.close()
            self._running = None


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    server = S3Server()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def s3(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Server]:
    """The session's S3 server, running, its variables set in this process's environment."""
    if s3_server._running is None:  # pyright: ignore[reportPrivateUsage]
        s3_server.start()  # a test before stopped it
    for name in ("AWS_SESSION_TOKEN", "AWS_CREDENTIAL_EXPIRATION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in s3_server.environment().items():
        monkeypatch.setenv(name, value)
    yield s3_server
    with contextlib.suppress(Exception):
        if s3_server._running is None:  # pyright: ignore[reportPrivateUsage]
            s3_server.start()


@pytest.fixture
def bucket_url() -> str:
    """`s3://<bucket>/<a prefix of this test's own>`."""
    return f"s3://{BUCKET}/tests-{uuid.uuid4().hex[:12]}"
