"""The emulator is an independent reading of the contract: it imports nothing from the client side,
so that a misreading of the contract in one is caught by the other. Its imports are read by the
same walker as the architecture's (`tests/support/imports.py`)."""

from __future__ import annotations

from ..support.imports import PACKAGE_ROOT, imported_names, module_name

EMULATOR = PACKAGE_ROOT / "emulator"


def test_the_emulator_imports_nothing_from_the_client_side() -> None:
    sources = sorted(EMULATOR.rglob("*.py"))
    assert len(sources) > 5
    outside = {
        f"{source.name}: {name}"
        for source in sources
        for name in imported_names(
            source.read_text(encoding="utf-8"), module_name(source), is_package=source.name == "__init__.py"
        )
        if name.startswith("luma_mcp") and not name.startswith("luma_mcp.emulator")
    }
    assert outside == set()


def test_the_check_sees_a_relative_import_of_the_client_side() -> None:
    source = "from ..api import models\nfrom . import render\nimport json\n"
    names = imported_names(source, "luma_mcp.emulator.sample", is_package=False)
    # `from ..api import models` names the package and, since `models` may be a module, the module too.
    assert names == {"luma_mcp.api", "luma_mcp.api.models", "luma_mcp.emulator", "luma_mcp.emulator.render", "json"}
