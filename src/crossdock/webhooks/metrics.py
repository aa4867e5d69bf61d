"""Prometheus metrics of the webhooks service (served on ``/metrics`` by the ops wrapper)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

RECEIVED = Counter("crossdock_webhooks_received_total",
                   "Deliveries verified and stored.", ["source"])
REJECTED = Counter("crossdock_webhooks_rejected_total",
                   "Requests refused, by reason.", ["source", "reason"])
DUPLICATES = Counter("crossdock_webhooks_duplicates_total",
                     "Deliveries whose provider id was stored already.", ["source"])
UNAVAILABLE = Counter("crossdock_webhooks_unavailable_total",
                      "Requests answered 503 because the database could not store them.")
PROCESSED = Counter("crossdock_webhooks_processed_total",
                    "Deliveries whose handlers all succeeded.", ["source"])
RETRIED = Counter("crossdock_webhooks_retried_total",
                  "Deliveries scheduled for another try.", ["source"])
DEAD = Counter("crossdock_webhooks_dead_total",
               "Deliveries dead-lettered after their last try.", ["source"])
ATTEMPTS = Counter("crossdock_webhooks_attempts_total",
                   "Handler runs, by handler and outcome.", ["handler", "status"])
ACK_LATENCY = Histogram(
    "crossdock_webhooks_ack_seconds", "Time from request start to the receiver's answer.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
WAITING = Gauge("crossdock_webhooks_waiting",
                "Deliveries not processed yet: received (never tried) or failed (to retry).",
                ["status"])
OLDEST_WAITING = Gauge(
    "crossdock_webhooks_oldest_received_seconds",
    "Age of the oldest delivery never tried (0 when none): alert when it grows, as the lag "
    "histogram only moves when deliveries are processed.")
PROCESSING_LAG = Histogram(
    "crossdock_webhooks_processing_lag_seconds",
    "Time from a delivery's receipt to the end of its processing.",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600),
)
