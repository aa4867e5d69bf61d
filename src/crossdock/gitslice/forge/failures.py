"""How the GitHub adapter meets GitHub's failures: which are tried again and after how long
(``RetryPolicy``, githubkit's retry decision), and which of our errors each one becomes.

A rate limit (GitHub's ``Retry-After``, or ``X-RateLimit-Remaining: 0`` with
``X-RateLimit-Reset``) is waited out when the wait is at most ``max_rate_wait``, else it is
``ForgeRateLimited(reset_at=...)``. A 5xx or a timeout is tried again for reads and idempotent
writes only: a POST that timed out may have been done, and doing it twice would open two pull
requests. No error says a header, a token or a query string.
"""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pydantic
from githubkit.exception import (
    AuthCredentialError,
    AuthExpiredError,
    GitHubException,
    RateLimitExceeded,
    RequestError,
    RequestFailed,
    RequestTimeout,
)
from githubkit.retry import RetryOption

from crossdock.core.backoff import Backoff
from crossdock.gitslice.forge.errors import (
    ForgeAuthError,
    ForgeError,
    ForgeNotFound,
    ForgeRateLimited,
    ForgeRejected,
    ForgeUnavailable,
)

_IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})

_SERVER_ERROR = 500
CLIENT_ERROR = 400

#: Our error for each refusal GitHub answers with (any other 4xx is a ForgeRejected).
_BY_STATUS: dict[int, type[ForgeError]] = {
    401: ForgeAuthError, 403: ForgeAuthError, 404: ForgeNotFound,
}

def _server_backoff() -> Backoff:
    return Backoff(max_tries=4, base_seconds=1.0, max_seconds=30.0)


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """How long the adapter waits and how often it tries again."""

    #: Tries of a read that met a 5xx or a timeout: 4 in all, about 1 s, 2 s, 4 s apart.
    server: Backoff = field(default_factory=_server_backoff)
    rate_limit_retries: int = 1
    max_rate_wait: float = 60.0


def retry_after(response: httpx.Response) -> datetime.timedelta | None:
    if "retry-after" in response.headers:
        return datetime.timedelta(seconds=float(response.headers["retry-after"]))
    if response.headers.get("x-ratelimit-remaining") == "0" and \
            "x-ratelimit-reset" in response.headers:
        reset = datetime.datetime.fromtimestamp(int(response.headers["x-ratelimit-reset"]),
                                                tz=datetime.UTC)
        return max(reset - datetime.datetime.now(datetime.UTC), datetime.timedelta())
    return None


class RetryDecision:
    """githubkit's retry decision, bounded by the policy."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy

    def __call__(self, exc: GitHubException, count: int) -> RetryOption:
        policy = self.policy
        if isinstance(exc, RateLimitExceeded):
            wait = exc.retry_after.total_seconds()
            return RetryOption(
                do_retry=count < policy.rate_limit_retries and wait <= policy.max_rate_wait,
                retry_after=exc.retry_after)
        if isinstance(exc, RequestFailed):
            retry = exc.response.status_code >= _SERVER_ERROR and \
                exc.request.method in _IDEMPOTENT
        elif isinstance(exc, RequestTimeout):
            retry = exc.request.method in _IDEMPOTENT
        else:
            retry = False
        # githubkit counts the retries made so far: this failure is try count + 1.
        delay = policy.server.delay(count + 1) if retry else None
        if delay is None:
            return RetryOption(do_retry=False)
        return RetryOption(do_retry=True, retry_after=datetime.timedelta(seconds=delay))


def _message(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.reason_phrase
    message = data.get("message") if isinstance(data, dict) else None
    details = [error.get("message") or f"{error.get('field')} {error.get('code')}"
               for error in (data.get("errors") or []) if isinstance(error, dict)] \
        if isinstance(data, dict) else []
    return "; ".join(str(part) for part in [message, *details] if part) or \
        response.reason_phrase


def _translate(exc: Exception) -> ForgeError:  # noqa: PLR0911 - one answer per kind, a table
    """Our error for a githubkit (or pydantic) one; no header or token ever goes in it."""
    if isinstance(exc, RateLimitExceeded):
        reset = datetime.datetime.now(datetime.UTC) + exc.retry_after
        return ForgeRateLimited(f"GitHub's rate limit is spent until {reset:%H:%M:%S} UTC",
                                reset_at=reset)
    if isinstance(exc, RequestFailed):
        response = exc.response.raw_response
        where = f"{exc.request.method} {exc.request.url.path}"
        status = response.status_code
        kind = ForgeUnavailable if status >= _SERVER_ERROR else \
            _BY_STATUS.get(status, ForgeRejected)
        return kind(f"GitHub answered {status} to {where}: {_message(response)}")
    if isinstance(exc, RequestTimeout):
        return ForgeUnavailable(f"GitHub did not answer {exc.request.method} "
                                f"{exc.request.url.path} in time")
    if isinstance(exc, RequestError):
        return ForgeUnavailable(f"GitHub cannot be reached: {type(exc.exc).__name__}")
    if isinstance(exc, AuthCredentialError | AuthExpiredError):
        return ForgeAuthError(f"GitHub refused the app's credentials: {exc}")
    if isinstance(exc, pydantic.ValidationError):
        return ForgeError(f"GitHub answered in a shape the client does not know "
                          f"({exc.error_count()} fields)")
    return ForgeError(f"GitHub failed: {type(exc).__name__}")


@contextlib.contextmanager
def translated() -> Iterator[None]:
    """Turn githubkit's (and pydantic's) errors raised inside into ours."""
    try:
        yield
    except ForgeError:
        raise
    except (GitHubException, pydantic.ValidationError) as exc:
        raise _translate(exc) from exc
