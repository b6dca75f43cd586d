"""Calculate: an aggregate over a list of numbers, arithmetic on one number, or a safe
arithmetic expression.

``operation`` is an aggregate over the array at inputPath (``sum average min max count
product median``), ``round`` (``precision``), ``ceil``, ``floor`` or ``abs`` of the number
there (or of each number of the array), or one of the reference's binary operations
``add subtract multiply divide power modulo`` (and ``max``/``min`` when an ``operand`` is
given) of the number there and ``operand`` (a number, a numeric string or a ``{"path"}``).
Numeric strings are read as numbers where the reference reads them: the single input
number, the operand, and the items of ``sum`` and ``average``.

The expression is parsed with :mod:`ast` and walked by a small interpreter that knows only
numbers, ``+ - * / // % **``, unary signs, names bound to numbers in the object at
inputPath (``a.b`` reads key ``b`` of key ``a``) and a few math functions. Nothing is ever
compiled or evaluated as Python. Every intermediate result must be a finite number no
larger than the largest float, and powers are bounded before they are computed, so
``9**9**9`` fails at once.
"""

from __future__ import annotations

import ast
import math
import operator
import re
import statistics
import sys
from collections.abc import Callable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from decimal import Context as DecimalContext
from typing import Any

from a2e.engine.ops._common import Context, data_error, is_number, json_type, lookup, preview
from a2e.protocol.catalog import Finding, OpSpec, in_path, opt, out_path

OP = "Calculate"
Number = int | float
MAX_MAGNITUDE = sys.float_info.max
MAX_EXPRESSION_CHARS = 1000
MAX_PRECISION = 20
NUMERIC = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")
INTEGER_TEXT = re.compile(r"[+-]?\d+")


class _Rejected(Exception):
    """An expression or value the calculator refuses (becomes a DataError)."""


def _check(value: Any) -> Number:
    """``value`` if it is an int or float within the range of a float, else rejected."""
    if (isinstance(value, int) and abs(value) <= MAX_MAGNITUDE) or (isinstance(value, float) and math.isfinite(value)):
        return value
    raise _Rejected("the result is not a finite number within the range of a float")


#: Enough digits for any float at any precision allowed (quantize refuses a result longer).
_ROUNDING = DecimalContext(prec=400)


def _round(value: Number, ndigits: Any = 0) -> Number:
    """Round half away from zero at ``ndigits`` decimals (an int when ``ndigits <= 0``)."""
    if not isinstance(ndigits, int) or isinstance(ndigits, bool) or abs(ndigits) > MAX_PRECISION:
        raise _Rejected(f"precision must be an integer from -{MAX_PRECISION} to {MAX_PRECISION}")
    if isinstance(value, int) and ndigits >= 0:
        return value
    rounded = Decimal(str(value)).quantize(
        Decimal(1).scaleb(-ndigits, _ROUNDING), rounding=ROUND_HALF_UP, context=_ROUNDING)
    return int(rounded) if ndigits <= 0 else float(rounded)


def _power(base: Number, exponent: Number) -> Number:
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1 \
            and exponent * (abs(base).bit_length() - 1) > 1024:
        raise _Rejected(f"{base} ** {exponent} is larger than the largest float")
    return base ** exponent


def _sum(values: Sequence[Number]) -> Number:
    return math.fsum(values) if any(isinstance(value, float) for value in values) else sum(values)


def _product(values: Sequence[Number]) -> Number:
    result: Number = 1
    for value in values:
        result = _check(result * value)
    return result


BINARY: dict[type[ast.operator], Callable[[Any, Any], Number]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: _power,
}
UNARY: dict[type[ast.unaryop], Callable[[Any], Number]] = {ast.UAdd: operator.pos, ast.USub: operator.neg}
FUNCTIONS: dict[str, tuple[Callable[..., Number], int, int]] = {  # function, min and max arguments
    "abs": (abs, 1, 1), "round": (_round, 1, 2), "sqrt": (math.sqrt, 1, 1),
    "floor": (math.floor, 1, 1), "ceil": (math.ceil, 1, 1),
    "min": (lambda *values: min(values), 1, MAX_EXPRESSION_CHARS),
    "max": (lambda *values: max(values), 1, MAX_EXPRESSION_CHARS),
}
AGGREGATES: dict[str, Callable[[Sequence[Number]], Number]] = {
    "sum": _sum, "average": lambda values: _sum(values) / len(values), "min": min, "max": max,
    "product": _product, "median": statistics.median,
}
NEED_ITEMS = ("average", "min", "max", "median")
BINARY_OPERATIONS: dict[str, Callable[[Number, Number], Number]] = {
    "add": operator.add, "subtract": operator.sub, "multiply": operator.mul, "divide": operator.truediv,
    "power": _power, "modulo": operator.mod, "max": max, "min": min,
}
NEED_OPERAND = ("add", "subtract", "multiply", "divide", "power", "modulo")
UNARY_OPERATIONS: dict[str, Callable[..., Number]] = {
    "round": _round, "ceil": math.ceil, "floor": math.floor, "abs": abs,
}
STRING_ITEMS = ("sum", "average")  # the aggregates that read numeric strings in the array
OPERATIONS = (*AGGREGATES, "count", *UNARY_OPERATIONS, *NEED_OPERAND)


def run(ctx: Context, config: Mapping[str, Any]) -> Any:
    """The aggregate or expression value, rounded to ``precision`` decimals when given."""
    if ("operation" in config) == ("expression" in config):
        raise data_error(ctx, OP, "give exactly one of operation or expression")
    try:
        if "expression" in config:
            result = _evaluate(ctx, config["expression"],
                               ctx.read(config["inputPath"]) if "inputPath" in config else {})
        elif config["operation"] in NEED_OPERAND or "operand" in config:
            result = _binary(ctx, config)
        elif config["operation"] in UNARY_OPERATIONS:
            return _unary(ctx, config)
        else:
            result = _aggregate(ctx, config)
        return _round(result, config["precision"]) if "precision" in config else result
    except _Rejected as exc:
        raise data_error(ctx, OP, str(exc)) from None
    except ZeroDivisionError:
        raise data_error(ctx, OP, "division by zero") from None
    except (ArithmeticError, ValueError) as exc:
        raise data_error(ctx, OP, f"invalid arithmetic: {exc}") from None


def _items(ctx: Context, config: Mapping[str, Any]) -> list[Any]:
    if "inputPath" not in config:
        raise data_error(ctx, OP, f"operation {config['operation']!r} needs inputPath")
    items = ctx.read(config["inputPath"])
    if not isinstance(items, list):
        raise data_error(ctx, OP, f"expected an array at {config['inputPath']}, got {json_type(items)}")
    return items


def _numbers(ctx: Context, items: list[Any], field: str | None, *, strings: bool = False) -> list[Number]:
    """The items, or each item's ``field`` (dotted), all of which must be numbers (or, with
    ``strings``, numeric strings)."""
    numbers = []
    for index, item in enumerate(items):
        value = item
        if field is not None:
            try:
                value = lookup(item, field)
            except LookupError:
                raise data_error(ctx, OP, f"item {index} has no field {preview(field)}",
                                 details={"index": index}) from None
        number = _as_number(value) if strings else value
        if not is_number(number):
            raise data_error(ctx, OP, f"item {index} is not a number: {preview(value)}",
                             details={"index": index})
        numbers.append(_check(number))
    return numbers


def _as_number(value: Any) -> Any:
    """A numeric string as its number (``"5"`` → 5, ``" 1.5e3 "`` → 1500.0); anything else as is."""
    if isinstance(value, str) and len(value) <= MAX_EXPRESSION_CHARS and NUMERIC.fullmatch(value):
        text = value.strip()
        return int(text) if INTEGER_TEXT.fullmatch(text) else float(text)
    return value


def _input_number(ctx: Context, config: Mapping[str, Any]) -> Any:
    """The value at inputPath, a numeric string read as its number."""
    if "inputPath" not in config:
        raise data_error(ctx, OP, f"operation {config['operation']!r} needs inputPath")
    return _as_number(ctx.read(config["inputPath"]))


def _operand(ctx: Context, config: Mapping[str, Any]) -> Number:
    """``operand``: a number, a numeric string, ``{"path": ...}`` or a path string."""
    if "operand" not in config:
        raise data_error(ctx, OP, f"operation {config['operation']!r} needs an operand",
                         suggestions=["Add \"operand\": 10 or \"operand\": {\"path\": \"/workflow/x\"}"])
    operand = config["operand"]
    if isinstance(operand, dict) and isinstance(operand.get("path"), str):
        operand = ctx.read(operand["path"])
    elif isinstance(operand, str) and operand.startswith("/"):
        operand = ctx.read(operand)
    number = _as_number(operand)
    if not is_number(number):
        raise data_error(ctx, OP, f"the operand is {json_type(operand)} {preview(operand)}, not a number")
    return _check(number)


def _binary(ctx: Context, config: Mapping[str, Any]) -> Number:
    operation = config["operation"]
    if operation not in BINARY_OPERATIONS:
        raise data_error(ctx, OP, f"operation {preview(operation)} takes no operand",
                         suggestions=[f"An operand goes with {', '.join(BINARY_OPERATIONS)}"])
    value = _input_number(ctx, config)
    if not is_number(value):
        raise data_error(ctx, OP, f"expected a number at {config['inputPath']}, got {json_type(value)} "
                         f"{preview(value)}", details={"path": config["inputPath"]})
    return _check(BINARY_OPERATIONS[operation](_check(value), _operand(ctx, config)))


def _aggregate(ctx: Context, config: Mapping[str, Any]) -> Number:
    operation = config["operation"]
    if operation == "count":
        return len(_items(ctx, config))
    if operation not in AGGREGATES:
        raise data_error(ctx, OP, f"unknown operation {preview(operation)}",
                         suggestions=[f"Use one of {', '.join(OPERATIONS)}"])
    strings = operation in STRING_ITEMS
    if strings and is_number(single := _input_number(ctx, config)):
        return _check(single)  # the reference's sum or average of one number: the number
    numbers = _numbers(ctx, _items(ctx, config), config.get("field"), strings=strings)
    if not numbers and operation in NEED_ITEMS:
        raise data_error(ctx, OP, f"{operation} of an empty list is undefined")
    return _check(AGGREGATES[operation](numbers))


def _unary(ctx: Context, config: Mapping[str, Any]) -> Number | list[Number]:
    """``round`` (at ``precision``, default 0), ``ceil``, ``floor``, ``abs``: of the number at
    inputPath, or of each number of the list there."""
    operation = config["operation"]
    function = UNARY_OPERATIONS[operation]
    arguments = (config.get("precision", 0),) if operation == "round" else ()
    if is_number(value := _input_number(ctx, config)):
        return _check(function(_check(value), *arguments))
    numbers = _numbers(ctx, _items(ctx, config), config.get("field"))
    return [_check(function(number, *arguments)) for number in numbers]


def _evaluate(ctx: Context, expression: str, names: Any) -> Number:
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise _Rejected(f"the expression is longer than {MAX_EXPRESSION_CHARS} characters")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise _Rejected(f"cannot parse expression {preview(expression)}: {exc}") from None
    try:
        return _eval(tree.body, names)
    except RecursionError:
        raise _Rejected("the expression is nested too deeply") from None


def _eval(node: ast.AST, names: Any) -> Number:
    if isinstance(node, ast.Constant) and is_number(node.value):
        return _check(node.value)
    if isinstance(node, (ast.Name, ast.Attribute)):
        return _name(node, names)
    if isinstance(node, ast.BinOp) and type(node.op) in BINARY:
        return _check(BINARY[type(node.op)](_eval(node.left, names), _eval(node.right, names)))
    if isinstance(node, ast.UnaryOp) and type(node.op) in UNARY:
        return _check(UNARY[type(node.op)](_eval(node.operand, names)))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS \
            and not node.keywords:
        function, least, most = FUNCTIONS[node.func.id]
        if not least <= len(node.args) <= most:
            raise _Rejected(f"{node.func.id}() takes {least} to {most} arguments, got {len(node.args)}")
        return _check(function(*(_eval(arg, names) for arg in node.args)))
    raise _Rejected(f"{ast.unparse(node)[:80]!r} is not allowed; use numbers, names, + - * / // % **, "
                    f"parentheses and {', '.join(FUNCTIONS)}")


def _name(node: ast.Name | ast.Attribute, names: Any) -> Number:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value  # type: ignore[assignment]
    if not isinstance(node, ast.Name):
        raise _Rejected(f"{ast.unparse(node)[:80]!r} is not allowed in a dotted name")
    dotted = ".".join([node.id, *reversed(parts)])
    try:
        value = lookup(names, dotted)
    except LookupError:
        raise _Rejected(f"unknown name {dotted!r} (names come from the object at inputPath)") from None
    if not is_number(value):
        raise _Rejected(f"{dotted!r} is {json_type(value)}, not a number")
    return _check(value)


def _operation_or_expression(config: Mapping[str, Any]) -> list[Finding]:
    if ("operation" in config) == ("expression" in config):
        return [Finding(f"{OP} needs exactly one of 'operation' and 'expression'")]
    operation = config.get("operation")
    if operation in NEED_OPERAND and "operand" not in config:
        return [Finding(f"operation {operation!r} needs 'operand'", "a number or {\"path\": \"/workflow/x\"}")]
    if "operand" in config and operation in OPERATIONS and operation not in BINARY_OPERATIONS:
        return [Finding(f"'operand' goes with operation {', '.join(BINARY_OPERATIONS)} only")]
    return []


SPEC = OpSpec(
    OP,
    doc="An aggregate over a list of numbers, or a safe arithmetic expression.",
    fields={
        "inputPath": in_path(required=False),
        "operation": opt("string", choices=OPERATIONS),
        "operand": opt("number", "string", "object", role="refs"),
        "field": opt("string"),
        "expression": opt("string"),
        "precision": opt("integer", minimum=0),
        "outputPath": out_path(),
    },
    run=run,
    rules=(_operation_or_expression,),
    default_ttl=0,  # cheaper to compute than to look up: cached only when configured
)
