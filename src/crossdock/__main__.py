"""``python -m crossdock`` runs the ``crossdock`` command."""

from __future__ import annotations

from crossdock.core.cli import main

main()
