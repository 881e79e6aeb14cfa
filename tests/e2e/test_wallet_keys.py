"""The browser wallet's key stays in the browser: made non-extractable by WebCrypto in
Chromium, kept in IndexedDB, its public half registered; the presentation is signed there and a
verifier (another account) accepts it. What the page sent and what the database holds carry no
private key member, and the key cannot be exported even by the page itself."""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

import pytest
from playwright.sync_api import Page, Request, expect
from sqlalchemy import create_engine, text

from e2e.browser import PHONE, axe_violations, fits_the_screen, log_in

if TYPE_CHECKING:
    from e2e.conftest import LiveServer

PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "k"}

# Reads this account's key record from IndexedDB and tries to export its private key.
INSPECT_KEY = """async (account) => {
  const db = await new Promise((ok, fail) => {
    const r = indexedDB.open("twonets-wallet");
    r.onsuccess = () => ok(r.result);
    r.onerror = () => fail(r.error);
  });
  const record = await new Promise((ok, fail) => {
    const r = db.transaction("holder-keys").objectStore("holder-keys").get(account);
    r.onsuccess = () => ok(r.result);
    r.onerror = () => fail(r.error);
  });
  db.close();
  const key = record.privateKey;
  let exported = null;
  for (const format of ["jwk", "pkcs8"]) {
    try { await crypto.subtle.exportKey(format, key); exported = format; }
    catch (e) { if (!(e instanceof DOMException)) throw e; }
  }
  return {
    isCryptoKey: key instanceof CryptoKey,
    type: key.type,
    extractable: key.extractable,
    curve: key.algorithm.namedCurve,
    usages: key.usages,
    exported: exported,
    keyId: record.keyId,
    jwk: record.jwk,
  };
}"""


def members(value: Any) -> set[str]:
    """Every object member name anywhere inside a JSON value."""
    if isinstance(value, dict):
        return set(value) | {name for inner in value.values() for name in members(inner)}
    if isinstance(value, list):
        return {name for inner in value for name in members(inner)}
    return set()


def part(jws: str, index: int) -> dict[str, Any]:
    segment = jws.split(".")[index]
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    )
    return decoded


@pytest.mark.e2e
def test_the_key_is_made_and_used_in_the_browser_and_never_reaches_the_server(
    page: Page, live_server: LiveServer
) -> None:
    assert live_server.database_url is not None
    sent: list[Request] = []
    page.on("request", lambda request: sent.append(request) if request.method == "POST" else None)
    resident = live_server.account("resident")
    log_in(page, resident.username, resident.password)
    page.goto("/wallet")
    page.locator("a.licence-card[data-type='ID'][data-region='SH']").click()
    expect(page.get_by_test_id("device-key")).to_contain_text("no wallet key yet")
    form = page.get_by_test_id("share-form")
    audience = "Jinjiang hotel front desk"
    form.locator("input[name=audience]").fill(audience)
    nonce = form.locator("input[name=nonce]").input_value()
    form.locator("input[name=disclose][value=id_number]").uncheck()

    form.get_by_test_id("create-presentation").click()

    expect(page.get_by_test_id("device-presentation")).to_be_visible()
    expect(page.get_by_test_id("key-ready")).to_be_visible()
    expect(page.get_by_test_id("device-reveals")).to_contain_text("Name")
    expect(page.get_by_test_id("device-reveals")).not_to_contain_text("ID number")
    presentation = page.get_by_test_id("device-presentation-text").input_value()
    assert axe_violations(page) == []
    inspected = page.evaluate(INSPECT_KEY, resident.username)
    assert inspected["isCryptoKey"]
    assert inspected["type"] == "private"
    assert (inspected["extractable"], inspected["exported"]) == (False, None)
    assert (inspected["curve"], inspected["usages"]) == ("P-256", ["sign"])

    # What the browser sent: the public JWK once, then the key's number; nothing private.
    bodies = {request.url.removeprefix(live_server.base_url): request.post_data for request in sent}
    registered = json.loads(bodies["/wallet/keys"] or "{}")
    assert set(registered["jwk"]) == {"kty", "crv", "x", "y"}
    assert registered["jwk"] == inspected["jwk"]
    for path, body in bodies.items():
        if body and path.startswith("/wallet"):
            assert not members(json.loads(body)) & PRIVATE_MEMBERS, (path, body)
    # What the database holds: the same public key, nothing more.
    engine = create_engine(live_server.database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT id, jwk FROM licence_holder_key WHERE removed_at IS NULL")
            ).all()
    finally:
        engine.dispose()
    stored = {row.id: json.loads(row.jwk) for row in rows}
    assert stored[inspected["keyId"]] == registered["jwk"]
    assert not any(members(jwk) & PRIVATE_MEMBERS for jwk in stored.values())

    # The presentation: bound to that key, with a KB-JWT signed in the browser for this verifier.
    issuer_jwt, *disclosures, kb_jwt = presentation.split("~")
    assert part(issuer_jwt, 1)["cnf"] == {"jwk": registered["jwk"]}
    assert part(kb_jwt, 0) == {"alg": "ES256", "typ": "kb+jwt"}
    assert (part(kb_jwt, 1)["aud"], part(kb_jwt, 1)["nonce"]) == (audience, nonce)
    assert len(disclosures) == 2  # name and photo, not the ID number
    page.goto("/wallet/keys")
    # Exactly one key is this browser's (another test may have registered one for the same
    # account from another browser: its badge stays hidden).
    this_browser = page.get_by_test_id("holder-key").locator("[data-this-device]:not([hidden])")
    expect(this_browser).to_have_count(1)
    expect(this_browser).to_be_visible()
    assert axe_violations(page) == []
    page.locator("header.shell").get_by_role("button", name="Log out").click()

    verifier = live_server.account("verifier")
    log_in(page, verifier.username, verifier.password)
    page.goto("/verify")
    verify = page.get_by_test_id("verify-form")
    verify.locator("textarea[name=credential]").fill(presentation)
    verify.locator("summary").click()
    verify.locator("input[name=audience]").fill(audience)
    verify.locator("input[name=nonce]").fill(nonce)
    verify.get_by_test_id("verify-submit").click()

    expect(page.get_by_test_id("verdict")).to_have_attribute("data-valid", "true")
    expect(page.get_by_test_id("key-custody")).to_have_attribute("data-custody", "holder")
    shown = {row.get_attribute("data-field") for row in page.locator("tr[data-field]").all()}
    assert shown == {"name", "photo_hash"}

    # Replayed to another verifier (another audience), it fails at the holder's binding.
    page.goto("/verify")
    verify.locator("textarea[name=credential]").fill(presentation)
    verify.locator("summary").click()
    verify.locator("input[name=audience]").fill("another hotel")
    verify.locator("input[name=nonce]").fill(nonce)
    verify.get_by_test_id("verify-submit").click()
    expect(page.get_by_test_id("failed-step")).to_have_text("holder binding")


@pytest.mark.e2e
def test_assisted_service_is_named_on_the_page_and_shown_to_the_verifier(
    page: Page, live_server: LiveServer
) -> None:
    page.set_viewport_size(PHONE)
    resident = live_server.account("resident")
    log_in(page, resident.username, resident.password)
    page.goto("/wallet")
    page.locator("a.licence-card[data-type='ID'][data-region='SH']").click()
    fits_the_screen(page)
    form = page.get_by_test_id("share-form")
    nonce = form.locator("input[name=nonce]").input_value()
    audience = form.locator("input[name=audience]").input_value()
    form.get_by_test_id("assisted").locator("summary").click()
    form.get_by_test_id("create-assisted").click()

    expect(page.get_by_test_id("assisted-note")).to_contain_text("Assisted service at a window")
    presentation = page.get_by_test_id("presentation").input_value()
    page.locator("header.shell").get_by_role("button", name="Log out").click()

    verifier = live_server.account("verifier")
    log_in(page, verifier.username, verifier.password)
    page.goto("/verify")
    verify = page.get_by_test_id("verify-form")
    verify.locator("textarea[name=credential]").fill(presentation)
    verify.locator("summary").click()
    verify.locator("input[name=audience]").fill(audience)
    verify.locator("input[name=nonce]").fill(nonce)
    verify.get_by_test_id("verify-submit").click()

    expect(page.get_by_test_id("verdict")).to_have_attribute("data-valid", "true")
    expect(page.get_by_test_id("key-custody")).to_have_attribute("data-custody", "assisted-window")
    expect(page.get_by_test_id("key-custody")).to_contain_text("held by the platform")
