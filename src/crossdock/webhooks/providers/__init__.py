"""Providers: how each sender signs and labels its deliveries (see :mod:`.base`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crossdock.webhooks.errors import BadSignature, Malformed, Rejected, SourceError
from crossdock.webhooks.providers.base import (
    Inbound,
    Provider,
    RepositoryFields,
    repository_url,
)
from crossdock.webhooks.providers.bitbucket import BitbucketProvider
from crossdock.webhooks.providers.generic import HmacProvider
from crossdock.webhooks.providers.github import GitHubProvider
from crossdock.webhooks.providers.gitlab import GitLabProvider
from crossdock.webhooks.providers.standard import StandardProvider

__all__ = ["PROVIDERS", "BadSignature", "Inbound", "Malformed", "Provider", "Rejected",
           "make_provider", "repository_of"]

PROVIDERS = ("github", "gitlab", "bitbucket", "standard", "hmac")

#: Where each forge's payloads name their repository (the others name none).
_REPOSITORIES = {
    "github": RepositoryFields(holder="repository", urls=(("html_url",), ("clone_url",)),
                               full_name=("full_name",), host="github.com"),
    "gitlab": RepositoryFields(holder="project", urls=(("web_url",),)),
    "bitbucket": RepositoryFields(holder="repository", urls=(("links", "html", "href"),),
                                  full_name=("full_name",), host="bitbucket.org"),
}


def make_provider(name: str, options: Mapping[str, Any] | None = None) -> Provider:
    """The provider ``name`` configured with a source's ``options``."""
    options = options or {}
    if name == "hmac":
        return HmacProvider.from_options(options)
    if options:
        raise SourceError(f"the {name} provider takes no options")
    if name == "github":
        return GitHubProvider()
    if name == "gitlab":
        return GitLabProvider()
    if name == "bitbucket":
        return BitbucketProvider()
    if name == "standard":
        return StandardProvider()
    raise SourceError(f"unknown provider {name!r} (known: {', '.join(PROVIDERS)})")


def repository_of(provider: str, payload: Any) -> str | None:
    """The normalized URL of the repository a ``provider``'s parsed payload is about."""
    fields = _REPOSITORIES.get(provider)
    return None if fields is None else repository_url(payload, fields)
