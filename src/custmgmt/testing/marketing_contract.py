"""Contract tests for the marketing repositories: campaigns (versioned, with their
segments and sends) read back equal; products, the latest risk assessment, touches
marked sent, outcomes in order."""

from __future__ import annotations

from datetime import date, timedelta
from typing import ClassVar

import attrs
import pytest

from custmgmt.domain.consent import ContactChannel
from custmgmt.domain.marketing import (
    Campaign,
    CampaignState,
    Exclusion,
    Material,
    Outcome,
    OutcomeKind,
    Product,
    RiskAssessment,
    RiskLevel,
    Segment,
    Touch,
    Wave,
)
from custmgmt.errors import ConcurrencyError, NotFound
from custmgmt.ports.storage import Storage
from custmgmt.testing.builders import T0


def make_campaign(n: int = 1) -> Campaign:
    """Campaign ``n``: two segments, two channels, in DRAFT."""
    return Campaign(
        id=f"cp-{n:06d}", name=f"Spring deposit {n}", product_id="pd-1",
        segments=(Segment(name="young savers", customer_ids=("c-3", "c-1")),
                  Segment(name="retirees", customer_ids=("c-2",))),
        channels=(ContactChannel.SMS, ContactChannel.EMAIL),
        material=Material(subject="A better rate", body="3.1% for 12 months.",
                          author_id="u-mkt"),
        owner_id="u-mkt", owner_team="retail", created_at=T0)


def make_touch(n: int, *, campaign: str = "cp-000001", customer: str = "c-1") -> Touch:
    return Touch(id=f"tc-{n:06d}", campaign_id=campaign, customer_id=customer,
                 segment="young savers", channel=ContactChannel.SMS, wave=1,
                 notification_id=f"n-{n:06d}", queued_at=T0 + timedelta(minutes=n))


class MarketingStorageContract:
    """Campaigns and what they rest on and produce."""

    covers: ClassVar[tuple[str, ...]] = ("campaigns", "marketing")

    def test_a_campaign_reads_back_equal_through_its_life(self, storage: Storage) -> None:
        draft = make_campaign()
        with storage.unit_of_work() as uow:
            stored = uow.campaigns.add(draft)
            uow.commit()
        assert stored.version == 1
        with storage.unit_of_work() as uow:
            assert uow.campaigns.get(draft.id) == stored
            running = attrs.evolve(
                stored, state=CampaignState.RUNNING, reviewed_by="u-rev", reviewed_at=T0,
                review_passed=True, review_note="ok", approved_by="u-boss", approved_at=T0,
                started_at=T0, uses_sensitive_data=True,
                waves=(Wave(number=1, at=T0, by="u-mkt", queued=2,
                            excluded=((Exclusion.NO_CONSENT, 1),
                                      (Exclusion.TOLERANCE_BELOW, 3))),))
            updated = uow.campaigns.update(running)
            uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.campaigns.get(draft.id) == updated
            again = attrs.evolve(updated, waves=(*updated.waves, Wave(
                number=2, at=T0 + timedelta(days=1), by="u-mkt", queued=0)),
                segments=(Segment(name="all", customer_ids=("c-9",)),))
            latest = uow.campaigns.update(again)
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            assert uow.campaigns.get(draft.id) == latest and latest.version == 3

    def test_a_stale_campaign_is_refused_and_a_missing_one_not_found(
        self, storage: Storage
    ) -> None:
        with storage.unit_of_work() as uow:
            stored = uow.campaigns.add(make_campaign())
            uow.commit()
        with storage.unit_of_work() as uow:
            uow.campaigns.update(stored)
            uow.commit()
        with storage.unit_of_work() as uow, pytest.raises(ConcurrencyError):
            uow.campaigns.update(stored)
            uow.commit()
        with storage.unit_of_work() as uow, pytest.raises(NotFound):
            uow.campaigns.get("cp-nope")
        with storage.unit_of_work() as uow, pytest.raises(ConcurrencyError):
            uow.campaigns.add(make_campaign())
            uow.commit()

    def test_products_and_the_latest_risk_assessment(self, storage: Storage) -> None:
        product = Product(id="pd-1", name="Balanced fund", risk_level=RiskLevel.R3,
                          created_by="u-boss", created_at=T0)

        def assessed(n: int, on: date, level: RiskLevel, hours: int = 0) -> RiskAssessment:
            return RiskAssessment(id=f"ra-{n}", customer_id="c-1", tolerance=level,
                                  assessed_on=on, valid_until=on + timedelta(days=365),
                                  assessed_by="u-am", recorded_at=T0 + timedelta(hours=hours))

        newest = assessed(2, date(2026, 1, 3), RiskLevel.R2)
        with storage.unit_of_work() as uow:
            uow.marketing.add_product(product)
            uow.marketing.add_assessment(newest)
            uow.marketing.add_assessment(assessed(1, date(2026, 1, 2), RiskLevel.R5, 5))
            uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.marketing.product("pd-1") == product
            assert uow.marketing.assessment("c-1") == newest
            assert uow.marketing.assessment("c-2") is None
            with pytest.raises(NotFound):
                uow.marketing.product("pd-nope")
            later_same_day = assessed(3, date(2026, 1, 3), RiskLevel.R4, 1)
            uow.marketing.add_assessment(later_same_day)
            assert uow.marketing.assessment("c-1") == later_same_day
            uow.commit()
        with storage.unit_of_work() as uow, pytest.raises(ConcurrencyError):
            uow.marketing.add_product(product)
            uow.commit()

    def test_touches_are_marked_sent_and_outcomes_kept_in_order(
        self, storage: Storage
    ) -> None:
        with storage.unit_of_work() as uow:
            uow.marketing.add_touches([make_touch(2), make_touch(1, customer="c-2"),
                                       make_touch(3, campaign="cp-other")])
            uow.commit()
        with storage.unit_of_work() as uow:
            uow.marketing.mark_sent("n-000002", T0 + timedelta(hours=1), "cs-9")
            uow.marketing.add_outcome(Outcome(
                id="oc-2", campaign_id="cp-000001", customer_id="c-1", touch_id="tc-000002",
                kind=OutcomeKind.PRODUCT_TAKEN, at=T0 + timedelta(days=2), recorded_by="u-mkt",
                reference="ORDER-1"))
            uow.marketing.add_outcome(Outcome(
                id="oc-1", campaign_id="cp-000001", customer_id="c-1", touch_id="tc-000002",
                kind=OutcomeKind.RESPONSE, at=T0 + timedelta(days=1), recorded_by="u-mkt"))
            uow.commit()
        with storage.unit_of_work(read_only=True) as uow:
            touches = uow.marketing.touches("cp-000001")
            assert [t.id for t in touches] == ["tc-000001", "tc-000002"]
            assert touches[0].sent_at is None and touches[0].consent_id is None
            assert touches[1] == attrs.evolve(make_touch(2), sent_at=T0 + timedelta(hours=1),
                                              consent_id="cs-9")
            assert uow.marketing.touch_for("n-000002") == touches[1]
            assert uow.marketing.touch_for("n-nope") is None
            assert [o.id for o in uow.marketing.outcomes("cp-000001")] == ["oc-1", "oc-2"]
            assert uow.marketing.outcomes("cp-000001")[1].reference == "ORDER-1"
        with storage.unit_of_work() as uow, pytest.raises(ConcurrencyError):
            uow.marketing.add_touches([make_touch(1)])
            uow.commit()
