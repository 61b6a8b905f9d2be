"""The end of a command's output: a broken pipe or a closed stdout is quiet, never a traceback.

Shared by the fast path and the full path (``cli.main``), and on the fast
path itself: so stdlib only, and the error module only when a pipe breaks.
"""

import os
import sys


def discard_stdout() -> int:
    """After a broken pipe: send what is still buffered nowhere, and exit 1 without a traceback."""
    from up42keys.errors import EXIT_ERROR

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return EXIT_ERROR
