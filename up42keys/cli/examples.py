"""Each command's one-line summary and examples, for ``--help`` and for TAB in zsh and fish.

Click cuts a summary taken from the docstring at 45 characters, mid-phrase; so every
command gets a summary that fits whole (``SUMMARY_LIMIT``) and an epilog of examples,
kept here together so that they read as one voice and a test can hold them all.
"""

from __future__ import annotations

import click

# What Click's zsh and fish completion show of a summary (``get_short_help_str``'s default).
SUMMARY_LIMIT = 45

SUMMARIES = {
    "add": "Add a profile; its secret goes to the keyring",
    "completion": "Print a shell's TAB-completion script",
    "current": "Print the profile commands use here",
    "doctor": "Check the keyring, files, profiles, clock",
    "edit": "Change a profile's settings, not its secret",
    "env": "Print the token and project as shell lines",
    "exec": "Run a command with a fresh token",
    "export": "Print profiles as TOML, without secrets",
    "import": "Add the profiles that a TOML file defines",
    "inspect": "Show a token's header and claims",
    "list": "List the profiles and their tokens",
    "pin": "Make this directory use a profile",
    "protect": "Mark a profile as production",
    "remove": "Remove a profile, its secret and tokens",
    "rename": "Rename a profile",
    "set-secret": "Store a new API key or password",
    "shell-init": "Print the prompt and 'use --shell' code",
    "status": "What applies here, and every profile",
    "token": "Print a valid token",
    "use": "Make a profile the active one",
}

EXAMPLES = {
    "add": [
        "up42keys add prod --project-id 3f2c…-uuid     # asks for the API key",
        "up42keys add me --account --username jane@example.com",
        "printf '%s\\n' \"$KEY\" | up42keys add ci --project-id 3f2c…-uuid --api-key-stdin",
    ],
    "completion": [
        "up42keys completion bash > ~/.local/share/bash-completion/completions/up42keys",
        "up42keys completion fish > ~/.config/fish/completions/up42keys.fish",
    ],
    "current": ["up42keys current", "up42keys current --explain"],
    "doctor": ["up42keys doctor", "up42keys doctor --offline --fix"],
    "edit": ["up42keys edit prod --api-url https://api.up42.dev"],
    "env": ['eval "$(up42keys env prod)"', "up42keys env prod --shell fish | source"],
    "exec": ["up42keys exec prod -- python order.py", "up42keys exec -- gdalinfo /vsicurl/…"],
    "export": ["up42keys export > profiles.toml", "up42keys export prod dev"],
    "import": ["up42keys import profiles.toml", "up42keys export | ssh host up42keys import -"],
    "inspect": ["up42keys inspect prod"],
    "list": ["up42keys list", "up42keys list --json"],
    "pin": ["up42keys pin dev", "up42keys pin --off"],
    "protect": ["up42keys protect prod", "up42keys protect prod --off"],
    "remove": ["up42keys remove old", "up42keys remove prod --yes"],
    "rename": ["up42keys rename dev staging"],
    "set-secret": ["up42keys set-secret prod", "up42keys set-secret ci --api-key-stdin < key.txt"],
    "shell-init": [
        'eval "$(up42keys shell-init bash)"',
        "up42keys shell-init bash --cached >> ~/.bashrc    # no Python start per shell",
        "up42keys shell-init fish | source",
    ],
    "status": ["up42keys status", "up42keys status --json"],
    "token": ["up42keys token", 'curl -H "Authorization: Bearer $(up42keys token prod)" …'],
    "use": ["up42keys use prod", "up42keys use -", "up42keys use dev --no-verify"],
}


def describe(group: click.Group) -> None:
    """Give each command of ``group`` its summary and its examples (kept as written: ``\\b``)."""
    for name, command in group.commands.items():
        command.short_help = SUMMARIES[name]
        lines = "\n".join(f"  {example}" for example in EXAMPLES[name])
        command.epilog = f"\b\nExamples:\n{lines}"
