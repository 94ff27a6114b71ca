"""The sample registry's own records (样品登记处): the departments it distributes to,
and physical stock counts (盘点, 第十五条) compared with what the chains say."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from attrs import field, frozen

from custmgmt.domain.quantities import exact
from custmgmt.domain.validation import aware, of_type, optional, text


@frozen(kw_only=True)
class Department:
    """A department registered as a recipient of distributed samples."""

    id: str = field(validator=text(200))
    name: str = field(validator=text(200))
    registered_by: str = field(validator=text(200))
    registered_at: datetime = field(validator=aware)


@frozen(kw_only=True)
class CountLine:
    """One sample in a count: what its chain says should be there, what was found."""

    number: str = field(validator=text(30))
    sample_id: str | None = field(default=None, validator=optional(text(100)))
    """None when the counted label matches no sample expected at the location."""
    expected: Decimal = field(validator=of_type(Decimal))
    counted: Decimal = field(validator=of_type(Decimal))

    @property
    def difference(self) -> Decimal:
        """Counted minus expected: negative is missing stock, positive is surplus."""
        with exact():
            return self.counted - self.expected

    @property
    def matches(self) -> bool:
        return self.counted == self.expected


@frozen(kw_only=True)
class StockCount:
    """A physical count of one storage location, kept as counted."""

    id: str = field(validator=text(100))
    location: str = field(validator=text(200))
    counted_by: str = field(validator=text(200))
    at: datetime = field(validator=aware)
    lines: tuple[CountLine, ...] = ()

    @property
    def discrepancies(self) -> tuple[CountLine, ...]:
        return tuple(line for line in self.lines if not line.matches)


def compare(
    expected: dict[str, tuple[str, Decimal]], counted: dict[str, Decimal]
) -> tuple[CountLine, ...]:
    """Lines for every number expected (number -> (sample id, quantity)) or counted,
    in number order; anything expected but not counted was counted as zero."""
    lines = []
    for number in sorted(set(expected) | set(counted)):
        sample_id, should = expected.get(number, (None, Decimal(0)))
        lines.append(CountLine(number=number, sample_id=sample_id, expected=should,
                               counted=counted.get(number, Decimal(0))))
    return tuple(lines)
