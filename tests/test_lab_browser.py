"""The notebooks live in JupyterLab, in Debian's chromium driven by Playwright, with no network beyond 127.0.0.1.

JupyterLab runs on its own free port with a token, from a temporary folder holding copies of the notebooks (so
JupyterLab's autosave never writes outputs into the repository's), with its own config, data, runtime, settings and
workspace folders (nothing of the user's is read or touched). Each notebook is opened and run whole ("Run All");
then: no cell errored, every chart rendered (an SVG or a canvas in each Vega view), no request left 127.0.0.1 (a
chart loading Vega from a CDN fails the test), and in the notebooks holding an explorer, picking a principal
changes what its summary, table and charts show, a click on an event shows its raw record, and a drag on the
timeline narrows the table to the span; in the reboot notebook, another instance typed into its form gets its own
verdict and timeline. On failure a screenshot is saved under
reports/test-artifacts/ (git-ignored) and named in the failure message.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import CHROMIUM, ROOT

ARTIFACTS = ROOT / "reports" / "test-artifacts"
NOTEBOOKS = ["explore.ipynb", "reboot.ipynb", "suspicious_login.ipynb", "cost_spike.ipynb"]
PRESENT = [n for n in NOTEBOOKS if (ROOT / "notebooks" / n).exists()]
RUN_TIMEOUT_MS = 150_000
WITH_EXPLORER = set(NOTEBOOKS)  # every notebook ends with an explorer over its events
OTHER_INSTANCE = "i-0b81f3d6c2e9a4775"  # the demo's db-replica-02, restarted after a host failure

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} not installed "
                                "(CI installs Debian's chromium: apt-get install -y chromium)")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory, _demo_cache):
    """A JupyterLab server of its own: (base URL, token)."""
    home = tmp_path_factory.mktemp("lab")
    root = home / "notebooks"
    root.mkdir()
    for name in PRESENT:
        shutil.copy(ROOT / "notebooks" / name, root / name)
    settings = home / "settings"
    # every cell rendered, also off-screen (JupyterLab 4 otherwise skips rendering cells outside the viewport)
    tracker = settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True)
    tracker.write_text(json.dumps({"windowingMode": "none"}))
    env = {**os.environ,
           "JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTER_DATA_DIR": str(home / "data"),
           "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "JUPYTERLAB_SETTINGS_DIR": str(settings),
           "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"), "IPYTHONDIR": str(home / "ipython"),
           "TRAILTOOLS_DEMO_CACHE_DIR": str(_demo_cache), "TRAILTOOLS_CACHE_DIR": str(home / "cache"),
           "JUPYTER_PLATFORM_DIRS": "1"}
    port, token = _free_port(), secrets.token_hex(16)
    log = (home / "lab.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
         "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", "--ServerApp.open_browser=False",
         f"--ServerApp.root_dir={root}", "--allow-root", "--LabApp.expose_app_in_browser=True",
         "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         "--ContentsManager.pre_save_hook=trailtools.labsave.pre_save"],  # as `make lab`
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120  # a wait, not a budget: JupyterLab starts in 10-30 s beside other tests
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not start: {(home / 'lab.log').read_text()[-2000:]}")
            time.sleep(0.3)
        yield base, token, root
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


class Lab:
    """One notebook open in JupyterLab, every request outside the server blocked and remembered."""

    def __init__(self, browser, base: str, token: str, name: str):
        self.base, self.name = base, name
        self.page = browser.new_page(viewport={"width": 1400, "height": 1000})
        self.blocked: list[str] = []
        self.errors: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.route("**/*", self._route)
        # a workspace per notebook: several notebooks open at once in their own pages
        self.page.goto(f"{base}/lab/workspaces/{Path(name).stem}/tree/{name}?token={token}&reset")

    def _route(self, route):
        url = route.request.url
        if url.startswith((self.base + "/", "data:", "blob:")):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()

    def screenshot(self) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"lab-{Path(self.name).stem}-failure.png"
        self.page.screenshot(path=str(path), full_page=True)
        explorers = self.page.locator(".trailtools-explorer")
        if explorers.count():  # the notebook scrolls inside the page: the explorer as it looked, too
            explorers.last.screenshot(path=str(path.with_name(path.stem + "-explorer.png")), timeout=10_000)
        return path

    def check(self, fn):
        try:
            return fn()
        except BaseException as exc:
            shot = self.screenshot()
            raise AssertionError(f"{self.name}: {exc} (screenshot: {shot})") from exc

    def eval(self, script: str, arg=None):
        return self.page.evaluate(script, arg)

    def start(self):
        """Run All, once the kernel is up (returns at once: the notebooks run side by side)."""
        self.page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                               " && window.jupyterapp.shell.currentWidget.sessionContext"
                               " && window.jupyterapp.shell.currentWidget.sessionContext.session"
                               " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel"
                               " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status"
                               " === 'idle'", timeout=90_000)
        self.eval("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")

    def wait_done(self):
        """Every code cell has an execution count and the kernel is idle again."""
        self.page.wait_for_function("""() => {
            const nb = window.jupyterapp.shell.currentWidget;
            const cells = [...nb.content.model.cells].filter(c => c.type === 'code');
            return cells.every(c => c.executionCount !== null)
                && nb.sessionContext.session.kernel.status === 'idle'
                && ![...document.querySelectorAll('.jp-InputArea-prompt')].some(p => p.textContent.includes('*'));
        }""", timeout=RUN_TIMEOUT_MS, polling=500)

    def outputs(self) -> list[dict]:
        return self.eval("""() => [...window.jupyterapp.shell.currentWidget.content.model.cells]
            .filter(c => c.type === 'code').flatMap(c => c.outputs.toJSON())""")

    def charts_rendered(self, expected: int):
        """At least ``expected`` Vega views, each drawn (an SVG or a canvas inside), none in an error state."""
        self.page.wait_for_function(
            """(n) => { const v = [...document.querySelectorAll('.jp-Notebook .vega-embed')];
                        return v.length >= n && v.every(e => e.querySelector('svg, canvas')); }""",
            arg=expected, timeout=60_000)


def _mimes(outputs: list[dict]) -> list[list[str]]:
    return [sorted((o.get("data") or {}).keys()) for o in outputs]


def _explorer_state(lab: Lab, index: int = 0) -> dict:
    """What one explorer shows: its summary line, table text, and its two charts as drawn (PNG bytes)."""
    box = lab.page.locator(".trailtools-explorer").nth(index)
    return {"summary": box.locator(".trailtools-summary").inner_text(),
            "table": box.locator(".trailtools-table").inner_text(),
            "timeline": box.locator(".trailtools-timeline").screenshot(),
            "heatmap": box.locator(".trailtools-heatmap").screenshot()}


class Running(dict):
    """{name: Lab} of the started notebooks, and the lab's folder (``root``)."""

    def __init__(self, pages: dict, root: Path):
        super().__init__(pages)
        self.root = root


@pytest.fixture(scope="module")
def running(lab, browser):
    """Every notebook open in its own page and started (Run All), all at once: {name: Lab}."""
    base, token, root = lab
    pages = {name: Lab(browser, base, token, name) for name in PRESENT}
    for nb in pages.values():
        nb.check(nb.start)
    yield Running(pages, root)
    for nb in pages.values():
        nb.page.close()


@pytest.mark.parametrize("name", PRESENT)
def test_notebook_runs_and_renders_offline(running, name):
    nb = running[name]
    nb.check(nb.wait_done)
    outputs = nb.outputs()
    errors = [f"{o.get('ename')}: {o.get('evalue')}" for o in outputs if o.get("output_type") == "error"]
    nb.check(lambda: _assert(not errors, f"cells errored: {errors}"))
    # the charts: one per output with a Vega-Lite spec, and two in each explorer (its timeline and heat map)
    explorers = nb.page.locator(".trailtools-explorer").count()
    nb.check(lambda: _assert(explorers >= (name in WITH_EXPLORER), "the explorer is missing"))
    charts = sum("application/vnd.vegalite.v6+json" in m for m in _mimes(outputs)) + 2 * explorers
    nb.check(lambda: _assert(charts >= 1, "no chart among the outputs"))
    nb.check(lambda: nb.charts_rendered(charts))
    nb.page.wait_for_timeout(500)
    nb.check(lambda: _assert(not nb.blocked, f"requests outside 127.0.0.1 (a CDN?): {nb.blocked[:5]}"))
    nb.check(lambda: _assert(not nb.errors, f"page errors: {nb.errors[:5]}"))
    for i in range(explorers):
        nb.check(lambda i=i: _widget_changes_table_and_charts(nb, i))
    if name == "reboot.ipynb":
        nb.check(lambda: _rerun_with_another_instance(nb))
    nb.check(lambda: _saved_as_committed(nb, running.root))


def _saved_as_committed(nb: Lab, root: Path):
    """Saved after the run (as autosave would), with `make lab`'s pre-save hook: the committed bytes (issue 20 #8)."""
    assert nb.outputs(), "nothing ran"
    nb.eval("() => window.jupyterapp.commands.execute('docmanager:save')")
    nb.page.wait_for_function("() => !window.jupyterapp.shell.currentWidget.context.model.dirty", timeout=30_000)
    nb.page.wait_for_timeout(500)
    assert (root / nb.name).read_bytes() == (ROOT / "notebooks" / nb.name).read_bytes()


def _rerun_with_another_instance(nb: Lab):
    """The reboot notebook's form: another instance ID and Enter give that instance's verdict and timeline."""
    rerun = nb.page.locator(".trailtools-rerun")
    box = rerun.locator(".trailtools-instance input")
    box.fill(OTHER_INSTANCE)
    box.press("Enter")
    verdict = rerun.locator(".trailtools-verdict")
    verdict.wait_for(timeout=60_000)
    assert "recovered automatically" in verdict.inner_text()
    rerun.locator(".vega-embed svg, .vega-embed canvas").first.wait_for(timeout=30_000)


def _assert(ok, message):
    assert ok, message


def _widget_changes_table_and_charts(nb: Lab, index: int):
    box = nb.page.locator(".trailtools-explorer").nth(index)
    before = _explorer_state(nb, index)
    select = box.locator(".trailtools-principal select")
    options = select.locator("option").all_inner_texts()
    assert options[0] == "(all)" and len(options) >= 2, options
    # the least active principal: a real change in every chart
    select.select_option(label=options[-1])
    nb.page.wait_for_function(
        """([i, old]) => document.querySelectorAll('.trailtools-explorer')[i]
              .querySelector('.trailtools-summary').innerText !== old""",
        arg=[index, before["summary"]], timeout=30_000)
    nb.charts_rendered(1)
    nb.page.wait_for_timeout(800)  # the charts redraw after the new spec arrives
    after = _explorer_state(nb, index)
    assert after["summary"] != before["summary"]
    assert after["table"] != before["table"] and options[-1] in after["table"]
    assert after["timeline"] != before["timeline"], "the timeline did not change"
    assert after["heatmap"] != before["heatmap"], "the heat map did not change"
    # one principal's events are few: drawn one by one; a click on one shows its raw record
    dot = box.locator(".trailtools-timeline .mark-symbol.role-mark path").first
    dot.click(force=True)
    record = box.locator(".trailtools-record")
    record.locator("pre").wait_for(timeout=30_000)
    assert '"eventID"' in record.inner_text() and options[-1] in record.inner_text()
    # a drag across the timeline selects a span: the summary and the table follow it
    plot = box.locator(".trailtools-timeline .mark-symbol.role-mark").bounding_box()  # where the dots are
    y = plot["y"] + plot["height"] / 2
    nb.page.mouse.move(plot["x"] + 0.2 * plot["width"], y)
    nb.page.mouse.down()
    nb.page.mouse.move(plot["x"] + 0.6 * plot["width"], y, steps=8)
    nb.page.mouse.up()
    box.locator(".trailtools-summary", has_text="in the selection").wait_for(timeout=30_000)
