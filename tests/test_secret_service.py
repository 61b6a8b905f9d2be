"""The installed ``up42keys`` against a real freedesktop Secret Service (gnome-keyring).

scripts/test runs pytest under scripts/with-secret-service.sh, which starts a
private, unlocked gnome-keyring on a D-Bus bus of its own. PYTHON_KEYRING_BACKEND
is unset here, so keyring must find the Secret Service by itself. Without that bus
(or its Debian packages) these tests skip, except under CI=true, where they fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.conftest import API_KEY, require_os_feature
from tests.helpers import add_profile, claims

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "with-secret-service.sh"
TOOLS = ("dbus-daemon", "dbus-send", "gnome-keyring-daemon", "secret-tool")
PACKAGES = "Debian's gnome-keyring, dbus-x11 and libsecret-tools (scripts/install-os-packages)"


@pytest.fixture
def secret_service(monkeypatch: pytest.MonkeyPatch) -> None:
    """The private Secret Service of scripts/with-secret-service.sh, and keyring left to find it.

    A desktop's own session bus is never used: these tests write to the keyring.
    """
    require_os_feature(all(shutil.which(tool) for tool in TOOLS), f"needs {PACKAGES}")
    bus = os.environ.get("WITH_SECRET_SERVICE_BUS")
    require_os_feature(
        bool(bus) and bus == os.environ.get("DBUS_SESSION_BUS_ADDRESS"),
        f"no private Secret Service bus: run the tests under {SCRIPT.name} (scripts/test does)",
    )
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND")


def default_collection(name: str) -> list[tuple[dict[str, str], str]]:
    """Attributes and secret of each item of profile ``name`` in the default collection."""
    import secretstorage

    connection = secretstorage.dbus_init()
    try:
        collection = secretstorage.get_default_collection(connection)
        assert not collection.is_locked()
        items = collection.search_items({"service": "up42keys", "username": name})
        return [(item.get_attributes(), item.get_secret().decode()) for item in items]
    finally:
        connection.close()


def secret_tool_lookup(name: str) -> subprocess.CompletedProcess[str]:
    """libsecret's own client: what any other program on the desktop would see."""
    return subprocess.run(
        ["secret-tool", "lookup", "service", "up42keys", "username", name],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.mark.secret_service
def test_profile_key_lives_in_the_default_collection(secret_service, up42keys, server, project_id):
    name = f"ss-{uuid.uuid4().hex[:8]}"
    added = add_profile(up42keys, server, name, project_id)
    assert added.returncode == 0, added.stderr
    [(attributes, secret)] = default_collection(name)
    assert secret == API_KEY
    assert attributes["service"] == "up42keys"
    assert secret_tool_lookup(name).stdout == API_KEY

    mints = server.mints
    token = up42keys("token", name, "--refresh")
    assert token.returncode == 0, token.stderr
    assert claims(token.stdout.strip())["sub"] == project_id
    assert server.mints == mints + 1

    doctor = up42keys("doctor")
    assert doctor.returncode == 0, doctor.stdout
    assert "ok       keyring: keyring.backends.SecretService.Keyring works" in doctor.stdout
    assert f"ok       profile {name}: {server.url} answers" in doctor.stdout
    assert default_collection(".doctor-probe") == []

    renamed = f"{name}-renamed"
    assert up42keys("rename", name, renamed).returncode == 0
    assert default_collection(name) == []
    assert [secret for _, secret in default_collection(renamed)] == [API_KEY]

    removed = up42keys("remove", renamed)
    assert removed.returncode == 0, removed.stderr
    assert default_collection(renamed) == []
    assert secret_tool_lookup(renamed).returncode != 0


def run_script(*command: str, path: str | None = None) -> subprocess.CompletedProcess[str]:
    environment = dict(os.environ)
    environment.pop("WITH_SECRET_SERVICE_BUS", None)  # from a script this test may run under
    if path is not None:
        environment["PATH"] = path
    return subprocess.run(
        ["bash", str(SCRIPT), *command],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        check=False,
    )


PIDS_OF_BUS_AND_DAEMON = """
for name in org.freedesktop.DBus org.freedesktop.secrets; do
    dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
        org.freedesktop.DBus.GetConnectionUnixProcessID "string:$name" | awk '/uint32/ {print $2}'
done
echo "$DBUS_SESSION_BUS_ADDRESS"
exit 7
"""


@pytest.mark.secret_service
def test_script_stops_what_it_started_and_passes_the_status_on():
    require_os_feature(all(shutil.which(tool) for tool in TOOLS), f"needs {PACKAGES}")
    result = run_script("sh", "-c", PIDS_OF_BUS_AND_DAEMON)
    assert result.returncode == 7, result.stderr
    bus_pid, daemon_pid, address = result.stdout.split()
    assert address.startswith("unix:path=")
    socket = address.removeprefix("unix:path=").split(",")[0]
    assert not os.path.exists(socket)
    for pid in (int(bus_pid), int(daemon_pid)):
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_script_runs_the_command_without_a_bus_where_the_tools_are_missing(tmp_path):
    bare = tmp_path / "bin"
    bare.mkdir()
    for tool in ("bash", "sh"):
        (bare / tool).symlink_to(shutil.which(tool) or f"/bin/{tool}")
    result = run_script(
        "sh", "-c", 'echo "${WITH_SECRET_SERVICE_BUS-unset}"; exit 3', path=str(bare)
    )
    assert result.returncode == 3
    assert result.stdout == "unset\n"
    assert "no dbus-daemon; running without a Secret Service" in result.stderr
