"""Outbound webhooks: applications, endpoints, event types, messages and their signed delivery."""
