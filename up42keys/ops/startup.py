"""Lines for bash's or zsh's rc file that load the shell integration without a Python start.

``eval "$(up42keys shell-init bash)"`` and ``eval "$(up42keys completion bash)"`` start
Python twice at every shell start (0.26-0.55 s measured, issue 20). These lines keep both
outputs in one file of the cache and source it; they run up42keys again only when that
file is missing or older than the installed ``up42keys`` command (pip rewrites it on every
install or upgrade, so a new version is picked up). A check costs a ``test -nt`` and one
``command -v`` in a subshell: no Python. fish loads completions from its own directory
by itself, so its file holds the shell-init code alone; fish compares the two times with
its ``path mtime`` builtin (fish 3.5 or newer) and starts nothing either.
"""

from __future__ import annotations

_LOADER = """\
__up42keys_init=${XDG_CACHE_HOME:-$HOME/.cache}/up42keys/shell-init.@SHELL@
if [ ! -s "$__up42keys_init" ] || [ "$(command -v up42keys)" -nt "$__up42keys_init" ]; then
    mkdir -p "${__up42keys_init%/*}" && {
        up42keys shell-init @SHELL@ && up42keys completion @SHELL@
    } > "$__up42keys_init.$$" && mv -f "$__up42keys_init.$$" "$__up42keys_init"
fi
. "$__up42keys_init"; unset __up42keys_init
"""


_FISH_LOADER = """\
set -l __up42keys_init ~/.cache/up42keys/shell-init.fish
set -q XDG_CACHE_HOME[1]; and set __up42keys_init $XDG_CACHE_HOME/up42keys/shell-init.fish
set -l __up42keys_command (command -s up42keys)
if not test -s $__up42keys_init
    or test (path mtime -- $__up42keys_command) -gt (path mtime -- $__up42keys_init)
    mkdir -p (path dirname -- $__up42keys_init)
    and up42keys shell-init fish >$__up42keys_init.$fish_pid
    and mv -f $__up42keys_init.$fish_pid $__up42keys_init
end
source $__up42keys_init
"""


def loader(shell: str) -> str:
    """The lines to put in ``shell``'s rc file instead of the ``eval`` (``source``) lines."""
    if shell == "fish":
        return _FISH_LOADER
    return _LOADER.replace("@SHELL@", shell)
