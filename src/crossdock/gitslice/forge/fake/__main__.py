"""``python -m crossdock.gitslice.forge.fake``."""

from crossdock.gitslice.forge.fake.cli import main

main()
