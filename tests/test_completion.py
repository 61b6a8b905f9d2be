"""TAB completion: the shipped scripts match the command, and real shells list the profiles."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPOSITORY, installed_command, run_in_process
from tests.shellkit import add_prod_and_dev, listings, require, run_shell, shell_env
from up42keys import cli

COMPLETION_FILES = {"bash": "up42keys.bash", "zsh": "_up42keys", "fish": "up42keys.fish"}
# Every command that takes a profile name, with the words typed before the name.
PROFILE_COMMANDS = [
    "use", "token", "remove", "rename", "inspect", "env", "exec", "protect", "edit", "set-secret",
    "export", "pin",
]  # fmt: skip


@pytest.fixture
def profiles(server, project_id):
    return add_prod_and_dev(server, project_id)


@pytest.mark.parametrize("shell", sorted(COMPLETION_FILES))
def test_shipped_completion_files_are_what_the_command_prints(shell):
    printed = subprocess.run(
        [installed_command(), "completion", shell],
        capture_output=True,
        text=True,
        env=shell_env(),
        check=True,
    ).stdout
    shipped = (REPOSITORY / "completions" / COMPLETION_FILES[shell]).read_text()
    assert "_UP42KEYS_COMPLETE" in printed
    assert printed == shipped, f"completions/ is stale: run scripts/update-completions ({shell})"


@pytest.mark.shells
def test_bash_completion_lists_profiles_for_every_profile_command(profiles):
    script = f"source {REPOSITORY}/completions/up42keys.bash\n"
    for command in PROFILE_COMMANDS:
        script += (
            f"COMP_WORDS=(up42keys {command} ''); COMP_CWORD=2; COMPREPLY=()\n"
            "_up42keys_completion up42keys\n"
            f'printf "{command}:%s\\n" "${{COMPREPLY[@]}}"\n'
        )
    script += (
        "COMP_WORDS=(up42keys use p); COMP_CWORD=2; COMPREPLY=()\n"
        "_up42keys_completion up42keys\n"
        'printf "prefix:%s\\n" "${COMPREPLY[@]}"\n'
        "COMP_WORDS=(up42keys pro); COMP_CWORD=1; COMPREPLY=()\n"
        "_up42keys_completion up42keys\n"
        'printf "command:%s\\n" "${COMPREPLY[@]}"\n'
    )
    result = run_shell("bash", script)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    for command in PROFILE_COMMANDS:
        # use's NAME may be '-' (the previous profile): offered first.
        dash = [f"{command}:-"] if command == "use" else []
        assert [line for line in lines if line.startswith(command + ":")] == [
            *dash,
            f"{command}:dev",
            f"{command}:prod",
        ]
    assert [line for line in lines if line.startswith("prefix:")] == ["prefix:prod"]
    assert [line for line in lines if line.startswith("command:")] == ["command:protect"]


@pytest.mark.shells
def test_bash_completion_works_beside_the_shell_function(profiles):
    script = (
        'eval "$(up42keys shell-init bash)"\n'
        'eval "$(up42keys completion bash)"\n'
        "COMP_WORDS=(up42keys exec ''); COMP_CWORD=2\n"
        "_up42keys_completion up42keys\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    result = run_shell("bash", script)
    assert result.stdout.splitlines() == ["dev", "prod"], result.stderr


@pytest.mark.shells
def test_fish_completion_lists_profiles(profiles):
    script = (
        f"source {REPOSITORY}/completions/up42keys.fish\n"
        "complete -C 'up42keys use '\n"
        "echo '=='\n"
        "complete -C 'up42keys rename d'\n"
    )
    result = run_shell("fish", script)
    assert result.returncode == 0, result.stderr
    # fish sorts the candidates itself.
    assert listings(result.stdout) == [["dev", "prod", "-\tthe profile active before"], ["dev"]]


@pytest.mark.shells
def test_zsh_completion_parses_and_lists_profiles(profiles):
    path = REPOSITORY / "completions" / "_up42keys"
    parsed = subprocess.run(
        [require("zsh"), "-n", str(path)], capture_output=True, text=True, check=False
    )
    assert parsed.returncode == 0, parsed.stderr
    # Outside a completion widget, stand in for compdef and compadd: compadd gets the
    # candidates as the array named by its last argument (compadd ... -a completions).
    script = (
        "compdef() { : }\n"
        f"source {path}\n"
        'compadd() { print -rl -- "${(@P)${@[-1]}}" }\n'
        '_describe() { print -rl -- "${(@P)${@[3]}}" }\n'
        "words=(up42keys use ''); CURRENT=3\n"
        "_up42keys_completion\n"
        "echo '=='\n"
        "words=(up42keys token p); CURRENT=3\n"
        "_up42keys_completion\n"
    )
    result = run_shell("zsh", script)
    assert result.returncode == 0, result.stderr
    assert listings(result.stdout) == [["-:the profile active before", "dev", "prod"], ["prod"]]


def test_completion_reads_the_profile_file_only(profiles):
    """Completion through Click never loads keyring (an unlock prompt on TAB) nor httpx (slow).

    After a flag the fast answer declines, so this request goes through Click.
    """
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "up42keys"],
        capture_output=True,
        text=True,
        env=shell_env(
            _UP42KEYS_COMPLETE="bash_complete", COMP_WORDS="up42keys use --yes ", COMP_CWORD="3"
        ),
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["plain,-", "plain,dev", "plain,prod"]
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines()}
    assert "up42keys.cli" in imported
    heavy = {name for name in imported if name.split(".")[0] in ("keyring", "httpx", "jwt")}
    assert heavy == set()


# The full Click path, for comparison with the installed command's fast answer.
CLICK_PATH = "import sys; from up42keys.cli import main; sys.exit(main())"
# Completion requests as each shell's script sends them: COMP_WORDS and COMP_CWORD.
COMPLETION_REQUESTS = [
    *(("bash", f"up42keys {command} ", "2") for command in PROFILE_COMMANDS),
    ("bash", "up42keys use p", "2"),
    ("bash", "up42keys use zz", "2"),
    ("bash", "up42keys use -", "2"),
    ("bash", "up42keys use --shell ", "3"),
    ("bash", "up42keys use --shell -", "3"),
    ("bash", "up42keys use dev -", "3"),
    ("bash", "up42keys pin ", "2"),
    ("bash", "up42keys pin d", "2"),
    ("bash", "up42keys pin --off ", "3"),
    ("zsh", "up42keys use -", "2"),
    ("zsh", "up42keys pin ", "2"),
    ("fish", "up42keys use -", "-"),
    ("fish", "up42keys use --shell ", ""),
    ("fish", "up42keys pin p", "p"),
    ("bash", "up42keys rename prod ", "3"),
    ("bash", "up42keys token --min-ttl ", "3"),
    ("bash", "up42keys ", "1"),
    ("bash", "up42keys 'use' ", "2"),
    ("zsh", "up42keys use ", "2"),
    ("zsh", "up42keys token d", "2"),
    ("fish", "up42keys use ", ""),
    ("fish", "up42keys remove d", "d"),
    ("fish", "up42keys rename dev ", ""),
]


def complete(argv: list[str], shell: str, words: str, cword: str) -> str:
    result = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        env=shell_env(_UP42KEYS_COMPLETE=f"{shell}_complete", COMP_WORDS=words, COMP_CWORD=cword),
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_fast_completion_agrees_with_click_for_every_request(profiles):
    """The installed command's answer (the fast path where it answers) against Click's, which
    runs in-process: the same ``cli.main`` as CLICK_PATH, without a process start each."""
    for shell, words, cword in COMPLETION_REQUESTS:
        fast = complete([installed_command()], shell, words, cword)
        request = {"_UP42KEYS_COMPLETE": f"{shell}_complete", "COMP_WORDS": words}
        full = run_in_process(env={**request, "COMP_CWORD": cword})
        assert full.returncode == 0, full.stderr
        assert fast == full.stdout, (shell, words, cword)


def test_profile_names_complete_without_click(profiles, tmp_path):
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", CLICK_PATH.replace("cli", "fastpath")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=shell_env(
            _UP42KEYS_COMPLETE="bash_complete", COMP_WORDS="up42keys use ", COMP_CWORD="2"
        ),
        check=False,
    )
    assert result.stdout.split() == ["plain,-", "plain,dev", "plain,prod"], result.stderr
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines()}
    assert "up42keys.complete" in imported
    assert "click" not in imported


def test_completion_after_a_hand_edit_lists_the_file_as_it_is_now(profiles, isolated_home):
    """The key index no longer vouches for the edited file: Click reads the file itself."""
    profile_file = isolated_home / ".config" / "up42keys" / "profiles.toml"
    text = profile_file.read_text()
    profile_file.write_text(text.replace("[profiles.dev]", "[profiles.staging]"))
    listed = complete([installed_command()], "bash", "up42keys remove ", "2")
    assert listed.split() == ["plain,prod", "plain,staging"]


@pytest.mark.shells
def test_use_dash_completes_in_bash_fish_and_zsh(profiles):
    """'-' for use's NAME, also where Click would complete options only: the previous
    profile, or with --shell this shell's choice undone; never after a NAME."""
    bash = f"source {REPOSITORY}/completions/up42keys.bash\n" + "".join(
        f"COMP_WORDS=({words}); COMP_CWORD={cword}; COMPREPLY=()\n"
        "_up42keys_completion up42keys\n"
        'printf "%s\\n" "${COMPREPLY[@]}"; echo ==\n'
        for words, cword in [
            ("up42keys use -", 2),
            ("up42keys use --shell -", 3),
            ("up42keys use --shell ''", 3),
            ("up42keys use dev -", 3),
        ]
    )
    result = run_shell("bash", bash)
    assert result.returncode == 0, result.stderr
    dash_use, dash_shell, empty_shell, after_name = listings(result.stdout)[:4]
    assert dash_use[0] == "-"
    assert "--shell" in dash_use
    assert dash_shell[0] == "-"
    assert empty_shell == ["-", "dev", "prod"]
    assert "-" not in after_name
    fish = (
        f"source {REPOSITORY}/completions/up42keys.fish\n"
        "complete -C 'up42keys use -'\n"
        "echo '=='\n"
        "complete -C 'up42keys use --shell -'\n"
    )
    result = run_shell("fish", fish)
    assert result.returncode == 0, result.stderr
    use, use_shell = listings(result.stdout)
    assert "-\tthe profile active before" in use
    assert "--shell\t" + cli.cli.commands["use"].params[1].help in use
    assert "-\tthis shell no longer picks its own profile" in use_shell
    path = REPOSITORY / "completions" / "_up42keys"
    zsh = (
        "compdef() { : }\n"
        f"source {path}\n"
        'compadd() { print -rl -- "${(@P)${@[-1]}}" }\n'
        '_describe() { print -rl -- "${(@P)${@[3]}}" }\n'
        "words=(up42keys use -); CURRENT=3\n"
        "_up42keys_completion\n"
    )
    result = run_shell("zsh", zsh)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "-:the profile active before"
