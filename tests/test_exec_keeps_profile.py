"""A running ``exec`` keeps the profile it started with (up42keys.ops.policy.same_target).

Another process replaces the profile while ``exec`` runs: with another host (and project)
and no verification, or verified for another project on the same host. The renewal then
stops, with a message in the child's token file and on exec's stderr: the secret exec
holds is never sent to the new host, and the child never gets another project's token
while its UP42_PROJECT_ID names the first one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid

import pytest

from tests.conftest import API_KEY, installed_command, run_forked, run_in_process
from tests.helpers import add_profile, carrying, claims

OTHER_KEY = "other-project-key-" + "b" * 12
# Long enough that the replacement lands before the first renewal on a slow machine; the
# child waits for the renewal's verdict however long it takes (a fixed number of polls).
TOKEN_TTL = 8
POLLS = 600

CHILD = textwrap.dedent(
    """
    import json, os, sys, time
    path = os.environ["UP42_TOKEN_FILE"]
    seen = []
    def look():
        with open(path) as stream:
            text = stream.read().strip()
        if text not in seen:
            seen.append(text)
        return text
    look()
    print("ready", flush=True)
    while not os.path.exists(sys.argv[1]):
        look()
        time.sleep(0.05)
    for _ in range(int(sys.argv[2])):
        if look().startswith("up42keys:"):
            break
        time.sleep(0.1)
    print(json.dumps({"seen": seen, "project": os.environ["UP42_PROJECT_ID"]}), flush=True)
    """
)


def exec_while(replace, tmp_path) -> tuple[dict[str, object], str, int]:
    """Run exec on 'dev' with the reporting child; ``replace()`` once the child is running."""
    done = tmp_path / "replaced"
    process = subprocess.Popen(
        [installed_command(), "exec", "dev", "--", sys.executable, "-c", CHILD, str(done),
         str(POLLS)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "UP42KEYS_MIN_TTL": "1"},
    )  # fmt: skip
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    replace()
    done.write_text("")
    stdout, stderr = process.communicate(timeout=POLLS * 0.1 + 120)
    return json.loads(stdout), stderr, process.returncode


def test_exec_never_sends_its_key_to_the_host_the_profile_was_moved_to(
    server, other_server, project_id, tmp_path
):
    server.token_ttl = other_server.token_ttl = TOKEN_TTL
    add_profile(run_in_process, server, "dev", project_id, check=True)
    other_project = str(uuid.uuid4())
    other_server.add_project(other_project, OTHER_KEY)
    other_server.add_project(project_id, API_KEY)  # it would accept it: must not get it

    def replace() -> None:
        moved = add_profile(
            run_forked, other_server, "dev", other_project, "--force", "--no-verify",
            secret=OTHER_KEY,
        )  # fmt: skip
        assert moved.returncode == 0, moved.stderr

    report, stderr, code = exec_while(replace, tmp_path)
    assert code == 0, stderr
    figure = carrying(other_server, API_KEY)
    print(f"\nexec with its profile re-pointed: {figure} requests carrying its key at the new host")
    assert figure == 0
    assert report["seen"][-1].startswith("up42keys: error: profile 'dev' was changed"), report
    assert "stopped renewing the token" in stderr
    for token in report["seen"][:-1]:
        assert claims(token)["sub"] == project_id


def test_exec_never_hands_the_child_another_projects_token(server, project_id, tmp_path):
    server.token_ttl = TOKEN_TTL
    add_profile(run_in_process, server, "dev", project_id, check=True)
    project_b = str(uuid.uuid4())
    server.add_project(project_b, OTHER_KEY)

    def replace() -> None:
        moved = add_profile(run_forked, server, "dev", project_b, "--force", secret=OTHER_KEY)
        assert moved.returncode == 0, moved.stderr
        assert claims(run_forked("token", "dev").stdout)["sub"] == project_b

    report, stderr, code = exec_while(replace, tmp_path)
    assert code == 0, stderr
    assert report["project"] == project_id
    tokens = [text for text in report["seen"] if not text.startswith("up42keys:")]
    subjects = [claims(token)["sub"] for token in tokens]
    print(f"\nexec with its profile replaced by project B: {subjects.count(project_b)} B tokens")
    assert subjects, report
    assert set(subjects) == {project_id}, subjects
    assert report["seen"][-1].startswith("up42keys: error: profile 'dev' was changed"), report


def test_exec_stops_renewing_when_its_profile_is_removed(server, project_id, tmp_path):
    server.token_ttl = TOKEN_TTL
    add_profile(run_in_process, server, "dev", project_id, check=True)

    def replace() -> None:
        assert run_forked("remove", "dev").returncode == 0

    report, stderr, code = exec_while(replace, tmp_path)
    assert code == 0, stderr
    assert report["seen"][-1].startswith("up42keys: error: profile 'dev' was removed"), report
    assert "stopped renewing the token" in stderr


def test_up42auth_stops_when_its_profile_is_re_pointed(run, server, other_server, project_id):
    """The same rule for a long-lived client: a 401 after the move renews nothing elsewhere."""
    import httpx

    import up42keys

    add_profile(run, server, "dev", project_id, check=True)
    other_server.add_project(project_id, API_KEY)
    auth = up42keys.Up42Auth("dev")
    with httpx.Client(auth=auth) as client:
        assert client.get(server.api_url).status_code == 200
        moved = add_profile(
            run, other_server, "dev", project_id, "--force", "--no-verify", secret=OTHER_KEY
        )
        assert moved.exit_code == 0, moved.stderr
        server.revoke(server.api_tokens[-1])  # UP42 answers 401: the auth would renew
        with pytest.raises(up42keys.ProfileChangedError, match="was changed"):
            client.get(server.api_url)
    assert carrying(other_server, API_KEY) == 0
    assert carrying(other_server, OTHER_KEY) == 0
