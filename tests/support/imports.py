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


def imported_names(source: str, module: str, *, is_package: bool, type_checking: bool = True) -> set[str]:
    """Absolute names of what `source` (the code of `module`) imports, at any depth (inside
    functions too), relative imports resolved; `from m import n` gives both `m` and `m.n`, since
    `n` may be a module. `type_checking=False` leaves out `if TYPE_CHECKING:` blocks (they never
    run)."""
    package = module.split(".") if is_package else module.split(".")[:-1]
    names: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and not type_checking and _type_checking_only(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            origin = ".".join([*base, *([node.module] if node.module else [])])
            names.add(origin)
            names.update(f"{origin}.{alias.name}" for alias in node.names if alias.name != "*")
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(source))
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
            names = imported_names(
                path.read_text(encoding="utf-8"),
                module,
                is_package=path.name == "__init__.py",
                type_checking=type_checking,
            )
            for name in names:
                target = _longest_module(name, sources)
                if target is None:
                    continue
                # Importing a.b.c runs a/__init__ and a/b/__init__ too, unless the importer is inside them.
                parts = target.split(".")
                for depth in range(1, len(parts) + 1):
                    ancestor = ".".join(parts[:depth])
                    if ancestor in sources and not (module == ancestor or module.startswith(ancestor + ".")):
                        targets.add(ancestor)
                if target != module:
                    targets.add(target)
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


def _longest_module(name: str, modules: dict[str, Path]) -> str | None:
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in modules:
            return candidate
    return None
