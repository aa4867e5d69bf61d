"""The dashboard: web pages over the admin graph, served from the wheel (no CDN, no Node)."""
