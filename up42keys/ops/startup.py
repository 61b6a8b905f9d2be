"""Lines for bash's or zsh's rc file that load the shell integration without a Python start.

``eval "$(up42keys shell-init bash)"`` and ``eval "$(up42keys completion bash)"`` start
Python twice at every shell start (0.26-0.55 s measured, issue 20). These lines keep both
outputs in one file of the cache and source it; they run up42keys again only when that
file is missing or older than the installed ``up42keys`` command (pip rewrites it on every
install or upgrade, so a new version is picked up). A check costs a ``test -nt`` and one
``command -v`` in a subshell: no Python.
"""

from __future__ import annotations

SHELLS = ("bash", "zsh")

_LOADER = """\
__up42keys_init=${XDG_CACHE_HOME:-$HOME/.cache}/up42keys/shell-init.@SHELL@
if [ ! -s "$__up42keys_init" ] || [ "$(command -v up42keys)" -nt "$__up42keys_init" ]; then
    mkdir -p "${__up42keys_init%/*}" && {
        up42keys shell-init @SHELL@ && up42keys completion @SHELL@
    } > "$__up42keys_init.$$" && mv -f "$__up42keys_init.$$" "$__up42keys_init"
fi
. "$__up42keys_init"; unset __up42keys_init
"""


def loader(shell: str) -> str:
    """The lines to put in ``shell``'s rc file (bash or zsh) instead of the two ``eval``s."""
    return _LOADER.replace("@SHELL@", shell)
