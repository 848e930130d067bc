"""The emulator is an independent reading of the contract: it imports nothing from the client side,
so that a misreading of the contract in one is caught by the other."""

from __future__ import annotations

import ast
from pathlib import Path

import luma_mcp.emulator

EMULATOR = Path(luma_mcp.emulator.__file__).parent


def imported_modules(source: Path) -> set[str]:
    """Absolute names of what `source` imports (relative imports resolved from its package)."""
    package = ["luma_mcp", "emulator"]
    names: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            names.add(module)
            if node.module is None:
                names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def test_the_emulator_imports_nothing_from_the_client_side() -> None:
    sources = sorted(EMULATOR.rglob("*.py"))
    assert len(sources) > 5
    outside = {
        f"{source.name}: {name}"
        for source in sources
        for name in imported_modules(source)
        if name.startswith("luma_mcp") and not name.startswith("luma_mcp.emulator")
    }
    assert outside == set()


def test_the_check_sees_a_relative_import_of_the_client_side(tmp_path: Path) -> None:
    module = tmp_path / "sample.py"
    module.write_text("from ..api import models\nfrom . import render\nimport json\n")
    assert imported_modules(module) == {"luma_mcp.api", "luma_mcp.emulator", "luma_mcp.emulator.render", "json"}
