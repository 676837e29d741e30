"""What a scheduler does with due fires: overlap policies and the catch-up window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from msgspec.structs import replace

from wfa.domain.definition import Overlap
from wfa.domain.schedule import MAX_FIRES_PER_PLAN, Schedule, plan_fires, schedules_for
from wfa.domain.validation import parse_definition
from wfa.domain.workflow import Workflow

T0 = datetime(2030, 1, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)


def schedule(overlap: Overlap = "skip", **state: object) -> Schedule:
    values: dict[str, object] = {"next_fire_at": T0} | state
    return Schedule(
        workflow_id="wf", cron="*/10 * * * *", timezone="UTC", overlap=overlap, **values
    )  # type: ignore[arg-type]


def minutes(*offsets: int) -> tuple[datetime, ...]:
    return tuple(T0 + timedelta(minutes=m) for m in offsets)


def test_nothing_due_changes_nothing() -> None:
    plan = plan_fires(schedule(), T0 - timedelta(seconds=1), HOUR, last_run_active=False)
    assert not plan.changed
    assert plan.schedule == schedule()


def test_a_due_fire_starts_a_run_and_moves_the_schedule_on() -> None:
    plan = plan_fires(schedule(), T0 + timedelta(seconds=3), HOUR, last_run_active=False)
    assert plan.start == minutes(0)
    assert plan.schedule.next_fire_at == T0 + timedelta(minutes=10)


def test_fires_missed_inside_the_window_run_once_each() -> None:
    plan = plan_fires(schedule("allow"), T0 + timedelta(minutes=35), HOUR, False)
    assert plan.start == minutes(0, 10, 20, 30)
    assert plan.missed_before is None
    assert plan.schedule.next_fire_at == T0 + timedelta(minutes=40)


def test_fires_older_than_the_window_are_skipped_and_said() -> None:
    now = T0 + timedelta(hours=5, minutes=5)
    plan = plan_fires(schedule("allow"), now, timedelta(minutes=30), False)
    assert plan.missed_before == now - timedelta(minutes=30)
    assert plan.start == minutes(4 * 60 + 40, 4 * 60 + 50, 5 * 60)


def test_skip_starts_one_and_skips_the_rest_while_it_runs() -> None:
    plan = plan_fires(schedule("skip"), T0 + timedelta(minutes=25), HOUR, False)
    assert plan.start == minutes(0)
    assert [s.at for s in plan.skipped] == list(minutes(10, 20))
    assert all("still going" in s.reason for s in plan.skipped)


def test_skip_skips_everything_while_the_last_run_is_still_going() -> None:
    plan = plan_fires(schedule("skip"), T0, HOUR, last_run_active=True)
    assert plan.start == ()
    assert [s.at for s in plan.skipped] == [T0]


def test_buffer_one_keeps_one_fire_for_when_the_run_ends() -> None:
    plan = plan_fires(schedule("buffer_one"), T0 + timedelta(minutes=25), HOUR, True)
    assert plan.start == ()
    assert plan.schedule.buffered_fire_at == T0
    assert [s.at for s in plan.skipped] == list(minutes(10, 20))

    later = plan_fires(plan.schedule, T0 + timedelta(minutes=26), HOUR, last_run_active=False)
    assert later.start == (T0,)
    assert later.schedule.buffered_fire_at is None


def test_buffer_one_waits_while_the_run_goes_on() -> None:
    held = schedule("buffer_one", buffered_fire_at=T0, next_fire_at=T0 + HOUR)
    plan = plan_fires(held, T0 + timedelta(minutes=5), HOUR, last_run_active=True)
    assert not plan.changed
    assert plan.schedule == held


def test_allow_starts_every_fire_whatever_runs() -> None:
    plan = plan_fires(schedule("allow"), T0 + timedelta(minutes=20), HOUR, True)
    assert plan.start == minutes(0, 10, 20)
    assert plan.skipped == ()


def test_a_long_backlog_is_weighed_in_bounded_plans() -> None:
    every_minute = Schedule(
        workflow_id="wf", cron="* * * * *", timezone="UTC", overlap="allow", next_fire_at=T0
    )
    plan = plan_fires(every_minute, T0 + timedelta(hours=3), timedelta(days=1), False)
    assert len(plan.start) == MAX_FIRES_PER_PLAN
    assert plan.schedule.next_fire_at == T0 + timedelta(minutes=MAX_FIRES_PER_PLAN)


@given(
    overlap=st.sampled_from(["skip", "buffer_one", "allow"]),
    active=st.booleans(),
    late=st.integers(min_value=0, max_value=600),
    window=st.integers(min_value=1, max_value=300),
)
def test_every_due_fire_is_started_skipped_missed_or_buffered_exactly_once(
    overlap: Overlap, active: bool, late: int, window: int
) -> None:
    now = T0 + timedelta(minutes=late)
    plan = plan_fires(schedule(overlap), now, timedelta(minutes=window), active)
    handled = [*plan.start, *(s.at for s in plan.skipped)]
    if plan.schedule.buffered_fire_at is not None:
        handled.append(plan.schedule.buffered_fire_at)
    assert len(handled) == len(set(handled))  # nothing twice
    window_start = plan.missed_before or T0
    expected = [
        T0 + timedelta(minutes=m)
        for m in range(0, late + 1, 10)
        if T0 + timedelta(minutes=m) >= window_start
    ][:MAX_FIRES_PER_PLAN]
    assert sorted(handled) == expected  # nothing lost
    assert plan.schedule.next_fire_at > min(now, expected[-1] if expected else now)
    if overlap != "allow":
        assert len(plan.start) <= (0 if active else 1)


def test_a_new_version_keeps_the_state_of_unchanged_schedules() -> None:
    def version(*triggers: dict[str, str]) -> Workflow:
        definition = parse_definition(
            {"name": "n", "triggers": list(triggers), "steps": [{"id": "a", "type": "succeed"}]}
        )
        return Workflow(id="wf", version=1, definition=definition, created_at=T0)

    nightly = {"type": "schedule", "cron": "0 2 * * *", "timezone": "Europe/Paris"}
    first = schedules_for(version(nightly), [], T0)
    assert [s.next_fire_at for s in first] == [datetime(2030, 1, 1, 1, tzinfo=UTC)]
    fired = [replace(s, next_fire_at=T0 + HOUR * 25, last_run_id="r1") for s in first]

    hourly = {"type": "schedule", "cron": "0 * * * *", "timezone": "UTC", "overlap": "allow"}
    again = schedules_for(version(nightly | {"overlap": "allow"}, hourly), fired, T0 + HOUR)
    by_cron = {s.cron: s for s in again}
    kept, added = by_cron["0 2 * * *"], by_cron["0 * * * *"]
    assert (kept.next_fire_at, kept.last_run_id, kept.overlap) == (T0 + HOUR * 25, "r1", "allow")
    assert added.next_fire_at == T0 + 2 * HOUR
    assert schedules_for(version({"type": "manual"}), again, T0) == []


@pytest.mark.parametrize("zone", ["UTC", "America/New_York"])
def test_a_schedule_is_named_by_its_cron_and_zone(zone: str) -> None:
    spaced = Schedule(
        workflow_id="w", cron=" 0 1 * * * ", timezone=zone, overlap="skip", next_fire_at=T0
    )
    assert spaced.key == f"0 1 * * *|{zone}"
