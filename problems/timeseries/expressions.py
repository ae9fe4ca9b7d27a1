"""Formulas written in a config (a known vector field, an observation function) turned into CasADi SX.

`parse` reads one expression with Python's own grammar (`ast`) but accepts only a small, safe part of it:
numbers, names, + - * / ** (and unary minus), parentheses, and calls of the functions in `FUNCTIONS`.
Nothing is evaluated by Python: each accepted node becomes the CasADi operation of the same name.
Anything else (attributes, indexing, comparisons, ``^``, keyword arguments, unknown names or functions,
a syntax error) is a `ConfigError` that names the config field.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping

import casadi as ca
import numpy as np

from ocp.errors import ConfigError

MAX_LENGTH = 10_000  # characters: a formula, not a program (and no deep recursion in `ast`)

# name -> (CasADi function, number of arguments)
FUNCTIONS: dict[str, tuple[Callable[..., ca.SX], int]] = {
    "sin": (ca.sin, 1),
    "cos": (ca.cos, 1),
    "tan": (ca.tan, 1),
    "asin": (ca.asin, 1),
    "acos": (ca.acos, 1),
    "atan": (ca.atan, 1),
    "atan2": (ca.atan2, 2),
    "sinh": (ca.sinh, 1),
    "cosh": (ca.cosh, 1),
    "tanh": (ca.tanh, 1),
    "exp": (ca.exp, 1),
    "log": (ca.log, 1),
    "sqrt": (ca.sqrt, 1),
    "abs": (ca.fabs, 1),
    "sign": (ca.sign, 1),
    "min": (ca.fmin, 2),
    "max": (ca.fmax, 2),
}
CONSTANTS = {"pi": np.pi}  # a symbol of the same name takes precedence

_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}
_HINTS = {ast.BitXor: " (use ** for a power)", ast.FloorDiv: " (use /)"}


def parse(text: str, symbols: Mapping[str, ca.SX], field: str) -> ca.SX:
    """The scalar SX of ``text``, in which each name of ``symbols`` stands for its (scalar) SX expression
    and ``pi`` for pi; ``field`` names the config field in every error, e.g. ``model.known[1]``."""
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"{field!r}: expected a formula, got {text!r}")
    if len(text) > MAX_LENGTH:
        raise ConfigError(f"{field!r}: a formula of {len(text)} characters is longer than {MAX_LENGTH}")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as err:
        raise ConfigError(f"{field!r}: {text!r} is not a formula ({err.msg}, column {err.offset})") from None
    except (RecursionError, MemoryError, ValueError):
        raise ConfigError(f"{field!r}: {text!r} is not a formula (too deeply nested)") from None
    try:
        return ca.SX(_Translator(symbols, field).visit(tree.body))
    except RecursionError:
        raise ConfigError(f"{field!r}: {text!r} is too deeply nested") from None


class _Translator:
    def __init__(self, symbols: Mapping[str, ca.SX], field: str) -> None:
        self.symbols, self.field = symbols, field

    def refuse(self, what: str) -> ConfigError:
        return ConfigError(f"{self.field!r}: {what}")

    def visit(self, node: ast.AST) -> ca.SX | float:
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, int | float):
                raise self.refuse(f"{node.value!r} is not a number")
            return float(node.value)
        if isinstance(node, ast.Name):
            return self.name(node.id)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            value = self.visit(node.operand)
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.BinOp):
            left, right = self.visit(node.left), self.visit(node.right)
            if isinstance(node.op, ast.Pow):
                return ca.power(ca.SX(left), ca.SX(right))  # a symbolic power (Python's ** on floats may raise)
            if type(node.op) in _BINARY:
                return _BINARY[type(node.op)](ca.SX(left), right)
            raise self.refuse(f"the operator {ast.unparse(node)!r} is not allowed{_HINTS.get(type(node.op), '')}")
        if isinstance(node, ast.Call):
            return self.call(node)
        raise self.refuse(f"{ast.unparse(node)!r} is not allowed (numbers, names, + - * / **, and functions only)")

    def name(self, name: str) -> ca.SX | float:
        if name in self.symbols:
            return self.symbols[name]
        if name in CONSTANTS:
            return CONSTANTS[name]
        known = ", ".join([*self.symbols, *CONSTANTS])
        hint = " (a function: call it)" if name in FUNCTIONS else ""
        raise self.refuse(f"unknown name {name!r}{hint} (known: {known})")

    def call(self, node: ast.Call) -> ca.SX:
        if not isinstance(node.func, ast.Name):
            raise self.refuse(f"{ast.unparse(node.func)!r} is not a function name")
        name = node.func.id
        if name not in FUNCTIONS:
            raise self.refuse(f"unknown function {name!r} (known: {', '.join(FUNCTIONS)})")
        function, arity = FUNCTIONS[name]
        if node.keywords or len(node.args) != arity or any(isinstance(a, ast.Starred) for a in node.args):
            plural = "s" if arity > 1 else ""
            raise self.refuse(f"{name}() takes {arity} positional argument{plural}: {ast.unparse(node)!r}")
        return function(*(ca.SX(self.visit(a)) for a in node.args))
