"""SQL repositories for the sample registry's departments and stock counts."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from custmgmt.adapters.sql.tables import (
    DepartmentRow,
    StockCountLineRow,
    StockCountRow,
    table_of,
)
from custmgmt.domain.stock import CountLine, Department, StockCount
from custmgmt.errors import ConcurrencyError

INSERT_DEPARTMENT = insert(table_of(DepartmentRow))
INSERT_COUNT = insert(table_of(StockCountRow))
INSERT_LINE = insert(table_of(StockCountLineRow))


class SqlDepartments:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, department: Department) -> None:
        try:
            with self._s.begin_nested():
                self._s.execute(INSERT_DEPARTMENT, [{
                    "id": department.id, "name": department.name,
                    "registered_by": department.registered_by,
                    "registered_at": department.registered_at}])
        except IntegrityError:
            raise ConcurrencyError(f"department {department.id!r} is registered "
                                   "already") from None

    @staticmethod
    def _to_department(row: DepartmentRow) -> Department:
        return Department(id=row.id, name=row.name, registered_by=row.registered_by,
                          registered_at=row.registered_at)

    def get(self, department_id: str) -> Department | None:
        row = self._s.scalars(select(DepartmentRow).where(DepartmentRow.id == department_id)
                              .execution_options(populate_existing=True)).one_or_none()
        return None if row is None else self._to_department(row)

    def all(self) -> Sequence[Department]:
        rows = self._s.scalars(select(DepartmentRow).order_by(DepartmentRow.id)
                               .execution_options(populate_existing=True)).all()
        return [self._to_department(r) for r in rows]


def _line_values(count: StockCount) -> list[dict[str, object]]:
    return [{"count_id": count.id, "position": position, "number": line.number,
             "sample_id": line.sample_id, "expected": line.expected, "counted": line.counted}
            for position, line in enumerate(count.lines)]


def _to_count(row: StockCountRow, lines: Sequence[StockCountLineRow]) -> StockCount:
    return StockCount(id=row.id, location=row.location, counted_by=row.counted_by, at=row.at,
                      lines=tuple(CountLine(number=line.number, sample_id=line.sample_id,
                                            expected=line.expected, counted=line.counted)
                                  for line in lines))


class SqlStockCounts:
    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, count: StockCount) -> None:
        try:
            with self._s.begin_nested():
                self._s.execute(INSERT_COUNT, [{
                    "id": count.id, "location": count.location, "counted_by": count.counted_by,
                    "at": count.at}])
                if count.lines:
                    self._s.execute(INSERT_LINE, _line_values(count))
        except IntegrityError:
            raise ConcurrencyError(f"stock count {count.id!r} already exists") from None

    def find(self, location: str | None = None) -> Sequence[StockCount]:
        statement = select(StockCountRow)
        if location is not None:
            statement = statement.where(StockCountRow.location == location)
        rows = self._s.scalars(statement.order_by(StockCountRow.at, StockCountRow.id)
                               .execution_options(populate_existing=True)).all()
        if not rows:
            return []
        # the lines of the same counts, in one statement (no list of ids sent back)
        lines: dict[str, list[StockCountLineRow]] = {row.id: [] for row in rows}
        for line in self._s.scalars(
            select(StockCountLineRow)
            .where(StockCountLineRow.count_id.in_(statement.with_only_columns(StockCountRow.id)))
            .order_by(StockCountLineRow.count_id, StockCountLineRow.position)
            .execution_options(populate_existing=True)
        ):
            lines[line.count_id].append(line)
        return [_to_count(r, lines[r.id]) for r in rows]
