"""Files and processes under attack (issue 18, "Files and processes"); figures print with -s.

- a symlink planted where a directory of ours goes is never chmod-ed through;
- SIGTERM during a keyring write does not empty a file keyring;
- a process that holds a secret is not dumpable (nor readable through /proc by its user);
- a file keyring backend is used only when the user chose it;
- a lock wait ends only when one holder keeps the lock too long, not in a storm.

The tests run as root (here and in CI): they chown to another uid, and run as one.
"""

from __future__ import annotations

import configparser
import os
import random
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import (
    API_KEY,
    installed_command,
    require_os_feature,
    run_forked,
    run_in_process,
    run_installed,
)
from tests.forkserver import INSTALLED_EVERY, Child
from tests.helpers import add_profile, give_installed_command_the_key, run_python
from tests.test_concurrency import finish, spawn, way

OTHER_UID = 54321


@pytest.fixture(autouse=True)
def as_root() -> None:
    if os.geteuid() != 0:
        pytest.fail("these tests chown to another uid and run as one, which needs root")


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode) | (os.lstat(path).st_mode & stat.S_ISVTX)


# --- 1. planted symlinks ----------------------------------------------------------------


@pytest.fixture
def planted(tmp_path: Path) -> dict[str, Path]:
    """A shared 1777 directory, as /tmp is, and three things a link there could point at."""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    targets = {"dir-0755": tmp_path / "open", "dir-1777": tmp_path / "sticky"}
    targets["dir-0755"].mkdir()
    targets["dir-0755"].chmod(0o755)
    targets["dir-1777"].mkdir()
    targets["dir-1777"].chmod(0o1777)
    root_file = tmp_path / "root-file"
    root_file.write_text("root's\n")
    root_file.chmod(0o644)
    os.chown(root_file, 0, 0)
    targets["root-file"] = root_file
    return {"shared": shared, **targets}


TARGETS = ["dir-0755", "dir-1777", "root-file"]


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("variable", ["UP42KEYS_CACHE_DIR", "UP42KEYS_CONFIG_DIR"])
def test_a_link_planted_as_our_directory_is_refused_and_its_target_keeps_its_mode(
    planted, server, project_id, variable, target
):
    link = planted["shared"] / "up42keys"
    link.symlink_to(planted[target])
    before = mode(planted[target])
    result = add_profile(
        lambda *a, input: run_forked(*a, input=input, env={variable: str(link)}),
        server, "dev", project_id, "--no-verify",
    )  # fmt: skip
    after = mode(planted[target])
    print(f"\n{variable} -> {target}: mode {before:04o} -> {after:04o}, exit {result.returncode}")
    assert after == before
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith("up42keys: error: "), result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert str(link) in result.stderr
    if target != "root-file":  # (that one is "not a directory" when read first, as config)
        assert f"rm {link}" in result.stderr


@pytest.mark.parametrize("target", TARGETS)
def test_a_link_planted_in_a_shared_runtime_directory_is_not_used(
    planted, server, project_id, target
):
    """XDG_RUNTIME_DIR must be the user's and 0700 (the XDG spec): a shared one is ignored."""
    (planted["shared"] / "up42keys").symlink_to(planted[target])
    before = mode(planted[target])
    env = {
        "XDG_RUNTIME_DIR": str(planted["shared"]),
        "UP42_PROJECT_ID": project_id,
        "UP42_PROJECT_API_KEY": API_KEY,
        "UP42_API_URL": server.url,
    }
    result = run_forked("exec", "--", "sh", "-c", 'cat "$UP42_TOKEN_FILE" >/dev/null', env=env)
    after = mode(planted[target])
    print(f"\nXDG_RUNTIME_DIR/up42keys -> {target}: mode {before:04o} -> {after:04o}")
    assert after == before
    assert result.returncode == 0, result.stderr


def test_a_private_directory_of_ours_behind_a_link_of_ours_is_used(tmp_path, server, project_id):
    """A dotfile manager's link to the user's own 0700 directory keeps working."""
    real = tmp_path / "real-cache"
    real.mkdir(mode=0o700)
    link = tmp_path / "cache-link"
    link.symlink_to(real)
    call = lambda *a, input: run_forked(*a, input=input, env={"UP42KEYS_CACHE_DIR": str(link)})  # noqa: E731
    assert add_profile(call, server, "dev", project_id, "--no-verify").returncode == 0
    assert mode(real) == 0o700
    assert (real / "profiles.keys").exists()


def test_a_link_of_another_user_is_refused_with_the_chown_fix(tmp_path, server, project_id):
    real = tmp_path / "real-cache"
    real.mkdir(mode=0o700)
    link = tmp_path / "cache-link"
    link.symlink_to(real)
    os.lchown(link, OTHER_UID, OTHER_UID)
    call = lambda *a, input: run_forked(*a, input=input, env={"UP42KEYS_CACHE_DIR": str(link)})  # noqa: E731
    result = add_profile(call, server, "dev", project_id, "--no-verify")
    assert result.returncode == 1
    assert f"chown -R {os.geteuid()} {link}" in result.stderr
    assert len(result.stderr.splitlines()) == 1


# --- 2. SIGTERM during keyring writes --------------------------------------------------

KEYRING_WRITES = 52
OTHER_ENTRIES = 1000  # a keyring that takes a while to rewrite, as a used one does


def keyring_file() -> Path:
    from keyrings.alt.file import PlaintextKeyring

    return Path(PlaintextKeyring().file_path)


def entries(path: Path) -> int:
    parser = configparser.RawConfigParser()
    try:
        parser.read(path, encoding="utf-8")
    except configparser.Error:
        return -1
    return sum(len(parser.options(section)) for section in parser.sections())


def test_sigterm_during_keyring_writes_never_empties_the_keyring(
    up42keys, server, project_id, fork_server
):
    """keyrings.alt rewrites its whole file; a SIGTERM in the middle once emptied it.

    Half the signals land when the file is seen truncated (mid-rewrite), half at a
    random instant of the command's run. Each pair of runs in INSTALLED_EVERY is the
    installed command, the others fork-server children; a forked run is shorter (no
    imports), so its random instant is drawn from a range shortened in proportion.
    """
    add_profile(run_in_process, server, "dev", project_id, "--no-verify", check=True)
    from keyrings.alt.file import PlaintextKeyring

    backend = PlaintextKeyring()
    for number in range(OTHER_ENTRIES):
        backend.set_password("other-tool", f"user{number}", f"secret-{number}")
    path = keyring_file()
    whole = entries(path)
    args = ["set-secret", "dev", "--api-key-stdin", "--no-verify"]

    def start(key: str, installed: bool) -> subprocess.Popen[str] | Child:
        if not installed:
            return fork_server.start(args, stdin=key)
        process = subprocess.Popen(
            [installed_command(), *args],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            text=True,
        )  # fmt: skip
        process.stdin.write(key)
        process.stdin.close()
        return process

    lasted = {}  # one run of each way, to its end: how long a forked one takes, in proportion
    for installed in (True, False):
        begin = time.monotonic()
        assert start(f"{API_KEY}\n", installed).wait(timeout=60) == 0
        lasted[installed] = time.monotonic() - begin
    emptied, lost, struck, installed_runs, installed_struck = 0, 0, 0, 0, 0
    rng = random.Random(18)  # noqa: S311 - when to strike, not a secret
    for attempt in range(KEYRING_WRITES):
        size = path.stat().st_size
        installed = attempt // 2 % INSTALLED_EVERY == 0
        process = start(f"{API_KEY}-{attempt}\n", installed)
        if attempt % 2:
            time.sleep(rng.uniform(0.05, 0.6) * lasted[installed] / lasted[True])
        else:
            while process.poll() is None and path.stat().st_size >= size:
                time.sleep(0.0005)  # not a busy loop: the other tests share the CPUs
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            struck += 1
            installed_struck += installed
        installed_runs += installed
        process.wait(timeout=60)
        count = entries(path)
        emptied += count <= 0
        lost += count < whole
    print(
        f"\nkeyring writes under SIGTERM: {KEYRING_WRITES} runs ({installed_runs} installed, the "
        f"others forked: tests/forkserver.py), {struck} signalled before the end "
        f"({installed_struck} installed), {emptied} emptied keyrings, {lost} with entries lost"
    )
    assert emptied == 0
    assert lost == 0
    assert entries(path) >= whole  # (a staged entry may wait for the next change)


# --- 3. non-dumpable -------------------------------------------------------------------


def test_reading_a_secret_makes_the_process_non_dumpable():
    script = (
        "import ctypes; from up42keys.store import coredumps\n"
        "libc = ctypes.CDLL(None)\n"
        "print(libc.prctl(3, 0, 0, 0, 0))\n"  # PR_GET_DUMPABLE
        "coredumps.forbid()\n"
        "print(libc.prctl(3, 0, 0, 0, 0))\n"
    )
    result = run_python(script)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1", "0"]


OPENS_PARENT = """
import os
try:
    open(f"/proc/{os.getppid()}/mem", "rb").close()
    print("open")
except PermissionError:
    print("closed")
"""


def test_exec_parent_memory_is_not_readable_by_its_own_user(server, project_id):
    """The child of ``exec`` runs as the same user: it must not open the parent's memory.

    The tests run as root, whose CAP_SYS_PTRACE opens any process's memory: both
    processes run without it (setpriv), as the same user without that privilege.
    """
    require_os_feature(shutil.which("setpriv") is not None, "setpriv (util-linux) is missing")
    env = {
        **os.environ,
        "UP42_PROJECT_ID": project_id,
        "UP42_PROJECT_API_KEY": API_KEY,
        "UP42_API_URL": server.url,
    }
    result = subprocess.run(
        ["setpriv", "--bounding-set", "-sys_ptrace", installed_command(), "exec", "--",
         sys.executable, "-c", OPENS_PARENT],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    print(f"\nexec's parent's memory, opened by its child (same uid): {result.stdout.strip()}")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["closed"]


def test_the_probe_opens_the_memory_of_a_dumpable_parent():
    """The probe above can fail: without forbid(), the same child opens the memory."""
    require_os_feature(shutil.which("setpriv") is not None, "setpriv (util-linux) is missing")
    parent = f"import subprocess, sys\nsubprocess.run([sys.executable, '-c', {OPENS_PARENT!r}])"
    result = subprocess.run(
        ["setpriv", "--bounding-set", "-sys_ptrace", sys.executable, "-c", parent],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.stdout.split() == ["open"], result.stderr


# --- 4. file backends only when chosen -------------------------------------------------


def no_keyring_chosen() -> dict[str, str]:
    """The environment of a user who configured no backend, and has no Secret Service."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHON_KEYRING_BACKEND"}
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    return env


def test_an_installed_file_backend_is_not_picked_by_itself(server, project_id, tmp_path):
    import keyrings.cryptfile  # noqa: F401 - the test extra installs it: it must be here

    result = subprocess.run(
        [installed_command(), "add", "dev", "--project-id", project_id, "--api-url",
         server.url, "--api-key-stdin", "--no-verify"],
        input=API_KEY + "\n", capture_output=True, text=True, env=no_keyring_chosen(),
        timeout=60, check=False,
    )  # fmt: skip
    created = list(Path(os.environ["XDG_DATA_HOME"]).rglob("cryptfile_pass.cfg"))
    print(f"\nunchosen cryptfile: exit {result.returncode}, keyring files {len(created)}")
    assert result.returncode == 6, result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert "PYTHON_KEYRING_BACKEND=keyrings.cryptfile.cryptfile.CryptFileKeyring" in result.stderr
    assert "encrypted keyring" not in result.stdout + result.stderr  # no cryptfile prompt
    assert created == []
    assert run_installed("list").stdout.strip() == ""


BACKEND = "import sys; from up42keys.store import keychain; print(keychain.backend_name())"


def test_a_file_backend_the_user_chose_is_used(tmp_path):
    chosen = "keyrings.cryptfile.cryptfile.CryptFileKeyring"
    by_variable = run_python(BACKEND, env={**no_keyring_chosen(), "PYTHON_KEYRING_BACKEND": chosen})
    assert by_variable.stdout.strip() == chosen, by_variable.stderr
    config = Path(os.environ["XDG_CONFIG_HOME"]) / "python_keyring" / "keyringrc.cfg"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f"[backend]\ndefault-keyring = {chosen}\n")
    environment = no_keyring_chosen()
    environment.pop("PYTHON_KEYRING_BACKEND", None)
    by_file = subprocess.run(
        [sys.executable, "-c", BACKEND], capture_output=True, text=True, env=environment,
        timeout=60, check=False,
    )  # fmt: skip
    assert by_file.stdout.strip() == chosen, by_file.stderr


# --- 5. lock waits in a storm ----------------------------------------------------------

STORM = 30


def test_a_storm_of_refreshes_gets_no_lock_error(up42keys, server, project_id, fork_server):
    add_profile(run_in_process, server, "dev", project_id, "--no-verify", check=True)
    give_installed_command_the_key("dev")
    env = {"UP42KEYS_TIMEOUT": "2"}
    # One in INSTALLED_EVERY is the installed command; the fork server starts the others.
    processes = [
        spawn(["token", "dev", "--refresh"], env, "", way(fork_server, n)) for n in range(STORM)
    ]
    outcomes = [(stderr, code) for code, _, stderr in finish(processes, timeout=600)]
    lock_errors = sum("held the lock" in stderr for stderr, _ in outcomes)
    failures = [stderr for stderr, code in outcomes if code != 0]
    installed = len(range(0, STORM, INSTALLED_EVERY))
    print(f"\nstorm of {STORM} 'token --refresh' at UP42KEYS_TIMEOUT=2 ({installed} installed, "
          f"the others forked: tests/forkserver.py): {lock_errors} lock errors")  # fmt: skip
    assert lock_errors == 0, failures[:3]
    assert failures == []


HOLD_AND_STOP = """
import os, signal, sys
from up42keys.store import locks
with locks.profile_lock("dev"):
    print("held", flush=True)
    os.kill(os.getpid(), signal.SIGSTOP)
"""


def test_a_stopped_holder_still_ends_the_wait_in_the_lock_error(up42keys, server, project_id):
    add_profile(run_in_process, server, "dev", project_id, "--no-verify", check=True)
    give_installed_command_the_key("dev")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_AND_STOP], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        # lock_timeout at 0.5 s: 3 x 0.5 + 2 x 0.5 + 0.5 = 3 s of no change in the holder.
        result = run_installed("token", "dev", "--refresh", env={"UP42KEYS_TIMEOUT": "0.5"})
        print(f"\nwait for a stopped holder ended after {time.monotonic() - started:.1f} s")
    finally:
        holder.kill()
        holder.wait()
    assert result.returncode == 1
    assert "held the lock on profile 'dev'" in result.stderr
    assert f"(process {holder.pid})" in result.stderr
    assert len(result.stderr.splitlines()) == 1
