"""The README's dashboard pictures: four views of a running `serve`, as small PNGs, and each view's render time.

    .venv/bin/python tests/ui/readme_screenshots.py 'http://127.0.0.1:8000/demand-insights/dashboard#token=...' docs/img

(the link `make demo` prints). Debian's chromium, headless, as in tests/ui; pngquant, when installed
(apt-get install pngquant), shrinks each PNG to a 256-colour palette.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

VIEWS = (("overview", "overview", 1500), ("product", "product", 1250), ("customer", "customer", 700),
         ("quality", "quality", 1250))  # (name, hash, height to keep)


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
