"""The Prometheus exposition of the per-request tallies: what a scraper parses back."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from sophia.server.web import WebMetrics


def _samples(metrics: WebMetrics) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = generate_latest(metrics.registry).decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


@settings(max_examples=60, deadline=None)
@given(durations=st.lists(st.floats(min_value=0, max_value=30, allow_nan=False), min_size=1, max_size=40))
def test_http_latency_buckets_are_cumulative_and_count_every_request(durations: list[float]) -> None:
    metrics = WebMetrics()
    for seconds in durations:
        metrics.observe_http("POST", "/v1/chat/completions", 200, seconds)
    samples = _samples(metrics)
    route = {("method", "POST"), ("route", "/v1/chat/completions")}
    assert samples[("sophia_http_requests_total", frozenset({*route, ("status", "200")}))] == len(durations)
    bucket = "sophia_http_request_duration_seconds_bucket"
    for bound in ("0.005", "0.1", "1.0", "10.0", "+Inf"):
        expected = sum(1 for s in durations if bound == "+Inf" or s <= float(bound))
        assert samples[(bucket, frozenset({*route, ("le", bound)}))] == expected
    assert samples[("sophia_http_request_duration_seconds_count", frozenset(route))] == len(durations)
    total = samples[("sophia_http_request_duration_seconds_sum", frozenset(route))]
    assert abs(total - sum(durations)) < 1e-6


def test_statuses_and_routes_are_counted_apart() -> None:
    metrics = WebMetrics()
    metrics.observe_http("POST", "/v1/chat/completions", 200, 0.01)
    metrics.observe_http("POST", "/v1/chat/completions", 429, 0.001)
    metrics.observe_http("GET", "unmatched", 404, 0.001)
    samples = _samples(metrics)
    name = "sophia_http_requests_total"
    chat = {("method", "POST"), ("route", "/v1/chat/completions")}
    assert samples[(name, frozenset({*chat, ("status", "200")}))] == 1
    assert samples[(name, frozenset({*chat, ("status", "429")}))] == 1
    assert samples[(name, frozenset({("method", "GET"), ("route", "unmatched"), ("status", "404")}))] == 1
