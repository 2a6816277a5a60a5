"""One self-contained, offline, XSS-safe HTML file from an executed notebook (as papermill wrote it).

Built from the notebook JSON, without nbconvert templates (whose default HTML loads Vega, require.js and MathJax from
CDNs). What reaches the page:

- markdown cells and `text/markdown` outputs: rendered by mistune with raw HTML escaped and harmful link
  protocols (`javascript:` ...) replaced;
- `text/html` outputs (pandas tables, pandas Styler, trailtools' own builders): re-serialized from a parse with a
  tag/attribute allowlist; any other markup (`<script>`, `<img onerror=...>`, links, SVG, ...) is shown as escaped
  text, with a note on the page and in the log;
- charts: the Vega/Vega-Lite spec (from an `application/vnd.vegalite.vN+json` output, or pulled out of the
  CDN-loading `text/html` that Altair's default renderer writes) as `<div id="chart-N">` plus
  `<script type="application/json" id="spec-N">` encoded by `trailtools.views.spec_json`; then ONE inline script
  with `vl_convert.javascript_bundle()` (Vega, Vega-Lite, vega-embed, ~0.9 MB) and a loader calling vegaEmbed;
- everything else (text/plain, streams, errors) escaped in `<pre>`; images as data URIs.

A Content-Security-Policy forbids every network fetch and `eval` (vega-embed runs with its AST interpreter).
The output depends only on the notebook: the same notebook gives the same bytes.
"""
from __future__ import annotations

import base64
import binascii
import functools
import html
import json
import logging
import re
from html.parser import HTMLParser
from typing import Any

import mistune

from trailtools.report.vega import spec_json, vega_bundle
from trailtools.templating import Markup, render

__all__ = ["render_html", "CSP"]

log = logging.getLogger(__name__)

CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:"

CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;margin:0;background:#fff}
main{max-width:1100px;margin:0 auto;padding:1em 1.5em 3em}
header.report{background:#f3f4f6;border-bottom:1px solid #ddd;padding:.5em 1.5em;color:#555;font-size:.9em}
h1,h2,h3{line-height:1.2;margin:1.2em 0 .5em}
h1{font-size:1.7em}h2{font-size:1.35em;border-bottom:1px solid #eee;padding-bottom:.2em}
pre{background:#f7f7f7;border:1px solid #e3e3e3;padding:.6em .8em;overflow-x:auto;font-size:13px;
white-space:pre-wrap;word-break:break-word}
pre.error{background:#fff0f0;border-color:#f3c4c4}pre.stderr{background:#fffbea}
.output{margin:.6em 0;overflow-x:auto}
.output table{border-collapse:collapse;font-size:13px}
.output th,.output td{border:1px solid #ddd;padding:.25em .5em;text-align:left;vertical-align:top}
.output thead th{background:#f3f4f6}
.note{color:#8a6d00;font-size:.85em;margin:.2em 0}
.chart{margin:.6em 0}
.output td{overflow-wrap:anywhere;min-width:3.5em}
details.more{border-top:1px solid #e3e3e3;margin:.4em 0;padding:.2em 0}
details.more>summary{cursor:pointer;font-size:1.15em;font-weight:600;padding:.35em 0;color:#333}
details.more[open]>summary{margin-bottom:.4em}
section.provenance{max-width:1100px;margin:0 auto;padding:0 1.5em 3em}
section.provenance td{overflow-wrap:anywhere}
img{max-width:100%}
"""

# Finds every spec block, parses it and hands it to vegaEmbed. `ast: true` evaluates Vega expressions with the
# bundled interpreter instead of `new Function`, which the CSP forbids.
LOADER = """
(function () {
  document.querySelectorAll('script[type="application/json"][id^="spec-"]').forEach(function (el) {
    var div = document.getElementById("chart-" + el.id.slice(5));
    vegaEmbed(div, JSON.parse(el.textContent), {actions: false, ast: true, renderer: "svg"})
      .catch(function (err) { div.textContent = "Chart failed to render: " + err; console.error(err); });
  });
})();
"""

_VEGA_MIME = re.compile(r"^application/vnd\.vega(?:lite)?\.v\d+\+json$")
_IMAGE_MIMES = ("image/png", "image/jpeg", "image/gif")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_MARKDOWN = mistune.create_markdown(escape=True, plugins=["table", "strikethrough", "url"])


@functools.lru_cache(maxsize=1)
def _bundle() -> str:
    """Vega + Vega-Lite + vega-embed as one script body (window.vegaEmbed ...), safe inside <script>."""
    js = vega_bundle()
    # Inside JS strings and regexes, \x3C is "<": these sequences could otherwise end or confuse the HTML element.
    return re.sub(r"<(?=/script|!--)", r"\\x3C", js, flags=re.IGNORECASE)


# ---- text/html outputs: parse, allowlist, re-serialize ---------------------------------------------------------

_TAGS = frozenset("""a abbr b br caption code col colgroup dd del details div dl dt em h1 h2 h3 h4 h5 h6 hr i ins
kbd li ol p pre s samp small span strong style sub summary sup table tbody td tfoot th thead tr u ul""".split())
_ATTRS = frozenset("""align border class colspan dir height id lang open rowspan scope scoped start style title type
valign width""".split())
_BAD_CSS = re.compile(r"url\s*\(|@import|expression|javascript|behavior|\\|<", re.IGNORECASE)


class _Sanitizer(HTMLParser):
    """Rebuilds HTML from its parse: allowed tags with allowed, re-escaped attributes; all else as visible text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.rejected: list[str] = []
        self._style = False  # inside an allowed <style> element (its raw text is CSS)

    def _ok_attr(self, tag: str, name: str, value: str | None) -> bool:
        value = value or ""
        if name == "href":
            return tag == "a" and value.startswith("#")
        if name == "style":
            return not _BAD_CSS.search(value)
        if name == "id":  # no clobbering of the report's own chart-N/spec-N elements
            return not re.match(r"(chart|spec)-", value)
        return name in _ATTRS

    def _start(self, tag, attrs, close: str):
        if tag in _TAGS and all(self._ok_attr(tag, n, v) for n, v in attrs):
            parts = "".join(f' {n}="{html.escape(v or "", quote=True)}"' for n, v in attrs)
            self.out.append(f"<{tag}{parts}{close}>")
            self._style = tag == "style" and not close
        else:
            text = self.get_starttag_text() or f"<{tag}>"
            self.rejected.append(text)
            self.out.append(html.escape(text))

    def handle_starttag(self, tag, attrs):
        self._start(tag, attrs, "")

    def handle_startendtag(self, tag, attrs):
        self._start(tag, attrs, " /")

    def handle_endtag(self, tag):
        self._style = False
        self.out.append(f"</{tag}>" if tag in _TAGS else html.escape(f"</{tag}>"))

    def handle_data(self, data):
        if self._style:
            if _BAD_CSS.search(data):
                self.rejected.append("<style> with url()/@import/escapes")
            else:
                self.out.append(data)
        else:
            self.out.append(html.escape(data))
    # comments, doctypes and processing instructions are dropped (the default handlers do nothing)


def sanitize_html(text: str) -> tuple[str, list[str]]:
    """(safe HTML, the markup that was not allowed and is now shown as text)."""
    parser = _Sanitizer()
    parser.feed(text)
    parser.close()
    return "".join(parser.out), parser.rejected


# ---- outputs ---------------------------------------------------------------------------------------------------

def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value or "")


def _pre(text: str, cls: str = "") -> str:
    attr = f' class="{cls}"' if cls else ""
    return f"<pre{attr}>{html.escape(_ANSI.sub('', text))}</pre>"


def _altair_html_spec(text: str) -> dict | None:
    """The spec inside the HTML of Altair's default renderer: `(function(spec, embedOpt){...})({SPEC}, {...})`.

    The template code before the spec is Altair's, so the first `})({` is the call; the spec is parsed as JSON
    (never executed) and re-encoded by spec_json.
    """
    if "vega-embed" not in text or "(function(spec, embedOpt){" not in text:
        return None
    at = text.find("})({")
    if at < 0:
        return None
    try:
        spec, _ = json.JSONDecoder().raw_decode(text, at + 3)
    except (ValueError, IndexError):
        return None
    return spec if isinstance(spec, dict) and "vega" in str(spec.get("$schema", "")) else None


def _chart_spec(data: dict) -> dict | None:
    for mime in sorted(data):  # sorted: one choice whatever the key order (v5 before v6 if both: same chart)
        if _VEGA_MIME.match(mime):
            spec = data[mime]
            return json.loads(spec) if isinstance(spec, str) else dict(spec)
    if "text/html" in data:
        return _altair_html_spec(_text(data["text/html"]))
    return None


class _Renderer:
    def __init__(self):
        self.charts = 0

    def chart(self, spec: dict) -> str:
        n, self.charts = self.charts, self.charts + 1
        # keys sorted (as nbformat writes them): the same chart gives the same bytes, in memory or read from disk
        spec = json.loads(json.dumps(spec, sort_keys=True, allow_nan=False))
        return (f'<div class="chart" id="chart-{n}"></div>'
                f'<script type="application/json" id="spec-{n}">{spec_json(spec)}</script>')

    def bundle(self, data: dict) -> str:
        plain = _text(data.get("text/plain"))
        spec = _chart_spec(data)
        if spec is not None:
            try:
                return self.chart(spec)
            except ValueError as exc:  # NaN/Infinity: not JSON
                log.warning("chart spec is not valid JSON (%s); shown as text", exc)
                return _note("chart spec is not valid JSON; shown as text") + _pre(plain)
        if "text/html" in data:
            safe, rejected = sanitize_html(_text(data["text/html"]))
            if rejected:
                log.warning("HTML output: %d disallowed tag(s) shown as text: %s", len(rejected),
                            "; ".join(r[:80] for r in rejected[:5]))
                safe = _note(f"{len(rejected)} disallowed HTML tag(s) in this output are shown as text") + safe
            return safe
        if "text/markdown" in data:
            return _MARKDOWN(_text(data["text/markdown"]))
        for mime in _IMAGE_MIMES:
            if mime in data:
                b64 = re.sub(r"\s", "", _text(data[mime]))
                try:
                    base64.b64decode(b64, validate=True)
                except (binascii.Error, ValueError):
                    continue
                return f'<img src="data:{mime};base64,{b64}" alt="{html.escape(plain)}">'
        if "image/svg+xml" in data:  # as an <img>, an SVG's scripts never run
            b64 = base64.b64encode(_text(data["image/svg+xml"]).encode()).decode()
            return f'<img src="data:image/svg+xml;base64,{b64}" alt="{html.escape(plain)}">'
        return _pre(plain) if plain else ""

    def output(self, out: dict) -> str:
        kind = out.get("output_type")
        if kind == "stream":
            name = out.get("name", "stdout")
            return _pre(_text(out.get("text")), "stderr" if name == "stderr" else "stream")
        if kind == "error":
            trace = "\n".join(out.get("traceback") or [])
            return _pre(trace or f"{out.get('ename', 'Error')}: {out.get('evalue', '')}", "error")
        if kind in ("execute_result", "display_data"):
            return self.bundle(dict(out.get("data") or {}))
        return ""


def _note(text: str) -> str:
    return f'<p class="note">{html.escape(text)}</p>'


#: The tag of notebook cells that only make sense live in JupyterLab (left out of reports).
INTERACTIVE = "interactive"
#: The tag of a markdown cell that opens a section of details: in the report it is collapsed (``<details>``, which
#: needs no script), its first line the ``<summary>``; the answer and what matters most stay above, open.
DETAILS = "details"


def _tags(cell) -> tuple:
    return tuple((cell.get("metadata") or {}).get("tags", ()))


def _summary_and_rest(source: str) -> tuple[str, str]:
    """A markdown cell's first line as plain text (its heading marks dropped), and the rest."""
    first, _, rest = source.strip().partition("\n")
    return first.lstrip("#").strip().replace("`", ""), rest


def _section(cell, parts: list[str]) -> str:
    source = _text(cell.get("source")) if cell is not None else ""
    if cell is not None and DETAILS in _tags(cell):
        summary, rest = _summary_and_rest(source)
        inner = (f'<section class="markdown">{_MARKDOWN(rest)}</section>' if rest.strip() else "") + "".join(parts)
        return f'<details class="more"><summary>{html.escape(summary)}</summary>{inner}</details>'
    head = [f'<section class="markdown">{_MARKDOWN(source)}</section>'] if cell is not None else []
    return "\n".join(head + parts)


def render_html(nb, *, title: str, with_code: bool = False, appendix: str = "") -> str:
    """The executed notebook `nb` (nbformat v4 NotebookNode or dict) as one self-contained HTML document.

    Markdown cells and outputs in order; code cells (escaped, as <pre>) only with `with_code`; raw cells dropped.
    Cells tagged ``interactive`` are left out, and so is a markdown cell whose code cell shows nothing (an empty
    section). A markdown cell tagged ``details`` and the outputs under it are collapsed (``<details>``). `appendix`
    (HTML, e.g. the provenance) follows the notebook's sections as part of the page's structure.
    """
    r, body = _Renderer(), []
    # the sections: a markdown cell (or None before the first) with the outputs of the code cells under it
    sections: list[tuple[Any, bool, list[str]]] = []
    for cell in nb["cells"]:
        kind = cell.get("cell_type")
        if INTERACTIVE in _tags(cell):
            continue  # for JupyterLab only (a rerun form, how to run it): nothing a reader of the report can use
        if kind == "markdown":
            sections.append((cell, False, []))
        elif kind == "code":
            if not sections:
                sections.append((None, False, []))
            md, _, parts = sections[-1]
            sections[-1] = (md, True, parts)
            code = [_pre(_text(cell.get("source")), "code")] if with_code else []
            shown = [f'<div class="output">{h}</div>' for h in map(r.output, cell.get("outputs") or []) if h]
            if code or shown:
                parts.append('<section class="cell">' + "".join(code + shown) + "</section>")
    for md, had_code, parts in sections:
        if parts or (md is not None and not had_code):  # a heading whose cells show nothing is not shown
            body.append(_section(md, parts))
    # the body is HTML this module built (every value escaped or sanitized above), and so are the constants
    return str(render("page.html.j2", title=title, csp=Markup(CSP), css=Markup(CSS), body=[Markup(b) for b in body],
                      script=Markup(_bundle()) if r.charts else None, loader=Markup(LOADER),
                      appendix=Markup(appendix))) + "\n"
