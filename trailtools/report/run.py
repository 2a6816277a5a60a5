"""``trailtools report``: run an investigation notebook headless and leave a report that travels.

papermill executes ``notebooks/<name>.ipynb`` with the given parameters (so ``papermill ... -p instance i-123`` and
``trailtools report reboot -p instance i-123`` give the same notebook), then the executed notebook is rendered as one
self-contained HTML file (:mod:`trailtools.report.html`) and the notebook's findings are written beside it as JSON
in the documented schema (:mod:`trailtools.findings.schema`). ``--redact`` pseudonymizes account IDs, keys, IP and
e-mail addresses in all three (:mod:`trailtools.report.redact`) and in their file names.

Under ``--redact`` no unredacted file is ever written beside the report: papermill executes the notebook into a
private temporary folder (as it writes the notebook after each cell, the unredacted notebook exists there only),
the redacted copies are written to ``--out``, and the temporary folder is removed whatever happens. A notebook that
fails leaves nothing, and the error names the cell and the kind of error, not its message (which quotes values).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from trailtools.errors import TrailtoolsError
from trailtools.findings import schema as findings_schema
from trailtools.investigations import registry
from trailtools.report.html import INTERACTIVE, render_html
from trailtools.report.redact import Redactor
from trailtools.report.vega import STATIC_ENV
from trailtools.templating import Markup, render


@dataclass
class ReportPaths:
    notebook: Path
    html: Path
    findings: Path


def list_notebooks() -> str:
    """The investigations and their parameters (from each notebook's parameters cell)."""
    return registry.describe()


def _stamp(now: dt.datetime) -> str:
    return now.strftime("%Y%m%dT%H%M%SZ")


def _safe(value: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in str(value))[:80]


def _failure(exc, *, redact: bool = False) -> str:
    """One readable sentence from papermill's execution error (without its message, which quotes values, when
    redacting)."""
    cell = getattr(exc, "exec_count", None)
    ename, evalue = getattr(exc, "ename", type(exc).__name__), getattr(exc, "evalue", str(exc))
    if redact:
        return f"notebook failed in cell {cell} ({ename})"
    return f"the notebook failed in cell {cell}: {ename}: {evalue}"


def evidence_integrity_html(prov: dict) -> str:
    """The coverage of the window and the digest verification, from any investigation's provenance (the
    ``coverage`` and ``integrity`` dicts of trailtools.integrity.coverage / trailtools.integrity.verify), every value
    escaped by its template."""
    cov, ver = prov.get("coverage"), prov.get("integrity")
    notes = list(prov.get("coverage_notes") or [])
    lo = hi = share = None
    if cov:
        lo, hi = (cov.get("window") or [None, None])[:2]
        notes += cov.get("notes") or []
        share = f"{float(cov.get('covered_fraction') or 0):.1%}"
    return str(render("evidence_integrity.html.j2", cov=cov, ver=ver, notes=notes, lo=lo, hi=hi, share=share,
                      problems=((ver or {}).get("problems") or [])[:100]))


def provenance_html(doc: dict) -> str:
    """The provenance appendix, every value escaped by its template."""
    prov = doc.get("provenance") or {}
    stats = prov.get("load_stats") or {}
    return str(render(
        "provenance.html.j2", generated_at=doc.get("generated_at", ""),
        versions=list((prov.get("versions") or {}).items()),
        parameters=[(k, json.dumps(v)) for k, v in (doc.get("parameters") or {}).items()],
        integrity=Markup(evidence_integrity_html(prov)), case=prov.get("case"),
        stats=json.dumps({k: v for k, v in stats.items() if k != "skipped"}, indent=1),
        skipped=stats.get("skipped", []), inputs=prov.get("inputs", [])))


def run(name: str, parameters: dict, *, out_dir: Path, redact: bool = False, with_code: bool = False,
        now: dt.datetime | None = None) -> ReportPaths:
    """Execute one investigation's notebook and write its .ipynb, .html and .findings.json; return the paths."""
    inv = registry.get(name)
    file, key, notebook = inv.notebook, inv.key, inv.notebook_path
    known = {p.name: p for p in inv.parameters()}
    unknown = [p for p in parameters if p not in known]
    if unknown:
        raise TrailtoolsError(f"The {name} notebook has no parameter {unknown[0]!r}: its parameters are "
                              f"{', '.join(known)}.")
    now = now or dt.datetime.now(dt.UTC)
    out_dir.mkdir(parents=True, exist_ok=True)
    default = known[key].default
    keyval = parameters.get(key) or (json.loads(default) if default not in ("None", "") else "all")
    redactor = None
    if redact:
        redactor = Redactor()
        keyval = redactor.redact_text(str(keyval))  # the file names and the title name the pseudonym
    base = out_dir / f"{Path(file).stem}-{_safe(keyval)}-{_stamp(now)}"
    # not with_suffix: a name with a dot (emma.wilson) would lose what follows it, the time stamp too
    paths = ReportPaths(Path(f"{base}.ipynb"), Path(f"{base}.html"), Path(f"{base}.findings.json"))
    # the raw findings (and, when redacting, the executed notebook) live in a private folder removed at the end:
    # their names hold nothing of the parameters, and nothing unredacted is left behind, whatever fails
    work = Path(tempfile.mkdtemp(prefix="trailtools-report-"))
    # the kernel's Unix sockets: a socket's path holds at most 107 bytes; under a long TMPDIR they go to a short
    # private folder of their own in /tmp
    sockets = work if len(str(work)) <= MAX_SOCKET_DIR or not os.path.isdir("/tmp") else \
        Path(tempfile.mkdtemp(prefix="tt-", dir="/tmp"))
    try:
        return _execute(name, notebook, parameters, paths, work, keyval, redactor, with_code, now, sockets)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if sockets != work:
            shutil.rmtree(sockets, ignore_errors=True)


@contextlib.contextmanager
def _redacted_log(redactor, logger_name: str):
    """While inside, with a redactor: the messages of the logger ``logger_name`` redacted."""
    if redactor is None:
        yield
        return

    def redact(record: logging.LogRecord) -> bool:
        record.msg, record.args = redactor.redact_text(record.getMessage()), ()
        return True

    logger = logging.getLogger(logger_name)
    logger.addFilter(redact)
    try:
        yield
    finally:
        logger.removeFilter(redact)


#: The longest folder the kernel's sockets go in ("<folder>/kernel-<n>" must fit a Unix socket's 107 bytes).
MAX_SOCKET_DIR = 90


def _ipc_kernel_manager(work: Path) -> type:
    """A kernel manager whose kernel talks over Unix sockets in the report's private folder, not over TCP: no port is
    opened on the machine, and the kernel has no reason to warn about "TCP without encryption" on every report.
    Its kernel draws charts as their spec only (:data:`trailtools.views.offline.STATIC_ENV`): no widgets."""
    from jupyter_client.manager import AsyncKernelManager  # noqa: PLC0415 (heavy, loaded on use)
    from traitlets import CaselessStrEnum, Unicode  # noqa: PLC0415 (heavy, loaded on use)

    async def start_kernel(self, **kw):
        kw["env"] = {**os.environ, **(kw.get("env") or {}), STATIC_ENV: "1"}
        return await AsyncKernelManager._async_start_kernel(self, **kw)

    return type("IpcKernelManager", (AsyncKernelManager,), {
        "transport": CaselessStrEnum(["tcp", "ipc"], default_value="ipc"),
        "ip": Unicode(str(work / "kernel")),
        "start_kernel": start_kernel,
    })


def report_notebook(notebook: Path, work: Path) -> Path:
    """The notebook a report executes: the investigation's, without its cells tagged ``interactive`` (a rerun form,
    an explorer: for JupyterLab only, and nothing a reader of the report can use), so they do not even run."""
    import nbformat  # noqa: PLC0415 (heavy, loaded on use)

    nb = nbformat.read(notebook, as_version=4)
    nb.cells = [c for c in nb.cells if INTERACTIVE not in (c.get("metadata") or {}).get("tags", ())]
    path = work / "input.ipynb"
    nbformat.write(nb, path)
    return path


def _execute(name, notebook, parameters, paths, work, keyval, redactor, with_code, now, sockets) -> ReportPaths:
    import nbformat  # noqa: PLC0415 (heavy, loaded on use)
    import papermill  # noqa: PLC0415 (heavy, loaded on use)

    raw_findings = work / "findings.json"
    executed = work / paths.notebook.name if redactor is not None else paths.notebook
    try:
        papermill.execute_notebook(str(report_notebook(notebook, work)), str(executed),
                                   parameters={**parameters, "findings_json": str(raw_findings)},
                                   kernel_name="python3", progress_bar=False, log_output=False,
                                   kernel_manager_class=_ipc_kernel_manager(sockets))
    except papermill.PapermillExecutionError as exc:
        if redactor is not None:
            raise TrailtoolsError(f"The {name} {_failure(exc, redact=True)}. Under --redact nothing is kept: the "
                                  "executed notebook and the error's message hold unredacted values (run without "
                                  "--redact to see them).") from None
        raise TrailtoolsError(f"{_failure(exc)}; the executed notebook is kept at {paths.notebook}.") from None
    result = json.loads(raw_findings.read_text(encoding="utf-8"))
    if redactor is not None:
        # redact before the document is built: its finding IDs are hashes of what it holds
        result = redactor.redact_json(result)
        parameters = redactor.redact_json(parameters)
    doc = findings_schema.build_document(
        name, parameters, verdict=result.get("verdict"), findings=result.get("findings", []),
        sources=result.get("sources", []), load_stats=(result.get("provenance") or {}).get("load_stats"),
        generated_at=now.strftime("%Y-%m-%dT%H:%M:%SZ"))
    doc["provenance"] = {**(result.get("provenance") or {}), "source": parameters.get("source", "demo")}
    for key in ("groups", "sigma"):  # what an investigation adds to its document (hunt: its attack chains)
        if key in result:
            doc[key] = result[key]
    nb = nbformat.read(executed, as_version=4)
    with _redacted_log(redactor, render_html.__module__):  # its warnings quote the outputs they reject
        page = render_html(nb, title=f"trailtools {name}: {keyval}", with_code=with_code,
                           appendix=provenance_html(doc))  # in the page's structure, not in the bundle's script
    if redactor is not None:
        page = redactor.redact_html(page)
        doc = redactor.redact_json(doc)  # what build_document added (nothing new: pseudonyms are left alone)
        # the executed notebook is an output file too: no original value may remain in it
        notebook_json = redactor.redact_json(json.loads(executed.read_text(encoding="utf-8")))
        paths.notebook.write_text(json.dumps(notebook_json, indent=1) + "\n", encoding="utf-8")
    paths.html.write_text(page, encoding="utf-8")
    paths.findings.write_text(json.dumps(doc, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    return paths


def answer_line(findings_document: dict) -> str:
    """The report's answer in one line, for the terminal: the verdict, else the most severe finding, else that
    nothing needs attention."""
    verdict = findings_document.get("verdict") or {}
    if verdict.get("summary"):
        return str(verdict["summary"])
    findings = findings_document.get("findings") or []
    order = {s: i for i, s in enumerate(("critical", "high", "medium", "low", "info"))}
    top = min(findings, key=lambda f: order.get(f.get("severity"), 9), default=None)
    if top is None:
        return "No findings."
    more = f" (and {len(findings) - 1} more findings)" if len(findings) > 1 else ""
    return f"{top.get('severity')}: {top.get('title')}{more}"
