"""The dashboard in Debian's chromium: every view loads with data and without an error, a refused or expired token
shows the sign-in box with the reason, the keyboard reaches every view, and a phone's width needs no sideways scroll.
Screenshots of each view go to the run's temporary folder (or INSIGHTS_UI_SCREENSHOTS)."""

from __future__ import annotations

import json
import time
import urllib.request

from insights.cli.tokens import dev_secret, mint_token

READY = "body[data-view={view}][data-state=ready]"
TIMEOUT_MS = 15_000


def _open(page, url: str, view: str) -> float:
    """Go to ``url`` and wait until ``view`` has drawn its data; the seconds it took."""
    started = time.perf_counter()
    page.goto(url)
    page.wait_for_selector(READY.format(view=view), timeout=TIMEOUT_MS)
    return time.perf_counter() - started


def _paths(base: str) -> set[str]:
    with urllib.request.urlopen(f"{base}/openapi.json", timeout=10) as resp:
        return set(json.load(resp)["paths"])


def test_every_view_loads_with_data_and_without_an_error(served, watched, shots):
    w = watched()
    page = w.page
    first = _open(page, served.link, "overview")
    assert "#token=" not in page.url  # the token leaves the address bar (and the history) at once
    kpis = page.inner_text("#kpis")
    assert "Customers\n12" in kpis and "Active customers\n8" in kpis and "Revenue, last 90 days\n$1,234" in kpis
    assert page.locator("#view-overview canvas").count() >= 3  # segments, churn risk, CLV
    assert page.locator("#at-risk tbody tr").count() == 8  # the test snapshot's customers at 50% or more
    assert page.locator("#seg-table tbody tr").count() == 4
    assert page.get_attribute("#seg-chart [role=img]", "aria-label").startswith("Customers per segment.")
    page.screenshot(path=str(shots / "overview.png"), full_page=True)

    page.click("#at-risk tbody tr:first-child a")  # the at-risk table links to the customer
    page.wait_for_selector(READY.format(view="customer"), timeout=TIMEOUT_MS)
    assert page.url.endswith("#customer/C004")
    page.wait_for_selector("#customer-out .kpis")
    customer = page.inner_text("#customer-out")
    assert "85%" in customer and "Critical" in customer and "$800" in customer
    page.screenshot(path=str(shots / "customer.png"), full_page=True)

    _open(page, f"{served.base}/dashboard#product/P1", "product")
    page.fill("#planned-price", "3.9")  # the what-if, and the curve of profit rather than revenue
    page.fill("#unit-cost", "2")
    page.click("#product-form button")
    page.locator("#product-out").get_by_text("Price and profit").wait_for(timeout=TIMEOUT_MS)
    page.wait_for_selector(READY.format(view="product"), timeout=TIMEOUT_MS)
    product = page.inner_text("#product-out")
    assert "Forecast for P1" in product and "at $3.90" in product  # the band and the what-if
    assert "(lighter: 95%)" in product and "high (wide)" in product  # the wide band, titled and drawn
    assert "Price elasticity" in product and "95% interval" in product
    assert "Price and profit" in product and "Guardrails" in product
    assert page.locator("#product-out canvas").count() == 2  # forecast, price-profit curve
    page.screenshot(path=str(shots / "product.png"), full_page=True)

    _open(page, f"{served.base}/dashboard#quality", "quality")
    quality = page.inner_text("#quality-out")
    assert "CHURN" in quality and "0.81" in quality and "0.78" in quality  # ours against the named baseline
    assert page.locator("#quality-out canvas").count() == 1  # calibration by decile
    page.screenshot(path=str(shots / "quality.png"), full_page=True)

    cohorts = any(p.endswith("/cohorts") for p in _paths(served.base))
    assert page.locator('#nav a[data-view="cohorts"]').is_visible() == cohorts  # shown once the route exists
    if cohorts:
        _open(page, f"{served.base}/dashboard#cohorts", "cohorts")
        page.screenshot(path=str(shots / "cohorts.png"), full_page=True)
    assert w.problems == []
    assert first < 5.0, f"first render took {first:.2f} s"


def test_a_refused_token_shows_the_sign_in_box_with_the_reason(served, watched, shots):
    page = watched().page
    page.goto(f"{served.base}/dashboard#token=not-a-token")
    page.wait_for_selector("#signin:not([hidden])", timeout=TIMEOUT_MS)
    assert "refused" in page.inner_text("#signin-why") and page.locator("#nav").is_hidden()
    page.screenshot(path=str(shots / "signin-refused.png"))
    expired = mint_token(dev_secret(served.snapshots, create=False), issuer="demand-insights-local",
                         audience="demand-insights", now=time.time() - 7200, ttl_s=3600)
    page.goto(f"{served.base}/dashboard#token={expired}")
    page.reload()  # a new visit: the fragment's token replaces the refused one
    page.wait_for_selector("#signin:not([hidden])", timeout=TIMEOUT_MS)
    page.locator("#signin-why", has_text="expired").wait_for(timeout=TIMEOUT_MS)
    assert page.evaluate("sessionStorage.length") == 0  # a refused token is forgotten


def test_signing_in_and_every_view_by_keyboard(served, watched):
    w = watched()
    page = w.page
    page.goto(f"{served.base}/dashboard")
    page.wait_for_selector("#signin:not([hidden])", timeout=TIMEOUT_MS)
    assert page.evaluate("document.activeElement.id") == "token"  # the box has the focus
    page.keyboard.type(served.link.split("#token=")[1])
    page.keyboard.press("Enter")
    page.wait_for_selector(READY.format(view="overview"), timeout=TIMEOUT_MS)
    for view in ("customer", "product", "quality", "overview"):
        page.focus(f'#nav a[data-view="{view}"]')
        page.keyboard.press("Enter")
        page.wait_for_selector(READY.format(view=view), timeout=TIMEOUT_MS)
        assert page.get_attribute(f'#nav a[data-view="{view}"]', "aria-current") == "page"
    page.focus("#risk-chart summary")  # the charts' tables open from the keyboard too
    page.keyboard.press("Enter")
    assert page.locator("#risk-chart details table").is_visible()
    assert w.problems == []


def test_a_phone_width_needs_no_sideways_scrolling(served, watched, shots):
    w = watched(390, 844)
    page = w.page
    _open(page, served.link, "overview")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(shots / "overview-phone.png"), full_page=True)
    _open(page, f"{served.base}/dashboard#product/P1", "product")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert w.problems == []
