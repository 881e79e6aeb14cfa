"""Steps the browser tests share: logging in through the form."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

# A phone's screen, as residents hold it (CSS pixels).
PHONE = {"width": 390, "height": 844}


def fits_the_screen(page: Page) -> None:
    """Nothing on the page scrolls sideways on a phone."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width} px wide on a {PHONE['width']} px screen"


def submit_login(page: Page, username: str, password: str) -> None:
    """Fill in and submit the login form of the page being shown."""
    form = page.locator("form[action='/login']")
    form.get_by_label("User name").fill(username)
    form.get_by_label("Password").fill(password)
    form.locator("button[type=submit]").click()


def log_in(page: Page, username: str, password: str) -> None:
    """Log in through the form and wait for the start page."""
    page.goto("/login")
    submit_login(page, username, password)
    expect(page.get_by_test_id("welcome")).to_be_visible()


AXE_SOURCE = Path(__file__).resolve().parents[2] / "frontend/node_modules/axe-core/axe.min.js"
# Only what keeps a person from using the page: minor and moderate findings are left to review.
BLOCKING_IMPACTS = ("serious", "critical")


def axe_violations(page: Page) -> list[str]:
    """The serious and critical accessibility violations axe-core finds on the page shown.

    axe-core comes from npm (frontend/package-lock.json), like the pages' own packages; it is
    evaluated through the browser's devtools protocol, which the page's security policy does
    not govern, so the page itself stays free of inline script.
    """
    if not AXE_SOURCE.exists():
        raise FileNotFoundError(f"{AXE_SOURCE} is missing: run `make assets` (npm ci)")
    page.evaluate(AXE_SOURCE.read_text(encoding="utf-8"))
    found: list[dict[str, object]] = page.evaluate(
        """async (impacts) => {
            const result = await axe.run(document, { resultTypes: ["violations"] });
            return result.violations
                .filter((v) => impacts.includes(v.impact))
                .map((v) => ({ id: v.id, impact: v.impact, help: v.help,
                               where: v.nodes.slice(0, 3).map((n) => n.target.join(" ")) }));
        }""",
        list(BLOCKING_IMPACTS),
    )
    return [f"{v['impact']} {v['id']} ({v['help']}) at {v['where']}" for v in found]
