"""Full-page screenshots of the core pages, for a person to review (nothing is asserted).

    .venv/bin/python tests/e2e/screenshots.py [FOLDER]     # default /tmp/twonets-shots

Serves the demo city exactly as the browser tests do (``conftest.serve_demo``) and drives
Debian's Chromium (or ``TWONETS_CHROMIUM``).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import BrowserContext, Page

# Run as a script, this file's folder is first on sys.path: ``conftest`` is tests/e2e's, and
# the helpers it imports are in tests/.
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))
from conftest import find_chromium, launch_chromium, serve_demo

DEFAULT_FOLDER = Path("/tmp/twonets-shots")
VIEWPORT = {"width": 1280, "height": 800}


def take(folder: Path) -> list[Path]:
    """Save one PNG per page and role into ``folder``; return their paths."""
    chromium = find_chromium()
    if chromium is None:
        raise SystemExit("Chromium not found: apt-get install chromium, or set TWONETS_CHROMIUM")
    folder.mkdir(parents=True, exist_ok=True)
    saved: list[Path] = []
    with (
        tempfile.TemporaryDirectory(prefix="twonets-shots-") as work,
        serve_demo(Path(work)) as server,
        launch_chromium(chromium) as browser,
    ):

        def shoot(page: Page, name: str) -> None:
            path = folder / f"{name}.png"
            page.screenshot(path=str(path), full_page=True)
            saved.append(path)

        def session(username: str | None) -> tuple[BrowserContext, Page]:
            context = browser.new_context(
                base_url=server.base_url, viewport=VIEWPORT, locale="en-GB"
            )
            page = context.new_page()
            if username is not None:
                account = next(a for a in server.accounts if a.username == username)
                page.goto("/login")
                page.get_by_label("User name").fill(account.username)
                page.get_by_label("Password").fill(account.password)
                page.locator("form[action='/login'] button[type=submit]").click()
                page.wait_for_url(server.url("/"))
            return context, page

        context, page = session(None)
        page.goto("/login")
        shoot(page, "01-login")
        page.get_by_label("User name").fill("admin")
        page.get_by_label("Password").fill("wrong-password")
        page.locator("form[action='/login'] button[type=submit]").click()
        page.get_by_test_id("login-error").wait_for()
        shoot(page, "02-login-error")
        page.goto("/districts")
        page.locator('#map[data-loaded="16"]').wait_for(state="attached")
        page.wait_for_timeout(300)  # let Leaflet finish its zoom animation
        shoot(page, "05-districts")
        page.goto(
            "/ids?value=11010519491231002X%0A91110000600037341L%0A110105194912310023"
            "%0A91310101MAC064W81X%0Anot-an-id"
        )
        shoot(page, "06-ids")
        context.close()

        context, page = session("admin")
        shoot(page, "03-home-admin")
        page.goto("/departments")
        shoot(page, "07-departments-admin")
        context.close()

        resident = next(a for a in server.accounts if a.description.startswith("resident"))
        context, page = session(resident.username)
        shoot(page, "04-home-resident")
        page.goto("/departments")
        shoot(page, "08-departments-resident-403")
        page.goto("/my-data")
        shoot(page, "09-my-data-resident")
        page.goto("/my-data?department=sh.police")
        shoot(page, "10-my-data-filtered")
        page.goto("/my-data")
        page.get_by_test_id("show-copy").click()
        page.wait_for_url(server.url("/my-data/copy"))
        shoot(page, "11-my-data-copy")
        context.close()

        context, page = session("dpo")
        page.goto("/governance")
        shoot(page, "12-governance-overview")
        page.get_by_test_id("verify-now").click()
        page.get_by_test_id("verify-result").locator(".verdict").wait_for()
        shoot(page, "13-governance-verified")
        page.goto("/governance/purposes")
        shoot(page, "14-governance-purposes")
        page.locator("form[data-testid=declare-purpose] input[name=code]").fill("Flood Relief")
        page.locator("form[data-testid=declare-purpose] input[name=name]").fill("防汛 Flood relief")
        page.locator("form[data-testid=declare-purpose]").evaluate("f => f.noValidate = true")
        page.locator("form[data-testid=declare-purpose] button[type=submit]").click()
        page.get_by_test_id("form-error").wait_for()
        shoot(page, "15-governance-purposes-error")
        page.goto("/governance/policies")
        shoot(page, "16-governance-policies")
        page.goto(
            "/governance/policies/edit?grantee_kind=function&grantee=health"
            "&purpose_code=epidemic.tracing&dataset=core.citizen"
        )
        shoot(page, "17-policy-editor")
        page.locator("tr[data-field='phone'] select").select_option("partial")
        page.locator("input[name='first.phone']").fill("")
        page.locator("textarea[name=reason]").fill("mask the phone number")
        page.get_by_test_id("save-policy").click()
        page.get_by_test_id("form-error").wait_for()
        shoot(page, "18-policy-editor-error")
        page.locator("input[name='first.phone']").fill("3")
        page.locator("input[name='last.phone']").fill("4")
        page.get_by_test_id("save-policy").click()
        page.get_by_test_id("notice").wait_for()
        shoot(page, "19-policies-saved")
        page.goto(
            "/governance/policies/history?grantee_kind=function&grantee=health"
            "&purpose_code=epidemic.tracing&dataset=core.citizen"
        )
        shoot(page, "20-policy-history")
        context.close()

        # Licences: the resident's wallet and sharing, the verifier, issuing, trust.
        context, page = session(resident.username)
        page.goto("/wallet")
        shoot(page, "21-wallet")
        page.locator("a.licence-card[data-type='ID']").click()
        page.locator("svg.qr").wait_for()
        shoot(page, "22-licence-id-card")
        share = page.get_by_test_id("share-form")
        nonce = share.locator("input[name=nonce]").input_value()
        share.get_by_test_id("create-presentation").click()
        page.get_by_test_id("device-presentation").wait_for()
        shoot(page, "23-licence-shared")
        presentation = page.get_by_test_id("device-presentation-text").input_value()
        page.goto("/wallet/keys")
        shoot(page, "23b-wallet-keys")
        page.goto("/wallet")
        page.locator("a.licence-card[data-type='DL'][data-region='JS']").click()
        page.locator("svg.qr").wait_for()
        shoot(page, "24-licence-jiangsu")
        photo = page.locator("svg.qr").screenshot()
        context.close()

        context, page = session("verifier")
        page.goto("/verify")
        shoot(page, "25-verify-form")
        form = page.get_by_test_id("verify-form")
        form.locator("textarea[name=credential]").fill(presentation)
        form.locator("summary").click()
        form.locator("input[name=audience]").fill("hotel front desk")
        form.locator("input[name=nonce]").fill(nonce)
        form.get_by_test_id("verify-submit").click()
        page.get_by_test_id("banner").wait_for()
        shoot(page, "26-verify-valid-presentation")
        page.locator("input[name=image]").set_input_files(
            {"name": "licence.png", "mimeType": "image/png", "buffer": photo}
        )
        page.get_by_test_id("verify-submit").click()
        page.get_by_test_id("banner").wait_for()
        shoot(page, "27-verify-valid-photo-jiangsu")
        form = page.get_by_test_id("verify-form")
        form.locator("textarea[name=credential]").fill(presentation)
        form.locator("input[name=nonce]").fill("another-challenge")
        form.get_by_test_id("verify-submit").click()
        page.get_by_test_id("banner").wait_for()
        shoot(page, "28-verify-invalid-challenge")
        page.goto("/verify")
        page.locator("textarea[name=credential]").fill("https://example.com/pay?id=42")
        page.get_by_test_id("verify-submit").click()
        page.get_by_test_id("banner").wait_for()
        shoot(page, "29-verify-invalid-garbage")
        page.goto("/verify")
        page.locator("input[name=image]").set_input_files(
            {"name": "holiday.png", "mimeType": "image/png", "buffer": _blank_png()}
        )
        page.get_by_test_id("verify-submit").click()
        page.get_by_test_id("form-error").wait_for()
        shoot(page, "30-verify-no-qr-in-photo")
        context.close()

        context, page = session("licence.police")
        page.goto("/licences/issue")
        shoot(page, "31-issue-choose")
        page.goto("/licences/issue?type=ID")
        form = page.get_by_test_id("issue-form")
        form.locator("input[name='claims.name']").fill("测试")
        form.locator("input[name='claims.id_number']").fill("310101199001011235")
        form.locator("select[name='claims.sex']").select_option("male")
        form.get_by_test_id("issue-submit").click()
        page.get_by_test_id("form-error").wait_for()
        shoot(page, "32-issue-errors")
        page.goto("/licences/issue?type=VR")
        form = page.get_by_test_id("issue-form")
        form.locator("input[name='claims.name']").fill(resident.description.split()[1])
        form.locator("input[name='claims.id_number']").fill(resident.username)
        form.locator("input[name='claims.plate']").fill("沪A·D12345")
        form.locator("input[name='claims.vin']").fill("LSVAU2180N2183294")
        form.locator("input[name='claims.vehicle_type']").fill("small car")
        form.locator("select[name='claims.energy']").select_option("electric")
        form.locator("input[name='claims.registered_on']").fill("2026-11-02")
        form.get_by_test_id("issue-submit").click()
        page.get_by_test_id("issued").wait_for()
        shoot(page, "33-issue-done")
        page.goto("/trust")
        shoot(page, "34-trust-staff")
        context.close()

        context, page = session("admin")
        page.goto("/trust")
        shoot(page, "35-trust-admin")
        context.close()
    return saved


def _blank_png() -> bytes:
    """A photo with no QR code in it."""
    import io

    from PIL import Image, ImageDraw

    image = Image.new("RGB", (480, 320), "#cfe3f5")
    ImageDraw.Draw(image).ellipse((180, 80, 300, 200), fill="#f5c542")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def main(argv: list[str]) -> int:
    """Take the screenshots into argv[1] (or the default folder) and list them."""
    folder = Path(argv[1]) if len(argv) > 1 else DEFAULT_FOLDER
    for path in take(folder):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
