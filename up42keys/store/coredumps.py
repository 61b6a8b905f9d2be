"""No core dump, and no reading by another process, of a process that holds a secret.

A crash of a process that read an API key, a password or a refresh token
would otherwise write the secret into a core file, readable by whoever reads
the dumps. Every place that reads a secret calls ``forbid`` first: the soft
limit for core files becomes 0 (the hard limit stays, so a program ``exec``
starts may raise it again for itself). On Linux the process also becomes
non-dumpable (``prctl(PR_SET_DUMPABLE, 0)``): another process of the same user
can then neither read its memory through ``/proc/PID/mem`` nor attach a
debugger to it. A program that ``exec`` starts is dumpable again, since
``execve`` resets the flag.
"""

import sys

# From <linux/prctl.h>.
PR_SET_DUMPABLE = 4


def forbid() -> None:
    """Set RLIMIT_CORE's soft limit to 0 and, on Linux, make the process non-dumpable.

    ctypes is imported here, by the processes that read a secret: they mint, which
    costs far more than that import.
    """
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows writes no core files
        return
    _, hard = resource.getrlimit(resource.RLIMIT_CORE)
    resource.setrlimit(resource.RLIMIT_CORE, (0, hard))
    if sys.platform.startswith("linux"):
        _non_dumpable()


def _non_dumpable() -> None:
    """Call libc's ``prctl``; a failure is raised, since the secret would stay readable."""
    import ctypes
    import os

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0:
        number = ctypes.get_errno()
        raise OSError(number, os.strerror(number))
