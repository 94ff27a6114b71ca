"""Intent grades A-D (意向客户分级) and the policy that assigns them."""

from __future__ import annotations

from typing import Protocol

from attrs import field, frozen

from custmgmt.domain.common import Money, non_negative_money
from custmgmt.domain.enums import Choice
from custmgmt.domain.validation import asked, type_name
from custmgmt.errors import ValidationError


class Grade(Choice):
    """A: clear intent, large potential. B: interested, medium. C: watching, small. D: none."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"

    def lower(self, other: Grade) -> Grade:
        """The lower (less urgent) of two grades."""
        # max(self, other, key=value), ties to self, read without the value property
        return other if other._value_ > self._value_ else self


class Willingness(Choice):
    CLEAR = "clear"
    INTERESTED = "interested"
    WATCHING = "watching"
    NONE = "none"


class GradingPolicy(Protocol):
    """Turns willingness and potential value into a grade. Replaceable through a plugin."""

    def grade(self, willingness: Willingness, potential_value: Money) -> Grade: ...


def policy_grade(answer: object) -> Grade:
    """A grading policy's answer, if it is a ``Grade`` (a plugin may answer anything,
    even an object whose ``__class__`` claims to be one); otherwise ``ValidationError``
    naming the field ``grade``."""
    if type(answer) is not Grade:
        raise ValidationError("grade", f"must be a Grade, not {type_name(answer)}")
    return answer


def asked_grade(policy: GradingPolicy, willingness: Willingness, potential_value: Money
                ) -> Grade:
    """What ``policy`` grades a prospect of ``willingness`` and ``potential_value``: its
    answer checked by ``policy_grade``, its failure refused by ``validation.asked``
    (field ``grade``)."""
    return policy_grade(asked("grade", "grading policy", policy, "grade", willingness,
                              potential_value))


_BY_WILLINGNESS = {
    Willingness.CLEAR: Grade.A,
    Willingness.INTERESTED: Grade.B,
    Willingness.WATCHING: Grade.C,
    Willingness.NONE: Grade.D,
}



@frozen
class DefaultGradingPolicy:
    """Willingness gives a grade, value gives a grade; the prospect gets the lower one.

    Value at or above ``large`` grades A, at or above ``medium`` B, anything less C.
    Willingness NONE is always D.
    """

    large: Money = field(default=Money("1000000", "CNY"), validator=non_negative_money)
    medium: Money = field(default=Money("100000", "CNY"), validator=non_negative_money)

    def __attrs_post_init__(self) -> None:
        if self.large.currency != self.medium.currency:
            raise ValidationError("medium", "thresholds must share one currency")
        if self.medium > self.large:
            raise ValidationError("medium", "must not exceed the large threshold")

    def grade(self, willingness: Willingness, potential_value: Money) -> Grade:
        if potential_value.currency != self.large.currency:
            raise ValidationError(
                "potential_value", f"must be in {self.large.currency}, the grading currency"
            )
        by_will = _BY_WILLINGNESS[willingness]
        if by_will is Grade.D:
            return Grade.D
        if type(potential_value) is Money:  # one currency (checked above): the amounts
            amount = potential_value.amount
            by_value = Grade.A if amount >= self.large.amount else (
                Grade.B if amount >= self.medium.amount else Grade.C)
        elif potential_value >= self.large:
            by_value = Grade.A
        elif potential_value >= self.medium:
            by_value = Grade.B
        else:
            by_value = Grade.C
        return by_will.lower(by_value)
