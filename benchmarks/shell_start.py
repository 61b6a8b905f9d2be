"""What README's set-up lines cost each interactive shell start, before and after --cached.

Run it with the interpreter the tool is installed in (``.venv/bin/python
benchmarks/shell_start.py``; ``--quick`` for fewer rounds). In a private home, it times
``bash --norc -c`` running, in interleaved rounds so that a change of load hits each alike:

* ``:``, the floor: a bash start alone;
* README's two lines, ``eval "$(up42keys shell-init bash)"`` and
  ``eval "$(up42keys completion bash)"``: two Python starts;
* the lines that ``up42keys shell-init bash --cached`` prints, once their cache file is
  made: no Python start.

It prints each median, its cost over the floor, and the ratio of the two shell starts. Nothing
is asserted: a shared machine's load moves these figures (the absence of a Python start
is held by tests/test_shell_startup.py instead).
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench import installed_command, private_environment, run_once


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="5 rounds instead of 21")
    rounds = 5 if parser.parse_args().quick else 21
    command = installed_command()
    with tempfile.TemporaryDirectory() as directory:
        home = Path(directory)
        environment = private_environment(home)
        environment["PATH"] = f"{command.parent}{os.pathsep}{environment['PATH']}"
        loader = subprocess.run(
            [str(command), "shell-init", "bash", "--cached"],
            env=environment, capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        cases = {
            "bash alone": ":",
            "README's eval lines": (
                'eval "$(up42keys shell-init bash)"; eval "$(up42keys completion bash)"'
            ),
            "shell-init --cached": loader,
        }
        bash = ["bash", "--norc", "--noprofile", "-c"]
        run_once([*bash, loader], environment, home)  # makes the cache file
        times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(rounds):
            for name, script in cases.items():
                times[name].append(run_once([*bash, script], environment, home))
    medians = {name: statistics.median(values) for name, values in times.items()}
    floor = medians["bash alone"]
    for name, median in medians.items():
        print(f"{name:<22} {median * 1000:8.1f} ms   +{(median - floor) * 1000:7.1f} ms over bash")
    ratio = medians["README's eval lines"] / medians["shell-init --cached"]
    print(f"shell start with README's lines / with --cached: {ratio:.1f}x ({rounds} rounds)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
