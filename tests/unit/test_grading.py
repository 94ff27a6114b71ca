from __future__ import annotations

import pytest

from custmgmt import Grade, Money, Willingness
from custmgmt.domain.grading import policy_grade
from custmgmt.domain.prospects import DefaultGradingPolicy
from custmgmt.errors import ValidationError

POLICY = DefaultGradingPolicy(large=Money("1000000"), medium=Money("100000"))


@pytest.mark.parametrize(
    ("willingness", "value", "grade"),
    [
        (Willingness.CLEAR, "1000000", Grade.A),
        (Willingness.CLEAR, "999999.99", Grade.B),
        (Willingness.CLEAR, "100000", Grade.B),
        (Willingness.CLEAR, "0", Grade.C),
        (Willingness.INTERESTED, "5000000", Grade.B),
        (Willingness.INTERESTED, "50000", Grade.C),
        (Willingness.WATCHING, "5000000", Grade.C),
        (Willingness.WATCHING, "1", Grade.C),
        (Willingness.NONE, "99999999", Grade.D),
        (Willingness.NONE, "0", Grade.D),
    ],
)
def test_the_lower_of_willingness_and_value_grade_wins(
    willingness: Willingness, value: str, grade: Grade
) -> None:
    assert POLICY.grade(willingness, Money(value)) is grade


def test_thresholds_are_configurable() -> None:
    small_shop = DefaultGradingPolicy(large=Money("50000"), medium=Money("5000"))
    assert small_shop.grade(Willingness.CLEAR, Money("60000")) is Grade.A
    assert POLICY.grade(Willingness.CLEAR, Money("60000")) is Grade.C


def test_thresholds_must_be_ordered_and_share_a_currency() -> None:
    with pytest.raises(ValidationError, match="medium"):
        DefaultGradingPolicy(large=Money("10"), medium=Money("20"))
    with pytest.raises(ValidationError, match="medium"):
        DefaultGradingPolicy(large=Money("10", "USD"), medium=Money("5"))
    with pytest.raises(ValidationError, match="large"):
        DefaultGradingPolicy(large=Money("-1"), medium=Money("-5"))


def test_a_value_in_another_currency_is_refused_not_guessed() -> None:
    with pytest.raises(ValidationError) as raised:
        POLICY.grade(Willingness.CLEAR, Money("1000000", "USD"))
    assert raised.value.field == "potential_value"


@pytest.mark.parametrize("answer", ["A", None, 1, Willingness.CLEAR])
def test_a_policy_answer_that_is_no_grade_is_refused_naming_the_grade(answer: object) -> None:
    with pytest.raises(ValidationError) as refused:
        policy_grade(answer)
    assert refused.value.field == "grade"
    assert refused.value.message == f"must be a Grade, not {type(answer).__name__}"


def test_a_policy_answer_that_is_a_grade_is_kept() -> None:
    assert all(policy_grade(grade) is grade for grade in Grade)
