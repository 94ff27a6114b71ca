"""Audit entries hashed on the import's fast path (``AuditEntry.computed_hash``) verify
after a round trip through every backend, with actor ids and teams of unusual text
(quotes, backslashes, non-ASCII, a str subclass, a bidi control)."""

from __future__ import annotations

import pytest

import custmgmt
from custmgmt.domain.integrity import AUDIT_ENTRY, record_hash


class _Text(str):
    pass


@pytest.mark.parametrize(("actor_id", "team"), [
    ('u-"\\ü😀\u00a0x', 'te"am\\ü'),
    (_Text("u-sub"), _Text("east")),
    ("u-\u202eRTL", "东区"),
])
def test_imported_and_registered_trails_verify_with_unusual_text(
        app: custmgmt.CustomerManagement, actor_id: str, team: str) -> None:
    actor = app.principal(actor_id, roles={"salesperson", "auditor"}, team=team)
    report = app.prospects.import_many(actor, [
        {"name": f"N{i}", "phone": f"1380013{i:04d}", "willingness": "interested",
         "potential_value": "5"} for i in range(3)])
    assert report.imported == 3
    app.prospects.register(actor, name="Zed", phone="13900139000", willingness="watching",
                           potential_value="7")
    prospects = app.prospects.list(actor).items
    assert len(prospects) == 4
    for prospect in prospects:
        assert app.audit.verify(actor, "prospect", prospect.id) == 1
        (entry,) = app.prospects.audit_trail(actor, prospect.id)
        assert entry.actor_id == actor_id
        assert entry.computed_hash() == record_hash(AUDIT_ENTRY, entry) == entry.hash
