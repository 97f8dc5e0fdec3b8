"""Derived parameters: safe arithmetic over other parameters (no names, calls or attributes
beyond numbers, dotted parameter names, + - * / ** % and min, max, abs, round)."""

from __future__ import annotations

import ast
import operator
from typing import Any

_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
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
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as error:
        raise ValueError(f"not a valid expression ({error.msg})") from None
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
