"""Providers: how each sender signs and labels its deliveries (see :mod:`.base`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crossdock.webhooks.errors import BadSignature, Malformed, Rejected, SourceError
from crossdock.webhooks.providers.base import (
    Inbound,
    Provider,
)
from crossdock.webhooks.providers.bitbucket import BitbucketProvider
from crossdock.webhooks.providers.generic import HmacProvider
from crossdock.webhooks.providers.github import GitHubProvider
from crossdock.webhooks.providers.gitlab import GitLabProvider
from crossdock.webhooks.providers.standard import StandardProvider

__all__ = ["PROVIDERS", "BadSignature", "Inbound", "Malformed", "Provider", "Rejected",
           "make_provider"]

PROVIDERS = ("github", "gitlab", "bitbucket", "standard", "hmac")


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
