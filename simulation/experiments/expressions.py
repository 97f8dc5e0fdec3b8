"""Derived parameters: safe arithmetic over other parameters (no names, calls or attributes
beyond numbers, dotted parameter names, + - * / ** % and min, max, abs, round).

Expressions are bounded so that none can hang the program: at most
:data:`~simulation.config.limits.EXPRESSION_LENGTH` characters, nested at most
:data:`MAX_DEPTH` deep, and a power whose result would need more than :data:`MAX_BITS`
bits (``9**9**9``) is refused instead of computed.
"""

from __future__ import annotations

import ast
import math
import operator
from typing import Any

from simulation.config.limits import EXPRESSION_LENGTH

MAX_DEPTH = 50
"""Deepest nesting of an expression's syntax tree."""
MAX_BITS = 4096
"""Largest whole-number result of a power, in bits (floats overflow on their own)."""


def _power(base: Any, exponent: Any) -> Any:
    """`base ** exponent`, refusing whole-number results too large to compute quickly."""
    if (
        isinstance(base, int)
        and isinstance(exponent, int)
        and exponent > 0
        and abs(base) > 1
        and exponent * math.log2(abs(base)) > MAX_BITS
    ):
        raise OverflowError(f"{base} ** {exponent} is too large")
    return operator.pow(base, exponent)


_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: _power,
    ast.Mod: operator.mod,
}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}
_FUNCTIONS = {"min": min, "max": max, "abs": abs, "round": round}


def _dotted(node: ast.AST) -> str | None:
    """`a.b.c` as a string, or None if the node is not a plain dotted name."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        parent = _dotted(node.value)
        return None if parent is None else f"{parent}.{node.attr}"
    return None


def parse_expression(text: str) -> ast.Expression:
    """Parse an arithmetic expression, allowing only numbers, names and + - * / ** %."""
    if len(text) > EXPRESSION_LENGTH.value:
        raise ValueError(EXPRESSION_LENGTH.exceeded(f"the expression has {len(text):,} characters"))
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, RecursionError, MemoryError) as error:
        reason = getattr(error, "msg", None) or "nested too deeply"
        raise ValueError(f"not a valid expression ({reason})") from None
    if _depth(tree) > MAX_DEPTH:
        raise ValueError(f"the expression is nested more than {MAX_DEPTH} levels deep")
    for node in ast.walk(tree):
        allowed = (
            ast.Expression,
            ast.BinOp,
            ast.UnaryOp,
            ast.Constant,
            ast.Name,
            ast.Attribute,
            ast.Call,
            ast.Load,
            *_BINARY,
            *_UNARY,
        )
        if not isinstance(node, allowed):
            raise ValueError(f"'{type(node).__name__}' is not allowed; use numbers, names, + - * /")
        if isinstance(node, ast.Constant) and not isinstance(node.value, int | float):
            raise ValueError(f"only numbers are allowed as constants, got {node.value!r}")
        if isinstance(node, ast.Call) and (
            not isinstance(node.func, ast.Name) or node.func.id not in _FUNCTIONS
        ):
            raise ValueError(f"only the functions {sorted(_FUNCTIONS)} may be called")
    return tree


def _depth(tree: ast.AST) -> int:
    """Depth of a syntax tree, counted without recursion."""
    deepest = 0
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


def evaluate_expression(tree: ast.Expression, lookup: Any) -> float:
    """Evaluate a parsed expression; `lookup(dotted_name)` gives a name's value."""

    def walk(node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.BinOp):
            return _BINARY[type(node.op)](walk(node.left), walk(node.right))
        if isinstance(node, ast.UnaryOp):
            return _UNARY[type(node.op)](walk(node.operand))
        if isinstance(node, ast.Call):
            assert isinstance(node.func, ast.Name)
            return _FUNCTIONS[node.func.id](*[walk(arg) for arg in node.args])
        name = _dotted(node)
        if name is None:
            raise ValueError("unsupported expression")
        return lookup(name)

    return walk(tree)
