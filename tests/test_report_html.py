"""The HTML report: one offline file, every chart rendered in headless Chromium, no payload runs, same bytes twice."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from trailtools.report.html import CSP, render_html, sanitize_html

pytestmark = pytest.mark.slow  # runs notebooks or a browser: `make test`, not `make test-fast`

DEMO_INSTANCE = "i-0b81f3d6c2e9a4775"

PAYLOADS = [
    '<img src=x onerror="window.__xss=1">',
    "<script>window.__xss=1</script>",
    '</script><img src=x onerror="window.__xss=1">',
    "javascript:window.__xss=1",
]

# Every way a CloudTrail string reaches a notebook output: escaped DataFrame HTML, unescaped Styler HTML,
# Markdown/HTML built with f-strings, print, an Altair chart (data, tooltip, title, axis labels) shown by Altair's
# default renderer (CDN-loading HTML) and a second one as a Vega-Lite mimetype.
XSS_CELLS = [
    ("md", "# Payloads\n\n" + "\n\n".join(f"- {p}" for p in PAYLOADS) + f"\n\n[click]({PAYLOADS[3]})"),
    ("code", "import altair as alt, pandas as pd\nfrom IPython.display import HTML, Markdown, display\n"
             f"P = {PAYLOADS!r}\ndf = pd.DataFrame({{'user': P, 'n': range(len(P))}})"),
    ("code", "display(df)"),
    ("code", "df.style"),
    ("code", "display(Markdown(f'**{P[0]}** {P[1]} [x]({P[3]})'))\ndisplay(HTML(f'<p>{P[2]}</p>'))\nprint(P)"),
    ("code", "chart = alt.Chart(df).mark_point(size=600, filled=True).encode(\n"
             "    x='n:Q', y='user:N', tooltip=['user', 'n']).properties(title=P[2], width=400)\nchart"),
    ("code", "display({'application/vnd.vegalite.v6+json': chart.properties(title=P[0]).to_dict(),\n"
             "         'text/plain': P[1]}, raw=True)"),
]


def _xss_notebook(folder: Path):
    import papermill

    nb = new_notebook(cells=[new_markdown_cell(src) if kind == "md" else new_code_cell(src)
                             for kind, src in XSS_CELLS])
    nbformat.write(nb, folder / "xss.ipynb")
    papermill.execute_notebook(str(folder / "xss.ipynb"), str(folder / "xss-out.ipynb"), kernel_name="python3",
                               progress_bar=False)
    return nbformat.read(folder / "xss-out.ipynb", as_version=4)


@pytest.fixture(scope="module")
def xss_nb(tmp_path_factory):
    return _xss_notebook(tmp_path_factory.mktemp("xss"))


@pytest.fixture(scope="module")
def demo_nb(tmp_path_factory, _demo_cache):
    """notebooks/reboot.ipynb executed by papermill on the demo account (the session's demo cache)."""
    import papermill

    out = tmp_path_factory.mktemp("reboot") / "reboot.ipynb"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TRAILTOOLS_DEMO_CACHE_DIR", str(_demo_cache))
        mp.setenv("TRAILTOOLS_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        papermill.execute_notebook(str(ROOT / "notebooks" / "reboot.ipynb"), str(out),
                                   parameters={"instance": DEMO_INSTANCE}, kernel_name="python3",
                                   progress_bar=False)
    return nbformat.read(out, as_version=4)


class Opened:
    """A report opened from disk with the network blocked: console errors, failed and aborted requests."""

    def __init__(self, browser, path: Path, shots: Path):
        self.page, self.shot = browser.new_page(), shots / (path.stem + "-failure.png")
        self.errors, self.failed, self.aborted = [], [], []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("requestfailed", lambda r: self.failed.append(r.url))
        self.page.route("**/*", self._route)
        self.page.goto(path.as_uri())

    def _route(self, route):
        if route.request.url.startswith(("file:", "data:")):
            route.continue_()
        else:
            self.aborted.append(route.request.url)
            route.abort()

    def check(self, fn):
        try:
            fn(self.page)
        except Exception:
            self.page.screenshot(path=str(self.shot), full_page=True)
            raise

    def charts_rendered(self, n: int):
        def ok(page):
            assert page.locator("div[id^='chart-']").count() == n
            page.wait_for_function("() => [...document.querySelectorAll('div[id^=\"chart-\"]')]"
                                   ".every(d => d.querySelector('svg, canvas'))", timeout=30_000)
            page.wait_for_timeout(300)
            assert (self.errors, self.failed, self.aborted) == ([], [], [])
        self.check(ok)

    def assert_inert(self, marks: str, limit: int = 1000, pause_ms: int = 100):
        """Every payload shows as text, nothing ran (window.__xss), no img/script was made, and hovering the marks
        (``marks``: a CSS selector, e.g. "#chart-0 .mark-symbol path") to show their tooltips runs nothing."""
        def inert(page):
            assert page.evaluate("typeof window.__xss") == "undefined"
            body = page.locator("main").inner_text()
            for p in PAYLOADS:
                assert p in body, p
            assert page.locator("main img, main script:not([type='application/json'])").count() == 0
            found = page.locator(marks)
            for i in range(min(found.count(), limit)):
                page.mouse.move(0, 0)
                found.nth(i).hover(force=True)  # over the mark, whatever layer lies on top
                page.wait_for_timeout(pause_ms)
            assert page.evaluate("typeof window.__xss") == "undefined"
            assert (self.errors, self.failed, self.aborted) == ([], [], [])
        self.check(inert)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ---- without a browser ----------------------------------------------------------------------------------------

def test_sanitizer_keeps_tables_and_shows_other_markup_as_text():
    safe, rejected = sanitize_html('<style scoped>.x td{color:red}</style><table border="1" class="dataframe">'
                                   '<tr style="text-align: right;"><td>a &amp; &lt;b&gt;</td>'
                                   f'<td>{PAYLOADS[0]}</td><td onclick="x()">c</td></tr></table>'
                                   f'{PAYLOADS[1]}<a href="{PAYLOADS[3]}">l</a><svg onload="x()">')
    assert '<table border="1" class="dataframe">' in safe and "<td>a &amp; &lt;b&gt;</td>" in safe
    assert "<style scoped=\"\">.x td{color:red}</style>" in safe
    assert len(rejected) == 5 and not re.search(r"<(img|script|svg|a )|<td on", safe)
    assert "&lt;img src=x onerror=&quot;window.__xss=1&quot;&gt;" in safe
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in safe
    assert sanitize_html('<style>td{background:url(http://x/)}</style>')[0] == "<style></style>"
    assert sanitize_html('<div id="spec-0">x</div>')[1] == ['<div id="spec-0">']


def _chart_notebook(n_charts: int = 2):
    spec = {"$schema": "https://vega.github.io/schema/vega-lite/v6.json", "mark": "bar",
            "data": {"values": [{"a": PAYLOADS[2], "b": 1}]}, "encoding": {"x": {"field": "a"}, "y": {"field": "b"}}}
    cells = [new_markdown_cell("# A report"), new_code_cell("x = 1", outputs=[new_output("stream", text="hi <b>\n")])]
    for _ in range(n_charts):
        cells.append(new_code_cell("chart", outputs=[new_output(
            "display_data", data={"application/vnd.vegalite.v6+json": spec, "text/plain": "chart"})]))
    cells.append(new_code_cell("1/0", outputs=[new_output(
        "error", ename="ZeroDivisionError", evalue=PAYLOADS[1], traceback=["\x1b[31mZeroDivisionError\x1b[0m", PAYLOADS[1]])]))
    return new_notebook(cells=cells)


def test_static_structure():
    nb = _chart_notebook()
    text = render_html(nb, title="t <x>")
    assert text.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in text
    assert f'<meta http-equiv="Content-Security-Policy" content="{CSP}">' in text
    assert "<title>t &lt;x&gt;</title>" in text
    # the bundle once for two charts; no external script, stylesheet or image; no require.js or MathJax
    assert text.count("window.vegaEmbed=") == 1 and text.count('id="chart-') == 2
    assert not re.search(r"""<(script|link|img|iframe)[^>]*(src|href)=["']?(https?:)?//""", text, re.I)
    assert "require.js" not in text and "MathJax" not in text.replace("mathjax", "")
    # every "</script" closes one of our 3 script elements (2 specs, 1 bundle): data cannot break out
    assert text.lower().count("</script") == text.lower().count("<script") == 3
    assert "\x1b" not in text and "&lt;script&gt;window.__xss=1&lt;/script&gt;" in text
    assert "x = 1" not in text and "<pre class=\"code\">x = 1</pre>" in render_html(nb, title="t", with_code=True)
    spec = re.search(r'<script type="application/json" id="spec-0">(.*?)</script>', text).group(1)
    assert json.loads(spec)["data"]["values"][0]["a"] == PAYLOADS[2] and "<" not in spec


def test_details_sections_are_collapsed_and_empty_sections_left_out():
    def md(text, *tags):
        cell = new_markdown_cell(text)
        cell.metadata["tags"] = list(tags)
        return cell

    def out(text):
        return new_code_cell("x", outputs=[new_output("stream", text=text)])

    nb = new_notebook(cells=[
        md("# Title\n\nintro"), md("## The answer"), out("the verdict\n"),
        md("## Evidence <b>\nwhat it is", "details"), out("rows\n"),
        md("## Nothing here", "details"), new_code_cell("y", outputs=[]),
        md("## Empty open section"), new_code_cell("z", outputs=[]),
        md("## Rerun", "interactive"), new_code_cell("form", outputs=[new_output("stream", text="form\n")]),
    ])
    nb.cells[-1].metadata["tags"] = ["interactive"]
    text = render_html(nb, title="t")
    main = text[text.index("<main>"):text.index("</main>")]
    assert main.index("the verdict") < main.index("<details")
    assert ('<details class="more"><summary>Evidence &lt;b&gt;</summary><section class="markdown"><p>what it is</p>'
            in main) and "rows" in main[main.index("<details"):]
    assert "Nothing here" not in main and "Empty open section" not in main and "form" not in main
    assert "<details open" not in main and main.count("<details") == 1


def test_a_report_runs_its_notebook_without_the_interactive_cells(tmp_path):
    from trailtools.report.run import report_notebook

    for name in ("reboot.ipynb", "suspicious_login.ipynb", "cost_spike.ipynb"):
        nb = nbformat.read(report_notebook(ROOT / "notebooks" / name, tmp_path), as_version=4)
        sources = "\n".join(c.source for c in nb.cells)
        assert "rerun(" not in sources and "explore(" not in sources and "Run headless" not in sources
        assert "write_json(findings_json)" in sources and "parameters" in nb.cells[1].metadata.get("tags", [])


def test_no_charts_no_bundle():
    assert "vegaEmbed" not in render_html(_chart_notebook(0), title="t")


def test_byte_stable(xss_nb):
    assert render_html(xss_nb, title="x") == render_html(nbformat.reads(nbformat.writes(xss_nb), 4), title="x")


# ---- in headless Chromium ---------------------------------------------------------------------------------------

def test_demo_report_renders_offline(demo_nb, browser, tmp_path):
    for cell in demo_nb.cells:
        assert not [o for o in cell.get("outputs", []) if o.output_type == "error"], cell.source
    text = render_html(demo_nb, title=f"reboot {DEMO_INSTANCE}")
    assert text == render_html(demo_nb, title=f"reboot {DEMO_INSTANCE}")
    assert DEMO_INSTANCE in text and "inv.timeline()" not in text
    n = text.count('<div class="chart" id="chart-')
    assert n >= 1
    Opened(browser, _write(tmp_path, "reboot.html", text), tmp_path).charts_rendered(n)


def test_several_charts_render(browser, tmp_path):
    Opened(browser, _write(tmp_path, "charts.html", render_html(_chart_notebook(3), title="c")),
           tmp_path).charts_rendered(3)


def test_xss_payloads_stay_text(xss_nb, browser, tmp_path):
    text = render_html(xss_nb, title=PAYLOADS[1])
    opened = Opened(browser, _write(tmp_path, "xss.html", text), tmp_path)
    opened.charts_rendered(2)

    def payloads_inert(page):
        points = page.locator("#chart-0 .mark-symbol path")
        assert points.count() == len(PAYLOADS)
        seen = set()
        for i in range(points.count()):
            page.mouse.move(0, 0)  # off the chart first: the tooltip shows on entering a point
            points.nth(i).hover()
            tip = page.locator("#vg-tooltip-element")
            tip.wait_for(state="visible", timeout=5_000)
            seen.add(tip.inner_text())
            assert tip.locator("img, script").count() == 0
        assert all(any(p in t for t in seen) for p in PAYLOADS), seen
        assert page.evaluate("typeof window.__xss") == "undefined"
        body = page.locator("main").inner_text()
        for p in PAYLOADS:  # as text in the tables (DataFrame, Styler), markdown, HTML and print outputs
            assert body.count(p) >= 3, p
        assert page.locator("main img, main script:not([type='application/json'])").count() == 0
        assert PAYLOADS[2] in page.locator("#chart-0 svg").text_content()  # the title, as SVG text
        assert page.evaluate("typeof window.__xss") == "undefined"
        assert (opened.errors, opened.failed, opened.aborted) == ([], [], [])
    opened.check(payloads_inert)


# ---- the whole path: attacker-controlled CloudTrail fields through `trailtools report reboot` ----------------

def test_reboot_report_of_a_trail_carrying_payloads(browser, tmp_path):
    """A trail whose user name, user agent, error message and request parameters carry XSS payloads goes through
    the reboot notebook and `trailtools report`; in the browser, every payload is text and none runs."""
    import json

    from conftest import record, s3_path, write_gz

    from trailtools.report import run as report

    inst = "i-0123456789abcdef0"
    items = {"instancesSet": {"items": [{"instanceId": inst}]}, "note": PAYLOADS[2]}
    recs = []
    for n, payload in enumerate(PAYLOADS):
        rec = record(f"dddddddd-0000-4000-8000-{n:012d}", f"2026-11-20T10:0{n}:00Z", "StopInstances" if n < 3
                     else "RebootInstances", requestParameters=items, userAgent=payload, errorMessage=payload)
        rec["userIdentity"]["userName"] = payload
        recs.append(rec)
    write_gz(s3_path(tmp_path / "trail", "111122223333", "us-east-1", "20261120T1010Z"), {"Records": recs})
    paths = report.run("reboot", {"instance": inst, "source": str(tmp_path / "trail"), "start": "2026-11-20",
                                  "end": "2026-11-21"}, out_dir=tmp_path / "out")
    doc = json.loads(paths.findings.read_text())
    assert doc["verdict"]["cause"] == "api-call" and doc["verdict"]["actor"] == PAYLOADS[3]
    opened = Opened(browser, paths.html, tmp_path)
    opened.charts_rendered(2)  # the timeline and the coverage bar

    opened.assert_inert("#chart-0 .mark-symbol path")


def test_login_report_of_a_trail_carrying_payloads(browser, tmp_path):
    """Sign-ins whose user name and user agent carry XSS payloads, through the login notebook's report."""
    from conftest import record, s3_path, write_gz

    from trailtools.report import run as report

    recs = []
    for n, payload in enumerate(PAYLOADS):
        login = record(f"cccccccc-0000-4000-8000-{n:012d}", f"2026-11-20T10:0{n}:00Z", "ConsoleLogin",
                       eventSource="signin.amazonaws.com", userAgent=payload,
                       additionalEventData={"MFAUsed": "No", "LoginTo": payload},
                       responseElements={"ConsoleLogin": "Success"})
        login["userIdentity"]["userName"] = payload
        login["userIdentity"]["arn"] = f"arn:aws:iam::111122223333:user/{payload}"
        follow = record(f"cccccccc-0000-4000-8001-{n:012d}", f"2026-11-20T10:0{n}:30Z", "StopLogging",
                        eventSource="cloudtrail.amazonaws.com", userAgent=payload,
                        requestParameters={"name": payload})
        follow["userIdentity"] = dict(login["userIdentity"])
        recs += [login, follow]
    write_gz(s3_path(tmp_path / "trail", "111122223333", "us-east-1", "20261120T1015Z"), {"Records": recs})
    paths = report.run("login", {"source": str(tmp_path / "trail"), "start": "2026-11-20", "end": "2026-11-21"},
                       out_dir=tmp_path / "out")
    opened = Opened(browser, paths.html, tmp_path)
    opened.charts_rendered(2)  # the timeline and the coverage bar

    opened.assert_inert("#chart-0 .mark-symbol path")


def test_the_appendix_is_visible_and_hostile_parameters_break_nothing(browser, tmp_path):  # issue 20 items 1, 2
    """The provenance appendix is part of the page a reader sees (with the inputs' SHA-256), whatever the parameters
    hold: a backtick, ${...} or </script> in a parameter neither hides it nor stops a chart from being drawn."""
    import re

    from trailtools.report import run as report

    hostile = "x`y${1+1}</script><b>z"
    paths = report.run("login", {"principal": hostile, "start": "2026-10-08"}, out_dir=tmp_path / "out")
    opened = Opened(browser, paths.html, tmp_path)
    opened.charts_rendered(opened.page.locator("div[id^='chart-']").count())

    def appendix(page):
        heading = page.get_by_role("heading", name="Provenance")
        assert heading.is_visible()
        section = page.locator("section.provenance")
        text = section.inner_text()
        assert hostile in text  # the parameter, shown as text
        assert page.evaluate("typeof window.__xss") == "undefined"
        shown = page.locator("body").inner_text()
        # only what is about this report's subject: no how-to-run text, no rerun form, no empty section
        assert "Run headless" not in shown and "In JupyterLab" not in shown
        assert page.get_by_role("heading", name=re.compile("SSH logins")).count() == 0  # no os_logs: no section
    opened.check(appendix)

    # a report with input files beside the trail (the jump host's guest logs): their SHA-256 are there to be read
    paths = report.run("reboot", {"instance": "i-0f2a6c8e4b1d97a35"}, out_dir=tmp_path / "out")
    opened = Opened(browser, paths.html, tmp_path)
    opened.charts_rendered(opened.page.locator("div[id^='chart-']").count())

    def digests(page):
        section = page.locator("section.provenance")
        section.scroll_into_view_if_needed()
        assert section.is_visible()
        rows = section.locator("table").last.inner_text()
        assert "oslogs/i-0f2a6c8e4b1d97a35" in rows and re.search(r"\b[0-9a-f]{64}\b", rows)
        shown = page.locator("main").inner_text()
        assert "Run headless" not in shown and "i-04c2a9e71d3b58f06" not in shown  # nothing of incident 1
    opened.check(digests)


# ---- what a reader of each demo report sees (issue 20: done when) -----------------------------------------------

DEMO_INSTANCES = ["i-04c2a9e71d3b58f06", "i-0b81f3d6c2e9a4775", "i-07e5d2b9a1c4f3806", "i-0f2a6c8e4b1d97a35",
                  "i-09d4b7e2f6a3c1508"]
MONTH_OR_DAY = re.compile(r"\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b|\b\d{4}-\d\d-\d\d\b")


@pytest.fixture(scope="module")
def demo_reports(tmp_path_factory):
    """The reboot report of the demo's second restart (not the notebook's default instance), the login report and
    the cost report, made by `trailtools report` from the demo account."""
    from trailtools.report import run as report

    out = tmp_path_factory.mktemp("demo-reports")
    return {"reboot": report.run("reboot", {"instance": DEMO_INSTANCE}, out_dir=out),
            "login": report.run("login", {}, out_dir=out),
            "cost": report.run("cost", {}, out_dir=out)}


def _reader_sees(opened: Opened, page, n_charts: int, *, inputs_sha: bool = True):
    """What every report shows: the answer and the first chart on the first screen, the long details collapsed
    (and opened, each has something), no empty section, the provenance appendix with the inputs' SHA-256, every
    time axis with dates."""
    box = page.locator(".trailtools-verdict")
    assert box.count() == 1 and box.is_visible() and box.bounding_box()["y"] < 400
    assert page.locator("#chart-0").bounding_box()["y"] < 1000  # the key chart, on the first screen (1400 px wide)
    details = page.locator("main details.more")
    assert details.count() >= 2 and page.locator("main details.more[open]").count() == 0
    for i in range(details.count()):
        assert not details.nth(i).locator(".output").first.is_visible()  # collapsed: only its summary shows
    # no empty section: every heading is followed by something of its own
    empty = page.evaluate("""() => [...document.querySelectorAll('main section.markdown')].filter(s => {
        const own = [...s.children].some(c => !/^H[1-6]$/.test(c.tagName));
        const next = s.nextElementSibling;
        return !own && !(next && next.matches('section.cell'));
    }).map(s => s.innerText)""")
    assert empty == []
    page.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")
    for i in range(details.count()):
        assert details.nth(i).locator(".output").first.is_visible(), details.nth(i).inner_text()[:200]
    # every chart drawn, once the details are open too; time axes read dates, not only hours
    opened.charts_rendered(n_charts)
    for i in range(n_charts):
        labels = page.locator(f"#chart-{i} .role-axis-label text").all_text_contents()
        title = " ".join(page.locator(f"#chart-{i} .role-axis-title text").all_text_contents())
        if "UTC" in title or "time" in title:
            assert any(MONTH_OR_DAY.search(t) for t in labels), (i, title, labels)
    appendix = page.locator("section.provenance")
    appendix.scroll_into_view_if_needed()
    assert appendix.is_visible() and page.get_by_role("heading", name="Provenance").is_visible()
    inputs = appendix.locator("table").last
    assert inputs.is_visible() and "SHA-256" in inputs.inner_text()
    if inputs_sha:
        assert re.search(r"\b[0-9a-f]{64}\b", inputs.inner_text())
    shown = page.locator("body").inner_text()
    assert "Run headless" not in shown and "In JupyterLab" not in shown and "open this notebook" not in shown


def test_reboot_report_as_a_reader_sees_it(demo_reports, browser, tmp_path):
    opened = Opened(browser, demo_reports["reboot"].html, tmp_path)
    n = opened.page.locator("div[id^='chart-']").count()

    def sees(page):
        _reader_sees(opened, page, n)
        assert DEMO_INSTANCE in page.locator(".trailtools-verdict").inner_text()
        shown = page.locator("body").inner_text()
        # nothing of another instance: not in the sections, not among the inputs (another's console output)
        others = [i for i in DEMO_INSTANCES if i != DEMO_INSTANCE and i in shown]
        assert others == []
    opened.check(sees)


def test_login_report_as_a_reader_sees_it(demo_reports, browser, tmp_path):
    opened = Opened(browser, demo_reports["login"].html, tmp_path)
    n = opened.page.locator("div[id^='chart-']").count()

    def sees(page):
        _reader_sees(opened, page, n, inputs_sha=False)  # its inputs: below
        assert page.get_by_role("heading", name=re.compile("SSH logins")).count() == 0  # no os_logs: no section
    opened.check(sees)


def test_login_report_lists_the_trail_files_it_read(demo_reports):
    """The trail files holding the findings' evidence, each with its SHA-256."""
    doc = json.loads(demo_reports["login"].findings.read_text())
    inputs = doc["provenance"]["inputs"]
    assert inputs and all(re.fullmatch(r"[0-9a-f]{64}", i.get("sha256", "")) for i in inputs)


def test_cost_report_as_a_reader_sees_it(demo_reports, browser, tmp_path):
    opened = Opened(browser, demo_reports["cost"].html, tmp_path)
    n = opened.page.locator("div[id^='chart-']").count()

    def sees(page):
        _reader_sees(opened, page, n)
        answer = page.locator(".trailtools-verdict").inner_text()
        assert "$1,570.64/day" in answer and "Reading the figures" in answer and "$1,566.38/day" in answer
        # money as money, shares as percentages, in every table; no raw float anywhere
        cells = page.evaluate("""() => {
            const out = {money: [], share: [], raw: []};
            for (const t of document.querySelectorAll('main table.trailtools-table')) {
                const heads = [...t.querySelectorAll('thead th')].map(h => h.innerText);
                for (const tr of t.querySelectorAll('tbody tr')) {
                    [...tr.children].forEach((td, i) => {
                        const h = heads[i] || '', v = td.innerText.trim();
                        if (/median|typical|mean|rise per|cost in|above|actual|expected|peak/.test(h)) out.money.push(v);
                        else if (/share/.test(h)) out.share.push(v);
                        if (/^-?\\d+\\.\\d{3,}$/.test(v)) out.raw.push(h + ': ' + v);
                    });
                }
            }
            return out;
        }""")
        assert len(cells["money"]) > 20 and len(cells["share"]) > 5
        assert all(re.fullmatch(r"-?\$\d{1,3}(,\d{3})*(\.\d\d|\.\d{3,6})", v) for v in cells["money"]), cells["money"]
        assert all(re.fullmatch(r"-?[\d,]+\.\d %", v) and v != "-0.0 %" for v in cells["share"]), cells["share"]
        assert cells["raw"] == []
        # the finding quotes the headline's figure, and says what the rise is of
        findings = page.get_by_role("heading", name=re.compile("^Findings")).locator("xpath=../following-sibling::section[1]")
        text = findings.inner_text()
        assert "henry.park@example.com went from $0.00/day to $1,570.64/day" in text
        assert "$1,386.89" not in text
        # whole names: the creator column is not cut off (the table fits its page)
        wide = page.evaluate("""() => [...document.querySelectorAll('main .output')]
            .filter(o => o.scrollWidth > o.clientWidth + 2).map(o => o.innerText.slice(0, 80))""")
        assert wide == []
    opened.check(sees)


def test_screenshot_is_1400_px_wide_with_every_chart(tmp_path):  # `make screenshots`
    import struct

    from conftest import CHROMIUM

    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not installed")
    page = _write(tmp_path, "r.html", render_html(_chart_notebook(2), title="shot"))
    # as `make screenshots` runs it (a process of its own: Playwright's sync API cannot nest in this module's)
    done = subprocess.run([sys.executable, "-m", "trailtools.report.screenshot", str(page)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(tmp_path / "r.png")
    png = (tmp_path / "r.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert width == 1400 and height > 300
