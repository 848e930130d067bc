"""BYOK workspaces: one per key, chosen by the whole key."""

from __future__ import annotations

from typing import Any, cast

import pytest

from luma_mcp import workspaces
from luma_mcp.workspaces import KEY_HEADER, Workspace, Workspaces


def test_keys_whose_short_labels_collide_still_get_their_own_workspace(monkeypatch: pytest.MonkeyPatch) -> None:
    # Force the collision the 16-hex-digit label can have: the workspace (client and key) must not follow it.
    monkeypatch.setattr(workspaces, "key_label", lambda key: "same-label")
    made: list[str | None] = []

    def make(key: str | None, label: str | None) -> Workspace:
        made.append(key)
        return Workspace(runner=cast("Any", key), inputs=cast("Any", label), sources=cast("Any", None))

    byok = Workspaces(make, byok=True)
    alice = byok.for_headers({KEY_HEADER: "luma-api-alice"})
    bob = byok.for_headers({KEY_HEADER: "luma-api-bob"})
    assert (alice.runner, bob.runner) == ("luma-api-alice", "luma-api-bob")
    assert byok.for_headers({KEY_HEADER: "luma-api-alice"}) is alice  # and each is kept, not rebuilt
    assert made == ["luma-api-alice", "luma-api-bob"]


class FakeRunner:
    def __init__(self, key: str | None) -> None:
        self.key = key
        self.busy = False

    def idle(self) -> bool:
        return not self.busy


def test_beyond_the_kept_number_only_idle_workspaces_are_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workspaces, "KEPT_WORKSPACES", 2)
    runners: dict[str | None, FakeRunner] = {}

    def make(key: str | None, label: str | None) -> Workspace:
        runners[key] = FakeRunner(key)
        return Workspace(runner=cast("Any", runners[key]), inputs=cast("Any", label), sources=cast("Any", None))

    byok = Workspaces(make, byok=True)
    alice = byok.for_headers({KEY_HEADER: "luma-api-alice"})
    runners["luma-api-alice"].busy = True  # a call under way, or a job an identical call must get back
    byok.for_headers({KEY_HEADER: "luma-api-bob"})
    byok.for_headers({KEY_HEADER: "luma-api-junk-1"})  # one over: bob, idle and least recent, goes
    byok.for_headers({KEY_HEADER: "luma-api-junk-2"})  # and then junk-1
    assert byok.for_headers({KEY_HEADER: "luma-api-alice"}) is alice  # kept through the flood
    runners["luma-api-alice"].busy = False
    byok.for_headers({KEY_HEADER: "luma-api-bob"})  # made anew; junk-2, the least recent, goes
    byok.for_headers({KEY_HEADER: "luma-api-carol"})  # now alice is the least recent, and idle: she goes
    assert byok.for_headers({KEY_HEADER: "luma-api-alice"}) is not alice
