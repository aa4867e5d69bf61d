"""The forge's errors, under GitSlice's root.

GitSliceError
└── ForgeError             the forge failed us or refused the request
    ├── ForgeNotFound          no such repository, pull request, review, issue or user
    ├── ForgeAuthError         the credentials are missing, wrong, revoked or not allowed
    ├── ForgeRateLimited       the forge's rate limit is spent until ``reset_at``
    ├── ForgeUnavailable       the forge kept answering 5xx or could not be reached
    └── ForgeRejected          the forge refused the request as invalid (422)
"""

from __future__ import annotations

import datetime

from crossdock.gitslice.errors import GitSliceError


class ForgeError(GitSliceError):
    """The forge failed."""


class ForgeNotFound(ForgeError):
    """The forge has no such object."""


class ForgeAuthError(ForgeError):
    """The forge refused the credentials."""


class ForgeRateLimited(ForgeError):
    """The forge's rate limit is spent."""

    def __init__(self, message: str | None = None, *, reset_at: datetime.datetime) -> None:
        super().__init__(message)
        self.reset_at = reset_at


class ForgeUnavailable(ForgeError):
    """The forge is unavailable."""


class ForgeRejected(ForgeError):
    """The forge refused the request as invalid."""
