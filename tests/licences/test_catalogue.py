"""The licence catalogue: the required types, declared classes, precise claim errors."""

from __future__ import annotations

import pytest

from twonets.core.errors import Invalid, NotFound
from twonets.core.privacy import DataClass
from twonets.licences.catalogue import TYPES, check_claims, get_type

GOOD_ID = {
    "name": "张三",
    "id_number": "11010519491231002X",
    "sex": "male",
    "birth_date": "1949-12-31",
    "address": "上海市黄浦区人民大道200号",
    "photo_hash": "a" * 64,
}


def test_the_required_types_are_there_with_unique_codes() -> None:
    names = {t.name_en for t in TYPES}
    assert {
        "Resident ID card",
        "Driving licence",
        "Business licence",
        "Marriage certificate",
        "Household register",
        "Vehicle registration",
        "Professional qualification",
    } <= names
    assert len({t.code for t in TYPES}) == len(TYPES)


def test_every_field_declares_its_class_and_id_numbers_are_personal() -> None:
    for t in TYPES:
        for f in t.fields:
            assert isinstance(f.data_class, DataClass)
            if f.name.endswith("id_number"):
                assert f.data_class is DataClass.PERSONAL


def test_valid_claims_are_normalised() -> None:
    claims = check_claims("ID", {**GOOD_ID, "id_number": "11010519491231002x"})
    assert claims["id_number"] == "11010519491231002X"


def test_every_bad_field_is_named_with_its_rule() -> None:
    bad = {**GOOD_ID, "id_number": "110105194912310023", "birth_date": "31/12/1949", "extra": "x"}
    del bad["name"]
    with pytest.raises(Invalid) as caught:
        check_claims("ID", bad)
    problems = {(e.field, e.rule, e.detail) for e in caught.value.errors}
    assert problems == {
        ("claims.extra", "known-field", "ID has no field 'extra'"),
        ("claims.name", "required", "Name is required"),
        ("claims.id_number", "id_number", "check character should be X, got 3"),
        ("claims.birth_date", "date", "should be a date YYYY-MM-DD, got '31/12/1949'"),
    }


def test_unknown_type_lists_the_known_ones() -> None:
    with pytest.raises(NotFound, match="known: ID, DL, BL"):
        get_type("ZZ")
