"""Secret references: ``env:NAME`` reads a variable when the source is loaded, else a literal.

Sources store the reference, never the value of an ``env:`` secret; values are wrapped in
:class:`Secret` whose ``repr`` hides them, so a secret cannot end up in a log line by accident.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping

from crossdock.webhooks.errors import SecretUnavailable

ENV_PREFIX = "env:"


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
        return Secret(reference)
    name = reference[len(ENV_PREFIX):]
    environ = os.environ if environ is None else environ
    value = environ.get(name)
    if not value:
        raise SecretUnavailable(f"the secret variable {name} is not set")
    return Secret(value)
