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
from custmgmt.domain.identity import IdentityKey, KeyKind, KeyRing
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
    assert Phone(written).key == "+8613800138000"


def test_different_phones_do_not_collide() -> None:
    assert Phone("13800138000").key != Phone("13800138001").key
    assert Phone("021-5555-1234").key == "+862155551234"


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


# Without a leading 0: that is the trunk prefix, which the key drops (see landlines below).
phones = st.builds(lambda first, rest: first + rest, st.sampled_from("123456789"),
                   st.text(alphabet="0123456789", min_size=4, max_size=10))
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
    try:
        phone = normalize_phone(raw)
    except ValidationError:
        phone = None
    if phone is not None:
        assert normalize_phone(phone) == phone
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


# Landlines: area codes of two digits (Beijing 10, 20-29) and three (e.g. 755 Shenzhen,
# 571 Hangzhou), local numbers of 7 or 8 digits not starting with 0 or 1.
area_codes = st.one_of(st.sampled_from(["10", *[f"2{d}" for d in range(10)]]),
                       st.sampled_from(["311", "371", "431", "512", "571", "591", "731",
                                        "755", "769", "871", "931"]))
local_numbers = st.builds(lambda first, rest: first + rest, st.sampled_from("23456789"),
                          st.text(alphabet="0123456789", min_size=6, max_size=7))
LANDLINE_FORMS = [
    "0{a}-{l}", "0{a} {l}", "(0{a}) {l}", "0{a}{l}", "{a}{l}", "+86 {a} {l}", "+86-{a}-{l}",
    "+86 (0){a} {l}", "+86(0){a}{l}", "0086 {a} {l}", "（０{a}）{l}",
]


@given(area_codes, local_numbers, st.sampled_from(LANDLINE_FORMS),
       st.sampled_from(LANDLINE_FORMS))
def test_landlines_match_with_or_without_trunk_0_and_country_code(
    area: str, local: str, one: str, other: str
) -> None:
    assume(not (len(area + local) == 11 and area.startswith("1")))
    first, second = one.format(a=area, l=local), other.format(a=area, l=local)
    assert Phone(first).key == Phone(second).key == f"+86{area}{local}"


@given(st.sampled_from(["138", "139", "150", "186", "199"]),
       st.text(alphabet="0123456789", min_size=8, max_size=8),
       st.sampled_from(["{m}", "+86 (0){m}", "+86 (0) {m}", "0086{m}", "+86{m}", "86 {m}"]))
def test_mobiles_match_in_every_form(prefix: str, rest: str, form: str) -> None:
    assert Phone(form.format(m=prefix + rest)).key == f"+86{prefix}{rest}"


@given(local_numbers, st.sampled_from(["{l}", "{l:.4}-{r}", "{l:.4} {r}"]))
def test_local_numbers_without_an_area_code_match_as_written(local: str, form: str) -> None:
    written = form.format(l=local, r=local[4:])
    assert Phone(written).key == Phone(local).key


@pytest.mark.parametrize("written", ["Acme Co.", "ACME CO", "Acme Co., Ltd.", "Acme Company",
                                     "acme co ltd", "Acme"])
def test_organization_names_drop_co_as_well_as_co_ltd(written: str) -> None:
    assert OrganizationName(written).key == "acme"


def test_sealed_keys_match_exactly_and_depend_on_the_pepper() -> None:
    ring, other = KeyRing(b"a pepper of 16+ bytes"), KeyRing(b"another pepper, 16+")
    a = ring.phone("+86 (0)10 6552 9988")
    assert a == ring.phone("010-65529988") and a.kind is KeyKind.PHONE
    assert "6552" not in a.value and "9988" not in repr(a)
    assert a != other.phone("010-65529988")
    assert a != ring.phone("010-65529989")
    with pytest.raises(ValidationError):
        KeyRing(b"short")


@given(st.from_regex(r"1[0-9]{10}", fullmatch=True)
       | st.from_regex(r"1(?:[3-68-9][0-9]|7[0-8])[0-9]{8}", fullmatch=True))
def test_plain_mobile_numbers_normalize_as_phonenumbers_parses_them(digits: str) -> None:
    # normalize_phone skips phonenumbers for plain mainland mobiles (a bulk import's
    # largest per-row cost); the result must be the one the full parse gives.
    expected = normalize_phone(digits + " ")  # not plain: takes the full parse
    assert normalize_phone(digits) == expected
    assert normalize_phone(digits, "CN") == expected


@pytest.mark.parametrize("digits", ["13800138000", "17012345678", "19912345678",
                                    "11012345678", "12593812345", "17951234567"])
def test_plain_mobile_fast_path_matches_the_full_parse_at_its_edges(digits: str) -> None:
    assert normalize_phone(digits) == normalize_phone(f" {digits} ")
    assert Phone(digits).key == normalize_phone(f"({digits[:3]}) {digits[3:]}")


@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=40))
def test_ascii_email_fast_path_is_the_folded_settled_form(raw: str) -> None:
    # normalize_email skips NFKC for ASCII text (it leaves ASCII as it is): the result
    # must be what folding, stripping and lowering until nothing changes gives.
    from custmgmt.domain.identity import _settled, fold

    assert normalize_email(raw) == _settled(lambda s: fold(s).strip().lower(), raw)


@given(pepper=st.binary(min_size=16, max_size=200), normalized=st.text(max_size=60),
       kind=st.sampled_from(list(KeyKind)))
def test_a_sealed_key_is_the_hmac_sha256_of_kind_and_value_under_the_pepper(
    pepper: bytes, normalized: str, kind: KeyKind
) -> None:
    # KeyRing absorbs the pepper into HMAC's inner and outer hashes once (an import
    # seals two keys per row): the result is RFC 2104's, whatever the pepper's length.
    import hmac

    expected = hmac.digest(pepper, f"{kind.value}\x00{normalized}".encode(), "sha256").hex()
    assert KeyRing(pepper).seal(kind, normalized) == IdentityKey(kind, expected)
    assert KeyRing(pepper) == KeyRing(pepper) and hash(KeyRing(pepper)) == hash(KeyRing(pepper))


@given(st.sampled_from(list(KeyKind)), st.lists(st.text(st.characters(codec="utf-8"))),
       st.binary(min_size=16, max_size=200))
def test_a_column_is_sealed_as_each_of_its_values(
    kind: KeyKind, values: list[str], pepper: bytes
) -> None:
    ring = KeyRing(pepper=pepper)
    assert ring.sealed_all(kind, values) == [ring.sealed(kind, v) for v in values]


def test_a_ring_sealing_by_its_own_rule_seals_a_column_by_it() -> None:
    class Tagged(KeyRing):
        def sealed(self, kind: KeyKind, normalized: str) -> str:
            return f"{kind.value}:{normalized}"

    assert Tagged().sealed_all(KeyKind.EMAIL, ["a@b.co", "c@d.co"]) == [
        "email:a@b.co", "email:c@d.co"]
