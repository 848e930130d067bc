"""The shape of the package, kept by tests: no import cycles (imports inside functions count),
dependencies that point one way, the API client on its own, modules of a readable size."""

from __future__ import annotations

from pathlib import Path

import pytest

from .support.imports import PACKAGE_ROOT, ImportGraph

LAYERS: list[tuple[str, ...]] = [
    ("luma_mcp.api",),
    ("luma_mcp.errors", "luma_mcp.hosts", "luma_mcp.process", "luma_mcp.setting_sources"),
    ("luma_mcp.media",),
    ("luma_mcp.config", "luma_mcp.store"),
    ("luma_mcp.jobs",),
    ("luma_mcp.workspaces",),
    ("luma_mcp.resources", "luma_mcp.catalog", "luma_mcp.tools", "luma_mcp.ui", "luma_mcp.prompts"),
    ("luma_mcp.server",),
    ("luma_mcp.http_app", "luma_mcp.demo"),
    ("luma_mcp.cli", "luma_mcp.__main__"),
]
"""From the bottom up: a module imports only from its own layer or those below. The emulator
stands apart (it imports nothing of the client side); the package's `__init__` holds only the
version."""
LONGEST_MODULE = 400


def layer_of(module: str) -> int | None:
    for rank, prefixes in enumerate(LAYERS):
        if any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes):
            return rank
    return None


def test_no_modules_import_one_another_in_a_ring() -> None:
    assert ImportGraph.of().cycles() == []


def test_the_ring_check_sees_an_import_hidden_in_a_function_but_not_one_for_type_checkers(tmp_path: Path) -> None:
    package = tmp_path / "sample"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from . import b\n")
    (package / "b.py").write_text("def late():\n    from .a import x\n")
    (package / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .d import y\n")
    (package / "d.py").write_text("from . import c\n")
    assert ImportGraph.of(package).cycles() == [["sample.a", "sample.b"]]


def test_dependencies_point_one_way() -> None:
    graph = ImportGraph.of()
    upward = sorted(
        f"{module} → {target}"
        for module, targets in graph.edges.items()
        for target in targets
        if (low := layer_of(module)) is not None and (high := layer_of(target)) is not None and high > low
    )
    assert upward == []
    unplaced = sorted(m for m in graph.edges if layer_of(m) is None and not m.startswith("luma_mcp.emulator"))
    assert unplaced == ["luma_mcp"]  # the package itself: its version, nothing else


@pytest.mark.parametrize(
    ("package", "allowed"), [("luma_mcp.api", "luma_mcp.api"), ("luma_mcp.emulator", "luma_mcp.emulator")]
)
def test_the_api_client_and_the_emulator_stand_on_their_own(package: str, allowed: str) -> None:
    graph = ImportGraph.of(type_checking=True)
    reaching_out = sorted(
        f"{module} → {target}"
        for module, targets in graph.edges.items()
        if module.startswith(package)
        for target in targets
        if not target.startswith(package)
    )
    assert reaching_out == []


def test_no_module_is_longer_than_a_reader_can_hold() -> None:
    long = {
        str(path.relative_to(PACKAGE_ROOT.parent)): lines
        for path in PACKAGE_ROOT.rglob("*.py")
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > LONGEST_MODULE
    }
    assert long == {}
