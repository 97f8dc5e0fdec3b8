"""Refuse to start worker processes from the unguarded top level of a script.

Worker processes started with "spawn" or "forkserver" import the main script again (as
``__mp_main__``) to find the functions they run. A script that calls the API at its top
level, outside ``if __name__ == "__main__":``, would then start the whole sweep again in
every worker; the pool breaks and every run fails with an unhelpful BrokenProcessPool. A
notebook (no ``__file__``), ``python -c`` and ``python -m package`` are not re-imported and
are never refused.
"""

from __future__ import annotations

import ast
import functools
import sys
from pathlib import Path
from types import FrameType

from simulation.errors import UnguardedScriptError

MAIN_NAMES = ("__main__", "__mp_main__")


def refuse_unguarded_main() -> None:
    """Raise UnguardedScriptError when this call comes from a main script's top level
    outside its ``if __name__ == "__main__":`` block."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        namespace = frame.f_globals
        script = namespace.get("__file__")
        if (
            frame.f_code.co_name == "<module>"
            and namespace.get("__name__") in MAIN_NAMES
            and script
            and not _package_main(namespace)
            and not _guarded(str(script), frame.f_lineno)
        ):
            raise UnguardedScriptError(
                "starts worker processes from the top level of the script, and every worker "
                "would run the script again: put the script's code under "
                '`if __name__ == "__main__":` (or use workers=1)',
                script,
                f"line {frame.f_lineno}",
            )
        frame = frame.f_back


def _package_main(namespace: dict) -> bool:
    """`python -m package` runs package/__main__.py, which workers never re-import (Python's
    multiprocessing skips a main module named `*.__main__`)."""
    spec = namespace.get("__spec__")
    return bool(spec and getattr(spec, "name", "").endswith(".__main__"))


def _guarded(script: str, line: int | None) -> bool:
    """Whether `line` of `script` lies inside a top-level ``if __name__ == "__main__":``
    (a script that cannot be read or parsed is given the benefit of the doubt)."""
    blocks = _main_blocks(script)
    return blocks is None or any(first <= (line or 0) <= last for first, last in blocks)


@functools.cache
def _main_blocks(script: str) -> tuple[tuple[int, int], ...] | None:
    """Line ranges of the bodies of the script's top-level ``if __name__ == "__main__":``."""
    try:
        tree = ast.parse(Path(script).read_bytes(), filename=script)
    except (OSError, SyntaxError, ValueError):
        return None
    return tuple(
        (node.body[0].lineno, node.end_lineno or node.body[-1].lineno)
        for node in tree.body
        if isinstance(node, ast.If) and _is_main_test(node.test)
    )


def _is_main_test(test: ast.expr) -> bool:
    """``__name__ == "__main__"`` (either way round)."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1):
        return False
    if not isinstance(test.ops[0], ast.Eq):
        return False
    sides = {_literal(test.left), _literal(test.comparators[0])}
    return sides == {"name:__name__", "str:__main__"}


def _literal(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return f"name:{node.id}"
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return f"str:{node.value}"
    return ""
