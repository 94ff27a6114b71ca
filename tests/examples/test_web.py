"""examples/web: the FastAPI app over custmgmt, through its test client, on every back end."""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from fastapi.testclient import TestClient

from custmgmt.adapters.system import FixedClock, SequentialIds

ROOT = Path(__file__).resolve().parents[2]


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("web_example",
                                                  ROOT / "examples" / "web" / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


web = load_example()


@pytest.fixture
def client(storage_url: str, clock: FixedClock) -> Iterator[TestClient]:
    api = web.create_app(storage_url, migrate=True, clock=clock, ids=SequentialIds())
    with TestClient(api) as client:
        crm = api.state.crm
        crm.principal("u-alice", roles={"salesperson"}, team="east")
        crm.principal("u-bob", roles={"salesperson"}, team="east")
        crm.principal("u-mia", roles={"sales_manager"}, team="east")
        crm.principal("u-rita", roles={"prospect_reader"})
        yield client


def as_(principal: str) -> dict[str, str]:
    return {"X-Principal": principal}


WANG = {"name": "Wang Wei", "phone": "138 0013 8000", "willingness": "clear",
        "potential_value": "2000000"}


def test_register_returns_201_with_the_prospect_as_the_converter_writes_it(
        client: TestClient) -> None:
    response = client.post("/prospects", json=WANG, headers=as_("u-alice"))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["grade"] == "A" and body["stage"] == "initial_contact"
    assert body["owner_id"] == "u-alice"
    assert body["potential_value"] == {"amount": "2000000", "currency": "CNY"}
    crm = client.app.state.crm  # type: ignore[attr-defined]
    stored = crm.prospects.get(crm.get_principal("u-alice"), body["id"])
    assert body == web.converter.unstructure(stored)


def test_one_process_one_custmgmt_opened_at_start_and_closed_at_stop(
        storage_url: str, clock: FixedClock) -> None:
    api = web.create_app(storage_url, migrate=True, clock=clock)
    with TestClient(api) as client:
        crm = api.state.crm
        assert client.get("/prospects").status_code == 401     # no principal yet
        assert api.state.crm is crm                              # the same object throughout
    assert "storage=" in repr(crm)


def test_validation_error_is_422_naming_every_bad_field(client: TestClient) -> None:
    response = client.post("/prospects", headers=as_("u-alice"), json={
        "name": "", "phone": "12", "email": "not-mail", "willingness": "maybe",
        "potential_value": "-5"})
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "ValidationError"
    assert [e["field"] for e in body["errors"]] == [
        "name", "phone", "email", "willingness", "potential_value"]
    assert client.get("/prospects", headers=as_("u-alice")).json()["items"] == []


def test_unknown_fields_and_non_objects_are_422_too(client: TestClient) -> None:
    response = client.post("/prospects", headers=as_("u-alice"),
                           json={**WANG, "shoe_size": 42, "colour": "red"})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["colour", "shoe_size"]
    response = client.post("/prospects", headers=as_("u-alice"), json=["not", "an", "object"])
    assert response.status_code == 422
    assert response.json()["error"] == "ValidationError"


def test_permission_denied_is_403_and_not_found_404(client: TestClient) -> None:
    created = client.post("/prospects", json=WANG, headers=as_("u-alice")).json()
    response = client.get(f"/prospects/{created['id']}", headers=as_("u-bob"))
    assert response.status_code == 403
    assert response.json()["error"] == "PermissionDenied"
    assert "138" not in response.text                       # no personal data in errors
    assert client.get(f"/prospects/{created['id']}", headers=as_("u-mia")).status_code == 200
    missing = client.get("/prospects/p-nothing-here", headers=as_("u-rita"))
    assert missing.status_code == 404 and missing.json()["error"] == "NotFound"
    # No existence oracle: a right that reaches only a team's records gets 403 either way.
    hidden = client.get("/prospects/p-nothing-here", headers=as_("u-mia"))
    assert hidden.status_code == 403 and hidden.json()["error"] == "PermissionDenied"


def test_the_principal_comes_from_the_header_and_must_exist(client: TestClient) -> None:
    assert client.post("/prospects", json=WANG).status_code == 401
    assert client.post("/prospects", json=WANG, headers=as_("u-mallory")).status_code == 401
    assert client.post("/prospects", json=WANG, headers=as_("x" * 5000)).status_code == 401
    mine = client.post("/prospects", json=WANG, headers=as_("u-bob")).json()
    assert mine["owner_id"] == "u-bob"


def test_grants_are_read_at_each_request_so_a_revoked_role_stops_at_once(
        client: TestClient) -> None:
    crm = client.app.state.crm  # type: ignore[attr-defined]
    admin = crm.principal("u-root", roles={"admin"})
    assert client.post("/prospects", json=WANG, headers=as_("u-bob")).status_code == 201
    crm.principals.revoke(admin, "u-bob", ["salesperson"])
    denied = client.get("/prospects", headers=as_("u-bob"))
    assert denied.status_code == 403 and denied.json()["error"] == "PermissionDenied"
    crm.principals.grant(admin, "u-bob", ["salesperson"])
    assert client.get("/prospects", headers=as_("u-bob")).status_code == 200
    crm.principals.deactivate(admin, "u-bob")
    assert client.get("/prospects", headers=as_("u-bob")).status_code == 401


def test_claim_conflict_is_409_naming_the_first_registration(client: TestClient) -> None:
    first = client.post("/prospects", json=WANG, headers=as_("u-alice")).json()
    response = client.post("/prospects", headers=as_("u-bob"),
                           json={**WANG, "phone": "+86 138-0013-8000"})
    assert response.status_code == 409
    body = response.json()
    assert body["error"] == "ClaimConflict"
    assert body["owner_id"] == "u-alice"
    assert body["registration_id"] == first["registration"]["id"]


def test_invalid_transition_is_409_and_a_follow_up_is_201(client: TestClient) -> None:
    created = client.post("/prospects", json=WANG, headers=as_("u-alice")).json()
    url = f"/prospects/{created['id']}"
    early = client.post(f"{url}/stage", json={"to": "proposal"}, headers=as_("u-alice"))
    assert early.status_code == 409 and early.json()["error"] == "InvalidTransition"
    record = client.post(f"{url}/follow-ups", headers=as_("u-alice"),
                         json={"channel": "visit", "summary": "Walked the plant"})
    assert record.status_code == 201, record.text
    assert record.json()["channel"] == "visit"
    moved = client.post(f"{url}/stage", json={"to": "proposal"}, headers=as_("u-alice"))
    assert moved.status_code == 200 and moved.json()["stage"] == "proposal"
    due = client.get("/follow-ups/due", params={"on": "2026-03-31"}, headers=as_("u-alice"))
    assert [item["prospect_id"] for item in due.json()] == [created["id"]]


def test_a_register_race_between_two_clients_gives_one_201_and_one_409(
        client: TestClient) -> None:
    start = threading.Barrier(2)
    results: dict[str, Any] = {}

    def contend(principal: str, phone: str) -> None:
        start.wait()
        results[principal] = client.post("/prospects", headers=as_(principal),
                                         json={**WANG, "phone": phone})

    threads = [threading.Thread(target=contend, args=("u-alice", "13800138000")),
               threading.Thread(target=contend, args=("u-bob", "+86 138 0013 8000"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    statuses = sorted(r.status_code for r in results.values())
    assert statuses == [201, 409], [r.text for r in results.values()]
    winner = next(p for p, r in results.items() if r.status_code == 201)
    loser = next(r for r in results.values() if r.status_code == 409)
    assert loser.json()["owner_id"] == winner
    listed = client.get("/prospects", headers=as_("u-mia")).json()["items"]
    assert [p["owner_id"] for p in listed] == [winner]
