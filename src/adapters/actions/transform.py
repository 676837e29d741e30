"""The ``transform`` action: reshape, filter and pick data with JMESPath over the run context.

Its expressions are checked when the definition is registered (they must parse, and call
only JMESPath's own functions) and evaluated over the same context templates read:
``{"input": …, "steps": {"<id>": {"output": …, "error": …}}, "run": {…}}``, never secrets.
JMESPath is a data query language: nothing is executed.
"""

from __future__ import annotations

from typing import Any

import msgspec

from wfa.application.ports.actions import ActionContext, ActionError, Expression
from wfa.domain.errors import ExpressionError, ExpressionTooCostly
from wfa.domain.expression_cost import DEFAULT_EXPRESSION_BUDGET, Budget
from wfa.domain.expressions import evaluate


class TransformParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Exactly one of ``expression`` (the output is its value) or ``mapping`` (an object
    whose every value is an expression; the output has the same keys)."""

    expression: Expression | None = None
    mapping: dict[str, Expression] | None = None

    def __post_init__(self) -> None:
        if (self.expression is None) == (self.mapping is None):
            raise ValueError("give exactly one of 'expression' or 'mapping'")


class Transform:
    """Evaluates its expressions over the run context; output: their value(s)."""

    name = "transform"
    params_type: Any = TransformParams

    def __init__(self, expression_budget: int = DEFAULT_EXPRESSION_BUDGET) -> None:
        self._expression_budget = expression_budget

    async def __call__(self, params: TransformParams, context: ActionContext) -> Any:
        budget = Budget(self._expression_budget)  # one budget for all of one call's expressions
        try:
            if params.mapping is not None:
                return {
                    key: evaluate(source, context.run_context, budget)
                    for key, source in params.mapping.items()
                }
            assert params.expression is not None
            return evaluate(params.expression, context.run_context, budget)
        except ExpressionTooCostly as error:
            raise ActionError(error.code, str(error), retryable=False) from None
        except ExpressionError as error:  # the same data fails the same way: no retry
            raise ActionError("transform.failed", str(error), retryable=False) from None
