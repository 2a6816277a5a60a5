"""A PNG of each HTML report as a reader sees it (``make screenshots``): Debian's chromium driven by Playwright,
1400 px wide, the whole page, every chart drawn, with the network blocked (a report needs none).

    python -m trailtools.report.screenshot reports/*.html        # writes reports/<name>.png beside each

Playwright's own browser download is never used: the browser is /usr/bin/chromium (``--chromium`` for another).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from trailtools.errors import TrailtoolsError

WIDTH = 1400
CHROMIUM = Path("/usr/bin/chromium")
#: headless, and none of chromium's own network traffic
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
#: every chart holds its SVG (or the loader wrote why it failed)
DRAWN = ("() => [...document.querySelectorAll('div[id^=\"chart-\"]')]"
         ".every(d => d.querySelector('svg, canvas') || d.textContent.startsWith('Chart failed'))")


def _block(route):
    if route.request.url.startswith(("file:", "data:")):
        route.continue_()
    else:
        route.abort()


def screenshots(reports: list[Path], *, chromium: Path = CHROMIUM, width: int = WIDTH,
                open_details: bool = False) -> list[Path]:
    """Write ``<report>.png`` beside each report (the whole page, ``width`` px wide); return their paths.
    ``open_details``: the collapsed sections opened first (to look at everything)."""
    if not chromium.exists():
        raise TrailtoolsError(f"{chromium} is not installed (Debian: apt-get install chromium).")
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 (heavy, loaded on use)

    out = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.route("**/*", _block)
            for report in reports:
                page.goto(Path(report).resolve().as_uri())
                page.wait_for_function(DRAWN, timeout=60_000)
                if open_details:
                    page.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")
                page.wait_for_timeout(200)
                png = Path(report).with_name(Path(report).name.removesuffix(".html") + ".png")
                page.screenshot(path=str(png), full_page=True)
                out.append(png)
        finally:
            browser.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m trailtools.report.screenshot", description=__doc__.split("\n")[0])
    parser.add_argument("reports", nargs="+", type=Path, help="HTML reports")
    parser.add_argument("--chromium", type=Path, default=CHROMIUM, help=f"the browser (default {CHROMIUM})")
    parser.add_argument("--width", type=int, default=WIDTH, help=f"page width in px (default {WIDTH})")
    parser.add_argument("--open", action="store_true", help="open the collapsed details first")
    args = parser.parse_args(argv)
    try:
        for png in screenshots(args.reports, chromium=args.chromium, width=args.width, open_details=args.open):
            print(png)
    except TrailtoolsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
