"""Open311 GeoReport v2 in XML, the specification's required format, read with the standard
library: every resource, and errors in the specification's XML shape."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

from requests_world import HUANGPU, NOW, World
from twonets.core.db import unit_of_work
from twonets.requests import service
from twonets.requests.georeport_xml import errors_xml, to_xml

ROOT = "/open311/v2"


def xml(answer: Any) -> ElementTree.Element:
    assert answer.headers["content-type"].startswith("text/xml"), answer.text
    return ElementTree.fromstring(answer.content)


@pytest.fixture
def api_key(session_factory: sessionmaker[Session], world: World) -> str:
    with unit_of_work(session_factory) as session:
        return service.create_client(session, "street-app", now=NOW)[1]


def test_discovery_and_services_in_xml(client: TestClient, world: World) -> None:
    found = xml(client.get(f"{ROOT}/discovery.xml"))
    assert found.tag == "discovery"
    assert [f.text for f in found.findall("endpoints/endpoint/formats/format")] == [
        "text/xml",
        "application/json",
    ]
    assert found.findtext("endpoints/endpoint/url") == "http://testserver/open311/v2"
    services = xml(client.get(f"{ROOT}/services.xml"))
    assert services.tag == "services"
    by_code = {s.findtext("service_code"): s for s in services.findall("service")}
    assert {"E0102", "ent-tax"} <= set(by_code)
    assert by_code["E0102"].findtext("metadata") == "false"
    assert by_code["E0102"].findtext("type") == "realtime"
    definition = xml(client.get(f"{ROOT}/services/E0102.xml"))
    assert definition.tag == "service_definition"
    assert definition.findtext("service_code") == "E0102"
    assert definition.find("attributes") is not None


def test_a_report_filed_and_read_back_in_xml(
    client: TestClient, app: FastAPI, world: World, api_key: str
) -> None:
    app.state.clock = lambda: NOW
    form = {
        "api_key": api_key,
        "service_code": "E0102",
        "lat": str(HUANGPU[1]),
        "long": str(HUANGPU[0]),
        "description": "路边垃圾堆积",
        "email": "li@example.org",
    }
    answer = client.post(f"{ROOT}/requests.xml", data=form, headers={"Origin": ""})
    assert answer.status_code == 201
    created = xml(answer)
    number = created.findtext("request/service_request_id")
    token = created.findtext("request/token")
    assert number
    assert token
    listed = xml(client.get(f"{ROOT}/requests.xml", params={"start_date": "2026-11-29T00:00:00Z"}))
    assert listed.tag == "service_requests"
    assert [r.findtext("service_request_id") for r in listed.findall("request")] == [number]
    one = xml(client.get(f"{ROOT}/requests/{number}.xml")).find("request")
    assert one is not None
    assert one.findtext("status") == "open"
    assert one.findtext("lat") == str(HUANGPU[1])
    assert one.find("address_id") is not None
    assert one.findtext("address_id") == ""
    assert b"li@example.org" not in client.get(f"{ROOT}/requests/{number}.xml").content
    tokens = xml(client.get(f"{ROOT}/tokens/{token}.xml"))
    assert tokens.findtext("request/service_request_id") == number


def test_errors_in_xml_take_the_specifications_shape(
    client: TestClient, world: World, api_key: str
) -> None:
    missing = client.get(f"{ROOT}/services/NOPE.xml")
    assert missing.status_code == 404
    found = xml(missing)
    assert found.tag == "errors"
    assert found.findtext("error/code") == "404"
    assert "NOPE" in (found.findtext("error/description") or "")
    refused = client.post(f"{ROOT}/requests.xml", data={"service_code": "E0102"})
    assert refused.status_code == 403
    assert xml(refused).findtext("error/code") == "403"
    bad = client.post(
        f"{ROOT}/requests.xml",
        data={"api_key": api_key, "service_code": "E0102", "description": "x"},
        headers={"Origin": ""},
    )
    assert bad.status_code == 400
    assert "lat" in (xml(bad).findtext("error/description") or "")
    unknown = client.get(f"{ROOT}/services.yaml")
    assert unknown.status_code == 404
    assert unknown.json()[0]["code"] == 404


_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=30)


@given(st.lists(st.dictionaries(st.sampled_from(["a", "b", "c"]), _TEXT, max_size=3), max_size=4))
def test_any_items_round_trip_through_the_xml(items: list[dict[str, str]]) -> None:
    root = ElementTree.fromstring(to_xml("service_requests", items))
    assert root.tag == "service_requests"
    back = [{child.tag: child.text or "" for child in item} for item in root.findall("request")]
    assert back == items


@given(st.integers(min_value=100, max_value=599), _TEXT)
def test_any_error_reads_back(code: int, description: str) -> None:
    root = ElementTree.fromstring(errors_xml(code, description))
    assert root.findtext("error/code") == str(code)
    assert (root.findtext("error/description") or "") == description


@given(st.text(max_size=40))
def test_any_text_makes_well_formed_xml(text: str) -> None:
    root = ElementTree.fromstring(to_xml("service_requests", [{"description": text}]))
    kept = root.findtext("request/description") or ""
    assert set(kept) <= set(text.replace("\r", "\n")) | {"\n"}
