"""app.prospects.import_many on memory and SQLite: good rows kept, bad rows reported."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

import custmgmt
from custmgmt import Grade, Principal
from custmgmt.adapters.memory.storage import MemoryProspects
from custmgmt.adapters.system import FixedClock
from custmgmt.domain.followups import DefaultCadencePolicy
from custmgmt.domain.prospects import Prospect, ProspectsImported
from custmgmt.domain.registrations import RegistrationBatch
from custmgmt.errors import ClaimConflict, PermissionDenied, StorageError, ValidationError
from custmgmt.plugins import hookimpl
from custmgmt.ports.storage import UnitOfWork
from custmgmt.services.followups import PlanKeeper
from custmgmt.services.prospects import ProspectService
from custmgmt.testing.builders import T0, make_prospect
from tests.helpers import SpoiledIds, admin

CSV = """name,phone,email,organization,willingness,potential_value
Wang Wei,13800138000,,Acme Co. Ltd,clear,2000000
Li Na,,li@example.com,,interested,150000
No Contact,,,,clear,10
Zhang San,13900139000,,,maybe,10
Dup Phone,+86 138 0013 8000,,,watching,1
Negative,13700137000,,,clear,-5
Bob's Customer,13600136000,,,clear,5
Zhao Liu,13500135000,,Apex,none,0
"""


def test_good_rows_are_imported_and_bad_rows_reported_by_line(
    app: custmgmt.CustomerManagement,
) -> None:
    alice = app.principal("u-alice", roles={"salesperson"}, team="east")
    bob = app.principal("u-bob", roles={"salesperson"}, team="east")
    bobs = app.prospects.register(bob, name="Existing", phone="13600136000",
                                  willingness="clear", potential_value=1)
    progress: list[tuple[int, int]] = []
    report = app.prospects.import_many(
        alice, csv.DictReader(io.StringIO(CSV)), batch_size=3, first_line=2,
        on_progress=lambda done, bad: progress.append((done, bad)),
    )
    assert report.imported == 3
    rejected = {r.line: (r.field, r.reason) for r in report.rejected}
    assert set(rejected) == {4, 5, 6, 7, 8}
    assert rejected[4][0] == "contacts"
    assert rejected[5][0] == "willingness"
    assert rejected[6] == (None, "duplicate of line 2 in this import")
    assert rejected[7][0] == "potential_value"
    assert rejected[8][0] is None and "u-bob" in rejected[8][1]
    assert bobs.registration.id in rejected[8][1]
    assert progress == [(2, 1), (2, 4), (3, 5)]
    mine = app.prospects.mine(alice).items
    assert [(p.profile.name.value, p.grade) for p in mine] == [
        ("Wang Wei", Grade.A), ("Li Na", Grade.B), ("Zhao Liu", Grade.D)]
    events = app.events(admin(app))
    assert [e.name for e in events if e.name == "ProspectRegistered"] == ["ProspectRegistered"]
    imported = [e for e in events if isinstance(e, ProspectsImported)]  # one a batch
    assert [([p.grade for p in e.prospects], e.owner_id) for e in imported] == [
        ([Grade.A, Grade.B], "u-alice"), ([Grade.D], "u-alice")]
    assert [p.prospect_id for e in imported for p in e.prospects] == sorted(p.id for p in mine)


def test_any_iterable_streams_through(app: custmgmt.CustomerManagement) -> None:
    alice = app.principal("u-alice", roles={"salesperson"})

    def rows() -> Iterator[dict[str, object]]:
        for n in range(25):
            yield {"name": f"Person {n}", "phone": f"1390000{n:04d}", "willingness": "clear",
                   "potential_value": str(n * 1000)}

    report = app.prospects.import_many(alice, rows(), batch_size=7)
    assert report.imported == 25 and report.rejected == ()
    assert app.prospects.counts(alice).total == 25


def test_duplicates_across_batches_are_found(app: custmgmt.CustomerManagement) -> None:
    alice = app.principal("u-alice", roles={"salesperson"})
    rows = [{"name": "A", "email": "a@example.com", "willingness": "clear",
             "potential_value": "1"}] * 3
    report = app.prospects.import_many(alice, rows, batch_size=1, first_line=10)
    assert report.imported == 1
    assert [(r.line, r.reason) for r in report.rejected] == [
        (11, "duplicate of line 10 in this import"), (12, "duplicate of line 10 in this import")]


def test_unknown_columns_and_non_rows_are_rejected_with_the_field(
    app: custmgmt.CustomerManagement,
) -> None:
    alice = app.principal("u-alice", roles={"salesperson"})
    report = app.prospects.import_many(alice, [{"name": "A", "fax": "1"}, "not a row"])
    assert [(r.line, r.field) for r in report.rejected] == [(1, "fax"), (2, "row")]
    # a name with a line break is not named: an error's field never carries one
    report = app.prospects.import_many(alice, [{"name": "A", "fax\n": "1"}])
    assert [(r.line, r.field) for r in report.rejected] == [(1, "columns")]
    with pytest.raises(ValidationError) as raised:
        app.prospects.import_many(alice, "name,phone")
    assert raised.value.field == "rows"
    with pytest.raises(ValidationError):
        app.prospects.import_many(alice, [], batch_size=0)


def test_only_those_who_may_register_may_import(app: custmgmt.CustomerManagement) -> None:
    outsider = app.principal("u-x", roles={"prospect_reader"})
    with pytest.raises(PermissionDenied):
        app.prospects.import_many(outsider, [])


def test_rejections_never_echo_personal_data(app: custmgmt.CustomerManagement) -> None:
    alice = app.principal("u-alice", roles={"salesperson"})
    report = app.prospects.import_many(alice, [
        {"name": "Wang", "email": "wang.wei@", "willingness": "clear", "potential_value": "1"},
        {"name": "Wang", "phone": "12", "willingness": "clear", "potential_value": "1"},
    ])
    assert len(report.rejected) == 2
    for row in report.rejected:
        assert "wang.wei" not in row.reason and "Wang" not in row.reason


def test_a_claim_lost_between_check_and_write_costs_only_that_row(
    app: custmgmt.CustomerManagement, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = app.principal("u-alice", roles={"salesperson"})
    bob = app.principal("u-bob", roles={"salesperson"})
    app.prospects.register(bob, name="Taken", phone="13600136000", willingness="clear",
                           potential_value=1)
    from custmgmt.services.prospect_import import ProspectImport

    # The check sees nothing held, as if bob registered just after it looked.
    monkeypatch.setattr(ProspectImport, "_unclaimed", lambda self, uow, who, candidates: candidates)
    rows = [{"name": f"P{n}", "phone": f"1370013700{n}", "willingness": "clear",
             "potential_value": "1"} for n in range(3)]
    rows[1]["phone"] = "13600136000"
    report = app.prospects.import_many(alice, rows)
    assert report.imported == 2
    assert [(r.line, r.field) for r in report.rejected] == [(2, None)]
    assert "u-bob" in report.rejected[0].reason


@pytest.mark.parametrize("bad", ["a\x00b", "\ud800", "x\x1by"], ids=repr)
@pytest.mark.parametrize("column", ["name", "phone", "email", "organization", "needs",
                                    "potential_value", "willingness", "currency"])
def test_one_bad_cell_costs_only_its_row(
    app: custmgmt.CustomerManagement, column: str, bad: str
) -> None:
    alice = app.principal("u-alice", roles={"salesperson"})
    rows = [{"name": f"P{n}", "phone": f"1370013700{n}", "willingness": "clear",
             "potential_value": "1"} for n in range(5)]
    rows[2][column] = bad
    report = app.prospects.import_many(alice, rows, batch_size=10)
    assert report.imported == 4
    assert [(r.line, r.field) for r in report.rejected] == [(3, column)]
    assert bad not in report.rejected[0].reason
    assert sorted(p.profile.name.value for p in app.prospects.mine(alice).items) == [
        "P0", "P1", "P3", "P4"]


def test_a_bad_row_lists_every_bad_cell(app: custmgmt.CustomerManagement) -> None:
    alice = app.principal("u-alice", roles={"salesperson"})
    report = app.prospects.import_many(alice, [
        {"name": "A", "phone": "12", "email": "nope", "willingness": "eager",
         "potential_value": "1E+1000000"}])
    (row,) = report.rejected
    assert row.field == "willingness"
    assert "potential_value" in row.reason and "phone" in row.reason and "email" in row.reason


def test_a_re_run_with_the_same_import_id_reports_rows_already_imported(
    app: custmgmt.CustomerManagement,
) -> None:
    alice = _alice_beside_bobs_phone(app, "13600136000")
    rows = _numbered_rows(6)
    rows[4]["phone"] = "13600136000"

    with pytest.raises(ValidationError):
        app.prospects.import_many(alice, _broken_after(rows, 3), batch_size=3,
                                  import_id="f-1")
    again = app.prospects.import_many(alice, rows, batch_size=3, import_id="f-1")
    assert (again.imported, again.already_imported) == (2, 3)
    assert [(r.line, r.reason.startswith("already registered by u-bob"))
            for r in again.rejected] == [(5, True)]
    other = app.prospects.import_many(alice, rows[:1], import_id="f-2")
    assert other.already_imported == 0
    assert "already registered by u-alice" in other.rejected[0].reason
    for bad in ("bad id!", "f-1\n", "f" * 65, ""):  # ("$" alone would let "f-1\n" by)
        with pytest.raises(ValidationError) as raised:
            app.prospects.import_many(alice, rows, import_id=bad)
        assert raised.value.field == "import_id"


def test_a_re_run_counts_rows_without_identity_keys_as_already_imported(
    app: custmgmt.CustomerManagement, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A row with only an address holds no identity key: its registration id (the
    import's id and its line) is what tells a re-run that it was stored, looked up a
    batch at a time (no batch written again one row at a time)."""
    from custmgmt.services.prospect_import import ProspectImport

    one_at_a_time: list[object] = []
    write_one = ProspectImport._write_one

    def recorded(self: ProspectImport, candidate: Any) -> Any:
        one_at_a_time.append(candidate)
        return write_one(self, candidate)

    monkeypatch.setattr(ProspectImport, "_write_one", recorded)
    alice = app.principal("u-alice", roles={"salesperson"})
    rows = _numbered_rows(6)
    for n in (1, 2, 4):
        rows[n] = {"name": f"Walk-in {n}", "address": f"{n} Harbour Road",
                   "willingness": "clear", "potential_value": "10"}

    with pytest.raises(ValidationError):
        app.prospects.import_many(alice, _broken_after(rows, 3), batch_size=3,
                                  import_id="f-1")
    again = app.prospects.import_many(alice, rows, batch_size=3, import_id="f-1")
    assert (again.imported, again.already_imported, again.rejected) == (3, 3, ())
    third = app.prospects.import_many(alice, rows, batch_size=3, import_id="f-1")
    assert (third.imported, third.already_imported, third.rejected) == (0, 6, ())
    assert one_at_a_time == []
    names = sorted(p.profile.name.value for p in app.prospects.list(alice, limit=50).items)
    assert names == sorted(r["name"] for r in rows)
    other = app.prospects.import_many(alice, [rows[1]], import_id="f-2")
    assert (other.imported, other.already_imported) == (1, 0)  # no key: not a duplicate


def _registered_at(app: custmgmt.CustomerManagement, registration_id: str) -> Prospect:
    """The prospect registered as ``registration_id``."""
    (prospect,) = [p for p in app.prospects.list(admin(app), limit=200).items
                   if p.registration.id == registration_id]
    return prospect


def _release_registered_at(app: custmgmt.CustomerManagement, registration_id: str) -> None:
    """Release to the pool the prospect registered as ``registration_id`` (its keys freed)."""
    prospect = _registered_at(app, registration_id)
    with app.followups._ctx.storage.unit_of_work() as uow:
        released, _ = uow.prospects.get(prospect.id).release(reason="lapsed", by="u-admin",
                                                             at=T0)
        uow.prospects.update(released, frozenset())
        uow.commit()


def test_a_re_run_still_refuses_a_line_repeating_a_row_released_since(
    app: custmgmt.CustomerManagement,
) -> None:
    alice = app.principal("u-alice", roles={"salesperson"})
    rows = _numbered_rows(3)
    rows[2]["phone"] = rows[0]["phone"]
    first = app.prospects.import_many(alice, rows, import_id="f-1")
    assert (first.imported, [(r.line, r.reason) for r in first.rejected]) == (
        2, [(3, "duplicate of line 1 in this import")])
    _release_registered_at(app, "f-1:1")  # line 1's phone is nobody's now
    again = app.prospects.import_many(alice, rows, import_id="f-1")
    assert (again.imported, again.already_imported) == (0, 2)
    assert [(r.line, r.reason) for r in again.rejected] == [
        (3, "duplicate of line 1 in this import")]


def test_a_re_run_counts_a_stored_line_whatever_its_prospect_holds_now(
    app: custmgmt.CustomerManagement,
) -> None:
    """Edited since (its phone changed) or released since (its keys freed), a line an
    earlier run stored is counted, not reported nor stored again."""
    alice = app.principal("u-alice", roles={"salesperson"})
    rows = _numbered_rows(3)
    app.prospects.import_many(alice, rows, import_id="f-1")
    edited = _registered_at(app, "f-1:1")
    app.prospects.update_profile(alice, edited.id, phone="13900001111")
    _release_registered_at(app, "f-1:2")
    again = app.prospects.import_many(alice, rows, import_id="f-1")
    assert (again.imported, again.already_imported, again.rejected) == (0, 3, ())
    assert len(app.prospects.list(alice, limit=50).items) == 3


def test_a_large_import_keeps_refusing_duplicates_and_analyzes_postgresql_tables(
    app: custmgmt.CustomerManagement, storage_url: str
) -> None:
    # Enough rows for the prospect table to outgrow its (absent) statistics on PostgreSQL:
    # an import that looks its keys up ANALYZEs it first, and the duplicate check keeps
    # working.
    alice = app.principal("u-alice", roles={"salesperson"})
    bob = app.principal("u-bob", roles={"salesperson"})

    def rows(start: int, stop: int) -> Iterator[dict[str, object]]:
        for n in range(start, stop):
            yield {"name": f"P{n}", "phone": f"139{n:08d}", "email": f"p{n}@example.com",
                   "willingness": "clear", "potential_value": n}

    first = app.prospects.import_many(alice, rows(0, 1500), batch_size=500)
    assert (first.imported, first.rejected) == (1500, ())
    again = app.prospects.import_many(bob, rows(1400, 1600), batch_size=500)
    assert again.imported == 100
    assert [r.line for r in again.rejected] == list(range(1, 101))
    assert all("u-alice" in r.reason for r in again.rejected)
    if storage_url.startswith("postgresql"):
        from sqlalchemy import create_engine, text

        engine = create_engine(storage_url)
        try:
            with engine.connect() as connection:
                analyzed = connection.execute(text(
                    "SELECT relpages FROM pg_class "
                    "WHERE oid = CAST('custmgmt_prospects' AS regclass)")).scalar_one()
        finally:
            engine.dispose()
        assert analyzed > 0


def test_a_value_the_grading_policy_refuses_costs_only_its_row(
    app: custmgmt.CustomerManagement,
) -> None:
    seller = app.principal("u-s", roles={"salesperson"})
    rows = [{"name": f"P{n}", "phone": f"1360000{n:04d}", "willingness": "clear",
             "potential_value": "2000000", **({"currency": "USD"} if n == 2 else {})}
            for n in range(1, 4)]
    report = app.prospects.import_many(seller, rows)
    assert report.imported == 2
    assert [(r.line, r.field) for r in report.rejected] == [(2, "potential_value")]


@pytest.mark.parametrize("currency", [["CNY"], {"CNY": 1}, 7])
def test_a_currency_that_is_not_text_is_refused_by_name(
    app: custmgmt.CustomerManagement, currency: object,
) -> None:
    seller = app.principal("u-s", roles={"salesperson"})
    report = app.prospects.import_many(seller, [{
        "name": "P1", "phone": "13600000001", "willingness": "clear",
        "potential_value": "2000000", "currency": currency}])
    assert report.imported == 0
    assert [(r.line, r.field) for r in report.rejected] == [(1, "currency")]


def test_a_batch_looks_holders_up_only_after_one_met_a_holder(
    app: custmgmt.CustomerManagement, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The unique key indexes refuse a held key anyway: an import writes a batch first,
    and looks up who holds its keys (to report each and release the lost) only when the
    write was refused, or the batch before met a holder."""
    from custmgmt.services.prospect_import import ProspectImport

    looked: list[bool] = []  # per attempt at a batch: did it look holders up first
    checked = ProspectImport._unclaimed

    def recorded(self: ProspectImport, *args: Any) -> Any:
        looked.append(self._look_up_holders)
        return checked(self, *args)

    monkeypatch.setattr(ProspectImport, "_unclaimed", recorded)
    # batch after batch (a batch written ahead on PostgreSQL: see test_import_ahead)
    monkeypatch.setattr(app.followups._ctx.storage, "writes_in_parallel", False, raising=False)
    alice = _alice_beside_bobs_phone(app, "13600136002")
    rows = _numbered_rows(8)
    report = app.prospects.import_many(alice, rows[:4], batch_size=2)
    assert (report.imported, looked) == (4, [False, False])
    looked.clear()
    rows[5]["phone"] = "13600136002"  # bob's: the second batch of the next import
    report = app.prospects.import_many(alice, rows[4:], batch_size=1)
    assert report.imported == 3
    assert [(r.line, r.field) for r in report.rejected] == [(2, None)]
    assert "u-bob" in report.rejected[0].reason
    # the second batch, refused at its write, looked up and was written again; the third
    # looked up too (the one before met a holder) and met none; the fourth did not
    assert looked == [False, False, True, True, False]
    assert sorted(p.profile.name.value for p in app.prospects.mine(alice).items) == [
        "P0", "P1", "P2", "P3", "P4", "P6", "P7"]


def _broken_after(rows: list[dict[str, str]], count: int) -> Iterator[dict[str, str]]:
    """The first ``count`` of ``rows``, then the input fails (an interrupted import)."""
    yield from rows[:count]
    raise ValidationError("file", "the disk went away")


def _alice_beside_bobs_phone(app: custmgmt.CustomerManagement, phone: str) -> Principal:
    """Salesperson u-alice, once salesperson u-bob has registered a prospect with ``phone``."""
    bob = app.principal("u-bob", roles={"salesperson"})
    app.prospects.register(bob, name="Bob's", phone=phone, willingness="clear",
                           potential_value=1)
    return app.principal("u-alice", roles={"salesperson"})


def _numbered_rows(count: int) -> list[dict[str, str]]:
    """Good rows P0, P1, ... each with its own phone."""
    return [{"name": f"P{n}", "phone": f"1370013{n:04d}", "willingness": "clear",
             "potential_value": "1"} for n in range(count)]


def test_a_storage_refusing_a_key_it_does_not_report_ends_the_import_with_each_row_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a foreign adapter whose write refuses a key its look-up never reports: the batch is
    # looked up and written again once, then row by row, each row refused, not for ever
    writes: list[int] = []

    def refuse(self: MemoryProspects, batch: RegistrationBatch) -> None:
        writes.append(len(batch.rows))
        if len(writes) > 50:
            raise AssertionError("written again and again")
        raise ClaimConflict("u-x", "r-x", T0, "phone")

    monkeypatch.setattr(MemoryProspects, "add_batch", refuse)
    with custmgmt.open("memory://") as app:
        alice = app.principal("u-alice", roles={"salesperson"})
        report = app.prospects.import_many(alice, _numbered_rows(3))
    assert (report.imported, [r.line for r in report.rejected]) == (0, [1, 2, 3])
    assert {r.reason for r in report.rejected} == {
        f"already registered by u-x (r-x, {T0.isoformat()})"}
    assert writes == [3, 3, 1, 1, 1, 1, 1, 1]


class _GradesAsText:
    """A broken grading plugin: answers "A", not Grade.A."""

    @hookimpl
    def custmgmt_grading_policy(self, settings: object) -> object:
        return self

    def grade(self, willingness: object, potential_value: object) -> str:
        return "A"


def test_a_grading_plugin_answering_no_grade_is_refused_by_field() -> None:
    with custmgmt.open("memory://", plugins=[_GradesAsText()]) as app:
        alice = app.principal("u-alice", roles={"salesperson"})
        with pytest.raises(ValidationError) as raised:
            app.prospects.register(alice, name="A", phone="13800000001",
                                   willingness="clear", potential_value=1)
        assert raised.value.field == "grade"
        report = app.prospects.import_many(alice, _numbered_rows(2))
        assert report.imported == 0
        assert [(r.line, r.field, r.reason) for r in report.rejected] == [
            (1, "grade", "must be a Grade, not str"), (2, "grade", "must be a Grade, not str")]
        assert not app.prospects.mine(alice).items


def test_a_plan_keeper_with_a_plan_batch_of_its_own_still_plans_an_import() -> None:
    calls: list[int] = []

    class Keeper(PlanKeeper):
        def plan_batch(self, uow: UnitOfWork, batch: RegistrationBatch) -> None:
            calls.append(len(batch))
            super().plan_batch(uow, batch)

    with custmgmt.open("memory://", clock=custmgmt.FixedClock(T0)) as app:
        context = app._context
        service = ProspectService(context, app.prospects.grading_policy,
                                  Keeper(context, DefaultCadencePolicy()))
        alice = app.principal("u-alice", roles={"salesperson"})
        report = service.import_many(alice, [
            {"name": "A", "phone": "13900000001", "willingness": "clear",
             "potential_value": "1"}])
        assert report.imported == 1 and calls == [1]
        later = T0.date() + timedelta(days=60)
        assert [item.grade for item in app.followups.due(alice, on=later)] == [Grade.C]


def test_a_plan_keeper_with_a_call_of_its_own_is_called_for_a_registration() -> None:
    calls: list[tuple[int, bool]] = []

    class Keeper(PlanKeeper):
        def __call__(self, uow: UnitOfWork, prospects: Sequence[Prospect], new: bool) -> None:
            calls.extend((p.version, new) for p in prospects)
            super().__call__(uow, prospects, new)

    with custmgmt.open("memory://", clock=custmgmt.FixedClock(T0)) as app:
        context = app._context
        keeper = Keeper(context, DefaultCadencePolicy())
        assert keeper.first_plan(make_prospect(1)) is None  # it is called instead
        service = ProspectService(context, app.prospects.grading_policy, keeper)
        alice = app.principal("u-alice", roles={"salesperson"})
        stored = service.register(alice, name="A", phone="13900000001",
                                  willingness="clear", potential_value=1)
        assert calls == [(1, True)]  # the prospect as stored, just registered
        plan = app.followups.plan(alice, stored.id)
        assert plan is not None and plan.version == 1


def test_a_seal_of_a_str_subclass_is_carried_as_the_sealer_gave_it() -> None:
    class Seal(str):
        pass

    class Sealer:
        @hookimpl
        def custmgmt_chain_sealer(self, settings: object) -> Sealer:
            return self

        def seal(self, message: bytes) -> str:
            return Seal("sealed")

        def verify(self, message: bytes, seal: str) -> bool:
            return seal == "sealed"

    with custmgmt.open("memory://", clock=custmgmt.FixedClock(T0),
                       plugins=[Sealer()]) as app:
        alice = app.principal("u-alice", roles={"salesperson"})
        auditor = app.principal("u-audit", roles={"admin"})
        report = app.prospects.import_many(alice, [
            {"name": "A", "phone": "13900000001", "willingness": "clear",
             "potential_value": "1"}])
        assert report.imported == 1 and not report.rejected
        (prospect,) = app.prospects.list(auditor).items
        assert app.audit.verify(auditor, "prospect", prospect.id) == 1  # its import entry


class ImportIds(custmgmt.SequentialIds):
    """Sequential ids, but the import's own id is ``bad``."""

    def __init__(self, bad: object) -> None:
        super().__init__()
        self._bad = bad

    def new_id(self, prefix: str) -> str:
        return self._bad if prefix == "imp" else super().new_id(prefix)  # type: ignore[return-value]


@pytest.mark.parametrize("ids", [ImportIds("imp-\ud800"), ImportIds("imp\x00"), ImportIds(""),
                                 ImportIds(7), ImportIds("i" * 87), SpoiledIds("p", "\ud800"),
                                 SpoiledIds("p", "\x00")],
                         ids=["import surrogate", "import NUL", "import empty", "import int",
                              "import 87 characters", "prospect surrogate", "prospect NUL"])
def test_an_id_an_id_plugin_makes_for_an_import_is_checked_as_its_fault(
        storage_url: str, ids: custmgmt.SequentialIds) -> None:
    with custmgmt.open(storage_url, clock=FixedClock(T0), ids=ids, migrate=True) as app:
        alice = app.principal("u-alice", roles={"salesperson"})
        with pytest.raises(StorageError, match="id generator"):
            app.prospects.import_many(alice, [{"name": "A", "phone": "13900000001",
                                               "willingness": "clear",
                                               "potential_value": "1"}])
        assert app.prospects.list(admin(app)).items == ()


@pytest.mark.parametrize("made", ["i" * 86, "imp-" + "0" * 64, "imp-客户-1", "imp:1.2"])
def test_an_import_id_the_generator_makes_may_be_any_id_its_rows_ids_can_hold(
        storage_url: str, made: str) -> None:
    # (a caller's import_id is held to 1 to 64 letters, digits, '-' or '_'; a made one
    # only to what "<import id>:<line>", a registration id, leaves it: 86 characters)
    with custmgmt.open(storage_url, clock=FixedClock(T0), ids=ImportIds(made),
                       migrate=True) as app:
        alice = app.principal("u-alice", roles={"salesperson"})
        row = {"name": "A", "phone": "13900000001", "willingness": "clear",
               "potential_value": "1"}
        assert app.prospects.import_many(alice, [row], first_line=10**12).imported == 1
        (prospect,) = app.prospects.list(admin(app)).items
        assert prospect.registration.id == f"{made}:{10**12}"


def test_an_import_whose_id_begins_anothers_registration_ids_names_their_holder(
        storage_url: str) -> None:
    # a made import id may hold ':'; "imp" + ':' begins "imp:1.2:5", another import's
    with custmgmt.open(storage_url, clock=FixedClock(T0), ids=ImportIds("imp:1.2"),
                       migrate=True) as app:
        alice = app.principal("u-alice", roles={"salesperson"})
        bob = app.principal("u-bob", roles={"salesperson"})
        row = {"name": "A", "phone": "13900000001", "willingness": "clear",
               "potential_value": "1"}
        assert app.prospects.import_many(alice, [row], first_line=5).imported == 1
        report = app.prospects.import_many(bob, [row], import_id="imp")
        (rejected,) = report.rejected
        assert rejected.reason.startswith("already registered by u-alice (imp:1.2:5, ")


class _Lying(str):
    def __str__(self) -> str:
        return "evil id\nX"

    def __format__(self, spec: str) -> str:
        return "evil id\nX"


def test_a_given_import_id_is_its_own_text_whatever_str_subclass_carries_it(
        app: custmgmt.CustomerManagement) -> None:
    alice = app.principal("u-alice", roles={"salesperson"})
    row = {"name": "A", "phone": "13900000001", "willingness": "clear", "potential_value": "1"}
    assert app.prospects.import_many(alice, [row], import_id=_Lying("f1")).imported == 1
    assert app.prospects.import_many(alice, [row], import_id="f1").already_imported == 1
    (prospect,) = app.prospects.list(admin(app)).items
    assert prospect.registration.id == "f1:1"

    class Posing:  # claims to be a str, and is not one
        @property  # type: ignore[misc]
        def __class__(self) -> type:
            return str

        def __len__(self) -> int:
            return 2

        def isprintable(self) -> bool:
            return True

    with pytest.raises(ValidationError) as raised:
        app.prospects.import_many(alice, [row], import_id=Posing())  # type: ignore[arg-type]
    assert raised.value.field == "import_id"


SHARED_TEXT = ("O'Brien's \"yard\"'); DROP TABLE custmgmt_prospects; --",
               "x' || (SELECT 1) || 'y", "东区 ü😀 \\ \u00a0end", "''", "NULL")


@pytest.mark.parametrize("shared", SHARED_TEXT)
def test_a_value_every_row_of_a_batch_shares_is_stored_as_given(
        app: custmgmt.CustomerManagement, shared: str) -> None:
    # SQLite writes a batch's shared values once, as literals of its INSERT
    alice = app.principal("u-alice", roles={"salesperson"})
    rows = [{"name": shared, "address": shared, "industry": shared[:100],
             "source_channel": shared[:100], "needs": shared, "phone": f"1390000{n:04d}",
             "willingness": "clear", "potential_value": "5"} for n in range(4)]
    rows[3] = {**rows[3], "needs": None, "industry": "other"}
    report = app.prospects.import_many(alice, rows, batch_size=4)
    assert report.imported == 4, report.rejected
    profiles = sorted((p.profile for p in app.prospects.list(alice).items),
                      key=lambda p: p.phone.value if p.phone else "")
    assert [p.name.value for p in profiles] == [shared] * 4
    assert [p.address and p.address.value for p in profiles] == [shared] * 4
    assert [p.needs for p in profiles] == [shared] * 3 + [None]
    assert [p.industry for p in profiles] == [shared[:100]] * 3 + ["other"]
    assert [p.source_channel for p in profiles] == [shared[:100]] * 4
    assert app.prospects.counts(alice).total == 4


@pytest.mark.parametrize("at", [
    datetime(2026, 12, 3, 23, 59, 59, 999_999, tzinfo=ZoneInfo("Asia/Shanghai")),
    datetime(2399, 2, 28, 16, 0, 0, 1, tzinfo=UTC),
])
def test_the_instant_and_dates_a_batch_shares_read_back_as_written(
        app: custmgmt.CustomerManagement, clock: FixedClock, at: datetime) -> None:
    # PostgreSQL's COPY sends a batch's shared instant and dates as text dumped once
    clock.set(at)
    alice = app.principal("u-alice", roles={"salesperson"})
    rows = [{"name": f"P{n}", "phone": f"1390000{n:04d}", "willingness": "clear",
             "potential_value": str(n * 400_000)} for n in range(6)]
    assert app.prospects.import_many(alice, rows, batch_size=6).imported == 6
    today = at.astimezone(app.settings.zone).date()
    cadence = DefaultCadencePolicy()
    prospects = app.prospects.list(alice).items
    assert len(prospects) == 6
    for prospect in prospects:
        assert prospect.registration.at == at
        plan = app.followups.plan(alice, prospect.id)
        assert plan is not None and plan.anchor == today
        assert plan.next_due == today + timedelta(cadence.interval(plan.grade, plan.stage))
    assert len({p.grade for p in prospects}) > 1  # more than one due date in the batch
