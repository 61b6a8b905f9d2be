"""Keyring reads and writes are serialised across processes (issue 11, finding 3).

keyrings.alt rewrites its whole file for every change; a process that read it
meanwhile found no secret and exited 6. Here processes mint in parallel while
another process keeps rewriting the keyring file through up42keys.
"""

from __future__ import annotations

import subprocess
import sys
import time

from tests.helpers import add_profile
from tests.test_concurrency import finish, spawn

REWRITER = """
import sys, time
from up42keys.store import keychain
stop = time.monotonic() + float(sys.argv[1])
count = 0
while time.monotonic() < stop:
    keychain.set_secret("other", "other-key-" + str(count) * 200)
    count += 1
print(count)
"""


def test_parallel_mints_never_read_the_keyring_mid_rewrite(up42keys, server, project_id):
    add_profile(up42keys, server, "prod", project_id, "--no-verify", check=True)
    rewriter = subprocess.Popen(
        [sys.executable, "-c", REWRITER, "12"], stdout=subprocess.PIPE, text=True
    )
    time.sleep(0.5)
    results = []
    rounds = 0
    while rewriter.poll() is None and rounds < 6:
        results += finish([spawn(["token", "--refresh"], {}) for _ in range(6)])
        rounds += 1
    rewrites, _ = rewriter.communicate(timeout=60)
    assert rewriter.returncode == 0
    assert int(rewrites) > 50, "the keyring file was hardly rewritten: the test proves nothing"
    failures = [(code, stderr) for code, _, stderr in results if code != 0]
    assert failures == [], f"{len(failures)} of {len(results)} failed, {rewrites} rewrites"
