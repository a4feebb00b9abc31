"""The one error the sandbox raises."""


class SandboxError(RuntimeError):
    """A sandbox step failed; the message says which and how to look further."""
