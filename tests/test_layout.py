"""The shape of the package, held by tests rather than by care (CONTRIBUTING.md, Code map).

- No import cycle, counting imports inside functions: the graph is built from the AST of
  every module (``if TYPE_CHECKING:`` blocks aside, since they never run).
- The top level holds the fast path's modules (``fastpath.FAST_PATH_MODULES``) and a few
  named others; everything else lives in a sub-package that says what it is.
- One owner per file on disk: the state files are written only by ``store.journal`` (it
  alone imports ``store.statefiles`` and saves profiles.toml); token records are written
  by the token cache's functions, called from the places listed here.
- The core never imports Click; modules stay under about 500 lines.
- The wheel holds every module of the tree.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPOSITORY
from up42keys.fastpath import FAST_PATH_MODULES

PACKAGE = REPOSITORY / "up42keys"
# Top-level modules besides the fast path's: the entry for ``python -m``, the error classes
# (raised by fast-path modules, imported where they raise) and the public integration modules.
OTHER_TOP_LEVEL = {"up42keys.__main__", "up42keys.errors"} | {
    f"up42keys.{name}" for name in ("sdk", "gdal", "dask", "stac")
}
MAX_LINES = 500


def module_name(path: Path) -> str:
    parts = path.relative_to(REPOSITORY).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def executed_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node of a module but those under ``if TYPE_CHECKING:``, which never runs."""
    found = []
    pending = [tree]
    while pending:
        node = pending.pop()
        found.append(node)
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            pending.extend(node.orelse)
        else:
            pending.extend(ast.iter_child_nodes(node))
    return found


def imported_modules(name: str) -> set[str]:
    """Every module of ours that ``name`` imports when it runs, in functions too."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in executed_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            submodules = {f"{base}.{alias.name}" for alias in node.names} & set(MODULES)
            found.update(submodules)
            if len(submodules) < len(node.names):  # a name defined in ``base`` itself
                found.add(base)
    return {module for module in found if module in MODULES and module != name}


GRAPH = {name: imported_modules(name) for name in MODULES}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), and self-loops."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_counting_imports_inside_functions():
    assert cycles(GRAPH) == []


def test_the_cycle_finder_finds_a_cycle_through_a_function_level_import():
    graph = {name: set(targets) for name, targets in GRAPH.items()}
    graph["up42keys.rules"].add("up42keys.kinds")  # kinds imports rules at module level
    assert any({"up42keys.rules", "up42keys.kinds"} <= set(cycle) for cycle in cycles(graph))


def test_the_top_level_holds_the_fast_path_and_the_named_others_only():
    top_level = {name for name in MODULES if name.count(".") == 1}
    packages = {name for name, path in MODULES.items() if path.name == "__init__.py"}
    assert top_level - packages | {"up42keys"} == set(FAST_PATH_MODULES) | OTHER_TOP_LEVEL


def importers_of(module: str) -> set[str]:
    return {name for name, targets in GRAPH.items() if module in targets}


def callers_of(module: str, functions: set[str]) -> set[str]:
    """The modules that call ``<alias of module>.<function>`` or import such a function."""
    short = module.rpartition(".")[2]
    found = set()
    for name, path in MODULES.items():
        if name == module:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == short
                and node.attr in functions
                and module in GRAPH[name]
            ) or (
                isinstance(node, ast.ImportFrom)
                and node.module == module
                and any(alias.name in functions for alias in node.names)
            ):
                found.add(name)
    return found


def test_only_the_journal_writes_the_state_files_and_the_profile_file():
    assert importers_of("up42keys.store.statefiles") == {"up42keys.store.journal"}
    assert callers_of("up42keys.store.profile_file", {"save"}) == {"up42keys.store.journal"}


def test_token_records_are_written_from_the_listed_places_only():
    writers = callers_of("up42keys.cache", {"write", "remove", "move"})
    # The mint's records, the changes' dropped and moved records, and a refresh token that
    # UP42 refused (dropped under the profile's lock, by the account kind that reads it).
    assert writers == {"up42keys.ops.tokens", "up42keys.store.journal", "up42keys.kinds.account"}


def test_the_core_never_imports_click():
    clicky = {name for name in MODULES if "click" in imported_names(name)}
    assert {name for name in clicky if not name.startswith("up42keys.cli")} == set()


def imported_names(name: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(MODULES[name].read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names.add(node.module.partition(".")[0])
    return names


@pytest.mark.parametrize("name", sorted(MODULES))
def test_modules_stay_under_about_five_hundred_lines(name):
    assert len(MODULES[name].read_text().splitlines()) <= MAX_LINES


def test_the_wheel_holds_every_module(tmp_path):
    tree = tmp_path / "tree"
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for name in listed:
        source = REPOSITORY / name
        if source.is_file():
            (tree / name).parent.mkdir(parents=True, exist_ok=True)
            (tree / name).write_bytes(source.read_bytes())
    # setuptools from the test extra: no build environment is fetched from an index.
    wheel = ["wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), "."]
    built = subprocess.run(
        [sys.executable, "-m", "pip", *wheel],
        cwd=tree,
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    (built_wheel,) = tmp_path.glob("up42keys-*.whl")
    with zipfile.ZipFile(built_wheel) as archive:
        shipped = {name for name in archive.namelist() if name.endswith(".py")}
    wanted = {path.relative_to(REPOSITORY).as_posix() for path in MODULES.values()}
    assert wanted - shipped == set()
