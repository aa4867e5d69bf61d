"""The webhooks service's migrations and declared schema."""
