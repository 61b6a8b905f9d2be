#!/usr/bin/env bash
# Run CMD with a private, unlocked freedesktop Secret Service: a D-Bus session bus of its own
# and gnome-keyring-daemon on it, both headless, both stopped (by PID) when CMD ends. Exits
# with CMD's status.
#
#   scripts/with-secret-service.sh CMD [ARG...]
#
# CMD sees DBUS_SESSION_BUS_ADDRESS (the private bus) and WITH_SECRET_SERVICE_BUS (the same
# address: tests that write to the Secret Service check it, so that they never touch a
# desktop's real keyring). The keyring lives in a temporary directory that is deleted
# afterwards: this is for tests, not for keeping keys.
#
# Where dbus-daemon, dbus-send or gnome-keyring-daemon is missing, CMD runs without a bus
# (the Secret Service tests then skip, or fail under CI=true); scripts/install-os-packages
# installs them.
set -euo pipefail

if [ $# -eq 0 ]; then
    echo "usage: $0 CMD [ARG...]" >&2
    exit 2
fi

for tool in dbus-daemon dbus-send gnome-keyring-daemon; do
    if ! command -v "$tool" >/dev/null; then
        echo "with-secret-service.sh: no $tool; running without a Secret Service" \
            "(install gnome-keyring dbus-x11 libsecret-tools)" >&2
        exec "$@"
    fi
done

# How long the bus and the daemon may take to come up (seconds).
startup_limit=${WITH_SECRET_SERVICE_TIMEOUT:-20}

workdir=$(mktemp -d "${TMPDIR:-/tmp}/secret-service.XXXXXX")
chmod 700 "$workdir"
mkdir -m 700 "$workdir/data" "$workdir/runtime"
bus_pid=''
keyring_pid=''

stop() {
    # Only the two processes this script started, by PID; then their files.
    for pid in "$keyring_pid" "$bus_pid"; do
        if [ -n "$pid" ]; then
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    rm -rf "$workdir"
}
trap stop EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

fail() {
    echo "with-secret-service.sh: $*" >&2
    exit 1
}

# Wait (polling every 0.1 s, at most startup_limit seconds) until "$@" succeeds.
wait_for() {
    local tries=$((startup_limit * 10))
    until "$@"; do
        tries=$((tries - 1))
        [ "$tries" -gt 0 ] || return 1
        sleep 0.1
    done
}

# The bus prints its address on fd 3 once it listens: that is the sign it is ready.
dbus-daemon --session --nofork --address="unix:path=$workdir/bus" --print-address=3 \
    3>"$workdir/address" </dev/null >"$workdir/bus.log" 2>&1 &
bus_pid=$!
wait_for test -s "$workdir/address" || fail "the D-Bus session bus did not start: $(cat "$workdir/bus.log")"
address=$(head -n 1 "$workdir/address")

# The password only unlocks this throw-away keyring; it goes through a pipe, never argv.
# No DISPLAY or WAYLAND_DISPLAY: an unlock prompt on a live display would wait for a person.
password=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
printf %s "$password" | env -u DISPLAY -u WAYLAND_DISPLAY \
    DBUS_SESSION_BUS_ADDRESS="$address" \
    XDG_DATA_HOME="$workdir/data" \
    XDG_RUNTIME_DIR="$workdir/runtime" \
    gnome-keyring-daemon --foreground --unlock --components=secrets >"$workdir/daemon.log" 2>&1 &
keyring_pid=$!
unset password

# Until the daemon owns org.freedesktop.secrets, a client call would make D-Bus activate a
# second, locked daemon (and keyring would fail with "Prompt dismissed").
has_owner() {
    kill -0 "$keyring_pid" 2>/dev/null || fail "gnome-keyring-daemon exited: $(cat "$workdir/daemon.log")"
    DBUS_SESSION_BUS_ADDRESS="$address" dbus-send --session --print-reply \
        --dest=org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus.NameHasOwner \
        string:org.freedesktop.secrets 2>/dev/null | grep -q 'boolean true'
}
wait_for has_owner || fail "gnome-keyring-daemon did not take org.freedesktop.secrets on the bus"

status=0
DBUS_SESSION_BUS_ADDRESS="$address" WITH_SECRET_SERVICE_BUS="$address" "$@" || status=$?
exit "$status"
