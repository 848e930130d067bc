"""What the package's modules import, read from their source (nothing is run): for the tests that
keep the architecture's shape."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import luma_mcp

PACKAGE_ROOT = Path(luma_mcp.__file__).parent


def module_name(path: Path, root: Path = PACKAGE_ROOT) -> str:
    """`luma_mcp/jobs/runner.py` → `luma_mcp.jobs.runner`; a package's `__init__.py` → the package."""
    parts = [root.name, *path.relative_to(root).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def import_statements(
    source: str, module: str, *, is_package: bool, type_checking: bool = True
) -> list[tuple[str, list[str]]]:
    """Each import in `source` (the code of `module`), at any depth (inside functions too), as the
    absolute name imported from and the names taken: `import a.b` → `("a.b", [])`, `from ..api
    import models` → `("luma_mcp.api", ["models"])`. `type_checking=False` leaves out
    `if TYPE_CHECKING:` blocks (they never run)."""
    package = module.split(".") if is_package else module.split(".")[:-1]
    statements: list[tuple[str, list[str]]] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and not type_checking and _type_checking_only(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            statements.extend((alias.name, []) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            origin = ".".join([*base, *([node.module] if node.module else [])])
            statements.append((origin, [alias.name for alias in node.names if alias.name != "*"]))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(source))
    return statements


def imported_names(source: str, module: str, *, is_package: bool, type_checking: bool = True) -> set[str]:
    """Absolute names of what `source` imports: `from m import n` gives both `m` and `m.n`, since
    `n` may be a module."""
    names: set[str] = set()
    for origin, taken in import_statements(source, module, is_package=is_package, type_checking=type_checking):
        names.add(origin)
        names.update(f"{origin}.{name}" for name in taken)
    return names


@dataclass(frozen=True)
class ImportGraph:
    """The project's modules and which of them each one imports (and so runs)."""

    edges: dict[str, set[str]]

    @classmethod
    def of(cls, root: Path = PACKAGE_ROOT, *, type_checking: bool = False) -> ImportGraph:
        sources = {module_name(path, root): path for path in sorted(root.rglob("*.py"))}
        edges: dict[str, set[str]] = {}
        for module, path in sources.items():
            targets: set[str] = set()
            statements = import_statements(
                path.read_text(encoding="utf-8"),
                module,
                is_package=path.name == "__init__.py",
                type_checking=type_checking,
            )
            for origin, taken in statements:
                # `from p import m` runs module p.m; `from p import name` (or `import p`) runs p.
                found = {f"{origin}.{name}" for name in taken if f"{origin}.{name}" in sources}
                if len(found) < len(taken) or not taken:
                    found.add(origin)
                for name in found:
                    target = _longest_module(name, sources)
                    if target is not None:
                        targets |= _run_by_importing(target, module, sources)
            edges[module] = targets
        return cls(edges)

    def cycles(self) -> list[list[str]]:
        """Each group of modules that import one another in a ring (strongly connected), sorted."""
        index: dict[str, int] = {}
        low: dict[str, int] = {}
        stack: list[str] = []
        on_stack: set[str] = set()
        groups: list[list[str]] = []

        def connect(node: str) -> None:  # Tarjan's algorithm
            index[node] = low[node] = len(index)
            stack.append(node)
            on_stack.add(node)
            for target in sorted(self.edges.get(node, ())):
                if target not in index:
                    connect(target)
                    low[node] = min(low[node], low[target])
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
            if low[node] == index[node]:
                group: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))

        for node in sorted(self.edges):
            if node not in index:
                connect(node)
        return sorted(groups)


def _run_by_importing(target: str, importer: str, modules: dict[str, Path]) -> set[str]:
    """What importing `target` depends on: the target itself (even a package the importer is in,
    when names are taken from it), and each package above it that is not already running because
    the importer is inside it."""
    parts = target.split(".")
    above = (".".join(parts[:depth]) for depth in range(1, len(parts)))
    run = {name for name in above if name in modules and not importer.startswith(name + ".")}
    return run | ({target} - {importer})


def _longest_module(name: str, modules: dict[str, Path]) -> str | None:
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in modules:
            return candidate
    return None
