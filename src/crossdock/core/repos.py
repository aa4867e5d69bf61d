"""A git repository's URL in one spelling, so that services can name the same repository.

GitSlice matches a webhook's repository to a slice's URLs with it, the webhooks service
records the repository of each delivery with it, and the admin graph's ``Repository`` entity
is keyed by it: ``https://github.com/Org/Repo.git``, ``git@github.com:org/repo`` and
``ssh://git@github.com/org/repo`` are all ``github.com/org/repo``.
"""

from __future__ import annotations

import re

_SCP = re.compile(r"^[\w.-]+@([\w.-]+):(.*)$")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://")
_USER = re.compile(r"^[^/@]*@")


def normalize_url(url: str) -> str:
    """``github.com/org/repo`` for every spelling of a repository URL (https, ssh, .git)."""
    text = url.strip().lower()
    scp = _SCP.match(text)
    if scp:
        text = f"{scp[1]}/{scp[2]}"
    text = _SCHEME.sub("", text)
    text = _USER.sub("", text)
    return text.rstrip("/").removesuffix(".git")


def hosted_url(host: str, full_name: str) -> str:
    """The normalized URL of ``owner/name`` on ``host`` (a payload that names no URL)."""
    return normalize_url(f"{host}/{full_name}")
