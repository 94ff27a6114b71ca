"""Identity keys: normalization, the variants that must collide, and PII masking."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from custmgmt.domain.common import (
    CreditCode,
    Email,
    OrganizationName,
    PersonName,
    Phone,
    credit_code_check_character,
    normalize_email,
    normalize_organization,
    normalize_phone,
)
from custmgmt.errors import ValidationError

FULL_WIDTH = str.maketrans("0123456789+-() ", "０１２３４５６７８９＋－（）　")


@pytest.mark.parametrize(
    "written",
    [
        "13800138000",
        "138 0013 8000",
        "138-0013-8000",
        "+86 138 0013 8000",
        "+86-13800138000",
        "0086 138 0013 8000",
        "(+86) 138.0013.8000",
        "１３８００１３８０００",
        "＋８６　１３８－００１３－８０００",
    ],
)
def test_phone_variants_share_one_key(written: str) -> None:
    assert Phone(written).key == "13800138000"


def test_different_phones_do_not_collide() -> None:
    assert Phone("13800138000").key != Phone("13800138001").key
    assert Phone("021-5555-1234").key == "02155551234"


@pytest.mark.parametrize("bad", ["", "   ", "abc", "12", "1" * 16])
def test_a_phone_needs_5_to_15_digits(bad: str) -> None:
    with pytest.raises(ValidationError):
        Phone(bad)


@pytest.mark.parametrize("written", ["Wang.Wei@Example.COM", "  wang.wei@example.com ",
                                     "ＷＡＮＧ.wei@example.com"])
def test_email_variants_share_one_key(written: str) -> None:
    assert Email(written).key == "wang.wei@example.com"


@pytest.mark.parametrize("bad", ["wang", "wang@", "@example.com", "a b@example.com", ""])
def test_an_email_must_look_like_one(bad: str) -> None:
    with pytest.raises(ValidationError):
        Email(bad)


@pytest.mark.parametrize(
    "written",
    [
        "Acme Trading",
        "ACME trading",
        "Acme Trading Co., Ltd.",
        "Acme Trading Co. Ltd",
        "Acme Trading Company Limited",
        "Acme Trading Ltd.",
        "Acme Trading, Inc.",
        "ＡＣＭＥ　Ｔｒａｄｉｎｇ",
        "Acme-Trading",
    ],
)
def test_latin_organization_variants_share_one_key(written: str) -> None:
    assert OrganizationName(written).key == "acmetrading"


@pytest.mark.parametrize(
    "written",
    [
        "上海星辰贸易",
        "上海星辰贸易有限公司",
        "上海星辰贸易有限责任公司",
        "上海星辰贸易股份有限公司",
        "上海 星辰 贸易 有限公司",
        "上海星辰贸易（有限公司）",
        "上海·星辰·贸易",
    ],
)
def test_chinese_organization_variants_share_one_key(written: str) -> None:
    assert OrganizationName(written).key == "上海星辰贸易"


def test_different_organizations_do_not_collide() -> None:
    names = ["Acme Trading", "Acme Holdings", "Zinc Works", "Z Works", "上海星辰贸易",
             "上海星辰科技", "北京星辰贸易"]
    assert len({OrganizationName(n).key for n in names}) == len(names)


def test_an_organization_that_is_only_a_legal_form_keeps_its_name() -> None:
    assert OrganizationName("有限公司").key == "有限公司"
    assert OrganizationName("Ltd").key == "ltd"


VALID_CODES = ["91350100M000100Y43", "91110000600037341L"]


@pytest.mark.parametrize("code", VALID_CODES)
def test_valid_credit_codes_pass_their_check_character(code: str) -> None:
    assert CreditCode(code).key == code
    assert CreditCode(code.lower()).key == code


@pytest.mark.parametrize("code", ["91350100M000100Y44", "91350100M000100Y4", "9135010OM000100Y43",
                                  "", "91350100M000100Y43X"])
def test_bad_credit_codes_are_refused(code: str) -> None:
    with pytest.raises(ValidationError) as raised:
        CreditCode(code)
    assert raised.value.field == "credit_code"


code_bodies = st.text(alphabet="0123456789ABCDEFGHJKLMNPQRTUWXY", min_size=17, max_size=17)


@given(code_bodies)
def test_any_body_with_its_check_character_is_valid(body: str) -> None:
    assert CreditCode(body + credit_code_check_character(body)).value.startswith(body)


phones = st.text(alphabet="0123456789", min_size=5, max_size=11)
decorations = st.lists(st.sampled_from([" ", "-", ".", "(", ")"]), max_size=4)


@given(phones, decorations, st.sampled_from(["", "+86 ", "0086", "+86-"]), st.booleans())
def test_decorated_phones_collide_with_their_plain_form(
    digits: str, noise: list[str], prefix: str, full_width: bool
) -> None:
    assume(len(digits) == 11 or prefix == "")
    assume(not digits.startswith(("86", "0086")))
    written = prefix + "".join(n + d for n, d in zip(noise + [""] * len(digits), digits,
                                                    strict=False))
    if full_width:
        written = written.translate(FULL_WIDTH)
    assert Phone(written).key == Phone(digits).key


@given(phones, phones)
def test_distinct_phones_stay_distinct(a: str, b: str) -> None:
    assume(a != b and not a.startswith(("86", "0086")) and not b.startswith(("86", "0086")))
    assert Phone(a).key != Phone(b).key


@given(st.text(min_size=1, max_size=40))
def test_normalization_is_idempotent(raw: str) -> None:
    assert normalize_phone(normalize_phone(raw)) == normalize_phone(raw)
    assert normalize_email(normalize_email(raw)) == normalize_email(raw)
    once = normalize_organization(raw)
    assert normalize_organization(once) == once


words = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=3, max_size=10)


@given(words, words)
def test_distinct_organization_words_stay_distinct(a: str, b: str) -> None:
    legal = {"ltd", "inc", "corp", "llc", "plc", "gmbh", "limited", "co", "company"}
    assume(a != b and a not in legal and b not in legal)
    assert OrganizationName(f"{a} Trading").key != OrganizationName(f"{b} Trading").key


def test_personal_data_is_masked_in_repr_and_str() -> None:
    phone, email, name = Phone("13800138000"), Email("wang.wei@example.com"), PersonName("王伟")
    for shown in (repr(phone), str(phone), repr(email), str(email), repr(name), str(name)):
        assert "13800138000" not in shown and "wang.wei" not in shown and "王伟" not in shown
    assert repr(phone) == "Phone('*******8000')"
