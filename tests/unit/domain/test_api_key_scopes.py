"""Scopes are ranked: each covers itself and every scope below it, and nothing above."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from wfa.domain.api_keys import Scope, issue_key

scopes = st.sampled_from(list(Scope))


def test_what_each_scope_covers():
    covered = {held: {needed for needed in Scope if held.covers(needed)} for held in Scope}
    assert covered == {
        Scope.VIEWER: {Scope.VIEWER},
        Scope.OPERATOR: {Scope.VIEWER, Scope.OPERATOR},
        Scope.ADMIN: {Scope.VIEWER, Scope.OPERATOR, Scope.ADMIN},
    }


@given(scopes, scopes, scopes)
def test_covering_is_a_total_order(a, b, c):
    assert a.covers(a)
    assert a.covers(b) or b.covers(a)
    if a.covers(b) and b.covers(a):
        assert a == b
    if a.covers(b) and b.covers(c):
        assert a.covers(c)


def test_a_key_is_admin_unless_issued_with_another_scope():
    at = datetime(2026, 1, 1, tzinfo=UTC)
    assert issue_key("k", "old", "wfa_" + "a" * 43, at).scope is Scope.ADMIN
    assert issue_key("k", "ci", "wfa_" + "b" * 43, at, Scope.VIEWER).scope is Scope.VIEWER
