"""Exceptions with messages a user can act on."""


class OcpError(Exception):
    """Base class of the toolkit's errors."""


class ProblemError(OcpError, ValueError):
    """A problem description is inconsistent (names the offending argument)."""


class ConfigError(OcpError, ValueError):
    """A configuration file is invalid (names the offending field)."""


class SolveError(OcpError, RuntimeError):
    """The solver could not produce a solution at all."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a multi-start: ``best`` is the best solution among the solves finished by then (its
    ``start["multistart"]`` says which finished), None if none had. A KeyboardInterrupt, so code that
    catches that still stops."""

    def __init__(self, best) -> None:
        super().__init__("interrupted")
        self.best = best
