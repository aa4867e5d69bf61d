"""crossdock's webhooks service."""
