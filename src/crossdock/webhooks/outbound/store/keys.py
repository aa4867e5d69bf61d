"""The keys endpoints' signing secrets are encrypted with in the database.

The store encrypts a secret where it writes one and decrypts where it reads one, so nothing
that builds a store has to know. The keys are the service's setting
(``CROSSDOCK_WEBHOOKS_SECRET_KEY``, or a key file in the data folder), resolved once per
process; an entrypoint or a test may set its own with :func:`use_secret_box`.
"""

from __future__ import annotations

from pathlib import Path

from crossdock.core.secretbox import SecretBox
from crossdock.core.settings import CoreSettings
from crossdock.webhooks.settings import WebhooksSettings

#: The setting the keys come from, as errors name it.
KEY_SETTING = "CROSSDOCK_WEBHOOKS_SECRET_KEY"
#: The process's box once resolved (a dict rather than a global statement to rebind).
_resolved: dict[str, SecretBox] = {}


def secret_box() -> SecretBox:
    """The process's box: the one set, else the settings' (read once)."""
    box = _resolved.get("box")
    if box is None:
        keys = WebhooksSettings.from_env().secret_key
        data_dir = Path() if keys else CoreSettings.from_env().data_dir / "webhooks"
        box = SecretBox.from_settings(keys, data_dir, setting=KEY_SETTING)
        _resolved["box"] = box
    return box


def use_secret_box(box: SecretBox | None) -> None:
    """Use ``box`` from now on (None: resolve the settings again on next use)."""
    _resolved.pop("box", None)
    if box is not None:
        _resolved["box"] = box
