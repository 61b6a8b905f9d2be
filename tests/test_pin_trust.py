"""Pin files a repository brings: one reading rule for the prompt and the commands, and trust.

The hostile cases are files a cloned repository (or another user) can put at
``.up42keys-profile``. Each case gets its own directory, where this user first ran
``up42keys pin prod`` (so that a trust record for ``prod`` exists there and only the
reading rule decides) before the file was replaced by the hostile one. In each, the
prompt of bash, zsh and fish and the commands (``current``, ``exec``) must name
the same profile, and agree on whether the file is ignored (the prompt's ``up42:!pin``,
the commands' one warning line). prod is protected; the active profile is dev.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import installed_command, run_forked, run_in_process, run_installed
from tests.forkserver import INSTALLED_EVERY
from tests.helpers import claims, environment_in, in_directory
from tests.shellkit import ALL_SHELLS, POSIX_SHELLS, add_prod_and_dev, load, require, run_shell
from up42keys import inputs, paths

PIN = paths.PIN_FILE
MIB = 1024 * 1024


@pytest.fixture
def profiles(forked, server, project_id):
    """prod (protected) and dev (active); dev gets a token, so its prompt shows no '!'."""
    made = add_prod_and_dev(server, project_id)
    assert forked("protect", "prod").returncode == 0
    assert forked("use", "dev").returncode == 0
    return made


def pinned_then_replaced(directory: Path, write: Callable[[Path], None]) -> None:
    """``pin prod`` here (a trust record for prod), then the file replaced by ``write``.

    The set-up runs in-process (the installed command's files, a process start less); the
    pin files' reading is what the tests run as processes."""
    directory.mkdir()
    pinned = run_in_process("pin", "prod", cwd=directory, env=environment_in(directory))
    assert pinned.returncode == 0, pinned.stderr
    (directory / PIN).unlink()
    write(directory / PIN)


def content(data: bytes) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(data)


def symlink_to(data: bytes) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        target = path.parent / "elsewhere"
        target.write_bytes(data)
        path.symlink_to(target)

    return write


def owned_by_another_user(path: Path) -> None:
    path.write_bytes(b"prod\n")
    os.chown(path, 65534, 65534)


def sparse(size: int, head: bytes) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        with path.open("wb") as stream:
            stream.write(head)
            stream.truncate(size)

    return write


# name -> how the file is made. Each is refused, except those the rule accepts (marked).
HOSTILE: dict[str, Callable[[Path], None]] = {
    "crlf": content(b"prod\r\n"),
    "u3000": content("prod\u3000\n".encode()),
    "unit-separator": content(b"prod\x1f\n"),
    "form-feed": content(b"prod\x0c\n"),
    "non-utf8-line-2": content(b"prod\n\xff\n"),
    "non-utf8-line-1": content(b"pr\xffod\n"),
    "nul-at-end": content(b"prod\0"),
    "nul-in-name": content(b"pr\0od\n"),
    "second-line": content(b"prod\ndev\n"),
    "blank-second-line": content(b"prod\n\n"),
    "leading-space": content(b" prod\n"),
    "trailing-tab": content(b"prod\t\n"),
    "too-long-name": content(b"p" * 65 + b"\n"),
    "over-the-limit": content(b"prod\n" + b"#" * inputs.PIN_LIMIT),
    "400-mib": sparse(400 * MIB, b"prod\n"),
    "symlink": symlink_to(b"prod\n"),
    "dangling-symlink": lambda path: path.symlink_to(path.parent / "nothing"),
    "directory": lambda path: path.mkdir(),
    "fifo": os.mkfifo,
    "untrusted-name": content(b"dev\n"),
    "accepted:trusted": content(b"prod\n"),
    "accepted:no-newline": content(b"prod"),
    "accepted:empty": content(b""),
    "accepted:newline-only": content(b"\n"),
}
if hasattr(os, "geteuid") and os.geteuid() == 0:
    HOSTILE["another-user"] = owned_by_another_user


def prompt_says(rendered: str) -> tuple[str | None, bool]:
    """The profile a prompt names (None: none) and whether it marks an ignored pin file."""
    words = rendered.split(" ")
    ignored = "up42:!pin" in words
    names = [word for word in words if word and word != "up42:!pin"]
    if not names:
        return None, ignored
    name = names[0].removeprefix("up42:").removesuffix("[protected]").removesuffix("!")
    return name, ignored


# current and exec run in fork-server children (tests/forkserver.py) for all cases but 1 in
# INSTALLED_EVERY, which run both installed.


@pytest.mark.shells
def test_the_prompt_and_the_commands_never_disagree_on_a_pin_file(profiles, tmp_path):
    root = tmp_path / "cases"
    root.mkdir()
    for case, write in HOSTILE.items():
        pinned_then_replaced(root / case, write)
    commands, outputs = {}, {}
    exec_profile = ["exec", "--", "sh", "-c", 'printf %s "$UP42KEYS_PROFILE"']
    for number, case in enumerate(HOSTILE):
        directory = root / case
        run = run_installed if number % INSTALLED_EVERY == 0 else run_forked
        current = in_directory(directory, "current", run=run)
        ran = in_directory(directory, *exec_profile, run=run)
        warnings = [line for line in current.stderr.splitlines() if "ignoring" in line]
        commands[case] = (current.stdout.strip(), bool(warnings))
        outputs[case] = (current, ran, warnings)
    disagreements, checks = [], 0
    for shell_name in ALL_SHELLS:
        script = load(shell_name) + "".join(
            f"cd {root / case}\n__up42keys_ps1; echo '|'\n" for case in HOSTILE
        )
        result = run_shell(shell_name, script)
        assert result.returncode == 0, result.stderr
        rendered = result.stdout.split("|\n")[:-1]
        assert len(rendered) == len(HOSTILE), result.stdout
        for case, prompt in zip(HOSTILE, rendered, strict=True):
            checks += 1
            if prompt_says(prompt) != commands[case]:
                disagreements.append((shell_name, case, prompt, commands[case]))
    for case, (current, ran, _) in outputs.items():
        checks += 1
        if ran.stdout != current.stdout.strip():
            disagreements.append(("exec", case, ran.stdout, commands[case]))
    installed = len(range(0, len(HOSTILE), INSTALLED_EVERY))
    print(
        f"\npin files: {len(disagreements)} disagreements of {checks}: {disagreements} "
        f"(installed in {installed} of {len(HOSTILE)} cases, else in fork-server children)"
    )
    assert disagreements == []
    assert checks == 4 * len(HOSTILE)
    for case, (current, ran, warnings) in outputs.items():
        assert (current.returncode, ran.returncode) == (0, 0), case + current.stderr + ran.stderr
        assert len(warnings) <= 1, current.stderr
        assert current.stderr.count("\n") == len(warnings), current.stderr
        if warnings:
            assert str(root / case / PIN) in warnings[0]
            assert "up42keys pin" in warnings[0]
        assert ran.stderr.count("ignoring") == len(warnings), ran.stderr
    # The rule as decided (docs/trust-model.md): only the accepted files choose.
    for case, (profile, warned) in commands.items():
        accepted = case.startswith("accepted:")
        chooses = "prod" if case in ("accepted:trusted", "accepted:no-newline") else "dev"
        assert (profile, warned) == (chooses, not accepted), case


@pytest.mark.shells
@pytest.mark.parametrize("shell_name", POSIX_SHELLS)
def test_the_prompt_reads_at_most_the_limit_of_a_huge_pin_file_and_forks_nothing(
    profiles, tmp_path, shell_name
):
    strace = require("strace")
    directory = tmp_path / "huge"
    pinned_then_replaced(directory, sparse(400 * MIB, b"prod\n"))
    script = load(shell_name) + f"cd {directory}\n: <{tmp_path}/start\n__up42keys_ps1\n"
    (tmp_path / "start").touch()
    trace = tmp_path / "trace"
    traced = (strace, "-f", "-qq", "-o", str(trace), "-e", "trace=process,openat,read")
    result = run_shell(shell_name, script, prefix=traced)
    assert result.stdout == "up42:dev up42:!pin", result.stderr
    lines = trace.read_text().splitlines()
    start = next(index for index, line in enumerate(lines) if "/start" in line)
    after = lines[start:]
    assert not [line for line in after if " clone" in line or "fork(" in line or "execve(" in line]
    opened = [line.split()[-1] for line in after if PIN in line and "openat" in line]
    reads = [
        int(line.rsplit("= ", 1)[1].split()[0])
        for line in after
        if line.split()[1:2] and line.split()[1].startswith("read(") and "= " in line
    ]
    print(f"\n{shell_name}: {sum(reads)} bytes read in all, {len(opened)} opening of the pin file")
    # bash reads a file in blocks of 4 KiB (then seeks back); never the 400 MiB.
    assert sum(reads) < 16 * 1024, sum(reads)


def peak_memory_kib(directory: Path, *args: str) -> tuple[int, str]:
    """The peak resident memory of one installed command run in ``directory``, and its stderr."""
    process = subprocess.Popen(
        [installed_command(), *args],
        cwd=directory,
        env=environment_in(directory),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    _, _, usage = os.wait4(process.pid, 0)
    assert process.stderr is not None
    stderr = process.stderr.read()
    process.stderr.close()
    process.returncode = 0
    return usage.ru_maxrss, stderr


def test_a_400_mib_pin_file_costs_nothing(profiles, tmp_path):
    small, huge = tmp_path / "small", tmp_path / "huge"
    pinned_then_replaced(small, content(b"prod\n"))
    pinned_then_replaced(huge, sparse(400 * MIB, b"prod\n"))
    baseline, _ = peak_memory_kib(small, "token")
    peak, stderr = peak_memory_kib(huge, "token")
    print(f"\ntoken beside a 400 MiB pin file: {peak} KiB peak, {baseline} KiB beside a small one")
    assert f"is larger than {inputs.PIN_LIMIT} bytes" in stderr
    assert peak < baseline + 8 * 1024


# -- trust --------------------------------------------------------------------------------------


def test_a_cloned_repository_pinning_protected_prod_gets_no_token_for_it(
    profiles, forked, tmp_path
):
    repository = tmp_path / "clone"
    repository.mkdir()
    (repository / PIN).write_text("prod\n")
    token = in_directory(repository, "token")
    assert token.returncode == 0, token.stderr
    assert claims(token.stdout)["sub"] == profiles["dev"]
    assert token.stderr.count("\n") == 1
    assert f"ignoring {repository / PIN}: it names profile 'prod' and is not trusted" in (
        token.stderr
    )
    ran = in_directory(repository, "exec", "--", "sh", "-c", 'printf %s "$UP42_PROJECT_ID"')
    assert (ran.returncode, ran.stdout) == (0, profiles["dev"])
    # Without an active profile there is nothing to fall back on: an error, not prod.
    (Path(paths.config_dir()) / "active").unlink()
    none = in_directory(repository, "token")
    assert none.returncode != 0
    assert none.stdout == ""
    assert forked("use", "dev").returncode == 0

    # The fix printed works: 'pin --trust' there, and prod is used (the user chose it).
    fix = token.stderr.split("trust it: ", 1)[1].strip()
    assert run_shell("sh", fix).returncode == 0
    assert in_directory(repository, "current").stdout == "prod\n"
    assert claims(in_directory(repository, "token").stdout)["sub"] == profiles["prod"]
    # Trust is for the content: a pull that pins another profile is untrusted again.
    (repository / PIN).write_text("dev\n")
    changed = in_directory(repository, "current", "--explain")
    assert changed.stdout == "dev (the active profile)\n"
    assert "'dev' and is not trusted" in changed.stderr


def test_pin_trusts_what_it_writes_and_off_forgets_it(profiles, tmp_path):
    directory = tmp_path / "mine"
    directory.mkdir()
    assert in_directory(directory, "pin", "prod").returncode == 0
    record = Path(paths.trust_record(str(directory / PIN)))
    assert record.read_text() == "prod\n"
    assert in_directory(directory, "current").stdout == "prod\n"
    assert in_directory(directory, "pin", "--off").returncode == 0
    assert not record.exists()
    (directory / PIN).write_text("prod\n")
    assert in_directory(directory, "current").stdout == "dev\n"


def test_pin_trust_refuses_a_file_the_rule_refuses_and_needs_a_file(profiles, tmp_path):
    directory = tmp_path / "bad"
    directory.mkdir()
    nothing = in_directory(directory, "pin", "--trust")
    assert nothing.returncode == 2
    assert "nothing to trust" in nothing.stderr
    (directory / PIN).write_bytes(b"prod\r\n")
    refused = in_directory(directory, "pin", "--trust")
    assert refused.returncode == 2, refused.stderr
    assert "does not hold one profile name on one line" in refused.stderr
    assert not Path(paths.trust_record(str(directory / PIN))).exists()
    assert in_directory(directory, "pin", "--trust", "prod").returncode == 2


# -- a SIGKILL during pin ---------------------------------------------------------------------

KILLS = 36


def test_sigkill_during_pin_leaves_nothing_after_doctor_fix(profiles, tmp_path):
    directory = tmp_path / "project"
    directory.mkdir()
    env = environment_in(directory)
    rng = random.Random(18)  # noqa: S311 - kill delays, not secrets

    def start_pin() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [installed_command(), "pin", rng.choice(["prod", "dev"])],
            cwd=directory,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    # One run to its end says how long a pin takes on this machine now; each kill lands at a
    # random point of that, and a run that ends first aims the next kills earlier, so the
    # loop reaches KILLS kills however fast or loaded the machine is (as test_crash does).
    begin = time.monotonic()
    assert start_pin().wait(timeout=60) == 0
    duration = time.monotonic() - begin
    kills = runs = 0
    while kills < KILLS:
        runs += 1
        process = start_pin()
        time.sleep(rng.uniform(0.2, 1.0) * duration)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
            duration *= 1.02
        else:
            duration *= 0.85
        process.wait()
        assert (
            (directory / PIN).read_text() in ("prod\n", "dev\n")
            if (directory / PIN).exists()
            else True
        )
    config = Path(paths.config_dir())

    def leftovers() -> list[Path]:
        return [
            path
            for path in [*directory.iterdir(), *config.rglob("*")]
            if path.name.endswith(".tmp")
        ]

    before = leftovers()
    fixed = in_directory(directory, "doctor", "--fix", "--offline")
    after = leftovers()
    print(
        f"\npin: {kills} SIGKILLs in {runs} runs; {len(before)} temporary files"
        f" before doctor --fix, {len(after)} after"
    )
    assert kills == KILLS
    assert after == [], fixed.stdout + fixed.stderr
