"""A small web API over custmgmt, with FastAPI.

    pip install 'custmgmt[examples]' uvicorn
    CUSTMGMT_URL=sqlite:///crm.db uvicorn app:api        # from this folder

What it shows:

- one ``CustomerManagement`` per process, opened when the app starts and closed
  when it stops; the endpoints are plain ``def`` functions, so FastAPI runs them
  on its thread pool and they all share that one object (it is thread-safe);
- the acting principal comes from a request header set by the authenticating
  gateway in front of the app (``X-Principal``): an id that is not a known,
  active principal is 401; otherwise only the id is handed to custmgmt, which
  reads that principal's stored grants inside every call (a role revoked through
  ``app.principals`` stops working at the next request) and lets its authorizer
  decide;
- custmgmt's errors become HTTP statuses: ValidationError 422 with every bad
  field, PermissionDenied 403, NotFound 404, ClaimConflict 409 naming the first
  registration, InvalidTransition / ConcurrencyError 409, StorageError 503;
- results are serialized with the library's own converter.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import date
from typing import Annotated, Any

from fastapi import Body, Depends, FastAPI, Header, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

import custmgmt
from custmgmt.errors import (
    ClaimConflict,
    ConcurrencyError,
    CustmgmtError,
    FieldError,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    StorageError,
    ValidationError,
)
from custmgmt.ports.auth import Principal
from custmgmt.serialization import make_converter

PRINCIPAL_HEADER = "X-Principal"
REGISTER_FIELDS = frozenset({
    "name", "willingness", "potential_value", "phone", "email", "address", "organization",
    "credit_code", "industry", "source_channel", "needs"})
FOLLOW_UP_FIELDS = frozenset({"channel", "summary", "needs", "problems", "outcome",
                              "next_step"})

STATUS: list[tuple[type[CustmgmtError], int]] = [
    (ValidationError, 422),
    (PermissionDenied, 403),
    (NotFound, 404),
    (ClaimConflict, 409),
    (InvalidTransition, 409),
    (ConcurrencyError, 409),
    (StorageError, 503),
    (CustmgmtError, 400),
]

converter = make_converter()


def error_body(error: CustmgmtError) -> dict[str, Any]:
    """What the client is told. custmgmt's messages carry no personal data."""
    body: dict[str, Any] = {"error": type(error).__name__, "message": str(error)}
    if isinstance(error, ValidationError):
        body["errors"] = [{"field": e.path, "message": e.message} for e in error.errors]
    if isinstance(error, ClaimConflict):
        body.update(owner_id=error.owner_id, registration_id=error.registration_id,
                    registered_at=error.registered_at.isoformat())
    return body


def status_of(error: CustmgmtError) -> int:
    return next(status for kind, status in STATUS if isinstance(error, kind))


def only(body: Mapping[str, Any], allowed: frozenset[str]) -> dict[str, Any]:
    """The body's fields, refusing unknown ones (all of them named at once)."""
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ValidationError.of([FieldError(name, "is not a known field") for name in unknown])
    return dict(body)


def crm(request: Request) -> custmgmt.CustomerManagement:
    """The process's one CustomerManagement, opened when the app started."""
    app: custmgmt.CustomerManagement = request.app.state.crm
    return app

CRM = Annotated[custmgmt.CustomerManagement, Depends(crm)]


def acting(
    app: CRM, x_principal: Annotated[str | None, Header(alias=PRINCIPAL_HEADER)] = None
) -> Principal:
    """Who the gateway authenticated. Only the id is passed on: custmgmt reads that
    principal's grants from storage inside each call and its authorizer decides."""
    try:
        stored = app.get_principal(x_principal) if x_principal else None
    except ValidationError:          # not even a well-formed id
        stored = None
    if stored is None or not stored.active:
        raise HTTPException(401, "unknown or missing principal",
                            headers={"WWW-Authenticate": PRINCIPAL_HEADER})
    return Principal(id=stored.id)


Actor = Annotated[Principal, Depends(acting)]
JsonObject = Annotated[dict[str, Any], Body()]


def create_app(url: str, **open_options: Any) -> FastAPI:
    """The web app over custmgmt opened on ``url`` (``open_options`` go to custmgmt.open)."""

    @asynccontextmanager
    async def lifespan(api: FastAPI) -> AsyncIterator[None]:
        with custmgmt.open(url, **open_options) as opened:   # one per process
            api.state.crm = opened
            yield

    api = FastAPI(title="custmgmt example", lifespan=lifespan)

    @api.exception_handler(CustmgmtError)
    async def custmgmt_error(_request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, CustmgmtError)
        return JSONResponse(error_body(error), status_code=status_of(error))

    @api.exception_handler(RequestValidationError)
    async def bad_request(_request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        errors = [{"field": ".".join(str(p) for p in e["loc"][1:]) or "body",
                   "message": e["msg"]} for e in error.errors()]
        return JSONResponse({"error": "ValidationError", "message": "bad request",
                             "errors": errors}, status_code=422)

    def send(value: object, status: int = 200) -> JSONResponse:
        return JSONResponse(converter.unstructure(value), status_code=status)

    @api.post("/prospects", status_code=201)
    def register(app: CRM, actor: Actor, body: JsonObject) -> JSONResponse:
        fields = only(body, REGISTER_FIELDS)
        prospect = app.prospects.register(
            actor, name=fields.pop("name", None), willingness=fields.pop("willingness", None),
            potential_value=fields.pop("potential_value", None), **fields)
        return send(prospect, 201)

    @api.get("/prospects")
    def visible(app: CRM, actor: Actor, limit: int = 50, cursor: str | None = None,
                ) -> JSONResponse:
        page = app.prospects.list(actor, limit=limit, cursor=cursor)
        return JSONResponse({"items": [converter.unstructure(p) for p in page.items],
                             "next_cursor": page.next_cursor})

    @api.get("/prospects/{prospect_id}")
    def one(app: CRM, actor: Actor, prospect_id: str) -> JSONResponse:
        return send(app.prospects.get(actor, prospect_id))

    @api.post("/prospects/{prospect_id}/stage")
    def advance(app: CRM, actor: Actor, prospect_id: str, body: JsonObject) -> JSONResponse:
        to: Any = only(body, frozenset({"to"})).get("to")   # custmgmt checks it
        return send(app.prospects.advance(actor, prospect_id, to=to))

    @api.post("/prospects/{prospect_id}/follow-ups", status_code=201)
    def follow_up(app: CRM, actor: Actor, prospect_id: str, body: JsonObject) -> JSONResponse:
        fields = only(body, FOLLOW_UP_FIELDS)
        record = app.followups.record(actor, prospect_id, channel=fields.pop("channel", None),
                                      summary=fields.pop("summary", None), **fields)
        return send(record, 201)

    @api.get("/follow-ups/due")
    def due(app: CRM, actor: Actor, on: date | None = None) -> JSONResponse:
        return JSONResponse([converter.unstructure(item) for item in app.followups.due(actor,
                                                                                        on=on)])

    return api


# What `uvicorn app:api` serves. Nothing is opened until the server starts it.
api = create_app(os.environ.get("CUSTMGMT_URL", "sqlite:///crm.db"), migrate=True)
