"""No core dump of a process that holds a secret.

A crash of a process that read an API key, a password or a refresh token
would otherwise write the secret into a core file, readable by whoever reads
the dumps. Every place that reads a secret calls ``forbid`` first: the soft
limit for core files becomes 0 (the hard limit stays, so a program ``exec``
starts may raise it again for itself).
"""


def forbid() -> None:
    """Set RLIMIT_CORE's soft limit to 0; where there is no such limit (Windows), nothing to do."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows writes no core files
        return
    _, hard = resource.getrlimit(resource.RLIMIT_CORE)
    resource.setrlimit(resource.RLIMIT_CORE, (0, hard))
