"""TAB completion of profile names, answered from plain files before Click is imported.

Click's completion scripts run ``up42keys`` with ``_UP42KEYS_COMPLETE`` set on
every TAB; through Click that costs about six bare interpreter starts. The
common case, a profile name right after a command that takes one
(``up42keys use <TAB>``), is answered here from the key index, in exactly
the format Click would print (tests/test_completion.py holds the two to the
same output). Anything else (an option, a second argument, quoting that
needs ``shlex``, an index that cannot vouch for the profile file) returns
None, and Click completes as before.
"""

from up42keys import state

# Not typing.TYPE_CHECKING: the fast path must not import typing.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

COMPLETE_VAR = "_UP42KEYS_COMPLETE"
# The commands whose first argument is a profile name (their NAME or OLD argument).
PROFILE_COMMANDS = frozenset(
    (
        "use",
        "token",
        "remove",
        "rename",
        "inspect",
        "env",
        "exec",
        "protect",
        "edit",
        "set-secret",
        "export",
        "pin",
    )
)
# ``use -``: offered first, with its meaning, where nothing is typed yet (as cli.complete_use_name).
DASH = "-"
DASH_HELP = "the profile active before"
SHELL_DASH_HELP = "this shell no longer picks its own profile"
# Characters that Click's shlex-based splitting treats specially; left to Click.
_QUOTING = frozenset("'\"\\")


def answer(environ: "Mapping[str, str]") -> "str | None":
    """What Click would print for this completion request, or None to let Click answer."""
    shell = environ.get(COMPLETE_VAR, "").partition("_complete")[0]
    request = _words(shell, environ)
    if request is None:
        return None
    args, incomplete = request
    if len(args) != 1 or args[0] not in PROFILE_COMMANDS or incomplete.startswith("-"):
        return None
    names = state.indexed_names()
    if names is None:
        return None
    items = [(name, "") for name in sorted(names) if name.startswith(incomplete)]
    if args[0] == "use" and not incomplete:
        items.insert(0, (DASH, DASH_HELP))
    if shell == "zsh":
        return "\n".join(f"plain\n{value}\n{help or '_'}" for value, help in items)
    if shell == "fish":
        lines = (f"plain,{value}\t{help}" if help else f"plain,{value}" for value, help in items)
        return "\n".join(lines)
    return "\n".join(f"plain,{value}" for value, help in items)


def _words(shell: str, environ: "Mapping[str, str]") -> "tuple[list[str], str] | None":
    """The words before the one being completed, and that word, as Click's ``shell`` reads them."""
    words_text = environ.get("COMP_WORDS", "")
    cword = environ.get("COMP_CWORD", "")
    if not _QUOTING.isdisjoint(words_text) or not _QUOTING.isdisjoint(cword):
        return None
    words = words_text.split()
    if shell == "fish":
        # fish gives the word being completed in both variables.
        args = words[1:]
        if cword and args and args[-1] == cword:
            args.pop()
        return args, cword
    if shell not in ("bash", "zsh") or not cword.isdigit():
        return None
    index = int(cword)
    return words[1:index], words[index] if index < len(words) else ""
