"""Enumerations hashed by identity (``domain.enums.Choice``) behave as plain enums."""

from __future__ import annotations

import copy
import enum
import pickle

import pytest

from custmgmt.domain.enums import Choice
from custmgmt.domain.grading import Grade, Willingness
from custmgmt.domain.identity import KeyKind
from custmgmt.domain.pipeline import Stage
from custmgmt.domain.prospects import ChangeKind, ProspectKind

CHOICES: list[type[Choice]] = [Grade, Willingness, KeyKind, Stage, ChangeKind, ProspectKind]


@pytest.mark.parametrize("kind", CHOICES, ids=lambda k: k.__name__)
def test_members_are_keys_that_survive_copies_and_pickling(kind: type[Choice]) -> None:
    members = list(kind)
    by_member = {member: member.value for member in members}
    for member in members:
        again = pickle.loads(pickle.dumps(member))
        assert again is member and copy.deepcopy(member) is member
        assert by_member[again] == member.value and again in set(members)
        assert kind(member.value) is member and kind[member.name] is member
        # equal only to itself: not to its value, nor to a plain enum's member of that name
        assert member != member.value
        assert member == again and hash(member) == hash(again)
    plain = enum.Enum("Plain", [(m.name, m.value) for m in members])  # type: ignore[misc]
    keys: set[object] = set(by_member)
    assert not any(m in keys for m in plain)
    assert len({*members, *members}) == len(members)
