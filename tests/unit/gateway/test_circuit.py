"""A subgraph's circuit (when it opens, how long it stays open, the half-open probe) and rate
window."""

from __future__ import annotations

from crossdock.gateway.plugins.circuit_breaker import BreakerPolicy, Circuit
from crossdock.gateway.plugins.rate_limit import Window

POLICY = BreakerPolicy(failure_ratio=0.5, min_requests=4, window=10.0, open_for=5.0)


def run(circuit: Circuit, now: float, outcomes: str) -> None:
    """Records ordinary attempts: ``x`` failed, ``.`` succeeded."""
    for outcome in outcomes:
        assert circuit.admit(now) is False
        circuit.record(now, failed=outcome == "x", probe=False)


def test_the_circuit_opens_at_the_ratio_once_there_are_enough_attempts() -> None:
    circuit = Circuit(POLICY)
    run(circuit, 100.0, "xx")
    assert circuit.admit(100.0) is False  # two attempts are not enough to judge
    run(circuit, 100.0, ".x")
    assert circuit.admit(100.0) is None
    assert circuit.admit(104.9) is None


def test_failures_older_than_the_window_do_not_count() -> None:
    circuit = Circuit(POLICY)
    run(circuit, 100.0, "xxx")
    run(circuit, 111.0, ".x..")
    assert circuit.admit(111.0) is False


def test_after_open_for_one_probe_goes_and_its_success_closes_the_circuit() -> None:
    circuit = Circuit(POLICY)
    run(circuit, 100.0, "xxxx")
    assert circuit.admit(105.0) is True
    assert circuit.admit(105.0) is None  # one probe at a time
    circuit.record(105.1, failed=False, probe=True)
    assert circuit.admit(105.1) is False
    run(circuit, 105.2, "x")  # the old failures were forgotten
    assert circuit.admit(105.2) is False


def test_a_failed_probe_opens_the_circuit_for_open_for_again() -> None:
    circuit = Circuit(POLICY)
    run(circuit, 100.0, "xxxx")
    assert circuit.admit(105.0) is True
    circuit.record(105.0, failed=True, probe=True)
    assert circuit.admit(109.9) is None
    assert circuit.admit(110.0) is True


def test_answers_sent_before_the_circuit_opened_do_not_change_it() -> None:
    circuit = Circuit(POLICY)
    run(circuit, 100.0, "xxxx")
    circuit.record(100.5, failed=False, probe=False)
    assert circuit.admit(101.0) is None


def test_a_rate_window_admits_its_capacity_then_refuses_until_the_next_window() -> None:
    window = Window(2, 10.0)
    assert [window.take(100.0), window.take(101.0), window.take(109.9)] == [True, True, False]
    assert window.take(110.0)
