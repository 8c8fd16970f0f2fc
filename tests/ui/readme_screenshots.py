"""The README's dashboard pictures: four views of a running `serve`, as small PNGs, and each view's render time.

    .venv/bin/python tests/ui/readme_screenshots.py 'http://127.0.0.1:8000/demand-insights/dashboard#token=...' docs/img

(the link `make demo` prints). Debian's chromium, headless, as in tests/ui; pngquant, when installed
(apt-get install pngquant), shrinks each PNG to a 256-colour palette.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

VIEWS = (("overview", "overview", 1500), ("product", "product", 1250), ("customer", "customer", 700),
         ("quality", "quality", 1250))  # (name, hash, height to keep)


def _last_price(base: str, token: str, product_id: str) -> float:
    api = base.rsplit("/dashboard", 1)[0]
    req = urllib.request.Request(f"{api}/overview", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        products = json.load(resp)["products"]
    return float(next(p["last_price"] for p in products if p["product_id"] == product_id))


def main(link: str, out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    base = link.split("#")[0]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        for i, (name, view, height) in enumerate(VIEWS):
            started = time.perf_counter()
            page.goto(link if i == 0 else f"{base}#{view}")
            page.wait_for_selector(f"body[data-view={view}][data-state=ready]", timeout=30_000)
            print(f"{name}: drawn in {time.perf_counter() - started:.2f} s")
            if view == "product":  # a what-if at +10% and a unit cost of 40%: the profit curve, not revenue's
                price = _last_price(base, link.split("#token=")[1], page.input_value("#product-id"))
                page.fill("#planned-price", f"{price * 1.1:.2f}")
                page.fill("#unit-cost", f"{price * 0.4:.2f}")
                page.click("#product-form button")
                page.locator("#product-out").get_by_text("Price and profit").wait_for(timeout=30_000)
            page.wait_for_timeout(200)
            full = page.evaluate("document.documentElement.scrollHeight")
            target = out / f"dashboard-{name}.png"
            page.screenshot(path=str(target), full_page=True,
                            clip={"x": 0, "y": 0, "width": 1100, "height": min(height, full)})
            if shutil.which("pngquant"):
                subprocess.run(["pngquant", "--force", "--skip-if-larger", "--output", str(target), "256",
                                str(target)], check=False)
            print(f"  {target} {target.stat().st_size / 1024:.0f} KB")
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], Path(sys.argv[2])))
