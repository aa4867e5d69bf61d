"""crossdock's gitslice service."""
