"""The private attributes of other packages that up42keys relies on, named one by one.

httpx has no option for a network backend, keyring no public "has a backend been chosen?",
requests no public cookie jar on a prepared request, and up42-py no public way to hand it an
auth: up42keys reaches for private attributes there. A new release may drop any of them, so
pyproject.toml caps each such dependency below its next major version, and these tests fail
loudly when a ceiling is raised onto a release that lacks one, or when the code starts
relying on a private attribute that is not listed here.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from packaging.requirements import Requirement

from tests.test_sdk import offline_environment

PACKAGE = Path(__file__).resolve().parent.parent / "up42keys"
PYPROJECT = PACKAGE.parent / "pyproject.toml"

# attribute -> (the distribution it belongs to, where up42keys uses it)
PRIVATE = {
    "_transport": ("httpx", "httpx.Client._transport (the request deadline, deadline.py)"),
    "_mounts": ("httpx", "httpx.Client._mounts (proxy transports, deadline.py)"),
    "_pool": ("httpx", "httpx.HTTPTransport._pool (deadline.py)"),
    "_network_backend": ("httpcore", "httpcore.ConnectionPool._network_backend (deadline.py)"),
    "_keyring_backend": ("keyring", "keyring.core._keyring_backend (keychain.py)"),
    "_cookies": ("requests", "requests.PreparedRequest._cookies (a 401's resend, auth.py)"),
    "_session": ("up42-py", "up42.base.workspace._session (up42py.py)"),
    "_auth": ("up42-py", "up42.base.workspace._auth (up42py.py)"),
    "_id": ("up42-py", "up42.base.workspace._id (up42py.py)"),
}
# Private by name, public by contract: os._exit is documented API.
DOCUMENTED = {"_exit"}


def own_private_names() -> set[str]:
    """Private names that up42keys' own classes define: their use is no one else's business."""
    names: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
                    names.add(node.attr)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                names.add(node.target.id)
    return {name for name in names if name.startswith("_")}


def private_attributes_used() -> dict[str, list[str]]:
    """Every ``x._name`` (and ``getattr(x, "_name")``) in up42keys/ on something not its own."""
    used: dict[str, list[str]] = {}
    own = own_private_names()
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            name = None
            if isinstance(node, ast.Attribute):
                if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
                    continue
                name = node.attr
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("getattr", "setattr", "hasattr", "delattr")
                and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant)
                and isinstance(node.args[1].value, str)
            ):
                name = node.args[1].value
            if name is None or not name.startswith("_") or name.startswith("__"):
                continue
            if name in own or name in DOCUMENTED:
                continue
            used.setdefault(name, []).append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    return used


def test_every_private_attribute_relied_on_is_named_here() -> None:
    used = private_attributes_used()
    unlisted = {name: where for name, where in used.items() if name not in PRIVATE}
    assert not unlisted, (
        f"private attributes of other packages used but not listed in PRIVATE: {unlisted}; "
        "list each with its distribution and cap that distribution in pyproject.toml"
    )
    stale = sorted(set(PRIVATE) - set(used))
    assert not stale, f"PRIVATE lists attributes no code uses any more: {stale}"


def test_httpx_and_httpcore_still_have_them() -> None:
    import httpcore
    import httpx

    with httpx.Client(mounts={"http://": httpx.HTTPTransport()}) as client:
        assert isinstance(client._transport, httpx.HTTPTransport)
        assert client._mounts, "httpx.Client._mounts holds no mounted transport"
        # A NO_PROXY pattern mounts None (go direct), which deadline.install passes over.
        mounted = [transport for transport in client._mounts.values() if transport is not None]
        for transport in [client._transport, *mounted]:
            assert isinstance(transport._pool, httpcore.ConnectionPool)
            assert transport._pool._network_backend is not None


def test_keyring_still_has_it() -> None:
    import keyring.core

    assert hasattr(keyring.core, "_keyring_backend")
    keyring.core.get_keyring()
    assert keyring.core._keyring_backend is not None


def test_requests_still_has_it() -> None:
    import requests

    prepared = requests.Request("GET", "http://127.0.0.1/", cookies={"a": "b"}).prepare()
    assert isinstance(prepared._cookies, requests.cookies.RequestsCookieJar)
    assert prepared._cookies.get("a") == "b"


def test_up42_py_still_has_them(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in offline_environment().items():  # up42-py asks PyPI at import
        monkeypatch.setenv(name, value)
    from up42 import base

    for name in ("_session", "_auth", "_id"):
        assert name in type(base.workspace).__annotations__, name


def requirements() -> list[Requirement]:
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    lines = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        lines.extend(extra)
    return [Requirement(line) for line in lines]


@pytest.mark.parametrize("distribution", sorted({owner for owner, _ in PRIVATE.values()}))
def test_each_such_dependency_has_a_ceiling(distribution: str) -> None:
    named = [req for req in requirements() if req.name == distribution]
    assert named, f"{distribution} is named nowhere in pyproject.toml"
    for requirement in named:
        ceilings = [spec for spec in requirement.specifier if spec.operator in ("<", "<=")]
        assert ceilings, f"{requirement} has no upper bound; its private API is used"
