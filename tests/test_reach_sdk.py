"""up42keys.sdk on the profile's own hosts, with up42-py's hosts left as they are (issue 19).

tests/test_sdk.py points up42-py's hosts at the fake itself; here nothing is
patched, so a request to a default host (api.up42.com, auth.up42.com) would
fail in the loopback-only resolver (conftest) or at the dead proxy.
"""

from __future__ import annotations

import pytest

import up42keys
from tests.conftest import PASSWORD
from tests.fakeup42 import API_PATH, USERINFO_PATH
from tests.helpers import add_profile
from tests.test_sdk import USERNAME, offline_environment


@pytest.fixture
def unpatched_up42(monkeypatch):
    for name, value in offline_environment().items():
        monkeypatch.setenv(name, value)
    import up42
    from up42 import base, host

    for name in ("endpoint", "token_endpoint", "user_info_endpoint", "REGION"):
        monkeypatch.setattr(host, name, getattr(host, name))
    for attribute in ("_id", "_session", "_auth"):
        monkeypatch.setattr(base.workspace, attribute, None)
    return up42


def test_sdk_talks_to_the_profiles_own_hosts_only(run, server, unpatched_up42):
    server.add_account(USERNAME, PASSWORD)
    add_profile(run, server, "staging", USERNAME, "--api-url", server.url, check=True)
    workspace_id = up42keys.sdk.authenticate("staging")
    assert workspace_id == server.workspaces[USERNAME]
    from up42 import base, host

    assert host.endpoint(API_PATH) == server.url + API_PATH
    assert host.user_info_endpoint() == server.url + USERINFO_PATH
    answer = base.workspace.session.get(host.endpoint(API_PATH))
    assert answer.status_code == 200
    paths = [request.path for request in server.api_requests]
    assert USERINFO_PATH in paths
    assert API_PATH in paths
