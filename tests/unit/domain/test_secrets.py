"""Secret names and values, the references templates make to secrets, and redaction."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.unit.domain.builders import problems, task, workflow
from wfa.domain.secret_references import render_params, secret_names
from wfa.domain.secrets import (
    MAX_SECRET_LENGTH,
    REDACTED,
    Redactor,
    secret_name_problem,
    secret_value_problem,
)
from wfa.domain.validation import parse_definition


@pytest.mark.parametrize("name", ["TOKEN", "_x", "a1_B2", "A" * 128])
def test_good_names(name):
    assert secret_name_problem(name) is None


@pytest.mark.parametrize("name", ["", "1abc", "a-b", "a.b", "a b", "é", "A" * 129, "A\n"])
def test_bad_names_say_what_a_name_may_hold(name):
    problem = secret_name_problem(name)
    assert problem is not None
    assert "letters, digits and _" in problem


def test_values_are_non_empty_bounded_text():
    assert secret_value_problem("x") is None
    assert secret_value_problem("x" * MAX_SECRET_LENGTH) is None
    assert "empty" in (secret_value_problem("") or "")
    assert "at most" in (secret_value_problem("x" * (MAX_SECRET_LENGTH + 1)) or "")
    assert "surrogate" in (secret_value_problem("a\ud800") or "")


@pytest.mark.parametrize(
    ("params", "names"),
    [
        ({"a": "{{ secrets.TOKEN }}"}, {"TOKEN"}),
        ({"a": "Bearer {{ secrets.A }} and {{ secrets.B }}"}, {"A", "B"}),
        ({"a": {"b": '{{ "secrets".A }}'}}, {"A"}),
        ({"a": "{{ join(',', [secrets.A, input.x]) }}"}, set()),  # refused, reads nothing
        ({"a": "{{ secrets.A || input.fallback }}"}, set()),
        ({"a": "{{ input.secrets.A }}"}, set()),  # a field of the input, not a secret
        ({"a": "{{ input.items[?n == secrets.A] }}"}, set()),  # a field of each item
        ({"a": "{{ input[*].secrets.A }}"}, set()),
        ({"a": "{{ input | secrets.A }}"}, set()),  # reads the input's field
        ({"a": "plain text", "n": 3}, set()),
    ],
)
def test_the_secrets_a_template_reads(params, names):
    assert secret_names(params) == names


def test_task_params_may_name_secrets():
    step = task(params={"auth": "Bearer {{ secrets.API_TOKEN }}"})
    definition = parse_definition(workflow(step))
    assert definition.steps[0].id == "a"


BARE_ONLY = "a secret can only be used whole, as {{ secrets.NAME }}"


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{ secrets }}", BARE_ONLY),
        ("{{ secrets.* }}", BARE_ONLY),
        ("{{ keys(secrets) }}", BARE_ONLY),
        ("{{ secrets[0] }}", BARE_ONLY),
        ("{{ reverse(secrets.TOKEN) }}", BARE_ONLY),
        ("{{ secrets.TOKEN == 'guess' }}", BARE_ONLY),
        ("{{ secrets.TOKEN[0:3] }}", BARE_ONLY),
        ("{{ @.secrets.TOKEN }}", BARE_ONLY),
        ('{{ secrets."not-a-name" }}', "'not-a-name' is not a valid secret name"),
    ],
)
def test_secrets_are_read_whole_and_by_name_only(template, message):
    found = problems(workflow(task(params={"x": template})))
    assert len(found) == 1
    assert found[0].startswith("steps[0].params.x: ")
    assert message in found[0]


# Ways to put a read of the root's secrets inside a larger expression: each is refused.
_WRAPPERS = st.sampled_from(
    [
        "reverse({})",
        "to_string({})",
        "length({})",
        "join('', [{}])",
        "contains({}, 'a')",
        "starts_with({}, 'a')",
        "{} == 'guess'",
        "'guess' != {}",
        "{} < `1`",
        "{} || input.x",
        "input.x || {}",
        "{} && input.x",
        "!({})",
        "[{}, input.x]",
        "{{k: {} }}",
        "{} | @",
        "{}[0]",
        "{}[0:2]",
        "{}[*]",
        "{}.*",
        "{}[?a]",
        "{}[]",
        "map(&to_string(@), [{}])",
    ]
)


@given(
    st.recursive(
        st.sampled_from(["secrets.TOKEN", "secrets", "@.secrets.TOKEN", "secrets.TOKEN.x"]),
        lambda inner: st.tuples(_WRAPPERS, inner).map(lambda pair: pair[0].format(pair[1])),
        max_leaves=4,
    ).filter(lambda source: source != "secrets.TOKEN")
)
def test_any_read_of_secrets_but_a_bare_name_is_refused(source):
    found = problems(workflow(task(params={"x": "text {{ " + source + " }}"})))
    assert any(BARE_ONLY in problem for problem in found), (source, found)
    assert secret_names({"x": "{{ " + source + " }}"}) == set()


@pytest.mark.parametrize(
    "source",
    [
        "input.list[?a == secrets.TOKEN]",  # each item's field, not the root's
        "input.secrets.TOKEN",
        "sort_by(input.list, &secrets)",
    ],
)
def test_a_field_named_secrets_elsewhere_is_not_a_secret(source):
    parse_definition(workflow(task(params={"x": "{{ " + source + " }}"})))
    assert secret_names({"x": "{{ " + source + " }}"}) == set()


def test_no_other_expression_of_the_params_can_reach_a_secret():
    params = {
        "auth": "Bearer {{ secrets.TOKEN }}",
        "whole": "{{ secrets.TOKEN }}",
        "all": "{{ @ }}",
        "everything": "{{ reverse(to_string(values(@))) }}",
        "mapped": "{{ map(&secrets.TOKEN, [@]) }}",
    }
    rendered = render_params(params, {"input": {"x": 1}}, {"TOKEN": "s3cret"})
    assert rendered["auth"] == "Bearer s3cret"
    assert rendered["whole"] == "s3cret"
    assert rendered["all"] == {"input": {"x": 1}}
    assert "s3cret"[::-1] not in rendered["everything"]
    assert rendered["mapped"] == [None]


def test_secrets_are_refused_outside_task_params():
    raw = workflow(
        task("a", params={"ok": "{{ secrets.A }}"}),
        {"id": "b", "type": "wait", "until": "{{ secrets.WHEN }}"},
        {
            "id": "c",
            "type": "choice",
            "choices": [{"when": "secrets.FLAG == 'x'", "next": "d"}],
            "default": "e",
        },
        {"id": "d", "type": "succeed", "output": {"leak": "{{ secrets.A }}"}},
        {"id": "e", "type": "fail", "cause": "{{ secrets.A }}"},
    )
    assert problems(raw) == [
        "steps[1].until: secrets can only be used in a task's params",
        "steps[2].choices[0].when: secrets can only be used in a task's params",
        "steps[3].output.leak: secrets can only be used in a task's params",
        "steps[4].cause: secrets can only be used in a task's params",
    ]


def test_a_malformed_expression_is_reported_once_by_the_template_check():
    found = problems(workflow(task(params={"x": "{{ secrets. }}"})))
    assert len(found) == 1
    assert "malformed expression" in found[0]


def test_redaction_replaces_every_occurrence_in_nested_values_and_keys():
    redactor = Redactor(["s3cret"])
    value = {"s3cret": ["a s3cret b", {"x": "s3crets3cret"}], "n": 1, "t": None}
    assert redactor.value(value) == {
        REDACTED: [f"a {REDACTED} b", {"x": REDACTED * 2}],
        "n": 1,
        "t": None,
    }


def test_redaction_catches_escaped_forms_and_prefers_the_longer_secret():
    redactor = Redactor(['pa"ss/w rd', "pa"])
    assert redactor.text('{"p": "pa\\"ss/w rd"}') == f'{{"p": "{REDACTED}"}}'
    assert redactor.text("x=pa%22ss%2Fw%20rd") == f"x={REDACTED}"
    assert redactor.text('pa"ss/w rd') == REDACTED
    assert redactor.text("papa") == REDACTED * 2


def test_an_empty_redactor_changes_nothing():
    redactor = Redactor([""])
    assert not redactor
    assert redactor.value({"a": "b"}) == {"a": "b"}
    redactor.add(["b"])
    assert redactor
    assert redactor.value({"a": "b"}) == {"a": REDACTED}


@given(st.text(min_size=1).filter(lambda s: "*" not in s), st.text(), st.text())
def test_a_redacted_text_never_holds_the_secret(secret, before, after):
    # (A secret with a * in it could be made again from *** and the text beside it.)
    redacted = Redactor([secret]).text(before + secret + after + secret)
    assert secret not in redacted
