"""Errors a user can fix, each naming the file (or argument) and key at fault.

The library raises these and never prints; the command line turns any of them into one
line ``error: ...`` and exit code 2. Messages name files, config keys and the Python API's
argument names, never command-line flags: a notebook user has no flags. When a remedy is
another argument (say, resuming a sweep), the error lists it in ``remedies`` and the
command line shows it in its own words.
"""

from __future__ import annotations

from pathlib import Path


def one_line(text: str) -> str:
    """`text` with control characters escaped, so that a message stays on one line."""
    return "".join(
        char if char.isprintable() else char.encode("unicode_escape").decode("ascii")
        for char in text
    )


class ReluctantArmyError(Exception):
    """Base of every user error: ``source`` (a file, or None), ``key`` and a ``detail``.

    ``remedies`` names arguments of the call that would resolve the problem (e.g.
    ``("resume", "overwrite")``), for front ends that phrase them their own way.
    """

    def __init__(
        self,
        message: str,
        source: str | Path | None = None,
        key: str | None = None,
        *,
        remedies: tuple[str, ...] = (),
    ) -> None:
        self.source = str(source) if source is not None else None
        self.key = key
        self.detail = message
        self.remedies = remedies
        where = self.source or "<config>"
        if key:
            where += f": {key}"
        super().__init__(one_line(f"{where}: {message}"))


class ConfigError(ReluctantArmyError):
    """A config, experiment, priors or targets file (or data given in its place) is wrong."""


class ArgumentError(ReluctantArmyError):
    """An argument of an API call is wrong; ``key`` is the argument's name."""

    def __init__(self, message: str, key: str, *, remedies: tuple[str, ...] = ()) -> None:
        super().__init__(message, None, key, remedies=remedies)
        self.args = (one_line(f"{key}: {message}"),)

    def __str__(self) -> str:
        return self.args[0]


class ResultsError(ReluctantArmyError):
    """A results folder cannot be written, read or resumed as asked."""


class UnguardedScriptError(ReluctantArmyError):
    """Worker processes were asked for from the top level of a script that has no
    ``if __name__ == "__main__":`` guard around the call: each worker re-imports the script
    (Python's spawn and forkserver start methods do), would run the whole script again and
    break the pool, so the call refuses before starting any. ``source`` is the script,
    ``key`` the line of the call."""


class AllRunsFailedError(ReluctantArmyError):
    """Every run of a sweep failed. ``first_error`` is the first run's error message and
    ``result`` the finished sweep (with a results folder, the failed runs are recorded there
    and can be run again with a resume that retries failed runs)."""

    def __init__(
        self, message: str, source: str | Path | None, *, first_error: str, result: object
    ) -> None:
        super().__init__(message, source)
        self.first_error = first_error
        self.result = result
