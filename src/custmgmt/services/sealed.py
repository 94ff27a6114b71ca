"""What a sealed customer's data looks like to a reader without the sealed-read right.

Sealing (客户摘牌 四) restricts access and erases nothing: the stored record keeps
every field. Every ordinary read of a sealed customer, and of a prospect linked to
one, goes through these functions and gets the contacts replaced by ``SEALED``;
``app.delisting.read_sealed`` (the ``sealed.read`` right, a reason, an audit
entry) returns the record as stored.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from custmgmt.domain.common import Address
from custmgmt.domain.customers import Customer, CustomerStatus
from custmgmt.domain.prospects import Profile, Prospect
from custmgmt.errors import NotFound
from custmgmt.ports.storage import UnitOfWork

SEALED = "[sealed 已封存]"
"""What a sealed contact field reads as: the phone and e-mail are gone, the address
says this."""


def sealed_profile(profile: Profile) -> Profile:
    """``profile`` with its contacts (phone, e-mail, address) sealed."""
    return attrs.evolve(profile, phone=None, email=None, address=Address(SEALED))


def visible_customer(customer: Customer) -> Customer:
    """The customer as an ordinary read shows it: contacts sealed if it is sealed."""
    if customer.status is not CustomerStatus.SEALED:
        return customer
    return attrs.evolve(customer, profile=sealed_profile(customer.profile))


def visible_prospects(uow: UnitOfWork, prospects: Iterable[Prospect]) -> list[Prospect]:
    """The prospects as an ordinary read shows them: contacts sealed for each prospect
    linked to a sealed customer."""
    sealed: dict[str, bool] = {}
    out = []
    for prospect in prospects:
        cid = prospect.customer_id
        if cid is not None and cid not in sealed:
            try:
                sealed[cid] = uow.customers.get(cid).status is CustomerStatus.SEALED
            except NotFound:
                sealed[cid] = False
        if cid is not None and sealed[cid]:
            out.append(attrs.evolve(prospect, profile=sealed_profile(prospect.profile)))
        else:
            out.append(prospect)
    return out
