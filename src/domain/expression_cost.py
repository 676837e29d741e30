"""What evaluating a JMESPath expression may cost, and the interpreter that keeps to it.

jmespath evaluates eagerly and without limits: ``[@,@]`` builds a list holding its input
twice, so twenty of them in a row describe a value a million times larger than the input,
and ``to_string``, ``==`` or storing the result then walk all of it. Python shares the
repeated parts, so building is cheap; walking is what freezes a process. The interpreter
below therefore charges, in units, for the work an evaluation can cause and stops with
``ExpressionTooCostly`` once a ``Budget`` is spent:

- every node of the expression visited: 1 unit (a projection visits its child per element);
- a value walked deeply (each operand of a comparison, the arguments of ``to_string``,
  ``contains``, ``join``, ``sort`` …, the expression's result): its size, counted as if
  written out in full (a shared part counts each time it appears);
- a list or string a node builds (``[]`` flatten, slices, a function's result): its size.

Sizes: a number, boolean or null is 1, a string 1 + one per 64 characters, an array or
object 1 + the sizes of its items (and of its keys). One Budget is shared by every
expression evaluated for one decision of a run, one rendering of a task's params, or one
call of ``transform``. The interpreter is pure: no clock, only counting.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jmespath import functions
from jmespath.visitor import Options, TreeInterpreter, _Expression

from wfa.domain.errors import ExpressionTooCostly

if TYPE_CHECKING:
    from jmespath.visitor import _TreeNode

DEFAULT_EXPRESSION_BUDGET = 100_000
BUDGET_VARIABLE = "WFA_EXPRESSION_BUDGET"
CHARACTERS_PER_UNIT = 64

# Functions whose work depends on their arguments' length only, not on what is inside them
# (or whose inner work is expressions over each item, charged as node visits).
_SHALLOW_FUNCTIONS = frozenset(
    {
        "length",
        "type",
        "keys",
        "values",
        "not_null",
        "reverse",
        "to_array",
        "map",
        "sort_by",
        "max_by",
        "min_by",
        "merge",
        "abs",
        "ceil",
        "floor",
    }
)
_FUNCTIONS = functions.Functions()
_OPTIONS = Options(custom_functions=_FUNCTIONS)
_EQUALITY = frozenset({"eq", "ne"})


class Budget:
    """Units an evaluation may still spend; shared by the expressions of one decision."""

    def __init__(self, units: int = DEFAULT_EXPRESSION_BUDGET) -> None:
        self.units = units
        self.left = units

    def charge(self, cost: int) -> None:
        """Spend ``cost`` units; ExpressionTooCostly when that is more than is left."""
        self.left -= cost
        if self.left < 0:
            self.left = -1
            raise ExpressionTooCostly(
                f"costs more than the budget of {self.units:,} units ({BUDGET_VARIABLE})"
            )


def _scalar_size(value: Any) -> int:
    if isinstance(value, str):
        return 1 + len(value) // CHARACTERS_PER_UNIT
    return 1


def _orderable(value: Any) -> bool:
    return isinstance(value, int | float | str) and not isinstance(value, bool)


def _ordered_together(left: Any, right: Any) -> bool:
    """Two numbers, or two strings: what ``<`` may compare. jmespath's own interpreter lets
    a number meet a string and raises Python's TypeError; the spec says null."""
    return (
        _orderable(left) and _orderable(right) and isinstance(left, str) == isinstance(right, str)
    )


def shallow_size(value: Any) -> int:
    """The size of a value's top level: what building or copying it costs."""
    if isinstance(value, list | dict):
        return 1 + len(value)
    return _scalar_size(value)


class BoundedInterpreter(TreeInterpreter):
    """jmespath's own interpreter, charging a Budget for what each step builds and walks."""

    def __init__(self, budget: Budget) -> None:
        super().__init__(_OPTIONS)
        self.budget = budget
        # id -> (value, size): values stay referenced so that an id is never reused meanwhile.
        self._sizes: dict[int, tuple[Any, int]] = {}
        self._methods: dict[str, Any] = {}

    def visit(self, node: _TreeNode, *args: Any, **kwargs: Any) -> Any:
        budget = self.budget
        budget.left -= 1  # inline: this runs once per node and item, so it must stay cheap
        if budget.left < 0:
            budget.charge(0)
        method = self._methods.get(node["type"]) or self._method_for(node["type"])
        return method(node, *args, **kwargs)

    def _method_for(self, kind: str) -> Any:
        method = getattr(self, f"visit_{kind}", self.default_visit)
        self._methods[kind] = method
        return method

    def visit_comparator(self, node: _TreeNode, value: Any) -> Any:
        # Equality walks both operands in full; ordering compares numbers or strings only.
        left, right = (self.visit(child, value) for child in node["children"])
        self.budget.charge(self.deep_size(left) + self.deep_size(right))
        compare = self.COMPARATOR_FUNC[node["value"]]
        if node["value"] in _EQUALITY or _ordered_together(left, right):
            return compare(left, right)
        return None

    def visit_function_expression(self, node: _TreeNode, value: Any) -> Any:
        name = node["value"]
        arguments = [self.visit(child, value) for child in node["children"]]
        measure = shallow_size if name in _SHALLOW_FUNCTIONS else self.deep_size
        self.budget.charge(sum(measure(argument) for argument in arguments))
        result = _FUNCTIONS.call_function(name, arguments)
        self.budget.charge(shallow_size(result))
        return result

    def visit_flatten(self, node: _TreeNode, value: Any) -> Any:
        result = super().visit_flatten(node, value)
        self.budget.charge(shallow_size(result))
        return result

    def visit_slice(self, node: _TreeNode, value: Any) -> Any:
        result = super().visit_slice(node, value)
        self.budget.charge(shallow_size(result))
        return result

    def deep_size(self, value: Any) -> int:
        """A value's size written out in full; the walk stops once it passes the budget."""
        if isinstance(value, _Expression):
            return 1
        if not isinstance(value, list | dict):
            return _scalar_size(value)
        sizes = self._sizes
        walked = 0
        stack: list[tuple[Any, bool]] = [(value, False)]
        while stack:
            current, expanded = stack.pop()
            if id(current) in sizes:
                continue
            items = list(current.values()) if isinstance(current, dict) else current
            if expanded:
                total = 1 + sum(self._known_size(item) for item in items)
                if isinstance(current, dict):
                    total += sum(_scalar_size(key) for key in current)
                sizes[id(current)] = (current, total)
                continue
            walked += 1 + len(items)  # each distinct container is walked once
            if walked > self.budget.left:
                self.budget.charge(walked)
            stack.append((current, True))
            stack.extend((item, False) for item in items if isinstance(item, list | dict))
        return sizes[id(value)][1]

    def _known_size(self, item: Any) -> int:
        if isinstance(item, list | dict):
            return self._sizes[id(item)][1]
        return _scalar_size(item)
