"""Outbound webhooks: applications, endpoints, signed delivery with retries."""
