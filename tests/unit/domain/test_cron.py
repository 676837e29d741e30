"""Cron fire times in a time zone, across daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wfa.domain.cron import CronError, FireTimes, check_cron

NEW_YORK = (
    "America/New_York"  # 2026: forward 8 March 02:00 -> 03:00, back 1 November 02:00 -> 01:00
)
BERLIN = "Europe/Berlin"  # 2026: forward 29 March 02:00 -> 03:00, back 25 October 03:00 -> 02:00


def fires(expression: str, zone: str, after: datetime, count: int) -> list[str]:
    """The next ``count`` fires as local wall time with offset, the way a user reads them."""
    times, found, instant = FireTimes(expression, zone), [], after
    for _ in range(count):
        instant = times.next_after(instant)
        found.append(instant.astimezone(ZoneInfo(zone)).strftime("%m-%d %H:%M%z"))
    return found


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_a_daily_time_skipped_by_spring_forward_fires_once_an_hour_later() -> None:
    assert fires("30 2 * * *", NEW_YORK, utc(2026, 3, 7, 12), 3) == [
        "03-08 03:30-0400",
        "03-09 02:30-0400",
        "03-10 02:30-0400",
    ]


def test_a_daily_time_repeated_by_fall_back_fires_once_at_its_first_occurrence() -> None:
    assert fires("30 1 * * *", NEW_YORK, utc(2026, 10, 31, 12), 3) == [
        "11-01 01:30-0400",
        "11-02 01:30-0500",
        "11-03 01:30-0500",
    ]


def test_hourly_keeps_real_hours_through_both_changes() -> None:
    assert fires("0 * * * *", NEW_YORK, utc(2026, 3, 8, 5), 3) == [
        "03-08 01:00-0500",
        "03-08 03:00-0400",  # 02:00 does not exist: one hour after 01:00 EST
        "03-08 04:00-0400",
    ]
    assert fires("0 * * * *", NEW_YORK, utc(2026, 11, 1, 4), 4) == [
        "11-01 01:00-0400",
        "11-01 01:00-0500",  # the repeated hour is an hour of real time too
        "11-01 02:00-0500",
        "11-01 03:00-0500",
    ]


def test_every_quarter_hour_keeps_its_pace_through_the_repeated_hour() -> None:
    found = fires("*/15 * * * *", BERLIN, utc(2026, 10, 25, 0, 10), 8)
    assert found == [
        "10-25 02:15+0200",
        "10-25 02:30+0200",
        "10-25 02:45+0200",
        "10-25 02:00+0100",
        "10-25 02:15+0100",
        "10-25 02:30+0100",
        "10-25 02:45+0100",
        "10-25 03:00+0100",
    ]


def test_a_fixed_hour_with_several_minutes_runs_once_on_the_repeated_hour() -> None:
    assert fires("*/30 1 * * *", NEW_YORK, utc(2026, 11, 1, 4), 3) == [
        "11-01 01:00-0400",
        "11-01 01:30-0400",
        "11-02 01:00-0500",
    ]


def test_every_skipped_minute_collapses_into_the_first_real_one() -> None:
    found = fires("*/20 2 * * *", BERLIN, utc(2026, 3, 28, 12), 4)
    # 02:00, 02:20, 02:40 do not exist on the 29th; each would land after the gap, once.
    assert found == ["03-29 03:00+0200", "03-29 03:20+0200", "03-29 03:40+0200", "03-30 02:00+0200"]


def test_utc_and_macros() -> None:
    assert fires("@daily", "UTC", utc(2026, 1, 1, 5), 2) == ["01-02 00:00+0000", "01-03 00:00+0000"]
    assert fires("@hourly", BERLIN, utc(2026, 1, 1, 5, 30), 1) == ["01-01 07:00+0100"]
    assert fires("0 9 * * mon-fri", "Asia/Tokyo", utc(2026, 11, 27, 1), 2) == [
        "11-30 09:00+0900",
        "12-01 09:00+0900",
    ]


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("", "a cron expression is required"),
        ("0 9 * *", "expected 5 fields"),
        ("0 9 * * * *", "expected 5 fields"),
        ("61 * * * *", "is not a valid cron expression"),
        ("@sometimes", "is not one of"),
        ("H * * * *", "is not a valid cron expression"),
    ],
)
def test_malformed_expressions_say_why(expression: str, problem: str) -> None:
    found = check_cron(expression)
    assert found is not None
    assert problem in found


def test_an_expression_that_never_matches_a_date_is_refused() -> None:
    with pytest.raises(CronError, match="never fires"):
        FireTimes("0 0 30 2 *").next_after(utc(2026, 1, 1))


def test_an_unknown_zone_is_refused() -> None:
    with pytest.raises(CronError, match="unknown time zone 'Mars/Olympus'"):
        FireTimes("* * * * *", "Mars/Olympus")


EXPRESSIONS = st.sampled_from(
    ["* * * * *", "*/7 * * * *", "0 * * * *", "30 2 * * *", "15 1 * * *", "0 */2 * * *",
     "45 0-3 * * *", "0 3 * * 0", "30 2 29 2 *"]
)  # fmt: skip
ZONES = st.sampled_from([NEW_YORK, BERLIN, "Australia/Lord_Howe", "UTC", "America/Santiago"])
INSTANTS = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)


@given(expression=EXPRESSIONS, zone=ZONES, after=INSTANTS)
def test_fires_are_strictly_later_and_none_is_passed_over(
    expression: str, zone: str, after: datetime
) -> None:
    times = FireTimes(expression, zone)
    first = times.next_after(after)
    assert first > after
    # Asking from any instant before the fire finds the same fire: nothing lies between.
    for step in (timedelta(microseconds=1), (first - after) / 2):
        if first - step > after:
            assert times.next_after(first - step) == first
    # And the fire after it is later still.
    assert times.next_after(first) > first


@given(expression=EXPRESSIONS, zone=ZONES, after=INSTANTS)
def test_a_fire_happens_at_a_wall_time_the_expression_names_unless_skipped(
    expression: str, zone: str, after: datetime
) -> None:
    times = FireTimes(expression, zone)
    fire = times.next_after(after)
    local = fire.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
    minute_field = expression.split()[0]
    if minute_field.isdigit():
        # Even a time moved by a gap keeps its minute: gaps here are whole hours or 30 min.
        gap_of_half_an_hour = zone == "Australia/Lord_Howe"
        assert local.minute == int(minute_field) or gap_of_half_an_hour
