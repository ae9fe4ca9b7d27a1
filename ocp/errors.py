"""Exceptions with messages a user can act on."""


class OcpError(Exception):
    """Base class of the toolkit's errors."""


class ProblemError(OcpError, ValueError):
    """A problem description is inconsistent (names the offending argument)."""


class ConfigError(OcpError, ValueError):
    """A configuration file is invalid (names the offending field)."""


class SolveError(OcpError, RuntimeError):
    """The solver could not produce a solution at all."""
