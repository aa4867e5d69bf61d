"""Secret references: ``env:NAME`` reads a variable when the source is loaded, else a literal.

Sources store the reference, never the value of an ``env:`` secret; values are wrapped in
:class:`Secret` whose ``repr`` hides them, so a secret cannot end up in a log line by accident.
A value shorter than :data:`MIN_SECRET_BYTES` is no secret: an ``env:`` variable that is empty
or short when a source is loaded counts as unset, so a delivery is never verified with an
empty or guessable key.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping

from crossdock.webhooks.errors import SecretUnavailable

ENV_PREFIX = "env:"
#: The shortest secret accepted (GitHub, GitLab and HMAC keys are shared strings: 16 bytes
#: of a random string is the least that brute force cannot reach).
MIN_SECRET_BYTES = 16


@dataclasses.dataclass(frozen=True, slots=True)
class Secret:
    """A secret's value; printing it shows ``Secret(***)``."""

    value: str = dataclasses.field(repr=False)

    def __repr__(self) -> str:
        return "Secret(***)"

    def __str__(self) -> str:
        return "***"


def describe(reference: str) -> str:
    """How a reference may be shown: ``env:NAME`` as is, a literal as ``literal:***``."""
    return reference if reference.startswith(ENV_PREFIX) else "literal:***"


def resolve(reference: str, environ: Mapping[str, str] | None = None) -> Secret:
    """The value a reference stands for."""
    if not reference.startswith(ENV_PREFIX):
        if len(reference.encode()) < MIN_SECRET_BYTES:
            # Stored before secrets had a minimum length: refused rather than trusted.
            raise SecretUnavailable(f"a literal secret is shorter than {MIN_SECRET_BYTES} bytes")
        return Secret(reference)
    name = reference[len(ENV_PREFIX):]
    environ = os.environ if environ is None else environ
    value = environ.get(name)
    if not value:
        raise SecretUnavailable(f"the secret variable {name} is not set")
    if len(value.encode()) < MIN_SECRET_BYTES:
        raise SecretUnavailable(
            f"the secret variable {name} holds fewer than {MIN_SECRET_BYTES} bytes")
    return Secret(value)
