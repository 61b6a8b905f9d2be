"""SIGKILL at any instant: the state is the old one, the new one, or one the next change repairs.

The command runs ``use``, ``add --force``, ``remove``, ``rename`` and ``import
--force`` over two projects on the fake UP42 and is killed after a random delay, hundreds of
times (an import to the other project leaves the profile without a secret, and its key goes in
the same change). After
every kill the invariants that readers rely on must hold (up42keys.state): current-token
holds the active profile's token or is absent, ``active`` names a listed profile or is
absent, every listed profile has its key, or is marked without one. After the next change that runs
to its end (or ``doctor --fix``), nothing is left over: no keyring entry, token record or
temporary file of no profile, no key under a profile marked without one, and no interrupted
change pending. The keyring is keyrings.alt's plain-text file, written
atomically (tests/atomic_keyring.py: keyrings.alt itself empties its file when killed
mid-write, whatever up42keys does). Every ``INSTALLED_EVERY``-th run is the installed command;
the others are children of the fork server (tests/forkserver.py), which skip the imports
that took most of each run's CPU.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.conftest import API_KEY, installed_command
from tests.forkserver import Child, ForkServer
from tests.helpers import claims
from up42keys import cache, errors, files, paths

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

NAMES = ("a", "b", "c", "d")
# Enough kills to land in every gap between two writes many times: a fixed number, however
# long the machine takes (no count is demanded within a time). The commands spend most of
# their life importing, so a few homes are killed in parallel.
WORKERS = 4
KILLS = 200
# A run that ends before its kill makes the next kills of that command come earlier; this
# many runs per home at the most, so that the loop ends on any machine.
MAX_RUNS = 4 * KILLS // WORKERS
# Every this many kills in a home, a change runs to its end and must leave nothing over.
CHECK_EVERY = 8
# ``import --force`` is a kind of its own in the loop (kept apart from the others' kinds).
IMPORT = ["import"]
# Every this many runs of the loop in a home, the installed command itself (its launcher and
# imports too) is the one started and killed; the fork server starts the others.
INSTALLED_EVERY = 6


class Home:
    """One user's config, cache and keyring file, changed by one command at a time."""

    def __init__(self, root: Path, fork_server: ForkServer) -> None:
        self.fork_server = fork_server
        self.config = root / "config"
        self.cache = root / "cache"
        data = root / "data"
        self.env = {
            **os.environ,
            "UP42KEYS_CONFIG_DIR": str(self.config),
            "UP42KEYS_CACHE_DIR": str(self.cache),
            "XDG_DATA_HOME": str(data),
            # keyrings.alt's file, replaced atomically (tests/atomic_keyring.py says why).
            "PYTHONPATH": str(Path(__file__).parent),
            "PYTHON_KEYRING_BACKEND": "atomic_keyring.AtomicPlaintextKeyring",
        }
        from keyrings.alt.file import PlaintextKeyring

        self.keyring = PlaintextKeyring()
        self.keyring.file_path = str(data / "python_keyring" / self.keyring.filename)

    def run(
        self, args: list[str], stdin: str = "", *, installed: bool = False
    ) -> subprocess.Popen[bytes] | Child:
        if not installed:
            return self.fork_server.start(args, self.env, stdin=stdin)
        process = subprocess.Popen(
            [installed_command(), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=self.env,
        )
        assert process.stdin is not None
        process.stdin.write(stdin.encode())
        process.stdin.close()
        return process

    def listed(self) -> dict[str, dict[str, object]]:
        try:
            with open(self.config / paths.PROFILES_FILE, "rb") as stream:
                return dict(tomllib.load(stream).get("profiles", {}))
        except FileNotFoundError:
            return {}

    def keyring_entries(self) -> set[str]:
        """The up42keys entries in the keyring file (staged ones included)."""
        candidates = {*NAMES, *(f".staged.{name}" for name in NAMES)}
        return {name for name in candidates if self.keyring.get_password("up42keys", name)}

    def reader_violations(self) -> list[str]:
        """What a reader (a script, the prompt, the fast path) would see wrong right now."""
        found = []
        profiles = self.listed()
        active = files.read_text(str(self.config / paths.ACTIVE_FILE))
        active = active.strip() if active else None
        if active is not None and active not in profiles:
            found.append("active names a missing profile")
        current = files.read_text(str(self.cache / paths.CURRENT_TOKEN_FILE))
        if current is not None:
            wanted = profiles.get(active, {}).get("project_id") if active else None
            if claims(current)["sub"] != wanted:
                found.append("wrong current-token")
        keys = self.keyring_entries()
        if any(name not in keys for name in profiles if profiles[name].get("has_secret", True)):
            found.append("keyless profile")
        return found

    def pending(self) -> bool:
        """Whether a change was interrupted and waits for the next one to complete it."""
        return (self.config / paths.TRANSITION_FILE).exists()

    def leftovers(self) -> list[str]:
        """What a completed change must have cleaned up."""
        found = []
        profiles = self.listed()
        keyless = {name for name in profiles if not profiles[name].get("has_secret", True)}
        if self.keyring_entries() - (set(profiles) - keyless):
            found.append("orphan key")
        tokens = self.cache / paths.TOKENS_DIR
        records = os.listdir(tokens) if tokens.is_dir() else []
        wanted = {*profiles, *(name + cache.REFRESH_SUFFIX for name in profiles)}
        if any(record not in wanted for record in records if ".tmp" not in record):
            found.append("orphan record")
        for root in (self.config, self.cache):
            found += ["stray file" for _, _, names in os.walk(root) for n in names if ".tmp" in n]
        if self.pending():
            found.append("pending change")
        return found

    def a_command(self, rng: random.Random, projects: list[str], url: str) -> tuple[list[str], str]:
        """A change that makes sense in the present state: arguments and stdin."""
        listed = self.listed()
        profiles = sorted(listed)
        keyed = [name for name in profiles if listed[name].get("has_secret", True)]
        free = [name for name in NAMES if name not in profiles]
        kinds = ["use", "add", "add", "remove", "rename"] if profiles else ["add"]
        kind = rng.choice([*kinds, *IMPORT])
        if kind == "import":  # maybe to the other project: the key must go with the old one
            table = f'project_id = "{rng.choice(projects)}"\napi_url = "{url}"\n'
            return ["import", "-", "--force"], f"[profiles.{rng.choice(NAMES)}]\n{table}"
        if kind == "use" and keyed:
            return ["use", rng.choice(keyed)], ""
        if kind == "remove":
            return ["remove", rng.choice(profiles)], ""
        if kind == "rename" and free:
            return ["rename", rng.choice(profiles), rng.choice(free)], ""
        verify = [] if rng.random() < 0.5 else ["--no-verify"]
        add = ["add", rng.choice(NAMES), "--force", "--project-id", rng.choice(projects)]
        return [*add, "--api-url", url, "--api-key-stdin", *verify], API_KEY + "\n"

    def add(self, name: str, project: str, url: str) -> None:
        args = ["add", name, "--project-id", project, "--api-url", url, "--api-key-stdin"]
        assert self.run(args, API_KEY + "\n").wait(timeout=60) == 0


def kill_loop(home: Home, seed: int, projects: list[str], url: str) -> Counter[str]:
    """Start changes and kill each after a random delay; check the invariants after each kill."""
    rng = random.Random(seed)  # noqa: S311 - when to kill, not a secret
    home.add("a", projects[0], url)
    home.add("b", projects[1], url)
    # A forked run lasts a fraction of an installed one: each is timed apart.
    durations: dict[tuple[str, bool], float] = {}
    counts: Counter[str] = Counter()
    while counts["kills"] < KILLS // WORKERS and counts["runs"] < MAX_RUNS:
        installed = counts["runs"] % INSTALLED_EVERY == 0
        counts["runs"] += 1
        args, stdin = home.a_command(rng, projects, url)
        kind = (args[0], installed)
        if kind not in durations:  # one run to its end tells how long this command takes
            pending = home.pending()
            begin = time.monotonic()
            code = home.run(args, stdin, installed=installed).wait(timeout=60)
            if code == errors.EXIT_NO_PROFILE and pending:
                # The command was chosen from a profiles.toml that a killed change had left;
                # it completed that change first, and the profile it names went with it
                # (seen once: 'use b' exited 3 after a kill). Timed at the next run.
                counts["chosen profile gone with the change completed first"] += 1
                continue
            assert code == 0, args
            durations[kind] = time.monotonic() - begin
            continue
        process = home.run(args, stdin, installed=installed)
        time.sleep(rng.uniform(0.2, 1.0) * durations[kind])
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            counts["kills"] += 1
            counts[f"kills in {args[0]}"] += 1
            counts["kills of the installed command"] += installed
            durations[kind] *= 1.02
        else:  # the machine got faster: aim the next kills of this command earlier
            counts["finished before the kill"] += 1
            durations[kind] *= 0.85
        process.wait(timeout=60)
        counts.update(home.reader_violations())
        if counts["kills"] % CHECK_EVERY == 0:
            listed = home.listed()
            keyed = sorted(name for name in listed if listed[name].get("has_secret", True))
            if keyed:
                home.run(["use", keyed[0]]).wait(timeout=60)
            elif listed:  # only profiles without a key: nothing to switch to; doctor repairs
                home.run(["doctor", "--offline", "--fix"]).wait(timeout=60)
            else:
                home.add("a", projects[0], url)
            counts["checks after a completed change"] += 1
            counts.update(home.leftovers())
    return counts


def test_sigkill_at_any_instant_keeps_the_invariants(server, tmp_path, fork_server):
    projects = [str(uuid.uuid4()), str(uuid.uuid4())]
    for project in projects:
        server.add_project(project, API_KEY)
    seed = int(os.environ.get("UP42KEYS_TEST_SEED") or random.randrange(1 << 32))  # noqa: S311
    started = time.monotonic()
    with ThreadPoolExecutor(WORKERS) as pool:
        runs = [
            pool.submit(
                kill_loop, Home(tmp_path / f"home{n}", fork_server), seed + n, projects, server.url
            )
            for n in range(WORKERS)
        ]
        counts = sum((run.result() for run in runs), Counter())
    kinds = ("wrong current-token", "active names a missing profile", "keyless profile")
    kinds += ("orphan key", "orphan record", "stray file", "pending change")
    figures = f"{counts['kills']} SIGKILLs: " + ", ".join(f"{counts[k]} {k}" for k in kinds)
    print(f"\n{figures} (UP42KEYS_TEST_SEED={seed}; "
          f"{counts['kills in import']} of them in import --force, "
          f"{counts['kills of the installed command']} of the installed command "
          f"(1 run in {INSTALLED_EVERY}, the others forked: tests/forkserver.py); "
          f"{counts['finished before the kill']} runs finished first, "
          f"{counts['chosen profile gone with the change completed first']} chosen profiles gone "
          "with the change a run completed first, "
          f"{counts['checks after a completed change']} checks after a completed change, "
          f"{time.monotonic() - started:.0f} s)")  # fmt: skip
    assert counts["kills"] == KILLS, figures
    assert all(counts[kind] == 0 for kind in kinds), figures
