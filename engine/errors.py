"""The errors the engine raises on purpose, each with the exit code the CLI maps it to.

Anything the user can fix (bad input, an unreachable service) becomes one of these with a
one-line message; the CLI prints the message and exits, never a traceback.
"""


class PsError(Exception):
    """Base of every error meant for the user. `exit_code`: 0 success, 1 runtime or connection error, 2 usage or validation error."""

    exit_code = 1


class UsageError(PsError):
    """Bad input on the command line or in a file the user named: exit 2."""

    exit_code = 2


class ValidationError(UsageError):
    """A value broke a rule (a setting, a connect string): exit 2."""


class ConnectionFailure(PsError):
    """ZooKeeper, Kafka or an HTTP endpoint could not be reached or refused us: exit 1."""


class NotFound(PsError):
    """Something the user asked for is not there (a file, a cluster, records): exit 1."""


class AuthenticationFailure(ConnectionFailure):
    """ZooKeeper or Kafka rejected our credentials or our TLS trust: exit 1, at once
    (retrying cannot help, and librdkafka would retry forever)."""
