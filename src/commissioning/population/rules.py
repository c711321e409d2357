"""A small, safe language for cohort rules over the person-year table.

A rule is one Python-like boolean expression, for example::

    age >= 75 and frailty in ("moderate", "severe")
    (hf or copd or ckd) and emergency_admissions >= 2
    not died_in_year and imd_decile <= 2

It is parsed with :mod:`ast` and never evaluated: only the node types listed below are
accepted, and each is compiled to an Ibis boolean expression, so a rule runs on any
engine and cannot call code. Allowed: comparisons (``==``, ``!=``, ``<``, ``<=``, ``>``,
``>=``, chained as in ``65 <= age < 75``); ``in`` / ``not in`` with a tuple or list of
literals; ``and``, ``or``, ``not`` and parentheses; column names; numbers, quoted text,
``True``/``False``. A bare column name holding whole numbers (the 0/1 condition flags)
means "is not zero". ``age`` is accepted for ``age_years``.

Errors are :class:`RuleError` (a ``ValueError``) and name the problem and the fix.
"""

from __future__ import annotations

import ast
import difflib
import re
from collections.abc import Iterable, Mapping
from typing import Any

import ibis
import ibis.expr.types as ir

MAX_RULE_LENGTH = 2_000
ALIASES = {"age": "age_years"}
ALLOWED = (
    "comparisons (==, !=, <, <=, >, >=), `in` / `not in` with a tuple of values, "
    "`and`, `or`, `not`, parentheses, column names, numbers and quoted text"
)
_COMPARE = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
}

Literal = int | float | str | bool


class RuleError(ValueError):
    """A rule that cannot be used, with what is wrong and how to fix it."""


Kinds = Mapping[str, str]  # column name -> "number", "text", "flag" or "other"


def _kinds(columns: Iterable[str] | Mapping[str, Any] | Any) -> Kinds:
    """Column kinds from names, a name -> dtype mapping, an Ibis schema or table."""
    if isinstance(columns, ir.Table):
        columns = columns.schema()
    if hasattr(columns, "items"):
        out = {}
        for name, dtype in columns.items():
            text = str(dtype).lower()
            if "int" in text:
                out[name] = "flag"
            elif "float" in text or "decimal" in text:
                out[name] = "number"
            elif "string" in text or "object" in text:
                out[name] = "text"
            elif "bool" in text:
                out[name] = "flag"
            else:
                out[name] = "other"
        return out
    return {name: "other" for name in columns}


def _where(node: ast.AST) -> str:
    col = getattr(node, "col_offset", None)
    return "" if col is None else f" (at character {col + 1})"


class _Checker:
    """Walks the tree; with ``table`` set it also builds the Ibis expression."""

    def __init__(self, kinds: Kinds, table: ir.Table | None = None) -> None:
        self.kinds = kinds
        self.table = table

    # names and literals

    def column(self, node: ast.Name) -> tuple[str, Any]:
        name = ALIASES.get(node.id, node.id)
        if name not in self.kinds:
            close = difflib.get_close_matches(node.id, list(self.kinds), n=3, cutoff=0.6)
            hint = (
                f"did you mean {', '.join(repr(c) for c in close)}?"
                if close
                else "use one of the person-year columns, for example 'age_years', "
                "'frailty', 'condition_count' or a condition flag such as 'hf'"
            )
            raise RuleError(f"unknown column {node.id!r}{_where(node)}: {hint}")
        return name, None if self.table is None else self.table[name]

    def literal(self, node: ast.AST) -> Literal:
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float | str | bool):
            return node.value
        if (
            isinstance(node, ast.UnaryOp)
            and isinstance(node.op, ast.USub)
            and isinstance(node.operand, ast.Constant)
            and isinstance(node.operand.value, int | float)
            and not isinstance(node.operand.value, bool)
        ):
            return -node.operand.value
        if isinstance(node, ast.Name):
            raise RuleError(
                f"{node.id!r}{_where(node)} is read as a column name; to compare with text, "
                f"put it in quotes: '{node.id}'"
            )
        if isinstance(node, ast.Constant):
            raise RuleError(
                f"expected a number or quoted text{_where(node)}; rules may use {ALLOWED}"
            )
        raise RuleError(self._unsupported(node))

    def _check_type(self, name: str, value: Literal, node: ast.AST) -> None:
        kind = self.kinds[name]
        is_text = isinstance(value, str)
        if kind == "text" and not is_text:
            raise RuleError(
                f"column {name!r} holds text but is compared with {value!r}{_where(node)}: "
                f"put the value in quotes, for example {name} == '{value}'"
            )
        if kind in ("number", "flag") and is_text:
            raise RuleError(
                f"column {name!r} holds numbers but is compared with the text {value!r}"
                f"{_where(node)}: remove the quotes"
            )

    # expressions

    def boolean(self, node: ast.AST) -> Any:
        if isinstance(node, ast.BoolOp):
            parts = [self.boolean(v) for v in node.values]
            if self.table is None:
                return None
            out = parts[0]
            for part in parts[1:]:
                out = (out & part) if isinstance(node.op, ast.And) else (out | part)
            return out
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            inner = self.boolean(node.operand)
            return None if self.table is None else ~inner
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, ast.Name):
            name, col = self.column(node)
            if self.kinds[name] == "text":
                raise RuleError(
                    f"column {name!r} holds text and cannot stand alone as a condition"
                    f"{_where(node)}: compare it, for example {name} == 'value'"
                )
            if col is None:
                return None
            return col if col.type().is_boolean() else (col.fill_null(0) != 0)
        if isinstance(node, ast.Constant) and isinstance(node.value, bool):
            return None if self.table is None else ibis.literal(node.value)
        raise RuleError(self._unsupported(node))

    def compare(self, node: ast.Compare) -> Any:
        operands = [node.left, *node.comparators]
        results = []
        for left, op, right in zip(operands, node.ops, operands[1:], strict=False):
            results.append(self.one_comparison(left, op, right))
        if self.table is None:
            return None
        out = results[0]
        for r in results[1:]:
            out = out & r
        return out

    def one_comparison(self, left: ast.AST, op: ast.cmpop, right: ast.AST) -> Any:
        if isinstance(op, ast.In | ast.NotIn):
            if not isinstance(left, ast.Name):
                raise RuleError(
                    f"the left of `in`{_where(left)} must be a column name, as in "
                    "frailty in ('moderate', 'severe')"
                )
            if not isinstance(right, ast.Tuple | ast.List | ast.Set) or not right.elts:
                raise RuleError(
                    f"`in` needs a non-empty tuple of values in parentheses{_where(right)}, "
                    "as in frailty in ('moderate', 'severe')"
                )
            name, col = self.column(left)
            values = [self.literal(v) for v in right.elts]
            for v, elt in zip(values, right.elts, strict=True):
                self._check_type(name, v, elt)
            if col is None:
                return None
            return col.isin(values) if isinstance(op, ast.In) else col.notin(values)
        if type(op) not in _COMPARE:
            raise RuleError(f"operator not allowed{_where(left)}; rules may use {ALLOWED}")
        # column OP literal, literal OP column or column OP column
        sides: list[tuple[str, Any, Any]] = []
        for side, other in ((left, right), (right, left)):
            if (
                isinstance(side, ast.Name)
                and ALIASES.get(side.id, side.id) not in self.kinds
                and isinstance(other, ast.Name)
                and self.kinds.get(ALIASES.get(other.id, other.id)) == "text"
            ):
                raise RuleError(
                    f"{side.id!r}{_where(side)} is not a column; to compare with text, "
                    f"put it in quotes: '{side.id}'"
                )
        for side in (left, right):
            if isinstance(side, ast.Name):
                sides.append(("column", *self.column(side)))
            else:
                sides.append(("literal", None, self.literal(side)))
        if sides[0][0] == "literal" and sides[1][0] == "literal":
            raise RuleError(
                f"comparison of two values{_where(left)} says nothing about a person; "
                "compare a column with a value, as in age >= 75"
            )
        for (kind, name, _), (other_kind, _, value), where in (
            (sides[0], sides[1], right),
            (sides[1], sides[0], left),
        ):
            if kind == "column" and other_kind == "literal":
                self._check_type(name, value, where)
        if self.table is None:
            return None
        a = sides[0][2] if sides[0][0] == "column" else ibis.literal(sides[0][2])
        b = sides[1][2]
        symbol = _COMPARE[type(op)]
        return {
            "==": lambda: a == b,
            "!=": lambda: a != b,
            "<": lambda: a < b,
            "<=": lambda: a <= b,
            ">": lambda: a > b,
            ">=": lambda: a >= b,
        }[symbol]()

    @staticmethod
    def _unsupported(node: ast.AST) -> str:
        names = {
            ast.Call: "function calls",
            ast.Attribute: "attribute access (a dot)",
            ast.BinOp: "arithmetic",
            ast.Subscript: "indexing",
            ast.Lambda: "lambda",
            ast.IfExp: "if-else expressions",
            ast.Constant: "a value on its own",
        }
        what = next((v for k, v in names.items() if isinstance(node, k)), type(node).__name__)
        return f"{what} not allowed{_where(node)}; rules may use {ALLOWED}"


def _parse(rule: str) -> ast.AST:
    if not isinstance(rule, str) or not rule.strip():
        raise RuleError("the rule is empty: write a condition such as age >= 75")
    if len(rule) > MAX_RULE_LENGTH:
        raise RuleError(
            f"the rule is {len(rule)} characters long; keep it under {MAX_RULE_LENGTH} "
            "or split it into named segments"
        )
    try:
        tree = ast.parse(rule.strip(), mode="eval")
    except SyntaxError as exc:
        hint = ""
        if re.search(r"(?<![=!<>])=(?!=)", rule):
            hint = "; to test equality use == (two equals signs)"
        elif re.search(r"&&|\|\||!(?!=)", rule):
            hint = "; write `and`, `or` and `not` in words"
        where = f" at character {exc.offset}" if exc.offset else ""
        raise RuleError(
            f"the rule could not be read{where}{hint}; rules may use {ALLOWED}"
        ) from None
    return tree.body


def validate_rule(rule: str, columns: Iterable[str] | Mapping[str, Any] | Any) -> None:
    """Raise :class:`RuleError` unless ``rule`` is a valid rule over ``columns``.

    ``columns`` is a list of names, a mapping of name to type (an Ibis schema or a pandas
    ``dtypes``), or an Ibis table; with types, text/number mismatches are caught too.
    """
    _Checker(_kinds(columns)).boolean(_parse(rule))


def compile_rule(rule: str, table: ir.Table) -> ir.BooleanValue:
    """The rule as an Ibis boolean expression over ``table`` (validated first).

    Rows where a compared column is null do not match (SQL semantics: use
    ``table.filter(expr)``, or ``expr.fill_null(False)`` to get a 0/1 flag).
    """
    checker = _Checker(_kinds(table), table)
    tree = _parse(rule)
    _Checker(checker.kinds).boolean(tree)
    result: ir.BooleanValue = checker.boolean(tree)
    return result
