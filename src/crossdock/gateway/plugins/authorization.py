"""Authorization: ``authorization``, Apollo Router's keys and behaviour, plus a policy hook.

- ``require_authentication: true`` turns away a request without valid claims: HTTP 401,
  ``unauthenticated``, ``AUTH_ERROR``.
- ``directives`` (on unless ``enabled: false``) enforces the supergraph's ``@authenticated``,
  ``@requiresScopes`` (against the ``scope`` claim, split on spaces) and ``@policy``: what
  the caller may not see is removed from the operation before it is planned
  (:mod:`.filtering`), each removal is an ``UNAUTHORIZED_FIELD_OR_TYPE`` error at its path,
  the rest is served, and what was removed answers null. An operation left with nothing
  answers ``{"data": {}}`` with the errors, as the router does. Plans are cached per
  decision (the :class:`~.access.Grant` goes in the context's ``plan_key``).
- ``policies: module:function`` (crossdock's own key) decides ``@policy``: it is called with
  the policies the operation names and the request context, and gives those granted (or an
  awaitable of them). Without it every policy is refused.

A supergraph that links these directives is refused unless this section enforces them (it
does by default) or says ``directives: {enabled: false}``, which serves the fields to anyone.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from crossdock.core.errors import ConfigError
from crossdock.gateway.plugins.access import FEATURES, AccessRules, Grant
from crossdock.gateway.plugins.base import Plugin
from crossdock.gateway.plugins.filtering import Filtered, Needs, filtered, needs
from crossdock.gateway.result import Result
from crossdock.gateway.values import boolean, mapping

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterable, Mapping

    from crossdock.gateway.context import RequestContext
    from crossdock.gateway.plugins.base import GraphQLRequest, Operation
    from crossdock.gateway.supergraph import Supergraph

    #: ``decide(policies, context)``: the policies granted, or an awaitable of them.
    PolicyHook = Callable[[frozenset[str], RequestContext],
                          Iterable[str] | Awaitable[Iterable[str]]]

_K = TypeVar("_K")
_V = TypeVar("_V")
#: How many operations (and decisions on them) each cache keeps.
_CACHE_SIZE = 1024
_UNAUTHENTICATED = Result(body={"errors": [{"message": "unauthenticated",
                                            "extensions": {"code": "AUTH_ERROR"}}]},
                          status=401)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class AuthorizationSettings:
    """What the ``authorization`` section says."""

    require_authentication: bool = False
    directives: bool = True
    #: ``directives.errors.response``: ``errors`` puts one per removal in the response.
    report_errors: bool = True
    policy_hook: PolicyHook | None = None


class Authorization(Plugin):
    """The configured section: binds to each supergraph the checks it needs."""

    name: ClassVar[str] = "authorization"
    guards = frozenset(FEATURES)

    def __init__(self, settings: AuthorizationSettings) -> None:
        self.settings = settings

    def bind(self, supergraph: Supergraph) -> Plugin | None:
        directives = self.settings.directives and bool(supergraph.security)
        if directives:
            return _RequiringDirectives(self.settings) \
                if self.settings.require_authentication else DirectivesAuthorization(self.settings)
        return RequireAuthentication() if self.settings.require_authentication else None


class RequireAuthentication(Plugin):
    """Turns away a request without claims."""

    name: ClassVar[str] = "authorization"

    async def on_request(self, request: GraphQLRequest) -> GraphQLRequest | Result:
        return request if request.context.claims else _UNAUTHENTICATED


class DirectivesAuthorization(Plugin):
    """Removes from each operation what the caller may not see (see the module)."""

    name: ClassVar[str] = "authorization"

    def __init__(self, settings: AuthorizationSettings) -> None:
        self.settings = settings
        self._rules: AccessRules | None = None
        self._needs: dict[tuple[str | None, str | None], Needs] = {}
        self._filtered: dict[tuple[str | None, str | None, Grant], Filtered] = {}

    async def on_operation(self, operation: Operation) -> Operation | Result:
        rules = self._rules
        if rules is None:
            rules = self._rules = AccessRules(operation.supergraph, operation.schema)
        context = operation.context
        key = (operation.request.query, context.operation_name)
        asked = self._needs.get(key)
        if asked is None:
            asked = _remember(self._needs, key,
                              needs(rules, operation.document, operation.definition))
        if not asked.asked:
            return operation
        grant = Grant(authenticated=bool(context.claims),
                      scopes=_scopes(context.claims) & asked.scopes,
                      policies=await self._policies(asked.policies, context)
                      if asked.policies else frozenset())
        decided = self._filtered.get((*key, grant))
        if decided is None:
            decided = _remember(self._filtered, (*key, grant), filtered(
                rules, operation.document, operation.definition, grant))
        if decided.definition is operation.definition:
            return operation
        errors = tuple(_error(path) for path in decided.paths) \
            if self.settings.report_errors else ()
        if decided.definition is None or decided.document is None:
            return Result(body={"data": {}, "errors": list(errors)} if errors else {"data": {}})
        context = dataclasses.replace(context, plan_key=(*context.plan_key,
                                                         ("authorization", grant)))
        return dataclasses.replace(operation.with_context(context), document=decided.document,
                                   definition=decided.definition,
                                   errors=operation.errors + errors)

    async def _policies(self, asked: frozenset[str], context: RequestContext,
                        ) -> frozenset[str]:
        hook = self.settings.policy_hook
        if hook is None:
            return frozenset()
        granted = hook(asked, context)
        if inspect.isawaitable(granted):
            granted = await granted
        return asked.intersection(granted)


class _RequiringDirectives(DirectivesAuthorization):
    async def on_request(self, request: GraphQLRequest) -> GraphQLRequest | Result:
        return request if request.context.claims else _UNAUTHENTICATED


def _remember(cache: dict[_K, _V], key: _K, value: _V) -> _V:
    if len(cache) >= _CACHE_SIZE:
        cache.clear()
    cache[key] = value
    return value


def _scopes(claims: Mapping[str, Any]) -> frozenset[str]:
    """The ``scope`` claim's scopes (a space-separated string, or a list of them)."""
    scope = claims.get("scope")
    if isinstance(scope, str):
        return frozenset(scope.split())
    if isinstance(scope, list):
        return frozenset(s for s in scope if isinstance(s, str))
    return frozenset()


def _error(path: tuple[str, ...]) -> dict[str, Any]:
    return {"message": "Unauthorized field or type", "path": list(path),
            "extensions": {"code": "UNAUTHORIZED_FIELD_OR_TYPE"}}


def build(root: Mapping[str, Any], unsupported: list[str]) -> Plugin:
    """The authorization plugin; present without the key too, for the directives are
    enforced by default."""
    section = mapping(root.get("authorization") or {}, "authorization")
    unsupported.extend(f"authorization.{k}" for k in section
                       if k not in {"require_authentication", "directives", "policies"})
    directives = mapping(section.get("directives") or {}, "authorization.directives")
    unsupported.extend(f"authorization.directives.{k}" for k in directives
                       if k not in {"enabled", "errors"})
    errors = mapping(directives.get("errors") or {}, "authorization.directives.errors")
    unsupported.extend(f"authorization.directives.errors.{k}" for k in errors
                       if k != "response")
    response = errors.get("response", "errors")
    if response not in {"errors", "extensions", "disabled"}:
        raise ConfigError(f"authorization.directives.errors.response: {response!r} is not "
                          "errors, extensions or disabled")
    if response == "extensions":
        unsupported.append("authorization.directives.errors.response")
    hook = section.get("policies")
    return Authorization(AuthorizationSettings(
        require_authentication=boolean(section.get("require_authentication", False),
                                       "authorization.require_authentication"),
        directives=boolean(directives.get("enabled", True), "authorization.directives.enabled"),
        report_errors=response != "disabled",
        policy_hook=_hook(hook) if hook is not None else None))


def _hook(name: Any) -> PolicyHook:
    """The callable at ``module:attribute``."""
    module_name, _, attribute = str(name).partition(":")
    if not isinstance(name, str) or not module_name or not attribute:
        raise ConfigError(f"authorization.policies: {name!r} is not module:function")
    try:
        found = getattr(importlib.import_module(module_name), attribute, None)
    except ImportError as exc:
        raise ConfigError(f"authorization.policies: cannot import {module_name}: {exc}") from exc
    if not callable(found):
        raise ConfigError(f"authorization.policies: {module_name} has no callable {attribute}")
    return found  # type: ignore[no-any-return]
