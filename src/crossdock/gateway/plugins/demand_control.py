"""Demand control (``demand_control``): each operation's cost estimated before it is planned,
refused over a maximum, and its actual cost measured from the response.

Read with Apollo Router's keys::

    demand_control:
      enabled: true
      mode: enforce            # or measure: estimate and report, never refuse
      strategy:
        static_estimated:
          list_size: 10        # the length taken for a list no @listSize sizes
          max: 1000            # the largest estimated cost served

The cost is :mod:`.cost`'s, from the supergraph's ``@cost`` and ``@listSize``. In
``enforce`` mode an operation whose estimate is above ``max`` is answered, before any
subgraph is asked, with one error whose code is ``COST_ESTIMATED_TOO_EXPENSIVE`` and whose
extensions carry ``cost.estimated`` and ``cost.max``; one whose ``@listSize`` wants exactly
one slicing argument and gets another number is answered ``COST_QUERY_PARSE_FAILURE``. In
``measure`` mode both are served. Either way the estimate, the actual cost (measured on the
response's shape: the router's ``actual_cost_mode: by_response_shape``) and their difference
go to the metrics, with the result code; an operation over ``max`` is logged.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, ClassVar

from prometheus_client import Counter, Histogram

from crossdock.core.errors import ConfigError
from crossdock.core.logging import get_logger
from crossdock.gateway.errors import OperationCostError
from crossdock.gateway.plugins.base import GraphQLRequest, Operation, Plugin
from crossdock.gateway.plugins.cost import CostCalculator
from crossdock.gateway.plugins.cost_directives import read_cost_directives
from crossdock.gateway.result import Result
from crossdock.gateway.values import boolean

if TYPE_CHECKING:
    from collections.abc import Mapping

    from graphql import DocumentNode, OperationDefinitionNode

    from crossdock.gateway.supergraph import Supergraph

log = get_logger("crossdock.gateway")

_KEYS = frozenset({"enabled", "mode", "strategy"})
_STATIC_KEYS = frozenset({"list_size", "max", "actual_cost_mode"})
OK = "COST_OK"
TOO_EXPENSIVE = "COST_ESTIMATED_TOO_EXPENSIVE"
PARSE_FAILURE = "COST_QUERY_PARSE_FAILURE"
#: The router's suggested buckets for costs, which span far more than latencies do.
_BUCKETS = (0, 10, 100, 1000, 10000, 100000, 1000000)
ESTIMATED = Histogram("crossdock_gateway_cost_estimated",
                      "Estimated cost of operations, by demand control result.", ["result"],
                      buckets=_BUCKETS)
ACTUAL = Histogram("crossdock_gateway_cost_actual",
                   "Actual cost of operations, measured on their responses.", buckets=_BUCKETS)
DELTA = Histogram("crossdock_gateway_cost_delta",
                  "Estimated minus actual cost of operations.", buckets=_BUCKETS)
OPERATIONS = Counter("crossdock_gateway_demand_control_operations_total",
                     "Operations seen by demand control, by result.", ["result"])
# Label lookups take a lock: each result's children are looked up once.
_ESTIMATED = {result: ESTIMATED.labels(result) for result in (OK, TOO_EXPENSIVE, PARSE_FAILURE)}
_OPERATIONS = {result: OPERATIONS.labels(result)
               for result in (OK, TOO_EXPENSIVE, PARSE_FAILURE)}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CostPolicy:
    """The ``demand_control`` section."""

    enforce: bool
    list_size: int
    max: float


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _Measured:
    """What ``on_operation`` leaves in the context for ``on_response``."""

    estimated: float
    result: str
    calculator: CostCalculator
    document: DocumentNode
    definition: OperationDefinitionNode
    variables: Mapping[str, Any]


class DemandControl(Plugin):
    """Estimates, enforces and measures operation costs (see the module's docstring)."""

    name: ClassVar[str] = "demand_control"

    def __init__(self, policy: CostPolicy) -> None:
        self.policy = policy
        # The calculator of the supergraph served now; a reload brings another supergraph.
        self._for: tuple[Supergraph, CostCalculator] | None = None

    def calculator(self, operation: Operation) -> CostCalculator:
        """The calculator for ``operation``'s supergraph (made once per supergraph)."""
        held = self._for
        if held is None or held[0] is not operation.supergraph:
            held = self._for = (operation.supergraph, CostCalculator(
                operation.schema, read_cost_directives(operation.supergraph),
                list_size=self.policy.list_size))
        return held[1]

    async def on_operation(self, operation: Operation) -> Operation | Result:
        calculator = self.calculator(operation)
        try:
            estimated = calculator.estimated(operation.document, operation.definition,
                                             operation.variables)
        except OperationCostError as exc:
            _OPERATIONS[PARSE_FAILURE].inc()
            log.info("operation_cost", operation=operation.context.operation_name,
                     result=PARSE_FAILURE, reason=str(exc))
            if self.policy.enforce:
                return _refusal(f"Query could not be parsed: {exc}", PARSE_FAILURE, {})
            return operation
        result = TOO_EXPENSIVE if estimated > self.policy.max else OK
        if result != OK:
            log.info("operation_cost", operation=operation.context.operation_name,
                     result=result, estimated=estimated, max=self.policy.max,
                     enforced=self.policy.enforce)
        if result != OK and self.policy.enforce:
            _ESTIMATED[result].observe(estimated)
            _OPERATIONS[result].inc()
            return _refusal(
                f"query estimated cost {_number(estimated)} exceeded configured maximum "
                f"{_number(self.policy.max)}", result,
                {"cost.estimated": estimated, "cost.max": self.policy.max})
        context = operation.context
        measured = _Measured(estimated=estimated, result=result, calculator=calculator,
                             document=operation.document, definition=operation.definition,
                             variables=operation.variables)
        return operation.with_context(dataclasses.replace(
            context, extensions={**context.extensions, self.name: measured}))

    async def on_response(self, request: GraphQLRequest, result: Result) -> Result:
        measured = request.context.extensions.get(self.name)
        if isinstance(measured, _Measured):
            actual = measured.calculator.actual(measured.document, measured.definition,
                                                measured.variables, result.body.get("data"))
            _ESTIMATED[measured.result].observe(measured.estimated)
            _OPERATIONS[measured.result].inc()
            ACTUAL.observe(actual)
            DELTA.observe(measured.estimated - actual)
        return result


def _refusal(message: str, code: str, extensions: dict[str, Any]) -> Result:
    return Result(body={"errors": [{"message": message,
                                    "extensions": {"code": code, **extensions}}]})


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() else str(value)


def build(root: Mapping[str, Any], unsupported: list[str]) -> DemandControl | None:
    """The plugin of the file's ``demand_control`` section (None: absent or not enabled)."""
    if "demand_control" not in root:
        return None
    section = root["demand_control"]
    if not isinstance(section, dict):
        raise ConfigError("demand_control: expected a mapping of keys")
    unsupported.extend(f"demand_control.{key}" for key in section if key not in _KEYS)
    enabled = boolean(section.get("enabled", False), "demand_control.enabled")
    mode = section.get("mode")
    if mode not in {"measure", "enforce"}:
        raise ConfigError(f"demand_control.mode: {mode!r} is not measure or enforce")
    strategy = section.get("strategy")
    if not isinstance(strategy, dict) or "static_estimated" not in strategy:
        raise ConfigError("demand_control.strategy: expected static_estimated "
                          "(with list_size and max)")
    unsupported.extend(f"demand_control.strategy.{key}" for key in strategy
                       if key != "static_estimated")
    policy = _static_estimated(strategy["static_estimated"], mode == "enforce", unsupported)
    return DemandControl(policy) if enabled else None


def _static_estimated(value: Any, enforce: bool, unsupported: list[str]) -> CostPolicy:
    key = "demand_control.strategy.static_estimated"
    if not isinstance(value, dict):
        raise ConfigError(f"{key}: expected a mapping with list_size and max")
    unsupported.extend(f"{key}.{name}" for name in value if name not in _STATIC_KEYS)
    list_size = value.get("list_size")
    if isinstance(list_size, bool) or not isinstance(list_size, int) or list_size < 0:
        raise ConfigError(f"{key}.list_size: {list_size!r} is not a whole number >= 0")
    maximum = value.get("max")
    if isinstance(maximum, bool) or not isinstance(maximum, int | float) or maximum < 0:
        raise ConfigError(f"{key}.max: {maximum!r} is not a number >= 0")
    mode = value.get("actual_cost_mode", "by_response_shape")
    if mode not in {"by_subgraph", "by_response_shape"}:
        raise ConfigError(f"{key}.actual_cost_mode: {mode!r} is not by_subgraph or "
                          "by_response_shape")
    if mode == "by_subgraph":
        # Summing the subgraphs' own responses is not done: the response's shape is measured.
        unsupported.append(f"{key}.actual_cost_mode")
    return CostPolicy(enforce=enforce, list_size=list_size, max=float(maximum))
