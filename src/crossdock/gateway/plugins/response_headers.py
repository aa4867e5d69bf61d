"""Subgraph -> client headers: ``headers.all|subgraphs.<name>.response`` (crossdock's own key).

Apollo Router has no key for this; crossdock's mirrors the ``request`` rules, read in order
against each subgraph answer of the request (``all``'s, then the subgraph's own):

- ``propagate``: ``named`` copies every value of one answer header (``Set-Cookie`` stays one
  header per cookie), sent as ``rename`` if given, or ``default`` when the answer has none;
  ``matching`` copies every answer header whose name the regular expression matches;
- ``insert``: ``name`` and ``value``, a static header on the client's response;
- ``remove``: ``named`` or ``matching`` takes headers out of those picked so far.

``Cache-Control`` is never copied as it is: ``propagate: {named: cache-control}`` under
``headers.all.response`` sends the client the most restrictive policy of all the request's
answers (:mod:`.cache_control`), ``no-store`` when the response has errors. The same header
picked from several answers is sent once. Hop-by-hop and content headers are never copied.

Each request's picks are kept in the context's ``extensions`` (``on_request`` puts a fresh
collector there, ``on_subgraph`` fills it, ``on_response`` adds its headers to the Result).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, ClassVar

from crossdock.core.errors import ConfigError
from crossdock.gateway.headers import (
    RESERVED,
    Insert,
    InsertClaim,
    Propagate,
    PropagateMatching,
    Remove,
)
from crossdock.gateway.headers import parse_rules as parse_header_rules
from crossdock.gateway.plugins.base import Plugin
from crossdock.gateway.plugins.cache_control import CachePolicy

if TYPE_CHECKING:
    from collections.abc import Mapping

    from crossdock.gateway.headers import Rule
    from crossdock.gateway.plugins.base import (
        GraphQLRequest,
        SubgraphAnswer,
        SubgraphCall,
        SubgraphRequest,
    )
    from crossdock.gateway.result import Result

CACHE_CONTROL = "cache-control"
Pairs = list[tuple[str, str]]


class _Picked:
    """What one request's answers gave so far."""

    __slots__ = ("headers", "policy")

    def __init__(self) -> None:
        self.headers: Pairs = []
        self.policy: CachePolicy | None = None


def pick(rules: tuple[Rule, ...], answer: tuple[tuple[str, str], ...]) -> Pairs:
    """The headers ``rules`` take from one answer's ``answer`` headers."""
    out: Pairs = []
    for rule in rules:
        if isinstance(rule, Propagate):
            values = [value for name, value in answer if name == rule.named]
            if not values and rule.default is not None:
                values = [rule.default]
            out += [(rule.rename or rule.named, value) for value in values]
        elif isinstance(rule, PropagateMatching):
            out += [(name, value) for name, value in answer
                    if name not in RESERVED and name != CACHE_CONTROL
                    and rule.pattern.search(name)]
        elif isinstance(rule, Insert):
            out.append((rule.name, rule.value))
        elif isinstance(rule, Remove):
            out = [(name, value) for name, value in out
                   if not (name == rule.named if rule.named is not None
                           else rule.pattern is not None and rule.pattern.search(name))]
    return out


class ResponseHeaders(Plugin):
    """Copies chosen subgraph answer headers to the client; merges ``Cache-Control``."""

    name: ClassVar[str] = "response_headers"
    reads_answer_headers: ClassVar[bool] = True

    def __init__(self, *, rules_all: tuple[Rule, ...] = (),
                 rules_subgraphs: Mapping[str, tuple[Rule, ...]] | None = None,
                 cache_control: bool = False) -> None:
        self.rules_all = rules_all
        self.rules_subgraphs = dict(rules_subgraphs or {})
        self.cache_control = cache_control

    async def on_request(self, request: GraphQLRequest) -> GraphQLRequest:
        context = request.context
        return request.with_context(dataclasses.replace(
            context, extensions={**context.extensions, self.name: _Picked()}))

    async def on_subgraph(self, request: SubgraphRequest, call: SubgraphCall) -> SubgraphAnswer:
        answer = await call(request)
        picked = request.context.extensions.get(self.name)
        if isinstance(picked, _Picked):
            rules = self.rules_all + self.rules_subgraphs.get(request.subgraph, ())
            if rules:
                picked.headers += pick(rules, answer.headers)
            if self.cache_control:
                policy = CachePolicy.of(answer.headers)
                picked.policy = policy if picked.policy is None else picked.policy.merge(policy)
        return answer

    async def on_response(self, request: GraphQLRequest, result: Result) -> Result:
        picked = request.context.extensions.get(self.name)
        if not isinstance(picked, _Picked):
            return result
        added = list(dict.fromkeys(picked.headers))
        if picked.policy is not None:
            policy = picked.policy
            if "errors" in result.body:
                # A response that is partly errors must not be served again from a cache.
                policy = policy.merge(CachePolicy(no_store=True))
            added.append((CACHE_CONTROL, policy.header()))
        if not added:
            return result
        return dataclasses.replace(result, headers=(*result.headers, *added))


def build(root: Mapping[str, Any], unsupported: list[str]) -> Plugin | None:
    """The plugin of ``headers.*.response``; None when no section has response rules."""
    headers = root.get("headers")
    if not isinstance(headers, dict):
        return None  # the configuration's own reader reports a wrong type
    rules_all = _rules(headers.get("all"), "headers.all", unsupported)
    subgraphs: dict[str, tuple[Rule, ...]] = {}
    own = headers.get("subgraphs")
    for name, section in (own.items() if isinstance(own, dict) else ()):
        key = f"headers.subgraphs.{name}"
        subgraphs[str(name)] = found = _rules(section, key, unsupported)
        if any(_merges(rule) for rule in found):
            raise ConfigError(f"{key}.response: cache-control is merged from every "
                              "subgraph's answer; propagate it under headers.all.response")
    merged = [rule for rule in rules_all if _merges(rule)]
    if not rules_all and not any(subgraphs.values()):
        return None
    return ResponseHeaders(rules_all=tuple(r for r in rules_all if not _merges(r)),
                           rules_subgraphs={k: v for k, v in subgraphs.items() if v},
                           cache_control=bool(merged))


def _rules(section: Any, key: str, unsupported: list[str]) -> tuple[Rule, ...]:
    if not isinstance(section, dict):
        return ()
    rules = parse_header_rules(section.get("response"), f"{key}.response", unsupported)
    for rule in rules:
        if isinstance(rule, InsertClaim):
            raise ConfigError(f"{key}.response: insert from_claim is for request rules "
                              "(a subgraph answer has no claims)")
        if (isinstance(rule, Insert) and rule.name == CACHE_CONTROL) or (isinstance(
                rule, Propagate) and rule.named == CACHE_CONTROL and (
                rule.rename is not None or rule.default is not None)):
            raise ConfigError(f"{key}.response: cache-control is only merged from the "
                              "answers: propagate it by name, without rename or default")
    return rules


def _merges(rule: Rule) -> bool:
    return isinstance(rule, Propagate) and rule.named == CACHE_CONTROL
