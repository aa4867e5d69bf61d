"""An in-package GitHub-compatible forge for tests and the demo (see docs/how-to/test-forge.md)."""

from crossdock.gitslice.forge.fake.app import serve
from crossdock.gitslice.forge.fake.auth import App
from crossdock.gitslice.forge.fake.forge import FakeForge

__all__ = ["App", "FakeForge", "serve"]
