"""The gateway's Prometheus metrics, in a registry of its own.

Labels are the model and the outcome, never the person or the agent: the
figures per person are in the store (the Usage page), and a label per person
would grow without bound and show who uses the model to anyone who scrapes.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


class GatewayMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter("oma_gateway_requests", "Model requests forwarded, by model and how they ended",
                                ("model", "outcome"), registry=self.registry)
        self.tokens = Counter("oma_gateway_tokens", "Tokens used, by model and kind (input, output, cache_write, "
                              "cache_read)", ("model", "kind"), registry=self.registry)
        self.cost = Counter("oma_gateway_cost_usd", "What the requests cost by the gateway's price table, in US dollars",
                            ("model",), registry=self.registry)
        self.refusals = Counter("oma_gateway_refusals", "Requests refused before reaching the model, by reason",
                                ("reason",), registry=self.registry)
        self.upstream_errors = Counter("oma_gateway_upstream_errors", "Model answers that were errors, by HTTP status "
                                       "('unreachable' when there was no answer, 'broken' for a stream cut off)",
                                       ("status",), registry=self.registry)
        self.first_byte = Histogram("oma_gateway_first_byte_seconds", "From the request to the model's first byte "
                                    "passed on", ("model",), buckets=LATENCY_BUCKETS, registry=self.registry)
        self.duration = Histogram("oma_gateway_request_seconds", "From the request to the end of the answer",
                                  ("model",), buckets=LATENCY_BUCKETS, registry=self.registry)
