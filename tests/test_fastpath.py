"""The fast path (the installed command's entry point) against the full Click path.

Two promises: ``token`` with a cached token and ``current`` import nothing
but the fast path's own modules and the standard library's already-loaded
ones (``fastpath.FAST_PATH_MODULES``, ``FAST_PATH_STDLIB``: an allowlist,
checked statically and at run time), and whatever the state of the files and
the environment, both paths print the same and exit with the same code (the
agreement table, ``CASES``).
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import API_KEY, installed_command, run_forked, run_in_process, run_installed
from tests.forkserver import INSTALLED_EVERY
from tests.helpers import add_profile, claims
from up42keys import cache, paths
from up42keys.fastpath import FAST_PATH_MODULES, FAST_PATH_STDLIB

PACKAGE = Path(__file__).resolve().parent.parent / "up42keys"
ALLOWED = frozenset(FAST_PATH_MODULES) | frozenset(FAST_PATH_STDLIB)

# Never on the cached-token or the current path.
HEAVY = frozenset(
    {
        "click",
        "httpx",
        "keyring",
        "jwt",
        "platformdirs",
        "tomllib",
        "tomli",
        "json",
        "importlib.metadata",
        "importlib_metadata",
        "filelock",
        "pathlib",
        "typing",
        "dataclasses",
        "contextlib",
        "hashlib",
    }
)
FULL_PATH = "import sys; from up42keys.cli import main; sys.exit(main(sys.argv[1:]))"
FAST_ENTRY = "import sys; from up42keys.fastpath import main; sys.exit(main())"


def imported_modules(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> set[str]:
    """Every module the command imported, from ``python -X importtime``; the command must succeed.

    ``cwd`` keeps ``python -c`` from importing the source tree instead of the installed package.
    """
    environment = dict(os.environ, **(env or {}))
    result = subprocess.run(
        [sys.executable, "-X", "importtime", *argv],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=environment,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    modules = set()
    for line in result.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name != "imported package":
                modules.add(name)
    return modules


def heavy(modules: set[str], forbidden: frozenset[str] = HEAVY) -> set[str]:
    """The modules that are, or are inside, a forbidden package."""
    return {
        name
        for name in modules
        if any(name == bad or name.startswith(bad + ".") for bad in forbidden)
    }


def not_allowed(modules: set[str], bare: frozenset[str] = frozenset()) -> set[str]:
    """The modules that neither belong to the fast path nor are allowlisted standard library.

    ``bare``: what ``-X importtime`` reports for ``python -c pass`` (the interpreter's own
    start-up, which every command pays alike).
    """
    return modules - ALLOWED - bare


@pytest.fixture(scope="module")
def bare(tmp_path_factory) -> frozenset[str]:
    """The modules a bare interpreter start imports, as ``-X importtime`` reports them."""
    return frozenset(imported_modules(["-c", "pass"], tmp_path_factory.mktemp("bare")))


# -- the allowlist, statically ----------------------------------------------------------------


def module_level_imports(module: str) -> set[str]:
    """What ``module`` imports when it is imported: its module-level imports, class bodies
    and ``if``/``try``/``with`` blocks included, function bodies and ``if TYPE_CHECKING:``
    blocks excluded (those run later, or never)."""
    source = PACKAGE / ("__init__.py" if module == "up42keys" else module.split(".")[1] + ".py")
    tree = ast.parse(source.read_text(), str(source))
    found: set[str] = set()

    def visit(statements: list[ast.stmt]) -> None:
        for node in statements:
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                assert node.level == 0, f"{module}: relative import"
                base = node.module or ""
                for alias in node.names:
                    submodule = f"{base}.{alias.name}"
                    found.add(submodule if (PACKAGE / f"{alias.name}.py").exists() else base)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            elif isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
                visit(node.orelse)
            else:
                for field in ("body", "orelse", "finalbody", "handlers"):
                    children = getattr(node, field, None)
                    if isinstance(children, list):
                        visit([child for child in children if isinstance(child, ast.stmt)])
                for handler in getattr(node, "handlers", []):
                    visit(handler.body)

    visit(tree.body)
    return found


def test_fast_path_modules_import_only_each_other_and_the_allowlist():
    assert "up42keys.fastpath" in FAST_PATH_MODULES
    for module in FAST_PATH_MODULES:
        assert not_allowed(module_level_imports(module)) == set(), module


def test_the_static_check_sees_a_heavy_import(tmp_path, monkeypatch):
    """The check itself: an ``import enum`` at the top of a fast-path module is caught."""
    copy = tmp_path / "up42keys"
    shutil.copytree(PACKAGE, copy)
    selection = copy / "selection.py"
    selection.write_text("import enum\n" + selection.read_text())
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", copy)
    assert not_allowed(module_level_imports("up42keys.selection")) == {"enum"}


def test_the_allowlisted_stdlib_is_loaded_by_a_bare_interpreter(tmp_path):
    """Allowlisted modules cost nothing: ``python -c pass`` has loaded each already."""
    bare = subprocess.run(
        [sys.executable, "-c", "import sys; print(sorted(sys.modules))"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    )
    loaded = set(ast.literal_eval(bare.stdout))
    assert set(FAST_PATH_STDLIB) - loaded == set()


# -- the allowlist, at run time ---------------------------------------------------------------


@pytest.fixture
def profiles(server) -> dict[str, str]:
    """Two profiles on the fake server, each with a token, 'prod' active.

    Added in-process, on the installed command's files and keyring: the set-up is not what
    these tests measure, and two installed ``add`` runs cost more than most cases.
    """
    ids = {}
    for name in ("prod", "dev"):
        ids[name] = str(uuid.uuid4())
        server.add_project(ids[name], API_KEY)
        add_profile(run_in_process, server, name, ids[name], check=True)
    return ids


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["token"], {}),
        (["token", "dev"], {}),
        (["token"], {"UP42KEYS_PROFILE": "dev", "UP42KEYS_MIN_TTL": "10"}),
        (["current"], {}),
        (["current"], {"UP42KEYS_PROFILE": "dev"}),
    ],
)
def test_cached_token_and_current_import_nothing_heavy(profiles, tmp_path, args, env, bare):
    # As installed: pip's launcher (before pip 25) imports re itself, so re is allowed here.
    modules = imported_modules([installed_command(), *args], tmp_path, env)
    assert "up42keys.fastpath" in modules
    assert heavy(modules) == set()
    # The entry point alone imports no re either: only the allowlist.
    modules = imported_modules(["-c", FAST_ENTRY, *args], tmp_path, env)
    assert heavy(modules, HEAVY | {"re"}) == set()
    assert not_allowed(modules, bare) == set()
    assert "up42keys.errors" not in modules


def test_a_directory_file_costs_the_fast_path_no_import(profiles, tmp_path, bare):
    """The walk up to the directory file, its reading and its trust: token and current stay fast."""
    pin("dev")({}, tmp_path)
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    for command in ("token", "current"):
        modules = imported_modules(["-c", FAST_ENTRY, command], deep)
        assert "up42keys.cli" not in modules, command
        assert heavy(modules, HEAVY | {"re"}) == set(), command
        assert not_allowed(modules, bare) == set(), command


def test_environment_credentials_cached_token_imports_nothing_heavy(
    profiles, server, tmp_path, bare
):
    env = {
        "UP42_PROJECT_ID": profiles["prod"],
        "UP42_PROJECT_API_KEY": API_KEY,
        "UP42_API_URL": server.url,
    }
    assert "httpx" in imported_modules([installed_command(), "token"], tmp_path, env)  # a mint
    for command in ("token", "current"):
        modules = imported_modules(["-c", FAST_ENTRY, command], tmp_path, env)
        assert heavy(modules, HEAVY | {"re"}) == set(), command
        assert not_allowed(modules, bare) == set(), command


def test_list_goes_through_click_without_keyring_httpx_or_jwt(profiles, tmp_path):
    for args in (["list"], ["list", "--json"]):
        modules = imported_modules([installed_command(), *args], tmp_path)
        assert "click" in modules
        assert (
            heavy(
                modules,
                frozenset({"keyring", "httpx", "jwt", "importlib.metadata", "platformdirs"}),
            )
            == set()
        )


def test_version_does_not_ask_importlib_metadata(tmp_path):
    modules = imported_modules([installed_command(), "--version"], tmp_path)
    assert "click" in modules
    assert heavy(modules, frozenset({"importlib.metadata", "importlib_metadata"})) == set()


# -- agreement of the fast and the full path ---------------------------------------------


PROD_ID = "<prod's project ID>"
SERVER_URL = "<the fake server's URL>"
ENV_CREDENTIALS = {
    "UP42_PROJECT_ID": PROD_ID,
    "UP42_PROJECT_API_KEY": API_KEY,
    "UP42_API_URL": SERVER_URL,
}


@dataclass
class Case:
    """A state of the files and the environment, and the commands to run in it."""

    name: str
    prepare: Callable[[dict[str, str], Path], None]
    env: dict[str, str] = field(default_factory=dict)
    commands: list[list[str]] = field(default_factory=lambda: [["token"], ["current"]])


def prod_record() -> cache.TokenRecord:
    record = cache.read("prod")
    assert record is not None
    return record


def nothing(_env: dict[str, str], _workdir: Path) -> None:
    return


def expire(_env: dict[str, str], _workdir: Path) -> None:
    record = prod_record()
    cache.write("prod", cache.TokenRecord(record.token, int(time.time()) - 10, record.cache_key))


def drop_record(_env: dict[str, str], _workdir: Path) -> None:
    cache.remove("prod")


def corrupt_record(_env: dict[str, str], _workdir: Path) -> None:
    Path(paths.token_record("prod")).write_text("not a record\n")


def truncate_record(_env: dict[str, str], _workdir: Path) -> None:
    text = Path(paths.token_record("prod")).read_text()
    Path(paths.token_record("prod")).write_text(text[: len(text) // 2])


def foreign_record(_env: dict[str, str], _workdir: Path) -> None:
    """prod's record holds dev's token, minted for another project."""
    dev = cache.read("dev")
    assert dev is not None
    cache.write("prod", dev)


def no_active(_env: dict[str, str], _workdir: Path) -> None:
    os.unlink(paths.active_file())


def mint_for_environment(env: dict[str, str], _workdir: Path) -> None:
    minted = run_in_process("token", env=env)
    assert minted.returncode == 0, minted.stderr


def pin(name: str, below: bool = False) -> Callable[[dict[str, str], Path], None]:
    """``up42keys pin NAME`` (a trusted file) in the working directory, or (``below``) above.

    A name ``pin`` refuses (no such profile, invalid, empty) is written by hand, untrusted.
    """

    def prepare(_env: dict[str, str], workdir: Path) -> None:
        directory = workdir.parent if below else workdir
        if name not in ("prod", "dev"):
            (directory / paths.PIN_FILE).write_text(name + "\n")
            return
        pinned = run_in_process("pin", name, cwd=directory, env={"PWD": str(directory)})
        assert pinned.returncode == 0, pinned.stderr

    return prepare


def pin_nested(_env: dict[str, str], workdir: Path) -> None:
    """prod above, dev here: the nearest wins."""
    pin("prod", below=True)(_env, workdir)
    pin("dev")(_env, workdir)


def expired_and_pinned(env: dict[str, str], workdir: Path) -> None:
    expire(env, workdir)
    pin("prod")(env, workdir)


def pinned_without_active(env: dict[str, str], workdir: Path) -> None:
    no_active(env, workdir)
    pin("dev")(env, workdir)


EXPLAIN = [["token"], ["current"], ["current", "--explain"], ["current", "--json"]]

CASES = [
    Case("valid cache", nothing, commands=[["token"], ["token", "prod"], ["current"]]),
    Case("expired", expire),
    Case("no record", drop_record),
    Case("corrupt record", corrupt_record),
    Case("truncated record", truncate_record),
    Case("foreign record", foreign_record),
    Case("UP42KEYS_PROFILE", nothing, {"UP42KEYS_PROFILE": "dev"}),
    Case("UP42KEYS_PROFILE unknown", nothing, {"UP42KEYS_PROFILE": "ghost"}),
    Case("UP42KEYS_PROFILE invalid", nothing, {"UP42KEYS_PROFILE": "../etc"}),
    Case("env credentials", nothing, ENV_CREDENTIALS),
    Case("env credentials cached", mint_for_environment, ENV_CREDENTIALS),
    Case("env credentials bad ID", nothing, {**ENV_CREDENTIALS, "UP42_PROJECT_ID": "x"}),
    Case("no active profile", no_active),
    Case("named profile", nothing, commands=[["token", "dev"], ["token", "ghost"]]),
    Case("bad name", nothing, commands=[["token", "../x"], ["token", "-x"], ["token", ""]]),
    Case("min-ttl env above", nothing, {"UP42KEYS_MIN_TTL": "400"}),
    Case("min-ttl env below", nothing, {"UP42KEYS_MIN_TTL": "10"}),
    Case("min-ttl env invalid", nothing, {"UP42KEYS_MIN_TTL": "soon"}),
    Case("directory file", pin("dev"), commands=[*EXPLAIN, ["token", "prod"]]),
    Case("directory file above", pin("dev", below=True), commands=EXPLAIN),
    Case("directory files nested", pin_nested, commands=EXPLAIN),
    Case("directory file, expired", expired_and_pinned),
    Case("directory file missing profile", pin("ghost"), commands=EXPLAIN),
    Case("directory file invalid name", pin("../x"), commands=EXPLAIN),
    Case("directory file empty", pin(""), commands=EXPLAIN),
    Case("directory file and UP42KEYS_PROFILE", pin("dev"), {"UP42KEYS_PROFILE": "prod"}, EXPLAIN),
    Case("directory file and env credentials", pin("dev"), ENV_CREDENTIALS, EXPLAIN),
    Case("directory file, no active", pinned_without_active),
    Case(
        "options and extra arguments",
        nothing,
        commands=[["token", "--min-ttl", "0"], ["token", "--json"], ["current", "x"]],
    ),
]


def cached_tokens() -> set[str]:
    """Every token in the cache: what the paths may print as is; any other token was minted."""
    found = set()
    for path in Path(paths.cache_dir()).rglob("*"):
        if path.is_file():
            found.update(
                line for line in path.read_text().splitlines() if cache.looks_like_jwt(line)
            )
    return found


def normalized(text: str, known: set[str]) -> str:
    """Output with freshly minted tokens replaced by the project they serve."""

    def one(word: str) -> str:
        bare = word.strip('",')
        if cache.looks_like_jwt(bare) and bare not in known:
            subject = claims(bare)["sub"]
            return word.replace(bare, f"<new token for {subject}>")
        return word

    lines = [" ".join(one(word) for word in line.split(" ")) for line in text.splitlines()]
    return "\n".join(lines)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_fast_and_full_path_agree(case, profiles, server, isolated_home, tmp_path):
    replacements = {PROD_ID: profiles["prod"], SERVER_URL: server.url}
    env = {key: replacements.get(value, value) for key, value in case.env.items()}
    workdir = tmp_path / "work"
    workdir.mkdir()
    case.prepare(env, workdir)
    saved = tmp_path / "saved-home"
    shutil.copytree(isolated_home, saved)
    known = cached_tokens()

    # The command as a process: installed in one case in INSTALLED_EVERY, else in a
    # fork-server child, which runs the same launcher and fast path once its imports are done
    # (the tests above hold what the fast path imports).
    process = run_installed if CASES.index(case) % INSTALLED_EVERY == 0 else run_forked

    def run_fast(argv: list[str]) -> tuple[int, str, str]:
        """Run from the saved state, so that each path starts from the same files."""
        shutil.rmtree(isolated_home)
        shutil.copytree(saved, isolated_home)
        result = process(*argv, env=env, cwd=workdir)
        return result.returncode, normalized(result.stdout, known), result.stderr

    def run_full(argv: list[str]) -> tuple[int, str, str]:
        """The full path in-process (``cli.main``, as FULL_PATH runs it), from the saved state."""
        shutil.rmtree(isolated_home)
        shutil.copytree(saved, isolated_home)
        result = run_in_process(*argv, env=env, cwd=workdir)
        return result.returncode, normalized(result.stdout, known), result.stderr

    for command in case.commands:
        fast = run_fast(command)
        full = run_full(command)
        assert fast == full, (case.name, command)


def test_broken_pipe_and_closed_stdout_are_quiet_on_both_paths(profiles, tmp_path):
    for argv in ([installed_command(), "token"], [sys.executable, "-c", FULL_PATH, "token"]):
        read_end, write_end = os.pipe()
        os.close(read_end)  # every write to the pipe now fails with EPIPE
        try:
            broken = subprocess.run(
                argv, stdout=write_end, stderr=subprocess.PIPE, cwd=tmp_path, check=False
            )
        finally:
            os.close(write_end)
        assert (broken.returncode, broken.stderr) == (1, b""), argv
        closed = subprocess.run(
            ["sh", "-c", 'exec "$@" >&-', "sh", *argv],
            capture_output=False,
            stderr=subprocess.PIPE,
            cwd=tmp_path,
            check=False,
        )
        assert (closed.returncode, closed.stderr) == (0, b""), argv
