"""When a cron expression fires: wall-clock times in a time zone, mapped to instants.

croniter enumerates the wall-clock times an expression matches; this module decides which
instants those are, where daylight-saving time makes the mapping less than one-to-one:

- A wall-clock time skipped when clocks go forward fires once, shifted by the gap
  (02:30 on a day clocks jump from 02:00 to 03:00 fires at 03:30), unless that instant is
  a fire time already.
- A wall-clock time that happens twice when clocks go back fires at its first occurrence
  only, unless the hour field is a wildcard (``*`` or ``*/n``): then it fires by the clock in
  both, so "every 15 minutes" keeps its pace through the repeated hour (as Vixie cron does).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from croniter.croniter import CroniterError

MACROS = frozenset(
    {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
)
MAX_CRON_LENGTH = 120

# Wider than any daylight-saving shift in use: candidates this far from a transition can
# not be reordered by it.
_SLACK = timedelta(hours=3)
_MAX_CANDIDATES = 5_000


class CronError(ValueError):
    """A cron expression or time zone that cannot be scheduled; the message says why."""


def check_cron(expression: str) -> str | None:
    """Why ``expression`` is not a cron expression wfa runs, or None when it is."""
    text = expression.strip()
    if not text:
        return "a cron expression is required"
    if len(text) > MAX_CRON_LENGTH:
        return f"a cron expression has at most {MAX_CRON_LENGTH} characters"
    if text.startswith("@"):
        return None if text in MACROS else f"{text!r} is not one of {', '.join(sorted(MACROS))}"
    if len(text.split()) != 5:
        return (
            f"{text!r} is not a cron expression: expected 5 fields (minute hour day month weekday)"
        )
    if not croniter.is_valid(text):
        return f"{text!r} is not a valid cron expression"
    return None


def load_zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``; CronError when there is none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CronError(
            f"unknown time zone {name!r} (use an IANA name like 'Europe/Paris')"
        ) from None


class FireTimes:
    """The instants a cron expression fires at in a time zone."""

    def __init__(self, expression: str, timezone: str = "UTC") -> None:
        problem = check_cron(expression)
        if problem is not None:
            raise CronError(problem)
        self.expression = expression.strip()
        self.zone = load_zone(timezone)
        self._both_folds = self._hour_is_wildcard()

    def _hour_is_wildcard(self) -> bool:
        if self.expression.startswith("@"):
            return self.expression == "@hourly"
        return self.expression.split()[1].startswith("*")

    def next_after(self, after: datetime) -> datetime:
        """The first fire strictly after ``after`` (aware), as an aware UTC datetime.

        CronError when the expression never fires (``0 0 30 2 *``).
        """
        local = self._wall(after)
        try:
            candidate = croniter(self.expression, local).get_next(datetime)
            instant = candidate.replace(tzinfo=self.zone).astimezone(UTC)
            if self._steady(after) and self._steady(instant) and self._wall(instant) == candidate:
                return instant
            return self._near_transition(after, local)
        except CroniterError as error:
            del error  # croniter's wording ("failed to find next date") helps no one
            raise CronError(f"{self.expression!r} never fires: no date matches it") from None

    def between(self, after: datetime, until: datetime, limit: int) -> Iterator[datetime]:
        """Fires in (``after``, ``until``], earliest first, at most ``limit`` of them."""
        count, instant = 0, after
        while count < limit:
            instant = self.next_after(instant)
            if instant > until:
                return
            yield instant
            count += 1

    def _near_transition(self, after: datetime, local: datetime) -> datetime:
        """Slow path: weigh every candidate whose instant a transition may have moved."""
        candidates = croniter(self.expression, local - _SLACK)
        best: datetime | None = None
        horizon: datetime | None = None
        for _ in range(_MAX_CANDIDATES):
            wall = candidates.get_next(datetime)
            if horizon is not None and wall > horizon:
                break
            for instant in self._instants(wall):
                if instant > after and (best is None or instant < best):
                    best, horizon = instant, self._wall(instant) + _SLACK
        if best is None:
            raise CronError(f"{self.expression!r} found no fire near {after.isoformat()}")
        return best

    def _instants(self, wall: datetime) -> list[datetime]:
        first = wall.replace(tzinfo=self.zone, fold=0).astimezone(UTC)
        second = wall.replace(tzinfo=self.zone, fold=1).astimezone(UTC)
        if first == second or self._wall(first) != wall:
            # An ordinary time, or one skipped by a gap: fold=0 reads it with the offset
            # before the transition, which lands it the gap's length later.
            return [first]
        return [first, second] if self._both_folds else [first]

    def _steady(self, instant: datetime) -> bool:
        """No offset change within the slack on either side of ``instant``."""
        before = (instant - _SLACK).astimezone(self.zone).utcoffset()
        return before == (instant + _SLACK).astimezone(self.zone).utcoffset()

    def _wall(self, instant: datetime) -> datetime:
        return instant.astimezone(self.zone).replace(tzinfo=None)
