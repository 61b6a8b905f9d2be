"""TAB completion that Click cannot derive alone: profile names, ``use -`` and fish's script.

Profile names come from the profile file alone, so completion never opens the keyring;
the fast path (up42keys/complete.py) answers the same words without Click.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click
from click.shell_completion import CompletionItem

from up42keys import complete
from up42keys.errors import Up42KeysError
from up42keys.store import profile_file

if TYPE_CHECKING:
    from click.shell_completion import ShellComplete


def complete_profiles(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Profile names from the profile file alone: completion never opens the keyring."""
    try:
        names = sorted(profile_file.load())
    except Up42KeysError:
        return []
    return [CompletionItem(name) for name in names if name.startswith(incomplete)]


def dash_item(ctx: click.Context) -> CompletionItem:
    """``use``'s NAME ``-``: the previous profile; with ``--shell``, undoing this shell's choice."""
    meaning = complete.SHELL_DASH_HELP if ctx.params.get("this_shell") else complete.DASH_HELP
    return CompletionItem(complete.DASH, help=meaning)


def complete_use_name(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Profile names, after a ``-`` where nothing is typed yet (the fast path answers the same)."""
    names = complete_profiles(ctx, param, incomplete)
    return [dash_item(ctx), *names] if not incomplete else names


class UseCommand(click.Command):
    """``use``, whose NAME may be ``-``: Click completes a word ``-`` as an option, so add it."""

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[CompletionItem]:
        items = super().shell_complete(ctx, incomplete)
        if incomplete == complete.DASH and ctx.params.get("name") is None:
            return [dash_item(ctx), *items]
        return items


def whole_description_fish_complete() -> type[ShellComplete]:
    """Click's fish completion, but splitting each answer at its first comma only.

    Click's fish script splits ``type,value<TAB>description`` at every comma, so a
    description was cut at its first comma.
    """
    from click.shell_completion import FishComplete

    class WholeDescriptionFishComplete(FishComplete):
        source_template = FishComplete.source_template.replace(
            'string split "," $completion', 'string split -m 1 "," $completion'
        )

    return WholeDescriptionFishComplete
