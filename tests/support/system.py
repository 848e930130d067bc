"""Programs from the system the tests start on loopback (a real Redis, a real browser, …): where
one is missing, its tests are skipped locally with the command that installs it, and fail under
CI=true, where `.ci/run` installs it first."""

from __future__ import annotations

import os
import shutil

import pytest


def required_program(name: str, *, package: str) -> str:
    """The path of program `name` (from Debian's `package`); skips the test where it is missing,
    or fails it when running under CI."""
    path = shutil.which(name)
    if path is not None:
        return path
    message = f"{name} is not installed: sudo apt-get install {package}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message} (CI must install it: see .ci/run)")
    pytest.skip(message)
