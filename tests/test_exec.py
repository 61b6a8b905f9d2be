"""exec: the command gets the token, its exit code comes back, signals reach it."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import installed_command
from tests.fakeup42 import Fault
from tests.helpers import claims
from tests.shellkit import add_prod_and_dev, require, run_shell, shell_env
from up42keys.ops import execute

# A child that reports each forwarded signal on stdout, and exits 42 on SIGTERM. On SIGUSR2
# it reports how many times SIGINT arrived: the wakeup fd gets one byte per delivery, even
# where Python would run the handler once for two deliveries close together.
REPORTER = textwrap.dedent(
    """
    import os, signal, sys
    wakeup_read, wakeup_write = os.pipe()
    os.set_blocking(wakeup_read, False)
    os.set_blocking(wakeup_write, False)
    signal.set_wakeup_fd(wakeup_write, warn_on_full_buffer=False)
    delivered = bytearray()
    def report(signum, frame):
        name = signal.Signals(signum).name
        if name == "SIGUSR2":
            try:
                delivered.extend(os.read(wakeup_read, 4096))
            except BlockingIOError:
                pass
            print("counts", delivered.count(signal.SIGINT), flush=True)
        else:
            print(name, flush=True)
        if name == "SIGTERM":
            sys.exit(42)
    for name in NAMES:
        signal.signal(getattr(signal, name), report)
    print("ready", flush=True)
    while True:
        signal.pause()
    """
).replace("NAMES", repr(execute.FORWARDED_SIGNALS))


@pytest.fixture
def profiles(server, project_id):
    return add_prod_and_dev(server, project_id)


def dump_env(*names: str) -> list[str]:
    return [
        sys.executable,
        "-c",
        f"import json, os; print(json.dumps([os.environ.get(n) for n in {names!r}]))",
    ]


def test_exec_runs_the_command_with_the_profiles_token(forked, profiles):
    result = forked(
        "exec", "dev", "--", *dump_env("UP42_TOKEN", "UP42_PROJECT_ID", "UP42KEYS_PROFILE")
    )
    assert result.returncode == 0, result.stderr
    token, project, profile = json.loads(result.stdout)
    assert claims(token)["sub"] == profiles["dev"]
    assert (project, profile) == (profiles["dev"], "dev")


def test_exec_without_name_uses_the_current_profile_and_keeps_the_rest(forked, profiles):
    result = forked("exec", "--", *dump_env("UP42KEYS_PROFILE", "KEPT"), env={"KEPT": "yes"})
    assert json.loads(result.stdout) == ["prod", "yes"], result.stderr


def test_exec_passes_arguments_untouched(forked, profiles):
    args = ["--", "-x", "--help", "", "a b", "$HOME"]
    script = "import json, sys; print(json.dumps(sys.argv[1:]))"
    result = forked("exec", "prod", "--", sys.executable, "-c", script, *args)
    assert json.loads(result.stdout) == args, result.stderr


def test_exec_hands_over_open_descriptors_as_a_shell_does(profiles, tmp_path):
    (tmp_path / "input").write_text("through fd 3\n")
    script = f"up42keys exec -- sh -c 'cat <&3' 3<{tmp_path / 'input'}"
    result = run_shell("bash", script)
    assert result.stdout == "through fd 3\n", result.stderr


@pytest.mark.parametrize(
    ("script", "code"),
    [("exit 0", 0), ("exit 7", 7), ("kill -TERM $$", 128 + signal.SIGTERM), ("kill -KILL $$", 137)],
)
def test_exec_exits_with_the_commands_code(forked, profiles, script, code):
    assert forked("exec", "--", "sh", "-c", script).returncode == code


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["exec", "prod", "true"], 2, "after '--'"),
        (["exec", "prod"], 2, "after '--'"),
        (["exec", "prod", "--"], 2, "after '--'"),
        (["exec", "nope", "--", "true"], 3, "no profile named 'nope'"),
        (["exec", "--", "no-such-command-up42"], 127, "command not found: no-such-command-up42"),
        (["exec", "--", "/etc/passwd"], 126, "cannot run /etc/passwd"),
    ],
)
def test_exec_errors(forked, profiles, args, code, message):
    result = forked(*args)
    assert result.returncode == code
    assert result.stderr.startswith("up42keys: error: ")
    assert message in result.stderr
    assert len(result.stderr.splitlines()) == 1


def read_line(process: subprocess.Popen[str], timeout: float = 20) -> str:
    """The child's next line, or a failure instead of a hang when it never comes."""
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            process.kill()
            pytest.fail("the command printed nothing: a signal did not reach it")
    return process.stdout.readline().strip()


def start_reporter(prefix: list[str] | None = None, **popen: object) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [*(prefix or []), installed_command(), "exec", "--", sys.executable, "-c", REPORTER],
        stdout=subprocess.PIPE,
        text=True,
        env=shell_env(),
        **popen,  # type: ignore[call-overload]
    )
    assert read_line(process) == "ready"
    return process


def test_signals_reach_the_command(profiles):
    # A session of its own: no controlling terminal, as under a supervisor or in CI.
    process = start_reporter(start_new_session=True)
    try:
        for name in execute.FORWARDED_SIGNALS:
            if name != "SIGTERM":
                process.send_signal(getattr(signal, name))
                # The child answers SIGUSR2 with how many SIGINTs it got: exactly one.
                assert read_line(process) == ("counts 1" if name == "SIGUSR2" else name)
        process.send_signal(signal.SIGTERM)
        assert read_line(process) == "SIGTERM"
        assert process.wait(timeout=20) == 42
    finally:
        process.kill()


def test_ctrl_c_in_the_terminal_reaches_the_command_once(profiles):
    """In the terminal's foreground group, the terminal delivers SIGINT; exec must not add one."""
    import pty
    import termios

    leader, follower = pty.openpty()
    try:
        # setsid --ctty: exec leads a new session whose terminal is the pty on its stdin,
        # and so sits in that terminal's foreground process group, as typed at a prompt.
        process = start_reporter([require("setsid"), "--ctty"], stdin=follower)
        try:
            # Stop exec first, so that its copy of the terminal's SIGINT waits until the
            # command has handled its own: a forwarded duplicate then arrives on its own.
            process.send_signal(signal.SIGSTOP)
            assert os.WIFSTOPPED(os.waitpid(process.pid, os.WUNTRACED)[1])
            os.write(leader, termios.tcgetattr(follower)[6][termios.VINTR])
            assert read_line(process) == "SIGINT"
            process.send_signal(signal.SIGCONT)
            process.send_signal(signal.SIGUSR2)
            assert read_line(process) == "counts 1"
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=20) == 42
        finally:
            process.kill()
    finally:
        os.close(leader)
        os.close(follower)


# A child that reads UP42_TOKEN_FILE, waits until UP42_TOKEN (the token at the start) has
# expired, reads the file again and reports both reads with the time it read them.
OUTLIVER = textwrap.dedent(
    """
    import json, os, time, jwt
    def read():
        with open(os.environ["UP42_TOKEN_FILE"]) as stream:
            return stream.read().strip()
    first = read()
    start_exp = jwt.decode(os.environ["UP42_TOKEN"], options={"verify_signature": False})["exp"]
    while time.time() <= start_exp + 0.5:
        time.sleep(0.1)
    # Past the first token's end, the file has changed or does so soon: a loaded machine
    # may deliver the renewal late, so wait for the change (up to a minute), not a fixed time.
    later, deadline = read(), time.time() + 60
    while later == first and time.time() < deadline:
        time.sleep(0.05)
        later = read()
    print(json.dumps({"first": first, "later": later, "read_at": time.time(),
                      "path": os.environ["UP42_TOKEN_FILE"]}))
    """
)


def test_exec_token_file_holds_a_valid_token_after_the_first_expired(forked, server, profiles):
    # Six-second tokens renewed with three seconds left, as tests/reachkit.py says why.
    server.token_ttl = 6
    result = forked(
        "exec", "dev", "--", sys.executable, "-c", OUTLIVER, env={"UP42KEYS_MIN_TTL": "3"}
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    later = claims(report["later"])
    assert report["later"] != report["first"]
    assert later["sub"] == profiles["dev"]
    assert later["exp"] > report["read_at"]
    assert not os.path.exists(report["path"])
    assert not os.path.exists(os.path.dirname(report["path"]))


def test_exec_removes_the_token_file_however_the_command_ends(forked, profiles):
    for script in ('echo "$UP42_TOKEN_FILE"; exit 9', 'echo "$UP42_TOKEN_FILE"; kill -TERM $$'):
        result = forked("exec", "prod", "--", "sh", "-c", script)
        assert result.returncode in (9, 128 + signal.SIGTERM), result.stderr
        path = result.stdout.strip()
        assert path.endswith("/token")
        assert not os.path.exists(path)


def test_exec_token_file_is_private_and_holds_the_token(forked, profiles):
    script = (
        "import json, os, stat; p = os.environ['UP42_TOKEN_FILE']; "
        "print(json.dumps([open(p).read(), os.environ['UP42_TOKEN'], "
        "stat.S_IMODE(os.stat(p).st_mode), stat.S_IMODE(os.stat(os.path.dirname(p)).st_mode)]))"
    )
    result = forked("exec", "prod", "--", sys.executable, "-c", script)
    content, token, file_mode, dir_mode = json.loads(result.stdout)
    assert content == token + "\n"
    assert (file_mode, dir_mode) == (0o600, 0o700)


def test_exec_failed_renewal_is_reported_and_never_kills_the_command(server, profiles):
    server.token_ttl = 4
    # The child says when it runs, then outlives its first token.
    script = textwrap.dedent(
        """
        import os, time, jwt
        print("ready", flush=True)
        exp = jwt.decode(os.environ["UP42_TOKEN"], options={"verify_signature": False})["exp"]
        while time.time() <= exp + 0.3:
            time.sleep(0.1)
        print("finished", flush=True)
        """
    )
    process = subprocess.Popen(
        [installed_command(), "exec", "dev", "--", sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "UP42KEYS_MIN_TTL": "1", "UP42KEYS_TIMEOUT": "1"},
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == "ready\n"
        server.inject(*[Fault(status=503)] * 30)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0, stderr
    assert stdout == "finished\n"
    assert "up42keys: warning: cannot renew the token" in stderr


def test_exec_drops_an_inherited_key_of_another_project(forked, profiles):
    result = forked(
        "exec",
        "prod",
        "--",
        *dump_env("UP42_PROJECT_API_KEY", "UP42_PROJECT_ID"),
        env={"UP42_PROJECT_API_KEY": "key-of-some-other-project"},
    )
    assert json.loads(result.stdout) == [None, profiles["prod"]], result.stderr
