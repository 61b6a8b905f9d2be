"""Hostile server answers: each ends in one line and its exit code, never a traceback (issue 18).

A proxy's non-ASCII header, integers no float can hold, compressed bombs, oversized
tokens, escape sequences in a refusal's message, bodies that are no JSON, and tokens
whose claims name another project. Every case runs in-process (``token`` with the
environment's credentials, as a CI job mints) and, for the count and the memory
figure, as a process: the big answers through the installed command, the others through the
fork server. ``pytest -s`` prints both.
"""

from __future__ import annotations

import functools
import gzip
import json
import os
import subprocess
import tempfile
import time
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import API_KEY, installed_command
from tests.fakeup42 import FakeUp42, Fault
from tests.test_odd_input import raw_jwt
from up42keys import paths
from up42keys.errors import EXIT_OK, EXIT_REJECTED, EXIT_UNAVAILABLE

ESCAPES = "\x1b[2J\x1b]0;owned\x07\x1b]52;c;SGVsbG8=\x07\x9b31m\x1bP+q\x1b\\\r\nsecond line\u2028"
HUGE = 10**400
# The bomb's inner layer: a quarter GiB of zeros, a few hundred bytes on the wire twice gzipped.
BOMB_BYTES = 256 * 1024 * 1024


@functools.cache
def _gzip_zeros(size: int) -> bytes:
    squeezer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(1024 * 1024)
    parts = [squeezer.compress(block) for _ in range(size // len(block))]
    return b"".join(parts) + squeezer.flush()


@functools.cache
def gzip_bomb() -> bytes:
    """gzip(gzip(256 MiB of zeros)): built once per test process."""
    return gzip.compress(_gzip_zeros(BOMB_BYTES), 9)


def soon() -> int:
    """Five minutes from when a case runs (not from when the module was collected)."""
    return int(time.time()) + 300


def token_body(token: str, extra: str = "") -> Fault:
    return Fault(text_body=json.dumps({"data": {"accessToken": token}})[:-1] + extra + "}")


def three(fault: Fault) -> list[Fault]:
    """A retried status is answered on every attempt."""
    return [fault, fault, fault]


@dataclass
class Case:
    answers: Callable[[FakeUp42, str], list[Fault]]
    exit_code: int
    words: str = ""


def good(server: FakeUp42, project: str) -> str:
    return server.mint_jwt(project, 300)


CASES: dict[str, Case] = {
    # -- header bytes outside ASCII -------------------------------------------------------
    "Server: café on a 200": Case(
        lambda s, p: [Fault(json_body={"data": {"accessToken": good(s, p)}},
                            headers={"Server": "café"})], EXIT_OK),
    "Server: café (UTF-8) on a 200": Case(
        lambda s, p: [Fault(json_body={"data": {"accessToken": good(s, p)}},
                            headers={"Server": "cafÃ©"})], EXIT_OK),
    "Server: café on a 401": Case(
        lambda s, p: [Fault(401, {"error": {"message": "Invalid credentials"}},
                            headers={"Server": "café"})], EXIT_REJECTED, "rejected"),
    "Server: café on a 400 invalid_grant": Case(
        lambda s, p: [Fault(400, {"error": "invalid_grant"}, headers={"Server": "café"})],
        EXIT_REJECTED, "rejected"),
    "Server: café on a 503": Case(
        lambda s, p: three(Fault(503, {}, headers={"Server": "café"})), EXIT_UNAVAILABLE, "503"),
    "Retry-After: é on a 429": Case(
        lambda s, p: three(Fault(429, {}, headers={"Retry-After": "1é"})), EXIT_UNAVAILABLE, "429"),
    "Date: é on a 200": Case(
        lambda s, p: [Fault(json_body={"data": {"accessToken": good(s, p)}},
                            headers={"Date": "Mon, 07 Déc 2026"})], EXIT_OK),
    "Content-Type: é on a 200 without a token": Case(
        lambda s, p: [Fault(text_body="<html>", content_type="text/htmlé")],
        EXIT_UNAVAILABLE, "not a token"),
    # -- integers of any size -------------------------------------------------------------
    "expires_in 10**400": Case(
        lambda s, p: [token_body(good(s, p), f', "expires_in": {HUGE}')],
        EXIT_UNAVAILABLE, "not a finite number"),
    "expires_in -10**400": Case(
        lambda s, p: [token_body(good(s, p), f', "expires_in": {-HUGE}')],
        EXIT_UNAVAILABLE, "not a finite number"),
    "expires_in with 5000 digits": Case(
        lambda s, p: [token_body(good(s, p), ', "expires_in": ' + "9" * 5000)],
        EXIT_UNAVAILABLE, "not a token"),
    "exp 10**400": Case(
        lambda s, p: [token_body(raw_jwt(f'{{"sub": "{p}", "exp": {HUGE}}}'))],
        EXIT_UNAVAILABLE, "not a finite number"),
    "exp -10**400": Case(
        lambda s, p: [token_body(raw_jwt(f'{{"sub": "{p}", "exp": {-HUGE}}}'))],
        EXIT_UNAVAILABLE, "not a finite number"),
    "refresh_expires_in 10**400": Case(
        lambda s, p: [token_body(good(s, p), f', "refresh_token": "{good(s, p)}", '
                                             f'"refresh_expires_in": {HUGE}')],
        EXIT_UNAVAILABLE, "not a finite number"),
    # -- compressed bodies ----------------------------------------------------------------
    "gzip in gzip bomb": Case(
        lambda s, p: [Fault(raw_body=gzip_bomb(), headers={"Content-Encoding": "gzip, gzip"})],
        EXIT_UNAVAILABLE, "encoding"),
    "gzip bomb": Case(
        lambda s, p: [Fault(raw_body=_gzip_zeros(64 * 1024 * 1024),
                            headers={"Content-Encoding": "gzip"})],
        EXIT_UNAVAILABLE, "MiB"),
    "gzip bomb on a 401": Case(
        lambda s, p: [Fault(401, raw_body=_gzip_zeros(64 * 1024 * 1024),
                            headers={"Content-Encoding": "gzip"})],
        EXIT_UNAVAILABLE, "MiB"),
    "deflate bomb": Case(
        lambda s, p: [Fault(raw_body=zlib.compress(bytes(64 * 1024 * 1024), 9),
                            headers={"Content-Encoding": "deflate"})],
        EXIT_UNAVAILABLE, "MiB"),
    "brotli": Case(
        lambda s, p: [Fault(raw_body=b"\x1b\xff\xff", headers={"Content-Encoding": "br"})],
        EXIT_UNAVAILABLE, "encoding"),
    "zstd": Case(
        lambda s, p: [Fault(raw_body=b"(\xb5/\xfd", headers={"Content-Encoding": "zstd"})],
        EXIT_UNAVAILABLE, "encoding"),
    "an unknown encoding": Case(
        lambda s, p: [Fault(raw_body=b"xx", headers={"Content-Encoding": "x-odd"})],
        EXIT_UNAVAILABLE, "encoding"),
    "gzip that is not gzip": Case(
        lambda s, p: [Fault(raw_body=b"not gzip at all", headers={"Content-Encoding": "gzip"})],
        EXIT_UNAVAILABLE, "gzip"),
    "a good gzipped token": Case(
        lambda s, p: [Fault(raw_body=gzip.compress(
            json.dumps({"data": {"accessToken": good(s, p)}}).encode()),
            headers={"Content-Encoding": "gzip"})], EXIT_OK),
    # -- tokens over a sane size ----------------------------------------------------------
    "a 200 KiB token": Case(
        lambda s, p: [token_body(raw_jwt(json.dumps({"sub": p, "pad": "x" * 150_000})))],
        EXIT_UNAVAILABLE, "KiB"),
    "a token of 16 KiB and one byte": Case(
        lambda s, p: [token_body("a" * 8192 + "." + "b" * 8192 + ".c")],
        EXIT_UNAVAILABLE, "KiB"),
    "a 200 KiB refresh token": Case(
        lambda s, p: [token_body(good(s, p), ', "refresh_token": "' + "r" * 200_000 + '"')],
        EXIT_UNAVAILABLE, "KiB"),
    # -- escape sequences and bodies that are no JSON -------------------------------------
    "escapes in a 401": Case(
        lambda s, p: [Fault(401, {"error": {"code": 401, "message": ESCAPES}})],
        EXIT_REJECTED, "rejected"),
    "escapes in a 400 invalid_grant": Case(
        lambda s, p: [Fault(400, {"error": "invalid_grant", "error_description": ESCAPES})],
        EXIT_REJECTED, "rejected"),
    "escapes in a 400": Case(
        lambda s, p: [Fault(400, {"error": ESCAPES})], EXIT_UNAVAILABLE, "400"),
    "escapes in a 503": Case(
        lambda s, p: three(Fault(503, {"error": {"message": ESCAPES}})), EXIT_UNAVAILABLE, "503"),
    "escapes as the token": Case(
        lambda s, p: [token_body(ESCAPES)], EXIT_UNAVAILABLE, "JWT"),
    "a deeply nested 200": Case(
        lambda s, p: [Fault(text_body="[" * 100_000 + "]" * 100_000)],
        EXIT_UNAVAILABLE, "not a token"),
    "a deeply nested 401": Case(
        lambda s, p: [Fault(401, text_body='{"error": ' + "[" * 100_000 + "]" * 100_000 + "}")],
        EXIT_REJECTED, "rejected"),
    "a 200 that is not UTF-8": Case(
        lambda s, p: [Fault(raw_body=b'{"data": {"accessToken": "\xff\xfe"}}')],
        EXIT_UNAVAILABLE, "not a token"),
    "a 401 that is not UTF-8": Case(
        lambda s, p: [Fault(401, raw_body=b'{"error": "\xff"}')], EXIT_REJECTED, "rejected"),
    # -- a token for another project ------------------------------------------------------
    "sub names another project": Case(
        lambda s, p: [token_body(s.mint_jwt(str(uuid.uuid4()), 300))],
        EXIT_UNAVAILABLE, "another project"),
    "aud names another project": Case(
        lambda s, p: [token_body(raw_jwt(json.dumps(
            {"sub": p, "aud": [str(uuid.uuid4())], "exp": soon()})))],
        EXIT_UNAVAILABLE, "another project"),
    "a project claim names another project": Case(
        lambda s, p: [token_body(raw_jwt(json.dumps(
            {"sub": "up42-api", "project_id": str(uuid.uuid4()), "exp": soon()})))],
        EXIT_UNAVAILABLE, "another project"),
    "claims naming no project": Case(
        lambda s, p: [token_body(raw_jwt(json.dumps({"sub": "up42-api", "exp": soon()})))],
        EXIT_OK),
}  # fmt: skip


def environment(server: FakeUp42, project: str) -> dict[str, str]:
    return {"UP42_PROJECT_ID": project, "UP42_PROJECT_API_KEY": API_KEY, "UP42_API_URL": server.url}


def check(name: str, exit_code: int, stdout: str, stderr: str) -> None:
    case = CASES[name]
    assert "Traceback" not in stderr, stderr
    assert exit_code == case.exit_code, stderr
    if exit_code == EXIT_OK:
        assert stdout.count(".") == 2, stdout
        return
    assert stderr.startswith("up42keys: error: "), stderr
    assert len(stderr.splitlines()) == 1, stderr
    assert case.words in stderr, stderr
    assert len(stderr) < 1000, stderr


def tokens_cached() -> list[str]:
    tokens = Path(paths.tokens_dir())
    return sorted(path.name for path in tokens.iterdir()) if tokens.exists() else []


@pytest.mark.parametrize("name", list(CASES))
def test_a_hostile_answer_is_one_line(run, server, project_id, monkeypatch, name):
    for variable, value in environment(server, project_id).items():
        monkeypatch.setenv(variable, value)
    server.inject(*CASES[name].answers(server, project_id))
    outcome = run("token")
    check(name, outcome.exit_code, outcome.stdout, outcome.stderr)
    if outcome.exit_code != EXIT_OK:
        assert tokens_cached() == [], "a refused answer was cached"


def test_a_token_for_another_project_is_not_cached_for_a_profile(run, server, project_id):
    import jwt

    from tests.helpers import add_profile

    add_profile(run, server, "prod", project_id, "--no-verify", check=True)
    other = str(uuid.uuid4())
    server.inject(token_body(server.mint_jwt(other, 300)))
    outcome = run("token", "prod")
    assert outcome.exit_code == EXIT_UNAVAILABLE, outcome.stderr
    assert len(outcome.stderr.splitlines()) == 1
    assert other in outcome.stderr
    assert project_id in outcome.stderr
    assert tokens_cached() == []
    # The next answer is right: it is served, and the wrong one never was.
    outcome = run("token", "prod")
    assert outcome.exit_code == EXIT_OK, outcome.stderr
    claims = jwt.decode(outcome.stdout.strip(), options={"verify_signature": False})
    assert claims["sub"] == project_id


def peak_run(args: list[str], env: dict[str, str]) -> tuple[int, str, str, int]:
    """Exit code, stdout, stderr and the child's peak resident memory in KiB (wait4)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        child = subprocess.Popen(args, stdout=out, stderr=err, env={**os.environ, **env})
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return child.returncode, out.read().decode(), err.read().decode(), usage.ru_maxrss


# The answers whose size is the hazard: their runs are the installed command's, whose peak
# memory wait4 reports. The others run through the fork server (tests/forkserver.py): the
# same installed code in a process of its own, without the 0.4 CPU-s of a start.
def is_big(name: str) -> bool:
    return any(word in name for word in ("bomb", "KiB", "nested", "digits"))


def test_every_hostile_answer_as_a_process(server, project_id, fork_server):
    """The figure: tracebacks of all cases, and the peak memory of a bomb against a normal run."""
    command = installed_command()
    env = environment(server, project_id)
    failures = []
    tracebacks = 0
    peaks = {}
    for name, case in CASES.items():
        cache = tempfile.mkdtemp()
        server.faults.clear()
        server.inject(*case.answers(server, project_id))
        run_env = {**env, "UP42KEYS_CACHE_DIR": cache}
        if is_big(name):
            code, stdout, stderr, peaks[name] = peak_run([command, "token"], run_env)
        else:
            forked = fork_server.run(["token"], {**os.environ, **run_env})
            code, stdout, stderr = forked.returncode, forked.stdout, forked.stderr
        tracebacks += "Traceback" in stderr
        try:
            check(name, code, stdout, stderr)
        except AssertionError as error:
            failures.append(f"{name}: {error}")
    server.faults.clear()
    normal = peak_run([command, "token"], {**env, "UP42KEYS_CACHE_DIR": tempfile.mkdtemp()})
    assert normal[0] == EXIT_OK, normal[2]
    worst = max(peaks, key=peaks.__getitem__)
    print(
        f"\n{tracebacks} tracebacks of {len(CASES)} hostile answers ({len(peaks)} installed, "
        f"the rest forked); peak memory: normal mint "
        f"{normal[3] / 1024:.1f} MiB, gzip-in-gzip bomb {peaks['gzip in gzip bomb'] / 1024:.1f} "
        f"MiB, worst case '{worst}' {peaks[worst] / 1024:.1f} MiB"
    )
    assert failures == [], "\n".join(failures)
    assert tracebacks == 0
    # A few MiB over a normal run at most (the body limit is 1 MiB, after decompressing).
    assert peaks[worst] - normal[3] < 16 * 1024, peaks
