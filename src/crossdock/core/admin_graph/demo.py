"""What ``crossdock up`` prints about the admin graph: where to query it, with a token."""

from __future__ import annotations

import shlex

import orjson

from crossdock.core.services import Served

#: The name of the admin token ``crossdock up`` makes (and replaces) for the admin graph.
DEMO_TOKEN_NAME = "crossdock up admin graph"  # noqa: S105 (a name, not a secret)

#: One query that reads three subgraphs: the core's services, GitSlice's slices and the
#: webhooks' latest deliveries.
DEMO_QUERY = ("{ services { name } slices { name lastUpstreamSha } "
              "deliveries(first: 3) { nodes { id source eventType status } } }")


def demo_note(token: str, served: Served) -> list[str]:
    """Where the admin graph is (the gateway, when it runs), a query line, the dashboard's login."""
    gateway = served.urls.get("gateway")
    url = f"{gateway}/graphql" if gateway else f"{served.urls['admin-graph']}/core/graphql"
    header = shlex.quote(f"Authorization: Bearer {token}")
    body = shlex.quote(orjson.dumps({"query": DEMO_QUERY}).decode())
    lines = [
        (f"admin graph: the platform's own data at {url}, with an admin token made for this "
         "run (make your own with crossdock admin token create --role read|admin):"),
        (f"  curl -sS {shlex.quote(url)} -H {header} -H 'Content-Type: application/json' "
         f"--data-binary {body}"),
    ]
    dashboard = served.urls.get("dashboard")
    if dashboard:
        lines.append(f"dashboard: open {dashboard}/ and log in with the token {token}")
    return lines
