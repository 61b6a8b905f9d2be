"""Keyring reads and writes are serialised across processes (issue 11, finding 3).

keyrings.alt rewrites its whole file for every change; a process that read it
meanwhile found no secret and exited 6. Here processes mint in parallel while
another process keeps rewriting the keyring file through up42keys.
"""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import run_in_process
from tests.helpers import add_profile
from tests.test_concurrency import finish, spawn, way

# Rewrites the keyring file until its stdin closes: for the whole time the mints run, however
# long that takes on this machine (a fixed number of mints, not a number within a time).
REWRITER = """
import os, sys, threading, time
from up42keys.store import keychain
done = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
count = 0
while not done.is_set():
    keychain.set_secret("other", "other-key-" + str(count) * 200)
    count += 1
    # The lock is not fair: leave the mints a moment to take it. A rewrite still takes about
    # a fifth of the time, so each of the 36 mints' reads meets one with a fair chance.
    time.sleep(0.015)
print(count)
"""
ROUNDS = 6
PARALLEL = 6


def test_parallel_mints_never_read_the_keyring_mid_rewrite(
    up42keys, server, project_id, fork_server
):
    add_profile(run_in_process, server, "prod", project_id, "--no-verify", check=True)
    rewriter = subprocess.Popen(
        [sys.executable, "-c", REWRITER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    results = []
    for round_ in range(ROUNDS):
        # One mint in INSTALLED_EVERY is the installed command; the fork server starts the others.
        numbers = range(round_ * PARALLEL, (round_ + 1) * PARALLEL)
        results += finish(
            [spawn(["token", "--refresh"], {}, "", way(fork_server, n)) for n in numbers]
        )
    assert rewriter.poll() is None, "the rewriter stopped before the mints did"
    rewrites, _ = rewriter.communicate("", timeout=60)
    assert rewriter.returncode == 0
    assert int(rewrites) > 0, "the keyring file was not rewritten: the test proves nothing"
    failures = [(code, stderr) for code, _, stderr in results if code != 0]
    assert failures == [], f"{len(failures)} of {len(results)} failed, {rewrites} rewrites"
