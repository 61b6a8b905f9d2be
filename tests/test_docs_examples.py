"""README's and the manual's console examples, run against the fake UP42 and compared.

An example is a ```` ```console ```` block: lines that start with ``$ `` are commands, the
lines after each are its output (stdout and stderr, as a terminal shows them). Every
command in such a block runs, in order, in one sandbox home per block; so a block holds
only commands that can run here (``up42keys …``, ``cd``); a ``curl`` to UP42 goes in an
``sh`` block. An HTML comment ``<!-- example-setup`` … ``-->`` right before a block holds
``$`` commands that prepare the sandbox, whose output is not compared.

A command whose output starts with a secret's prompt (``API key:``, ``Password:``) or a
question ending ``[y/N]: `` runs on a pseudo-terminal, where the test types the secret or the
answer written after the question. The others run in bash, with ``shell-init`` loaded as
README says, so ``cd``, ``$(…)`` and ``use --shell`` work as in a user's shell.

What the comparison forgives, since it differs from run to run or from a user's machine:
``…`` in an expected line stands for any text; a token's time left ("4 min 58 s") may be
any; runs of spaces count as one (a table widens by the fake's URL); and the sandbox's
home is shown as ``/home/me``. Examples name UP42's own hosts, which must never be
reached: the test gives ``add`` the fake's URL (``--api-url`` or ``--auth-url``) where the
example gives none, and removes that URL from the output before comparing.
"""

from __future__ import annotations

import itertools
import re
import shlex
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import API_KEY, PASSWORD, REPOSITORY
from tests.fakeup42 import FakeUp42
from tests.shellkit import require, shell_env

DOCUMENTS = [REPOSITORY / "README.md", *sorted((REPOSITORY / "docs").glob("*.md"))]
SECRET_PROMPTS = {"API key:": API_KEY, "Password:": PASSWORD}
QUESTION = re.compile(r"^(?P<question>.*\[y/N\]: )(?P<answer>\S*)$")
TIME_LEFT = re.compile(r"\d+ min \d+ s|\d+ s\b")
HOME_SHOWN = "/home/me"


@dataclass
class Step:
    command: str
    expected: list[str] = field(default_factory=list)


@dataclass
class Example:
    where: str
    setup: list[str]
    steps: list[Step]


def examples(path: Path) -> list[Example]:
    """The console blocks of one Markdown file, each with its setup commands."""
    found: list[Example] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    setup: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.strip() == "<!-- example-setup":
            index += 1
            while lines[index].strip() != "-->":
                if lines[index].startswith("$ "):
                    setup.append(lines[index][2:])
                index += 1
        elif line.strip() == "```console":
            start = index + 1
            steps: list[Step] = []
            index += 1
            while lines[index].strip() != "```":
                text = lines[index]
                if text.startswith("$ "):
                    steps.append(Step(text[2:]))
                else:
                    assert steps, f"{path.name}:{index + 1}: output before any '$ ' command"
                    steps[-1].expected.append(text)
                index += 1
            found.append(Example(f"{path.relative_to(REPOSITORY)}:{start}", setup, steps))
            setup = []
        index += 1
    return found


ALL = [example for document in DOCUMENTS for example in examples(document)]


def test_the_documents_have_examples() -> None:
    """README's quickstart is among them: a document that loses its examples fails here."""
    assert any(example.where.startswith("README.md") for example in ALL)
    assert len(ALL) >= 4, [example.where for example in ALL]


def with_fake_hosts(words: list[str], fake: FakeUp42) -> list[str]:
    """``add`` as the example writes it, pointed at the fake where it names no host."""
    if len(words) < 3 or words[:2] != ["up42keys", "add"]:
        return words
    if "--account" in words and "--auth-url" not in words:
        return [*words[:3], "--auth-url", fake.url, *words[3:]]
    if "--project-id" in words and "--api-url" not in words:
        return [*words[:3], "--api-url", fake.url, *words[3:]]
    return words


def register(words: list[str], fake: FakeUp42) -> None:
    """The fake knows each project and account an example names, with the tests' secrets."""
    for option, value in itertools.pairwise(words):
        if option == "--project-id":
            fake.add_project(value, API_KEY)
        elif option == "--username":
            fake.add_account(value, PASSWORD)


def normal(text: str, fake: FakeUp42, home: Path) -> list[str]:
    """Output lines as compared: no fake URL, sandbox home as /home/me, spaces collapsed."""
    text = text.replace("\r\n", "\n").replace(fake.url, "").replace(str(home), HOME_SHOWN)
    lines = (TIME_LEFT.sub("N", re.sub(r"[ \t]+", " ", line)).strip() for line in text.split("\n"))
    return [line for line in lines if line]


def matches(expected: list[str], actual: list[str]) -> bool:
    if len(expected) != len(actual):
        return False
    for want, got in zip(expected, actual, strict=True):
        pattern = ".*".join(re.escape(part) for part in want.split("…"))
        if not re.fullmatch(pattern, got):
            return False
    return True


class Sandbox:
    """One user's home, a fake UP42 and a dead proxy: what one example block runs in."""

    def __init__(self, home: Path, fake: FakeUp42, dead_port: int) -> None:
        self.home = home
        self.fake = fake
        self.cwd = home
        self.shell_profile = ""
        dead = f"http://127.0.0.1:{dead_port}"
        self.extra = {
            "HOME": str(home),
            "HTTPS_PROXY": dead,
            "HTTP_PROXY": dead,
            "ALL_PROXY": dead,
            "NO_PROXY": "127.0.0.1",
        }
        self.env = shell_env(**self.extra)

    def run(self, command: str, expected: list[str]) -> str:
        words = shlex.split(command, comments=True)
        register(words, self.fake)
        words = with_fake_hosts(words, self.fake)
        first = expected[0] if expected else ""
        if first in SECRET_PROMPTS or QUESTION.match(first):
            return self._on_terminal(words, expected)
        return self._in_bash(shlex.join(words) if words[0] == "up42keys" else command)

    def _in_bash(self, command: str) -> str:
        # A `cd` into the example's project directory: the directory exists, as it does for
        # the reader. The shell's directory and its UP42KEYS_PROFILE go on to the next line.
        command = re.sub(r"\bcd (?!~\s|~$|-)(\S+)", r"mkdir -p \1 && cd \1", command)
        script = (
            'eval "$(up42keys shell-init bash)"\n'
            f"{self.shell_profile}"
            f"{command}\n"
            "status=$?\n"
            'printf "%s\\n%s\\n" "$PWD" "${UP42KEYS_PROFILE-}" > "$EXAMPLE_STATE"\n'
            "exit $status\n"
        )
        state = self.home.parent / "example-state"
        result = subprocess.run(
            [require("bash"), "--norc", "--noprofile", "-c", script],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**self.env, "EXAMPLE_STATE": str(state)},
            cwd=self.cwd,
            timeout=60,
            check=False,
        )
        lines = state.read_text(encoding="utf-8").split("\n")
        if len(lines) >= 2 and lines[0]:
            self.cwd = Path(lines[0])
            self.shell_profile = (
                f"export UP42KEYS_PROFILE={shlex.quote(lines[1])}\n" if lines[1] else ""
            )
        return result.stdout

    def _on_terminal(self, words: list[str], expected: list[str]) -> str:
        from tests.terminal import ENTER, Terminal

        assert words[0] == "up42keys", f"only up42keys itself asks: {words}"
        extra = {} if not self.shell_profile else {"UP42KEYS_PROFILE": self._profile()}
        terminal = Terminal(words[1:], env={**self.extra, **extra}, cwd=self.cwd)
        first = expected[0]
        question = QUESTION.match(first)
        if question:
            terminal.expect(question["question"].rstrip())
            terminal.type(question["answer"] + ENTER)
            shown_prompt = question["question"] + question["answer"]
        else:
            terminal.expect(first)
            terminal.type(SECRET_PROMPTS[first] + ENTER)
            shown_prompt = first
        _, stdout = terminal.finish()
        after = terminal.shown.split(shown_prompt.rstrip(), 1)[1]
        return shown_prompt + "\n" + after + stdout

    def _profile(self) -> str:
        return shlex.split(self.shell_profile.split("=", 1)[1])[0]


def dead_port() -> int:
    """A local port that nothing listens on: the proxy every accidental request would meet."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("example", ALL, ids=[example.where for example in ALL])
def test_console_example(example: Example, server: FakeUp42, isolated_home: Path) -> None:
    sandbox = Sandbox(isolated_home, server, dead_port())
    for command in example.setup:
        words = shlex.split(command)
        register(words, server)
        secret = PASSWORD if "--account" in words else API_KEY
        done = subprocess.run(
            with_fake_hosts(words, server),
            input=secret + "\n",
            capture_output=True,
            text=True,
            env=sandbox.env,
            cwd=sandbox.cwd,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, f"{example.where}: setup {command!r}: {done.stderr}"
    for step in example.steps:
        shown = sandbox.run(step.command, step.expected)
        expected = normal("\n".join(step.expected), server, isolated_home)
        actual = normal(shown, server, isolated_home)
        assert matches(expected, actual), (
            f"{example.where}: '$ {step.command}' printed\n"
            + "\n".join(actual)
            + "\nbut the example shows\n"
            + "\n".join(expected)
        )
