"""Suggestions for misspelt names: the close ones, and a bounded list of every known one."""

from __future__ import annotations

from wfa.domain.suggestions import MAX_LISTED, did_you_mean, known_names


def test_close_names_are_suggested_best_first() -> None:
    assert did_you_mean("proces", {"process", "done"}) == "; did you mean 'process'?"
    assert did_you_mean("logg", {"log", "logs", "set"}) == "; did you mean 'log' or 'logs'?"


def test_nothing_is_suggested_when_nothing_is_close() -> None:
    assert did_you_mean("teleport", {"log", "set"}) == ""
    assert did_you_mean("x", set()) == ""


def test_the_known_names_are_listed_sorted_and_cut_after_the_limit() -> None:
    assert known_names({"set", "log"}) == "known: log, set"
    many = {f"action{index:03}" for index in range(MAX_LISTED + 5)}
    listed = known_names(many)
    assert listed.endswith(", … (5 more)")
    assert listed.count(", ") == MAX_LISTED
