"""What demand control adds to a request, in microseconds, in-process.

`uv run --frozen python bench/gateway/cost.py [--requests 5000]`

Times the demand control plugin's two hooks on the catalog test supergraph (its @cost and
@listSize): ``on_operation``, which estimates the operation's cost before planning (what
every request pays: nothing is cached, since the variables may change the estimate), and
``on_response``, which measures the actual cost on the response and records the metrics.
Prints the median and p95 of each, per operation.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from graphql import parse

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.gateway.timing import figures, timed  # noqa: E402

from crossdock.gateway.api_schema import build_api_schema  # noqa: E402
from crossdock.gateway.context import RequestContext  # noqa: E402
from crossdock.gateway.fields import operation_of  # noqa: E402
from crossdock.gateway.plugins.base import GraphQLRequest, Operation  # noqa: E402
from crossdock.gateway.plugins.demand_control import CostPolicy, DemandControl  # noqa: E402
from crossdock.gateway.result import Result  # noqa: E402
from crossdock.gateway.supergraph import load_supergraph  # noqa: E402

BOOK = {"title": "Dune", "author": {"name": "Frank Herbert"},
        "publisher": {"name": "Chilton", "address": {"zipCode": 19106}}}
OPERATIONS: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = [
    ("one field", '{ book(id: "b1") { title } }', {}, {"book": {"title": "Dune"}}),
    ("nested objects", ('{ book(id: "b1") { title author { name } publisher { name '
     "address { zipCode } } } }"), {}, {"book": BOOK}),
    ("lists, variables", ("query($n: Int!) { newestAdditions(limit: $n) { title "
     "reviews(first: 3) { body stars } } }"), {"n": 10},
     {"newestAdditions": [{"title": "Dune", "reviews": [{"body": "x", "stars": 5}] * 3}]
      * 10}),
    ("fragments, input", ('mutation { addBook(input: {title: "T", isbn: "I", tags: '
     '[{name: "a"}, {name: "b"}]}) { ...B } } fragment B on Book { title author { name } '
     "publisher { address { zipCode } } }"), {}, {"addBook": BOOK}),
]


async def run(requests: int) -> None:
    supergraph = load_supergraph(ROOT / "tests/integration/gateway/supergraphs/catalog.graphql")
    schema = build_api_schema(supergraph)
    plugin = DemandControl(CostPolicy(enforce=True, list_size=10, max=1e9))
    print("demand_control (enforce, list_size 10) on the catalog supergraph:")
    for label, query, variables, data in OPERATIONS:
        document = parse(query)
        operation = Operation(
            request=GraphQLRequest(query=query, variables=variables,
                                   context=RequestContext(request_id="bench")),
            document=document, definition=operation_of(document, None), schema=schema,
            supergraph=supergraph, variables=variables)
        estimated = await plugin.on_operation(operation)
        assert isinstance(estimated, Operation), estimated
        result = Result(body={"data": data})
        request = estimated.request
        before = await timed(lambda operation=operation: plugin.on_operation(operation),
                             requests)
        after = await timed(lambda request=request, result=result: plugin.on_response(
            request, result), requests)
        print(f"  {label:<17} estimate {figures(before)}")
        print(f"  {'':<17} actual   {figures(after)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    args = parser.parse_args()
    asyncio.run(run(args.requests))


if __name__ == "__main__":
    main()
