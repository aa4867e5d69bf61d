"""The in-package forge's errors.

GitSliceError
└── ForgeFault             a request the in-package forge refuses, as GitHub would: a status,
                           a message and the fields at fault
"""

from __future__ import annotations

from crossdock.gitslice.errors import GitSliceError


class ForgeFault(GitSliceError):
    """The forge refused the request."""

    def __init__(self, status: int, message: str, errors: list[dict[str, str]] | None = None
                 ) -> None:
        super().__init__(message)
        self.status = status
        self.errors = errors or []
