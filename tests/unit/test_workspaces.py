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
        return Workspace(runner=cast("Any", key), inputs=cast("Any", label))

    byok = Workspaces(make, byok=True)
    alice = byok.for_headers({KEY_HEADER: "luma-api-alice"})
    bob = byok.for_headers({KEY_HEADER: "luma-api-bob"})
    assert (alice.runner, bob.runner) == ("luma-api-alice", "luma-api-bob")
    assert byok.for_headers({KEY_HEADER: "luma-api-alice"}) is alice  # and each is kept, not rebuilt
    assert made == ["luma-api-alice", "luma-api-bob"]
