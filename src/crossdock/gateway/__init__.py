"""crossdock's gateway service."""
