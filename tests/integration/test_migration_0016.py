"""Migration 0016 (consent history, campaigns and what they rest on) upgrades and
downgrades cleanly: undone, its tables are gone; done again, they are back and used."""

from __future__ import annotations

from collections.abc import Callable

from alembic import command
from sqlalchemy import create_engine, inspect

import custmgmt
from custmgmt.adapters.sql import migrate

TABLES = {"custmgmt_consents", "custmgmt_campaigns", "custmgmt_campaign_members",
          "custmgmt_campaign_waves", "custmgmt_products", "custmgmt_risk_assessments",
          "custmgmt_touches", "custmgmt_outcomes"}


def test_0016_downgrades_and_upgrades_again(new_empty_url: Callable[[], str]) -> None:
    url = new_empty_url()
    engine = create_engine(url)
    migrate.upgrade(engine, "0016")
    assert set(inspect(engine).get_table_names()) >= TABLES
    command.downgrade(migrate.config(engine), "0014")
    assert migrate.current(engine) == "0014"
    assert not TABLES & set(inspect(engine).get_table_names())
    engine.dispose()
    with custmgmt.open(url, migrate=True) as app:
        am = app.principal("u-am", roles={"account_manager"})
        customer = app.customers.create(am, name="Wang Wei", phone="13912345678")
        app.consent.give(am, customer.id, purpose="marketing", channel="sms",
                         source="form", notice_version="1")
        assert app.consent.allows(am, customer.id, "marketing", "sms")
