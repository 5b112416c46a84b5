"""The keyring's refresh policy (hookseal._refresh) alone: fake clocks, no threads, no I/O.

Every decision is checked by calling the policy as the keyring does (under its lock, with the
time) and reading what it leaves to do outside the lock: flights to launch, results to hand
out, reports. A "fetch" here is the test landing an outcome by hand.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from hookseal import Secret, SecretSet
from hookseal._refresh import (
    FetchCancelled,
    Flight,
    RefreshPolicy,
    RefreshSettings,
    Step,
)
from hookseal.errors import ConfigurationError
from hookseal.sources import Fetched, SourceError

WALL = 1_700_000_000.0
K1 = Secret("policy-secret-1", id="k1")
K2 = Secret("policy-secret-2", id="k2")
ONE = Fetched(SecretSet([K1]))
TWO = Fetched(SecretSet([K2, K1]))
DOWN = SourceError("test: down")


def policy(**options: Any) -> RefreshPolicy:
    options.setdefault("refresh_interval", 100.0)
    options.setdefault("cooldown", 60.0)
    options.setdefault("fetch_timeout", 10.0)
    options.setdefault("backoff_base", 1.0)
    options.setdefault("backoff_max", 300.0)
    options.setdefault("max_stale", 86_400.0)
    options.setdefault("allow_empty", False)
    options.setdefault("refresh_ahead", 0.8)
    options.setdefault("min_interval", None)
    options.setdefault("max_interval", None)
    jitter = options.pop("jitter", 1.0)
    settings = RefreshSettings.checked(options.pop("refresh_interval"), **options)
    return RefreshPolicy(settings, name="test", source_name="test", random=lambda: jitter)


def events(step: Step) -> list[str]:
    return [r.event for r in step.reports if r.event is not None]


def warm(p: RefreshPolicy, now: float = 0.0, fetched: Fetched = ONE) -> None:
    """Serve cold at ``now``, land ``fetched``: the policy now holds a set fetched at ``now``."""
    served, flight = p.serve(now)
    assert served is None
    assert flight is not None
    assert p.fetching(flight)
    p.land(flight, fetched, now, WALL)
    p.drain()


# -- serving -----------------------------------------------------------------------------------


def test_cold_requests_share_one_flight() -> None:
    p = policy()
    served, first = p.serve(0.0)
    assert served is None
    assert first is not None
    assert p.drain().launch == (first,)
    served, second = p.serve(0.0)
    assert second is first
    assert p.drain().launch == ()  # joined, not launched again


def test_a_young_set_is_served_without_a_flight() -> None:
    p = policy()
    warm(p)
    assert p.hot == (ONE.secrets, 80.0)  # the hot path serves it alone until refresh_ahead
    assert p.serve(79.0) == (ONE.secrets, None)
    assert p.drain() == Step((), (), ())


def test_past_refresh_ahead_one_background_flight_opens() -> None:
    p = policy()
    warm(p)
    assert p.serve(80.0) == (ONE.secrets, None)
    (flight,) = p.drain().launch
    assert p.serve(81.0) == (ONE.secrets, None)
    assert p.drain().launch == ()  # one in the air: no second
    p.land(flight, TWO, 82.0, WALL)
    step = p.drain()
    assert step.resolve == ((flight, TWO.secrets),)
    assert events(step) == ["fetched"]
    assert p.serve(83.0) == (TWO.secrets, None)


def test_a_stale_set_is_served_and_reported_once_per_snapshot() -> None:
    p = policy(backoff_base=1_000.0)
    warm(p)
    served, _ = p.serve(150.0)  # past the interval: stale
    assert served == ONE.secrets
    step = p.drain()
    assert events(step) == ["stale_served"]
    (flight,) = step.launch
    p.land(flight, DOWN, 150.0, WALL)
    p.drain()
    p.serve(151.0)
    assert events(p.drain()) == []  # counted, not reported again
    assert p.stats(151.0).stale_served == 2


def test_past_max_stale_nothing_is_served_and_it_is_reported_once() -> None:
    p = policy(max_stale=1_000.0, backoff_base=5_000.0, backoff_max=5_000.0)
    warm(p)
    _, flight = p.serve(150.0)
    (flight,) = p.drain().launch
    p.land(flight, DOWN, 150.0, WALL)
    p.drain()
    assert p.serve(1_001.0) == (None, None)  # too stale, and backing off: 503
    step = p.drain()
    assert events(step) == ["max_stale_exceeded"]
    assert step.reports[0].level == logging.ERROR
    assert p.serve(1_002.0) == (None, None)
    assert events(p.drain()) == []
    assert p.newest(1_002.0) is None


# -- landing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "message"),
    [
        pytest.param(object(), "must return a Fetched", id="not-a-Fetched"),
        pytest.param(Fetched(SecretSet()), "no secrets", id="empty"),
        pytest.param(
            Fetched(SecretSet([Secret("gone", id="k0", expires_at=WALL - 1)])),
            "every secret the source returned is expired",
            id="all-expired",
        ),
        pytest.param(ValueError("a user's message"), "ValueError", id="user-exception"),
    ],
)
def test_garbage_is_a_failure_that_keeps_the_last_good_set(outcome: Any, message: str) -> None:
    p = policy()
    warm(p)
    p.serve(90.0)
    (flight,) = p.drain().launch
    p.land(flight, outcome, 90.0, WALL)
    step = p.drain()
    assert step.resolve == ((flight, None),)
    assert events(step) == ["fetch_failed"]
    assert message in p.last_error
    assert "a user's message" not in repr(step)
    assert p.newest(90.0) == ONE.secrets


def test_allow_empty_accepts_an_empty_set() -> None:
    p = policy(allow_empty=True)
    warm(p, fetched=Fetched(SecretSet()))
    assert p.newest(0.0) == SecretSet()


def test_backoff_is_exponential_jittered_capped_and_reset_by_success() -> None:
    p = policy(backoff_base=10.0, backoff_max=30.0, jitter=0.0)  # jitter 0: half the delay
    warm(p)
    delays = []
    now = 200.0
    for _ in range(4):
        _, _ = p.serve(now)
        (flight,) = p.drain().launch
        p.land(flight, DOWN, now, WALL)
        (report,) = p.drain().reports
        delays.append(report.fields["retry_in"])
        assert p.retry_after(now) == int(report.fields["retry_in"])
        now += 100.0
    assert delays == [5.0, 10.0, 15.0, 15.0]  # 10, 20, 40->30, 80->30; halved by the jitter
    p.serve(now)
    (flight,) = p.drain().launch
    p.land(flight, ONE, now, WALL)
    step = p.drain()
    assert [r.level for r in step.reports] == [logging.INFO, logging.DEBUG]  # recovered
    assert p.retry_after(now) == 1


def test_inside_the_backoff_no_flight_opens() -> None:
    p = policy(backoff_base=8.0)
    _, flight = p.serve(0.0)
    assert flight is not None
    p.drain()
    p.land(flight, DOWN, 0.0, WALL)
    p.drain()
    assert p.serve(7.9) == (None, None)
    assert p.retry_after(7.0) == 1
    assert p.retry_after(0.0) == 8
    _, again = p.serve(8.0)
    assert again is not None


def test_the_source_ttl_sets_the_interval_within_bounds() -> None:
    p = policy(refresh_interval=300.0, min_interval=10.0, max_interval=3_600.0)
    warm(p, fetched=Fetched(SecretSet([K1]), ttl=1.0))
    assert p.hot == (ONE.secrets, 8.0)  # clamped to 10 s, refreshed ahead at 8 s
    p.serve(8.0)
    (flight,) = p.drain().launch
    p.land(flight, Fetched(SecretSet([K1]), ttl=10.0**7), 8.0, WALL)
    p.drain()
    assert p.hot is not None
    assert p.hot[1] == 8.0 + 0.8 * 3_600.0


# -- refresh on mismatch -----------------------------------------------------------------------


def test_claiming_the_cooldown_opens_the_fetch_in_the_same_step() -> None:
    p = policy()
    warm(p)
    need, claimed, flight = p.claim_mismatch(10.0)
    assert claimed
    assert flight is not None
    assert need == flight.seq
    step = p.drain()
    assert step.launch == (flight,)  # registered before the lock is let go
    assert events(step) == ["mismatch_refresh"]  # reported after it is in the air
    # every other mismatch in the cooldown waits for that very flight
    assert p.claim_mismatch(11.0) == (need, False, flight)
    p.land(flight, TWO, 12.0, WALL)
    p.drain()
    assert p.claim_mismatch(13.0) == (need, False, None)  # landed: read the newest set
    assert p.mismatch_answer(need, False, 13.0) == TWO.secrets
    assert p.mismatch_answer(need, True, 13.0) == TWO.secrets
    assert p.stats(13.0).mismatch_refreshes == 1


def test_a_claim_during_an_older_flight_fetches_again_once_it_lands() -> None:
    p = policy()
    warm(p)
    p.serve(85.0)  # a background refresh: it may have read the source before a rotation
    (older,) = p.drain().launch
    need, claimed, flight = p.claim_mismatch(86.0)
    assert claimed
    assert flight is older
    assert need == older.seq + 1
    assert p.drain().launch == ()
    p.land(older, ONE, 87.0, WALL)
    step = p.drain()
    (follow_up,) = step.launch  # opened in the landing step: never a gap without a flight
    assert follow_up.seq == need
    assert p.flight_to_await(87.0) is follow_up
    assert p.mismatch_answer(need, True, 87.0) is None  # the older one cannot answer it
    p.land(follow_up, TWO, 88.0, WALL)
    p.drain()
    assert p.mismatch_answer(need, True, 88.0) == TWO.secrets


def test_a_failed_mismatch_fetch_answers_none_to_its_claimer() -> None:
    p = policy()
    warm(p)
    need, _, flight = p.claim_mismatch(10.0)
    assert flight is not None
    p.land(flight, DOWN, 10.0, WALL)
    p.drain()
    assert p.mismatch_answer(need, True, 10.0) is None
    assert p.mismatch_answer(need, False, 10.0) == ONE.secrets


def test_no_claim_while_backing_off_or_closed() -> None:
    p = policy(cooldown=0.0, backoff_base=30.0)
    warm(p)
    _, _, flight = p.claim_mismatch(10.0)
    assert flight is not None
    p.land(flight, DOWN, 10.0, WALL)
    p.drain()
    assert p.claim_mismatch(20.0) == (None, False, None)  # a forged flood adds no fetch
    p.close()
    assert p.claim_mismatch(100.0) == (None, False, None)
    assert p.stats(100.0).mismatch_refreshes == 1


# -- hung fetches ------------------------------------------------------------------------------


def test_a_hung_fetch_is_given_up_on_but_holds_the_source_until_it_returns() -> None:
    p = policy(refresh_interval=100.0, fetch_timeout=5.0)
    warm(p)
    p.serve(90.0)
    (hung,) = p.drain().launch
    assert p.serve(96.0) == (ONE.secrets, None)  # past fetch_timeout: given up on
    step = p.drain()
    assert step.resolve == ((hung, None),)  # its waiters are answered at once
    assert events(step) == ["fetch_failed"]
    assert hung.abandoned
    assert p.serve(100.0) == (ONE.secrets, None)  # past the backoff, but it is still inside
    assert p.drain().launch == ()
    assert p.claim_mismatch(100.0) == (None, False, None)
    p.land(hung, TWO, 101.0, WALL)  # it returns at last: ignored, the wanted refresh opens
    step = p.drain()
    assert events(step) == ["fetch_ignored"]
    (fresh,) = step.launch
    assert p.newest(101.0) == ONE.secrets
    p.land(fresh, TWO, 102.0, WALL)
    p.drain()
    assert p.newest(102.0) == TWO.secrets


def test_a_waiter_giving_up_fails_the_flight_for_everyone() -> None:
    p = policy()
    _, flight = p.serve(0.0)
    assert flight is not None
    p.drain()
    p.give_up(flight, 0.5, 0.5)
    step = p.drain()
    assert step.resolve == ((flight, None),)
    assert "no answer within 0.5 s" in p.last_error
    p.give_up(flight, 0.6, 0.5)  # twice: nothing more
    assert p.drain() == Step((), (), ())
    assert p.stats(1.0).fetch_failures == 1


# -- notices, closing, starting ----------------------------------------------------------------


def test_a_change_notice_fetches_now_or_again_after_the_flight_in_the_air() -> None:
    p = policy()
    warm(p)
    p.changed(1.0)
    step = p.drain()
    (flight,) = step.launch
    assert events(step) == ["source_changed"]
    p.changed(2.0)  # during that flight: it may have read the old value
    assert p.drain().launch == ()
    p.land(flight, ONE, 3.0, WALL)
    (again,) = p.drain().launch
    assert again.seq == flight.seq + 1


def test_closing_stops_new_flights_and_a_late_failure_is_no_failure() -> None:
    p = policy()
    _, flight = p.serve(0.0)
    assert flight is not None
    p.drain()
    assert p.close() is False
    assert p.close() is True  # idempotent
    assert p.fetching(flight) is False  # not begun: must not call the source
    p.land(flight, FetchCancelled("closed"), 1.0, WALL)
    assert events(p.drain()) == ["fetch_cancelled"]
    assert p.stats(1.0).fetch_failures == 0
    assert p.serve(2.0) == (None, None)
    p.changed(3.0)
    assert p.drain() == Step((), (), ())


def test_start_opens_a_flight_even_while_backing_off() -> None:
    p = policy(backoff_base=100.0)
    _, flight = p.serve(0.0)
    assert flight is not None
    p.drain()
    p.land(flight, DOWN, 0.0, WALL)
    p.drain()
    warm_already, started = p.start(1.0)
    assert not warm_already
    assert isinstance(started, Flight)
    p.land(started, ONE, 1.0, WALL)
    p.drain()
    assert p.start(2.0) == (True, None)


def test_fetches_count_only_those_that_reached_the_source() -> None:
    p = policy()
    _, flight = p.serve(0.0)
    assert flight is not None
    assert p.stats(0.0).fetches == 0  # opened is not fetched
    assert p.fetching(flight)
    assert p.stats(0.0).fetches == 1


def test_matches_are_counted_per_secret_id() -> None:
    p = policy()
    for secret_id in ("k1", "k2", "k1"):
        p.record_match(secret_id)
    assert p.stats(0.0).matches_by_secret_id == {"k1": 2, "k2": 1}


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("refresh_interval", 0, "refresh_interval"),
        ("max_stale", float("nan"), "max_stale"),
        ("fetch_timeout", True, "fetch_timeout"),
        ("cooldown", -1, "cooldown"),
        ("refresh_ahead", 1.5, "refresh_ahead"),
        ("min_interval", 200.0, "min_interval <= refresh_interval"),
        ("backoff_max", float("inf"), "backoff_max"),
    ],
)
def test_bad_settings_are_configuration_errors(option: str, value: Any, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        policy(**{option: value})
