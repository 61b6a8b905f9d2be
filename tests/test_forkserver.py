"""The fork server's children are the installed command: same answers, files and process.

tests/forkserver.py runs the stress loops' commands in children of a helper that imported
up42keys once. Each check here runs the same thing both ways and compares: the commands'
exit codes, output and resulting files; what a process finds at start and at exit (a
``sitecustomize`` on PYTHONPATH looks, in both); how a signal ends it; and that two
requests' environments never leak into each other.
"""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import time
import uuid
from pathlib import Path

import filelock
import pytest

from tests.conftest import API_KEY
from tests.forkserver import ForkServer
from tests.helpers import claims
from tests.test_concurrency import finish, spawn
from up42keys import files, paths

# Written by each process that has it on its PYTHONPATH: what it found at start, and at exit.
PROBE = """
import atexit, json, os, signal, sys, threading

def _facts():
    streams = {
        name: [stream.encoding, stream.errors, stream.line_buffering, stream.write_through,
               stream.name, stream.mode, stream.fileno(), stream is getattr(sys, "__%s__" % name)]
        for name, stream in (("stdin", sys.stdin), ("stdout", sys.stdout), ("stderr", sys.stderr))
    }
    dispositions = {
        number: str(signal.getsignal(number))
        for number in signal.valid_signals()
        if number not in (signal.SIGKILL, signal.SIGSTOP)
    }
    with open("/proc/self/status") as status:
        umask = [line for line in status if line.startswith("Umask")]
    return {
        "path": sys.path, "argv": sys.argv, "orig_argv": sys.orig_argv,
        "executable": sys.executable, "flags": list(sys.flags), "cwd": os.getcwd(),
        "environ": dict(os.environ), "signals": dispositions, "umask": umask,
        "mask": sorted(signal.pthread_sigmask(signal.SIG_BLOCK, [])),
        "streams": streams, "descriptors": sorted(os.listdir("/proc/self/fd"))[:-1],
        "threads": threading.active_count(), "pgid": os.getpgid(0) == os.getpgid(os.getppid()),
    }

_out = os.environ["PROBE_OUT"]
with open(_out + ".start", "w") as _stream:
    json.dump(_facts(), _stream)

def _at_exit():
    facts = _facts()
    main = sys.modules["__main__"]
    facts["main"] = [main.__file__, main.__package__, main.__spec__ is None]
    with open(_out + ".exit", "w") as stream:
        json.dump(facts, stream)

atexit.register(_at_exit)
"""


def run_both(
    fork_server: ForkServer, args: list[str], env: dict[str, str], stdin: str = ""
) -> tuple[subprocess.CompletedProcess[str], subprocess.CompletedProcess[str]]:
    """The same command, installed and through the fork server, each in its own home."""
    [(code, out, err)] = finish([spawn(args, env, stdin)])
    installed = subprocess.CompletedProcess(args, code, out, err)
    forked = fork_server.run(args, homed(env, "forked"), stdin=stdin)
    return installed, forked


def homed(env: dict[str, str], name: str) -> dict[str, str]:
    """``env`` with its home directories moved to the sibling ``name``."""
    home = Path(env["HOME"])
    return {key: value.replace(str(home), str(home.parent / name)) for key, value in env.items()}


def tree(root: Path) -> dict[str, tuple[int, bytes]]:
    """Each file and directory below ``root``: its mode, and its bytes where they are the
    same in every run (not a token, a lock holder's PID, the key index's file stamp)."""
    found = {}
    for path in sorted(root.rglob("*")):
        content = b""
        name = path.relative_to(root).as_posix()
        if path.is_file() and "token" not in name and path.suffix not in (".lock", ".holder"):
            content = path.read_bytes().replace(str(root).encode(), b"HOME")
            if path.name == paths.KEY_INDEX_FILE:
                content = content.split(b"\n", 1)[1]
        found[name] = (stat.S_IMODE(path.lstat().st_mode), content)
    return found


def environment(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"))
    env.update(XDG_CACHE_HOME=str(home / ".cache"), XDG_DATA_HOME=str(home / ".local/share"))
    return env


def test_commands_answer_and_leave_the_same_files_both_ways(fork_server, server, tmp_path):
    project = str(uuid.uuid4())
    server.add_project(project, API_KEY)
    env = environment(tmp_path / "installed")
    add = ["add", "prod", "--project-id", project, "--api-url", server.url, "--api-key-stdin"]
    steps: list[tuple[list[str], str]] = [
        ([*add, "--no-verify"], API_KEY + "\n"),
        (["list"], ""),
        (["use", "prod"], ""),
        (["token", "--refresh"], ""),
        (["token"], ""),  # the fast path
        (["current"], ""),
        (["use", "nope"], ""),  # fails: exit code and message
        (["rename", "prod", "dev"], ""),
        (["list"], ""),
        (["token", "dev", "--refresh"], ""),
        (["remove", "dev"], ""),
        (["current"], ""),
    ]
    failures = 0
    for args, stdin in steps:
        installed, forked = run_both(fork_server, args, env, stdin)
        assert forked.returncode == installed.returncode, (args, installed, forked)
        home, other = str(tmp_path / "installed"), str(tmp_path / "forked")
        assert forked.stderr.replace(other, home) == installed.stderr, args
        if args[0] == "token":
            assert claims(forked.stdout)["sub"] == claims(installed.stdout)["sub"] == project
        else:
            # A token's time left is told to the second: the two runs are a moment apart.
            left = re.compile(r"valid for [^\n]*")
            forked_out = left.sub("valid", forked.stdout.replace(other, home))
            assert forked_out == left.sub("valid", installed.stdout), args
        assert tree(tmp_path / "forked") == tree(tmp_path / "installed"), args
        failures += installed.returncode != 0
    assert failures == 2  # `use nope`, and `current` with no profile: both compared


def test_a_process_finds_the_same_at_start_and_at_exit(fork_server, tmp_path):
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(PROBE)
    found, outputs = {}, []
    for way in ("installed", "forked"):
        env = {**environment(tmp_path / "home"), "PYTHONPATH": f"{hook}:relative"}
        env["PROBE_OUT"] = str(tmp_path / way)
        if way == "installed":
            outputs += finish([spawn(["list"], env)])
        else:
            forked = fork_server.run(["list"], env)
            outputs.append((forked.returncode, forked.stdout, forked.stderr))
        for moment in ("start", "exit"):
            facts = json.loads(Path(f"{tmp_path / way}.{moment}").read_text())
            facts["environ"]["PROBE_OUT"] = "-"
            found[way, moment] = facts
    assert outputs[0] == outputs[1]
    assert outputs[0][0] == 0
    assert "Error in sitecustomize" not in outputs[0][2]
    for moment in ("start", "exit"):
        assert found["forked", moment] == found["installed", moment], moment
    # What the comparison rests on: PYTHONPATH first, and up42keys took over SIGINT.
    assert found["installed", "start"]["path"][:2] == [str(hook), str(Path.cwd() / "relative")]
    assert found["installed", "start"]["signals"]["2"] == str(signal.default_int_handler)
    assert found["installed", "exit"]["signals"]["2"] == str(signal.SIG_DFL)


@pytest.mark.parametrize("number", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
def test_a_signalled_child_reports_the_signal_as_the_installed_command(
    fork_server, server, tmp_path, number
):
    """A child waits for a held lock, is signalled, and ends as the installed command does."""
    project = str(uuid.uuid4())
    server.add_project(project, API_KEY)
    env = {**environment(tmp_path / "home"), "UP42KEYS_CACHE_DIR": str(tmp_path / "cache")}
    add = ["add", "prod", "--project-id", project, "--api-url", server.url, "--api-key-stdin"]
    assert fork_server.run([*add, "--no-verify"], env, stdin=API_KEY + "\n").returncode == 0
    files.ensure_private_dir(str(tmp_path / "cache" / paths.LOCKS_DIR))
    codes = []
    with filelock.FileLock(tmp_path / "cache" / paths.LOCKS_DIR / "prod.lock"):
        for start in (spawn, fork_server.start):
            process = start(["token", "--refresh"], env)
            time.sleep(1.5)  # past the start: waiting for the lock
            assert process.poll() is None
            process.send_signal(number)
            codes.append(process.wait(timeout=60))
    assert codes == [-number, -number]
    assert server.mints == 0


def test_two_environments_never_see_each_others_profiles(fork_server, server, tmp_path):
    project = str(uuid.uuid4())
    server.add_project(project, API_KEY)
    envs = [environment(tmp_path / "home")] * 2
    envs = [
        {**env, "UP42KEYS_CONFIG_DIR": str(tmp_path / f"config{n}")} for n, env in enumerate(envs)
    ]
    for name, env in zip(("one", "two"), envs, strict=True):
        add = ["add", name, "--project-id", project, "--api-url", server.url, "--api-key-stdin"]
        assert fork_server.run([*add, "--no-verify"], env, stdin=API_KEY + "\n").returncode == 0
    # At once, interleaved: each child sees its own request's environment only.
    children = [fork_server.start(["current"], env, stdout="pipe") for env in envs * 4]
    assert [child.communicate(60)[0] for child in children] == ["one\n", "two\n"] * 4
    assert [child.returncode for child in children] == [0] * 8


def test_a_request_a_fresh_interpreter_would_start_differently_is_refused(fork_server):
    env = {**os.environ, "PYTHONHASHSEED": "123", "PYTHONDONTWRITEBYTECODE": "x"}
    with pytest.raises(RuntimeError, match="PYTHONDONTWRITEBYTECODE, PYTHONHASHSEED"):
        fork_server.start(["list"], env)
