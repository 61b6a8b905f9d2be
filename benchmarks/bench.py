"""Start-up cost of the installed ``up42keys``, as a ratio to a bare interpreter start.

Run it with the interpreter the tool is installed in (``.venv/bin/python
benchmarks/bench.py``). It sets up a private home (config, cache and keyring
files in a temporary directory), starts the fake UP42 server of the tests on
127.0.0.1, adds a profile, and then times, in interleaved rounds so that a
change of load on a shared machine hits every command alike:

* ``python -c pass``, the floor, with the interpreter of the installed command;
* ``python -c "import re"``, for information: what pip's launcher pays for its
  own ``import re`` (pip 25 and later no longer import it);
* ``up42keys token`` with a valid cached token, ``up42keys current`` and
  ``up42keys list``, against the floor; and for information the first two
  through the launcher that pip 25 and later write, which imports no ``re``;
* ``up42keys token --refresh`` (a mint against the loopback server), against a
  bare script that makes the same request with httpx;
* a bash start with README's set-up lines (what ``up42keys shell-init bash --cached``
  appends to ~/.bashrc: they source a cached file, built in the warm-up rounds), against a
  bash start without them: what every interactive shell pays for them; and for information
  the uncached lines (``eval "$(up42keys shell-init bash)"`` and ``eval "$(up42keys
  completion bash)"``), which start Python twice. Printed, with the difference in
  milliseconds, and not a target.

It prints each median, its ratio and the target. CI runs ``--quick`` (fewer
rounds) and only prints: a shared machine's load moves these ratios, so they
gate nothing there. The fast path is gated deterministically instead, by the
import allowlist and the ``-X importtime`` tests (tests/test_fastpath.py).
``--strict`` exits 1 when a target is missed, for a developer on a quiet machine.

The keyring backend is keyrings.alt's PlaintextKeyring (``PYTHON_KEYRING_BACKEND``,
its file in the temporary ``XDG_DATA_HOME``): the backend the end-to-end tests
use, a real file read through keyring's whole API, with no D-Bus or desktop
session to wait for; a real Secret Service adds its own round trips on top.
"""

import argparse
import contextlib
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fakeup42 import FakeUp42

API_KEY = "bench-api-key-" + "0123456789" * 3
# The set-up without a cache (docs/shell.md), which starts Python twice: timed for information.
UNCACHED_SETUP_LINES = 'eval "$(up42keys shell-init bash)"; eval "$(up42keys completion bash)"'

# The console script pip 25 and later write (pip pull request 13166): the same as
# before, without ``import re``. Timed beside the installed one, for information.
PIP25_LAUNCHER = """\
# -*- coding: utf-8 -*-
import sys
from up42keys.fastpath import main
if __name__ == "__main__":
    if sys.argv[0].endswith("-script.pyw"):
        sys.argv[0] = sys.argv[0][:-11]
    elif sys.argv[0].endswith(".exe"):
        sys.argv[0] = sys.argv[0][:-4]
    sys.exit(main())
"""

BARE_HTTPX_SCRIPT = """\
import os
import sys

import httpx

response = httpx.post(
    os.environ["BENCH_TOKEN_URL"],
    data={"grant_type": "client_credentials"},
    auth=(os.environ["BENCH_PROJECT_ID"], os.environ["BENCH_API_KEY"]),
)
response.raise_for_status()
sys.stdout.write(response.json()["data"]["accessToken"] + "\\n")
"""


@dataclass(frozen=True)
class Case:
    name: str
    argv: list[str]
    baseline: str | None = None  # the case this one is a ratio of
    target: float | None = None  # at most this ratio
    env: dict[str, str] = field(default_factory=dict)  # added to the environment


def installed_command() -> Path:
    name = "up42keys.exe" if sys.platform == "win32" else "up42keys"
    command = Path(sys.executable).parent / name
    if not command.exists():
        sys.exit(
            f"bench: {command} not found; install up42keys into this interpreter's environment "
            "(pip install '.[test]') and run the benchmark with that interpreter"
        )
    return command


def launcher_interpreter(command: Path) -> str:
    """The interpreter named in the launcher's shebang: the floor must use the tool's own."""
    with contextlib.suppress(OSError, UnicodeDecodeError):
        first = command.read_bytes().split(b"\n", 1)[0].decode()
        if first.startswith("#!") and Path(first[2:].strip()).exists():
            return first[2:].strip()
    return sys.executable


def private_environment(home: Path) -> dict[str, str]:
    """The caller's environment without anything that changes how Python or up42keys starts."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTHON", "UP42KEYS_", "UP42_", "XDG_"))
    }
    environment.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        PYTHON_KEYRING_BACKEND="keyrings.alt.file.PlaintextKeyring",
    )
    return environment


def run_once(argv: list[str], environment: dict[str, str], cwd: Path) -> float:
    """Wall time of one run; a failing command stops the benchmark, since its time means nothing."""
    start = time.perf_counter()
    completed = subprocess.run(
        argv,
        env=environment,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if completed.returncode != 0:
        sys.exit(
            f"bench: {' '.join(argv)} exited {completed.returncode}: "
            f"{completed.stderr.decode(errors='replace').strip()}"
        )
    return elapsed


def set_up(argv: list[str], environment: dict[str, str], cwd: Path, stdin: str = "") -> str:
    """Run a set-up command as a user does and return its output, or stop the benchmark."""
    completed = subprocess.run(
        argv, input=stdin, env=environment, cwd=cwd, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        sys.exit(f"bench: {' '.join(argv[1:])} failed: {completed.stderr.strip()}")
    return completed.stdout


def add_profile(
    command: str, project_id: str, api_url: str, environment: dict[str, str], root: Path
) -> None:
    """Add the profile ``bench`` on the fake, as a user does, or stop the benchmark."""
    add = [command, "add", "bench", "--project-id", project_id, "--api-url", api_url]
    set_up([*add, "--api-key-stdin"], environment, root, API_KEY + "\n")


@dataclass(frozen=True)
class Bench:
    cases: list[Case]
    environment: dict[str, str]
    workdir: Path  # not the source tree, which ``python -c`` would import from
    python: str
    command: Path


def describe_launcher(command: Path) -> str:
    try:
        imports_re = b"import re" in command.read_bytes()
    except OSError:
        return "unreadable"
    return "imports re (pip before 25)" if imports_re else "no re"


@contextlib.contextmanager
def setup() -> Iterator[Bench]:
    command = str(installed_command())
    bash = shutil.which("bash") or sys.exit("bench: bash is needed for the shell start-up rows")
    python = launcher_interpreter(Path(command))
    server = FakeUp42().start()
    project_id = str(uuid.uuid4())
    server.add_project(project_id, API_KEY)
    with tempfile.TemporaryDirectory(prefix="up42keys-bench-") as directory:
        root = Path(directory)
        (root / "home").mkdir()
        environment = private_environment(root / "home")
        add_profile(command, project_id, server.url, environment, root)
        # The lines README has bash users append to ~/.bashrc.
        readme_lines = set_up([command, "shell-init", "bash", "--cached"], environment, root)
        script = root / "bare_httpx.py"
        script.write_text(BARE_HTTPX_SCRIPT)
        launcher = root / "pip25-launcher" / "up42keys"
        launcher.parent.mkdir()
        launcher.write_text(PIP25_LAUNCHER)
        bare_environment = dict(
            environment,
            BENCH_TOKEN_URL=server.url + "/oauth/token",
            BENCH_PROJECT_ID=project_id,
            BENCH_API_KEY=API_KEY,
        )
        on_path = {"PATH": f"{Path(command).parent}{os.pathsep}{environment['PATH']}"}
        cases = [
            Case("python -c pass (floor)", [python, "-c", "pass"]),
            Case("python -c 'import re' (info)", [python, "-c", "import re"], "floor"),
            Case("up42keys token (cached)", [command, "token"], "floor", 1.7),
            Case("up42keys current", [command, "current"], "floor", 1.7),
            Case("token, pip 25 launcher (info)", [python, str(launcher), "token"], "floor"),
            Case("current, pip 25 launcher (info)", [python, str(launcher), "current"], "floor"),
            Case(
                "TAB: profile names (bash)",
                [command],
                "floor",
                2.0,
                {
                    "_UP42KEYS_COMPLETE": "bash_complete",
                    "COMP_WORDS": "up42keys use ",
                    "COMP_CWORD": "2",
                },
            ),
            Case("up42keys list", [command, "list"], "floor", 5.0),
            Case("bare httpx script (mint)", [python, str(script)]),
            Case("up42keys token --refresh", [command, "token", "--refresh"], "httpx", 2.0),
            Case("bash -c true (shell floor)", [bash, "--norc", "--noprofile", "-c", "true"]),
            Case(
                "bash + README's set-up lines",
                [bash, "--norc", "--noprofile", "-c", readme_lines],
                "bash",
                env=on_path,
            ),
            Case(
                "bash + uncached lines (info)",
                [bash, "--norc", "--noprofile", "-c", UNCACHED_SETUP_LINES],
                "bash",
                env=on_path,
            ),
        ]
        try:
            yield Bench(cases, bare_environment, root, python, Path(command))
        finally:
            server.stop()


BASELINES = {
    "floor": "python -c pass (floor)",
    "httpx": "bare httpx script (mint)",
    "bash": "bash -c true (shell floor)",
}


def measure(
    cases: list[Case], environment: dict[str, str], cwd: Path, rounds: int
) -> dict[str, float]:
    """Median seconds per case, over rounds that each run every case once, in shuffled order."""
    times: dict[str, list[float]] = {case.name: [] for case in cases}
    shuffler = random.Random(42)  # noqa: S311 - an order of runs, not a secret
    for round_number in range(rounds + 2):
        order = list(cases)
        shuffler.shuffle(order)
        for case in order:
            elapsed = run_once(case.argv, {**environment, **case.env}, cwd)
            if round_number >= 2:  # two warm-up rounds fill the OS caches
                times[case.name].append(elapsed)
    return {name: statistics.median(values) for name, values in times.items()}


def load_average() -> str:
    try:
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    except (AttributeError, OSError):
        return "unknown"


def report(cases: list[Case], medians: dict[str, float]) -> bool:
    """Print the table; True when every ratio is within its target."""
    ok = True
    print(f"{'case':<32}{'median':>10}{'ratio':>9}  target")
    for case in cases:
        median = medians[case.name]
        if case.baseline is None:
            print(f"{case.name:<32}{median * 1000:>7.1f} ms{'':>9}  (baseline)")
            continue
        baseline = BASELINES[case.baseline]
        ratio = median / medians[baseline]
        line = f"{case.name:<32}{median * 1000:>7.1f} ms{ratio:>8.2f}x"
        if case.target is None:
            print(f"{line}  -")
            continue
        met = ratio <= case.target
        ok = ok and met
        verdict = "ok" if met else "above target"
        print(f"{line}  <= {case.target:.1f}x {case.baseline}: {verdict}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 40, quick 10)")
    parser.add_argument("--quick", action="store_true", help="10 rounds, as CI prints them")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    options = parser.parse_args()
    rounds = options.rounds or (10 if options.quick else 40)
    with setup() as bench:
        version = subprocess.run(
            [bench.python, "-c", "import platform; print(platform.python_version())"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        started = load_average()
        medians = measure(bench.cases, bench.environment, bench.workdir, rounds)
        print(f"up42keys start-up benchmark: medians of {rounds} interleaved rounds")
        print(f"interpreter: {bench.python} (Python {version})")
        print(f"command: {bench.command} (launcher: {describe_launcher(bench.command)})")
        print(f"CPUs: {os.cpu_count()}, load average before: {started}, after: {load_average()}")
        ok = report(bench.cases, medians)
        floor = medians["bash -c true (shell floor)"]
        added = medians["bash + README's set-up lines"] - floor
        uncached = medians["bash + uncached lines (info)"] - floor
        print(
            f"README's set-up lines add {added * 1000:.1f} ms to every bash start "
            f"(the uncached eval lines: {uncached * 1000:.1f} ms)"
        )
    return 1 if options.strict and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
