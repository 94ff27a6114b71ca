"""Chain heads sealed with a secret the database does not hold: cutting a chain short and
re-heading it, or re-hashing it from an edited record onwards, is caught with a key and
(as docs/integrity.md says) not without one. The same for audit trails."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import date
from typing import Any

import attrs
import pytest
from sqlalchemy import delete, insert, text, update

import custmgmt
from custmgmt import Certification
from custmgmt.adapters.memory.packed import pack, unpack
from custmgmt.adapters.memory.storage import MemoryStorage
from custmgmt.adapters.sql.samples import (
    _event_values,
    application_values,
    feedback_values,
    sample_values,
)
from custmgmt.adapters.sql.storage import SqlStorage
from custmgmt.adapters.sql.tables import (
    CustodyEventRow,
    SampleApplicationRow,
    SampleFeedbackRow,
    SampleRow,
    table_of,
)
from custmgmt.adapters.system import FixedClock, SequentialIds
from custmgmt.domain.audit import IMPORT_KIND, AuditEntry
from custmgmt.domain.integrity import CUSTODY_CHAIN, ChainHead, audit_chain
from custmgmt.domain.samples import CustodyEvent, Sample, event_hash
from custmgmt.errors import (
    IntegrityError,
    NotFound,
    PermissionDenied,
    StorageError,
    ValidationError,
)
from custmgmt.plugins import hookimpl
from custmgmt.ports.settings import Settings
from tests.helpers import a_customer

App = custmgmt.CustomerManagement
KEY = b"a secret kept outside the database"


@pytest.fixture(params=["keyed", "unkeyed"])
def keyed(request: pytest.FixtureRequest) -> bool:
    return bool(request.param == "keyed")


@pytest.fixture
def app(storage_url: str, clock: FixedClock, keyed: bool) -> Iterator[App]:
    settings = Settings(chain_key=KEY) if keyed else Settings()
    with custmgmt.open(storage_url, clock=clock, ids=SequentialIds(), migrate=True,
                       settings=settings) as opened:
        yield opened


# --- writing the storage behind custmgmt's back, as someone without the key would ---

def _sql(app: App, statement: str, rows: list[dict[str, Any]] | dict[str, Any]) -> None:
    storage = app._storage
    assert isinstance(storage, SqlStorage)
    with storage.engine.begin() as connection:
        connection.execute(text(statement), rows)


def store_record(app: App, sample: Sample) -> None:
    """Write ``sample`` as the stored record (its row and child rows), as the adapter
    writes it, without a version check."""
    storage = app._storage
    assert isinstance(storage, SqlStorage)
    with storage.engine.begin() as connection:
        samples = table_of(SampleRow)
        connection.execute(update(samples).where(samples.c.id == sample.id)
                           .values(sample_values(sample)))
        apps, notes = table_of(SampleApplicationRow), table_of(SampleFeedbackRow)
        connection.execute(delete(apps).where(apps.c.sample_id == sample.id))
        connection.execute(delete(notes).where(notes.c.sample_id == sample.id))
        if sample.applications:
            connection.execute(insert(apps), [application_values(sample.id, i, a)
                                              for i, a in enumerate(sample.applications)])
        if sample.feedback:
            connection.execute(insert(notes), [feedback_values(sample.id, i, f)
                                               for i, f in enumerate(sample.feedback)])


def rewrite_custody(app: App, sample: Sample, events: list[CustodyEvent]) -> None:
    """Store ``events`` as the chain, ``sample`` as the record, and a head to match them
    (keeping whatever seal the head had: nobody here holds the key)."""
    storage = app._storage
    if isinstance(storage, MemoryStorage):
        state = storage.state
        state.custody[sample.id] = list(events)
        state.samples[sample.id] = sample
        old = _head(storage, (CUSTODY_CHAIN, sample.id))
        state.heads[(CUSTODY_CHAIN, sample.id)] = attrs.evolve(
            old, length=len(events), head_hash=events[-1].hash)
        return
    _sql(app, "DELETE FROM custmgmt_custody_events WHERE sample_id = :s", {"s": sample.id})
    storage = app._storage
    assert isinstance(storage, SqlStorage)
    with storage.engine.begin() as connection:  # typed columns, as the adapter writes them
        connection.execute(insert(table_of(CustodyEventRow)),
                           [_event_values(e) for e in events])
    store_record(app, sample)
    _sql(app, "UPDATE custmgmt_chain_heads SET length = :len, head_hash = :h "
              "WHERE chain = 'custody' AND chain_id = :s",
         {"len": len(events), "h": events[-1].hash, "s": sample.id})


def rehashed(events: list[CustodyEvent], start: int) -> list[CustodyEvent]:
    out = list(events[:start])
    for event in events[start:]:
        linked = attrs.evolve(event, previous_hash=out[-1].hash if out else event.previous_hash)
        out.append(attrs.evolve(linked, hash=event_hash(linked)))
    return out


# --- a sample with a history ----------------------------------------------------------

def history(app: App) -> tuple[custmgmt.Principal, Sample, str]:
    """A used sample; returns the verifier, the record after 5 events, and its id."""
    rita = app.principal("u-rita", roles={"sample_receiver"}, supervisor_id="u-qm",
                         certifications={Certification("sample_receiver", date(2026, 12, 31))})
    reg = app.principal("u-reg", roles={"sample_registry"})
    lab = app.principal("u-lab", roles={"sample_user"})
    qm = app.principal("u-qm", roles={"quality_manager"})
    s = app.samples.receive(rita, customer_id=a_customer(app), sample_name="resin", quantity="10",
                            unit="kg", description="bag", requested_work="test")
    app.samples.register(reg, s.id, classification="c", location="shelf A")
    a = app.samples.apply(lab, s.id, purpose="test", quantity=4)
    app.samples.approve(reg, s.id, a.id)
    earlier = app.samples.check_out(reg, s.id, a.id)
    app.samples.record_use(lab, s.id, a.id, used=4, note="all of it")
    app.samples.dispose(reg, s.id, method="incinerated", witness="u-qm")
    return qm, earlier, s.id


def test_cutting_the_chain_and_re_heading_it(app: App, keyed: bool) -> None:
    qm, earlier, sid = history(app)
    assert app.samples.verify_chain(qm, sid) == 7
    events = list(app.samples.chain(qm, sid))[:earlier.chain_length]
    rewrite_custody(app, earlier, events)  # the use and the disposal are gone
    if keyed:
        with pytest.raises(IntegrityError, match="the seal on its head does not match"):
            app.samples.verify_chain(qm, sid)
    else:  # documented: a chain cut short is a valid chain without a secret
        assert app.samples.verify_chain(qm, sid) == 5


def test_re_hashing_from_an_edited_event_onwards(app: App, keyed: bool) -> None:
    qm, _, sid = history(app)
    events = list(app.samples.chain(qm, sid))
    events[2] = attrs.evolve(events[2], details=(("application", "a-x"), ("quantity", "1")))
    forged = rehashed(events, 2)
    sample = app.samples.get(qm, sid)
    rewrite_custody(app, attrs.evolve(sample, head_hash=forged[-1].hash), forged)
    if keyed:
        with pytest.raises(IntegrityError, match="the seal on its head does not match"):
            app.samples.verify_chain(qm, sid)
    else:
        assert app.samples.verify_chain(qm, sid) == 7


def test_cutting_the_newest_events_without_touching_the_head_is_caught_either_way(
    app: App
) -> None:
    qm, earlier, sid = history(app)
    storage = app._storage
    events = list(app.samples.chain(qm, sid))[:earlier.chain_length]
    if isinstance(storage, MemoryStorage):
        storage.state.custody[sid] = events
        storage.state.samples[sid] = earlier
    else:
        _sql(app, "DELETE FROM custmgmt_custody_events WHERE sample_id = :s AND sequence >= 5",
             {"s": sid})
        store_record(app, earlier)
    with pytest.raises(IntegrityError, match="its head records 7 entries, 5 are stored"):
        app.samples.verify_chain(qm, sid)


def test_a_head_stripped_of_its_seal_or_removed_is_caught_with_a_key(
    app: App, keyed: bool
) -> None:
    qm, _, sid = history(app)
    storage = app._storage
    if isinstance(storage, MemoryStorage):
        del storage.state.heads[(CUSTODY_CHAIN, sid)]
    else:
        _sql(app, "DELETE FROM custmgmt_chain_heads WHERE chain_id = :s", {"s": sid})
    if keyed:
        with pytest.raises(IntegrityError, match="its head is not sealed"):
            app.samples.verify_chain(qm, sid)
    else:  # documented: without a key a missing head cannot be told from an old chain
        assert app.samples.verify_chain(qm, sid) == 7


# --- the audit trail ----------------------------------------------------------------

def a_prospect_with_a_trail(app: App) -> tuple[custmgmt.Principal, str]:
    alice = app.principal("u-alice", roles={"salesperson"})
    auditor = app.principal("u-audit", roles={"auditor"})
    p = app.prospects.register(alice, name="Acme", phone="13800000001", willingness="clear",
                               potential_value=2_000_000)
    app.followups.record(alice, p.id, channel=custmgmt.Channel.PHONE, summary="first call")
    app.prospects.advance(alice, p.id, to="needs_identified")
    return auditor, p.id


def _trail(app: App, pid: str) -> list[AuditEntry]:
    """The committed trail of a prospect in memory (kept packed: see ``_keep_trail``)."""
    storage = app._storage
    assert isinstance(storage, MemoryStorage)
    return [unpack(e) for e in storage.state.audit[("prospect", pid)]]


def _keep_trail(app: App, pid: str, trail: list[AuditEntry]) -> None:
    storage = app._storage
    assert isinstance(storage, MemoryStorage)
    storage.state.audit[("prospect", pid)] = tuple(map(pack, trail))


def _head(storage: MemoryStorage, key: tuple[str, str]) -> ChainHead:
    head: ChainHead = unpack(storage.state.heads[key])
    return head


def delete_newest_entry(app: App, pid: str, *, re_head: bool) -> None:
    storage = app._storage
    if isinstance(storage, MemoryStorage):
        trail = _trail(app, pid)
        trail.pop()
        _keep_trail(app, pid, trail)
        if re_head:
            key = (audit_chain("prospect"), pid)
            storage.state.heads[key] = attrs.evolve(_head(storage, key), length=len(trail),
                                                    head_hash=trail[-1].hash)
        return
    _sql(app, "DELETE FROM custmgmt_audit WHERE resource_id = :p AND sequence = 2", {"p": pid})
    if re_head:
        # a prospect's trail's head is in its row
        _sql(app, "UPDATE custmgmt_prospects SET trail_length = 2, trail_hash = (SELECT "
                  "hash FROM custmgmt_audit WHERE resource_id = :p AND sequence = 1) "
                  "WHERE id = :p", {"p": pid})


def delete_whole_trail(app: App, pid: str, *, with_head: bool) -> None:
    storage = app._storage
    if isinstance(storage, MemoryStorage):
        del storage.state.audit[("prospect", pid)]
        if with_head:
            del storage.state.heads[(audit_chain("prospect"), pid)]
        return
    _sql(app, "DELETE FROM custmgmt_audit WHERE resource_id = :p", {"p": pid})
    if with_head:
        _sql(app, "UPDATE custmgmt_prospects SET trail_length = NULL, trail_hash = NULL, "
                  "trail_seal = NULL WHERE id = :p", {"p": pid})


def edit_entry(app: App, pid: str, *, re_hash: bool) -> None:
    storage = app._storage
    if isinstance(storage, MemoryStorage):
        trail = _trail(app, pid)
        trail[1] = attrs.evolve(trail[1], actor_id="u-mallory")
        if re_hash:
            for i in (1, 2):
                linked = attrs.evolve(trail[i], previous_hash=trail[i - 1].hash)
                trail[i] = attrs.evolve(linked, hash=linked.computed_hash())
            key = (audit_chain("prospect"), pid)
            storage.state.heads[key] = attrs.evolve(_head(storage, key),
                                                    head_hash=trail[-1].hash)
        _keep_trail(app, pid, trail)
        return
    _sql(app, "UPDATE custmgmt_audit SET actor_id = 'u-mallory' WHERE resource_id = :p "
              "AND sequence = 1", {"p": pid})
    if re_hash:
        storage = app._storage
        assert isinstance(storage, SqlStorage)
        with storage.unit_of_work() as uow:
            trail = list(uow.audit.trail("prospect", pid))
        for i in (1, 2):
            linked = attrs.evolve(trail[i], previous_hash=trail[i - 1].hash)
            trail[i] = attrs.evolve(linked, hash=linked.computed_hash())
            _sql(app, "UPDATE custmgmt_audit SET previous_hash = :ph, hash = :h WHERE "
                      "resource_id = :p AND sequence = :i",
                 {"ph": trail[i].previous_hash, "h": trail[i].hash, "p": pid, "i": i})
        _sql(app, "UPDATE custmgmt_prospects SET trail_hash = :h WHERE id = :p",
             {"h": trail[-1].hash, "p": pid})


def test_an_intact_audit_trail_verifies(app: App) -> None:
    auditor, pid = a_prospect_with_a_trail(app)
    assert app.audit.verify(auditor, "prospect", pid) == 3


def test_a_deleted_newest_entry_is_caught_either_way(app: App) -> None:
    auditor, pid = a_prospect_with_a_trail(app)
    delete_newest_entry(app, pid, re_head=False)
    with pytest.raises(IntegrityError, match="its head records 3 entries, 2 are stored"):
        app.audit.verify(auditor, "prospect", pid)


def test_a_deleted_newest_entry_and_a_rewritten_head(app: App, keyed: bool) -> None:
    auditor, pid = a_prospect_with_a_trail(app)
    delete_newest_entry(app, pid, re_head=True)
    if keyed:
        with pytest.raises(IntegrityError, match="the seal on its head does not match"):
            app.audit.verify(auditor, "prospect", pid)
    else:  # documented: not detected without a key
        assert app.audit.verify(auditor, "prospect", pid) == 2


@pytest.mark.parametrize("with_head", [False, True])
def test_a_deleted_whole_trail_is_caught(app: App, with_head: bool) -> None:
    auditor, pid = a_prospect_with_a_trail(app)
    delete_whole_trail(app, pid, with_head=with_head)
    named = "its audit trail is missing" if with_head else "3 entries, 0 are stored"
    with pytest.raises(IntegrityError, match=named):
        app.audit.verify(auditor, "prospect", pid)


def test_an_edited_entry_is_caught(app: App) -> None:
    auditor, pid = a_prospect_with_a_trail(app)
    edit_entry(app, pid, re_hash=False)
    with pytest.raises(IntegrityError, match="audit entry 1 was edited"):
        app.audit.verify(auditor, "prospect", pid)


def test_an_edited_entry_re_hashed_onwards(app: App, keyed: bool) -> None:
    auditor, pid = a_prospect_with_a_trail(app)
    edit_entry(app, pid, re_hash=True)
    if keyed:
        with pytest.raises(IntegrityError, match="the seal on its head does not match"):
            app.audit.verify(auditor, "prospect", pid)
    else:
        assert app.audit.verify(auditor, "prospect", pid) == 3


def test_who_may_verify_and_what(app: App) -> None:
    auditor, pid = a_prospect_with_a_trail(app)
    alice = app.principal("u-alice", roles={"salesperson"})
    with pytest.raises(PermissionDenied):
        app.audit.verify(alice, "prospect", pid)
    with pytest.raises(ValidationError) as raised:
        app.audit.verify(auditor, "invoice", pid)
    assert raised.value.field == "kind"
    with pytest.raises(ValidationError):
        app.audit.verify(auditor, "prospect", "")
    with pytest.raises(NotFound):
        app.audit.verify(auditor, "prospect", "p-nobody")
    qm = app.principal("u-qm", roles={"quality_manager"})
    assert app.audit.verify(qm, "prospect", pid) == 3


# --- an import's trails: one entry a batch, a head a prospect ----------------------

IMPORTED = [{"name": f"P{n}", "phone": f"1380000000{n}", "willingness": "clear",
             "potential_value": "5"} for n in range(1, 5)]


def imported(app: App, rows: int = 3) -> tuple[custmgmt.Principal, list[str]]:
    """``rows`` prospects imported by u-alice in batches of two (import id ``imp-1``)."""
    alice = app.principal("u-alice", roles={"salesperson"})
    report = app.prospects.import_many(alice, IMPORTED[:rows], batch_size=2,
                                       import_id="imp-1")
    assert report.imported == rows
    return alice, sorted(p.id for p in app.prospects.list(alice).items)


def change(app: App, alice: custmgmt.Principal, pid: str) -> None:
    """A change that appends one entry to the prospect's own trail."""
    app.followups.record(alice, pid, channel=custmgmt.Channel.PHONE, summary="call")


def edit_import_entry(app: App, how: str) -> None:
    """Change the import's first batch entry behind custmgmt's back: ``actor`` (its hash
    kept), ``rehash`` (and its hash made to match), ``unname`` (its first prospect left
    out, re-hashed) or ``delete``."""
    storage = app._storage
    if isinstance(storage, MemoryStorage):
        key = (IMPORT_KIND, "imp-1")
        trail = [unpack(e) for e in storage.state.audit[key]]
        first = trail[0]
        if how == "delete":
            storage.state.audit[key] = tuple(map(pack, trail[1:]))
            return
        named = dict(first.after)["prospects"]
        edited = attrs.evolve(first, actor_id="u-mallory") if how != "unname" else \
            attrs.evolve(first, after=(("prospects", named.split(" ", 1)[1]),))
        if how != "actor":
            edited = attrs.evolve(edited, hash=edited.computed_hash())
        storage.state.audit[key] = tuple(map(pack, [edited, *trail[1:]]))
        return
    where = "WHERE resource_kind = 'prospect_import' AND sequence = 0"
    if how == "delete":
        _sql(app, f"DELETE FROM custmgmt_audit {where}", {})
        return
    assert isinstance(storage, SqlStorage)
    with storage.unit_of_work() as uow:
        first = uow.audit.trail(IMPORT_KIND, "imp-1")[0]
    named = dict(first.after)["prospects"]
    edited = attrs.evolve(first, actor_id="u-mallory") if how != "unname" else \
        attrs.evolve(first, after=(("prospects", named.split(" ", 1)[1]),))
    if how != "actor":
        edited = attrs.evolve(edited, hash=edited.computed_hash())
    _sql(app, f"UPDATE custmgmt_audit SET actor_id = :a, after = :after, hash = :h {where}",
         {"a": edited.actor_id, "after": json.dumps([list(p) for p in edited.after]),
          "h": edited.hash})


def test_an_import_writes_one_entry_a_batch_that_each_trail_starts_from(
    app: App, clock: FixedClock
) -> None:
    alice, pids = imported(app)
    auditor = app.principal("u-audit", roles={"auditor"})
    assert app.audit.verify(auditor, IMPORT_KIND, "imp-1") == 2  # two batches
    for n, pid in enumerate(pids):
        assert app.audit.verify(auditor, "prospect", pid) == 1
        (entry,) = app.prospects.audit_trail(alice, pid)
        assert (entry.resource_kind, entry.resource_id, entry.sequence) == (
            IMPORT_KIND, "imp-1", n // 2)
        assert (entry.actor_id, entry.action, entry.at) == ("u-alice", "register", clock.now())
        assert pid in dict(entry.after)["prospects"].split(" ")
        assert entry.hash == entry.computed_hash()  # the stored record itself
    change(app, alice, pids[2])
    origin, own = app.prospects.audit_trail(alice, pids[2])
    assert (own.resource_kind, own.sequence, own.previous_hash) == (
        "prospect", 0, origin.hash)
    assert app.audit.verify(auditor, "prospect", pids[2]) == 2


def test_an_import_run_again_continues_its_trail(app: App) -> None:
    alice, _ = imported(app)
    report = app.prospects.import_many(alice, IMPORTED, batch_size=2, import_id="imp-1")
    assert (report.imported, report.already_imported) == (1, 3)
    auditor = app.principal("u-audit", roles={"auditor"})
    assert app.audit.verify(auditor, IMPORT_KIND, "imp-1") == 3
    newest = max(app.prospects.list(alice).items, key=lambda p: p.registration.id)
    assert newest.registration.id == "imp-1:4"
    assert app.audit.verify(auditor, "prospect", newest.id) == 1


def test_two_runs_of_one_import_interleaved_both_land(app: App) -> None:
    """Run A writes a batch, run B (the same import id) writes one, then A writes its
    next: A's next entry finds its place taken, reads the trail again and is written."""
    alice = app.principal("u-alice", roles={"salesperson"})
    a_wrote, b_wrote = threading.Event(), threading.Event()

    def rows_a() -> Iterator[dict[str, str]]:
        yield from IMPORTED[:2]
        # Asked for the next rows: A's first batch is written, or on PostgreSQL, where an
        # import reads a batch ahead, being written: wait until it is committed.
        deadline = time.monotonic() + 30
        while app.prospects.counts(alice).total < 2:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        a_wrote.set()
        assert b_wrote.wait(30)
        yield from IMPORTED[2:]

    def rows_b() -> Iterator[dict[str, str]]:
        assert a_wrote.wait(30)
        yield from ({**row, "phone": "139" + row["phone"][3:]} for row in IMPORTED[:2])

    reports: dict[str, object] = {}

    def run(name: str, rows: Iterator[dict[str, str]], wrote: threading.Event,
            first_line: int) -> None:
        try:
            reports[name] = app.prospects.import_many(
                alice, rows, batch_size=2, first_line=first_line, import_id="imp-1",
                on_progress=lambda *_: wrote.set())
        except Exception as error:
            reports[name] = error
            wrote.set()

    runs = [threading.Thread(target=run, args=("a", rows_a(), threading.Event(), 1)),
            threading.Thread(target=run, args=("b", rows_b(), b_wrote, 101))]
    for thread in runs:
        thread.start()
    for thread in runs:
        thread.join()
    imported = {name: getattr(r, "imported", r) for name, r in reports.items()}
    assert imported == {"a": 4, "b": 2}
    auditor = app.principal("u-audit", roles={"auditor"})
    assert app.audit.verify(auditor, IMPORT_KIND, "imp-1") == 3
    for p in app.prospects.list(alice).items:
        assert app.audit.verify(auditor, "prospect", p.id) == 1


@pytest.mark.parametrize("with_head", [True, False])
def test_an_imported_prospects_own_trail_deleted_is_caught(app: App, with_head: bool) -> None:
    alice, pids = imported(app)
    auditor = app.principal("u-audit", roles={"auditor"})
    change(app, alice, pids[0])
    delete_whole_trail(app, pids[0], with_head=with_head)
    named = "its audit trail is missing" if with_head else "1 entries, 0 are stored"
    with pytest.raises(IntegrityError, match=named):
        app.audit.verify(auditor, "prospect", pids[0])


@pytest.mark.parametrize("how", ["actor", "rehash", "unname", "delete"])
def test_an_edited_or_deleted_import_entry_is_caught(app: App, how: str) -> None:
    alice, pids = imported(app)
    auditor = app.principal("u-audit", roles={"auditor"})
    change(app, alice, pids[1])
    edit_import_entry(app, how)
    with pytest.raises(IntegrityError, match="the import entry its trail starts from"):
        app.audit.verify(auditor, "prospect", pids[0])
    with pytest.raises(IntegrityError, match="audit entry 0 was edited"):
        app.audit.verify(auditor, "prospect", pids[1])  # its own entry links to nothing
    assert app.audit.verify(auditor, "prospect", pids[2]) == 1  # the other batch's
    with pytest.raises(IntegrityError, match=r"audit entry [01] was edited"):
        app.audit.verify(auditor, IMPORT_KIND, "imp-1")  # nor does the import's own trail
    assert app.prospects.audit_trail(alice, pids[0]) == ()


# --- the key and the sealer port ------------------------------------------------------

class Notary:
    """A sealer plugin that keeps the newest head of every chain outside the database,
    so even a head rolled back to an older, once valid seal fails."""

    def __init__(self) -> None:
        self.newest: dict[tuple[str, str], bytes] = {}

    @hookimpl
    def custmgmt_chain_sealer(self, settings: Settings) -> Notary:
        return self

    def seal(self, message: bytes) -> str:
        head = json.loads(message)
        self.newest[(head["chain"], head["id"])] = message
        return f"notarized:{head['length']}"

    def verify(self, message: bytes, seal: str) -> bool:
        head = json.loads(message)
        return self.newest.get((head["chain"], head["id"])) == message


def test_a_notary_plugin_catches_a_rollback_to_an_older_sealed_head(
    storage_url: str, clock: FixedClock
) -> None:
    notary = Notary()
    with custmgmt.open(storage_url, clock=clock, ids=SequentialIds(), migrate=True,
                       plugins=[notary]) as app:
        auditor, pid = a_prospect_with_a_trail(app)
        assert app.audit.verify(auditor, "prospect", pid) == 3
        storage = app._storage
        key = (audit_chain("prospect"), pid)
        if isinstance(storage, MemoryStorage):
            older = attrs.evolve(_head(storage, key), length=2,
                                 head_hash=_trail(app, pid)[1].hash, seal="notarized:2")
            storage.state.heads[key] = older
            _keep_trail(app, pid, _trail(app, pid)[:-1])
        else:
            delete_newest_entry(app, pid, re_head=True)
            _sql(app, "UPDATE custmgmt_prospects SET trail_seal = 'notarized:2' "
                      "WHERE id = :p", {"p": pid})
        with pytest.raises(IntegrityError, match="the seal on its head does not match"):
            app.audit.verify(auditor, "prospect", pid)


class Broken:
    @hookimpl
    def custmgmt_chain_sealer(self, settings: Settings) -> Broken:
        return self

    def seal(self, message: bytes) -> str:
        raise ConnectionError("KMS unreachable")

    def verify(self, message: bytes, seal: str) -> bool:
        raise ConnectionError("KMS unreachable")


def test_a_failing_sealer_is_a_storage_error_and_saves_nothing(
    storage_url: str, clock: FixedClock
) -> None:
    with custmgmt.open(storage_url, clock=clock, ids=SequentialIds(), migrate=True,
                       plugins=[Broken()]) as app:
        alice = app.principal("u-alice", roles={"salesperson", "admin"})
        with pytest.raises(StorageError, match="the chain sealer failed"):
            app.prospects.register(alice, name="Acme", phone="13800000001",
                                   willingness="clear", potential_value=2_000_000)
        assert app.prospects.list(alice).items == ()


class Wrapping:
    """A sealer handing back what a KMS may: base64 wrapped in lines, or nothing."""

    def __init__(self, seal: object) -> None:
        self._seal = seal

    @hookimpl
    def custmgmt_chain_sealer(self, settings: Settings) -> Wrapping:
        return self

    def seal(self, message: bytes) -> object:
        return self._seal

    def verify(self, message: bytes, seal: str) -> bool:
        return seal == self._seal


@pytest.mark.parametrize("seal", ["c2VhbA==\nc2VhbA==", "seal\x00", "", "s" * 201, b"seal"])
def test_a_seal_no_storage_keeps_is_the_sealers_fault_and_saves_nothing(
    storage_url: str, clock: FixedClock, seal: object
) -> None:
    with custmgmt.open(storage_url, clock=clock, ids=SequentialIds(), migrate=True,
                       plugins=[Wrapping(seal)]) as app:
        alice = app.principal("u-alice", roles={"salesperson", "admin"})
        for write in (lambda: app.prospects.register(
                          alice, name="Acme", phone="13800000001", willingness="clear",
                          potential_value=2_000_000),
                      lambda: app.prospects.import_many(alice, [{
                          "name": "Bolt", "phone": "13800000002", "willingness": "clear",
                          "potential_value": "2000000"}])):
            with pytest.raises(StorageError, match="returned no seal of 1 to 200 printable"):
                write()
        assert app.prospects.list(alice).items == ()


def test_the_key_is_checked_and_never_shown() -> None:
    settings = Settings(chain_key="a text key of 16+ bytes")
    assert settings.chain_key == b"a text key of 16+ bytes"
    assert "16+" not in repr(settings)
    for bad in (b"short", 12345, ["k"]):
        with pytest.raises(ValidationError) as raised:
            Settings(chain_key=bad)  # type: ignore[arg-type]
        assert raised.value.field == "chain_key"


def test_heads_are_recorded_unsealed_without_a_key(storage_url: str, clock: FixedClock) -> None:
    with custmgmt.open(storage_url, clock=clock, ids=SequentialIds(), migrate=True) as app:
        auditor, pid = a_prospect_with_a_trail(app)
        with app._storage.unit_of_work() as uow:
            head = uow.heads.get(audit_chain("prospect"), pid)
        assert head is not None and (head.length, head.seal) == (3, None)
    with custmgmt.open(storage_url, clock=clock, ids=SequentialIds(),
                       settings=Settings(chain_key=KEY)) as keyed_app:
        if storage_url != "memory://":  # the same data, now opened with a key
            with pytest.raises(IntegrityError, match="its head is not sealed"):
                keyed_app.audit.verify(auditor, "prospect", pid)


def test_a_customers_trail_verifies_and_its_loss_is_caught(app: App) -> None:
    auditor = app.principal("u-audit", roles={"auditor"})
    cid = a_customer(app)
    assert app.audit.verify(auditor, "customer", cid) == 1
    storage = app._storage
    if isinstance(storage, MemoryStorage):
        del storage.state.audit[("customer", cid)]
        del storage.state.heads[(audit_chain("customer"), cid)]
    else:
        _sql(app, "DELETE FROM custmgmt_audit WHERE resource_id = :c", {"c": cid})
        _sql(app, "DELETE FROM custmgmt_chain_heads WHERE chain_id = :c", {"c": cid})
    with pytest.raises(IntegrityError, match="its audit trail is missing"):
        app.audit.verify(auditor, "customer", cid)


@pytest.mark.parametrize("after", ["not json", '{"prospects": 1}', "[[1]]", "[1, 2]"])
def test_a_snapshot_that_is_not_pairs_is_an_integrity_error(sql_url: str, after: str) -> None:
    """Written behind custmgmt's back into an import's entry: every prospect of the batch
    and the entry's own trail fail with IntegrityError; no decoding error escapes."""
    with custmgmt.open(sql_url, migrate=True) as app:
        alice, pids = imported(app, rows=2)
        auditor = app.principal("u-audit", roles={"auditor"})
        _sql(app, "UPDATE custmgmt_audit SET after = :a", {"a": after})
        for call in (lambda: app.audit.verify(auditor, "prospect", pids[0]),
                     lambda: app.audit.verify(auditor, IMPORT_KIND, "imp-1"),
                     lambda: app.prospects.audit_trail(alice, pids[1])):
            with pytest.raises(IntegrityError, match="not a list of pairs") as raised:
                call()
            assert after not in str(raised.value)
