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

# Run as a script, this file's folder is first on sys.path: ``conftest`` is tests/e2e's.
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
    return saved


def main(argv: list[str]) -> int:
    """Take the screenshots into argv[1] (or the default folder) and list them."""
    folder = Path(argv[1]) if len(argv) > 1 else DEFAULT_FOLDER
    for path in take(folder):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
