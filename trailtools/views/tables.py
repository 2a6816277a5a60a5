"""Tables for notebooks and reports: whole cell values (no "..."), readable UTC times, every value escaped (by a
template); a column may have its own format (money in its currency, shares as percentages)."""
from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from trailtools.templating import render

MAX_ROWS = 500


def _cell(value) -> str:
    if value is None or (not isinstance(value, (list, tuple)) and pd.isna(value)):
        return ""
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d %H:%M:%S") + ("Z" if value.tzinfo else "")
    if isinstance(value, (list, tuple)):
        return " ".join(map(str, value))
    return str(value)


def percent(value) -> str:
    """A share (1.0 = all of it) as a percentage: ``100.1 %``; ``0.0 %``, never ``-0.0 %``."""
    v = round(float(value) * 100, 1)
    return f"{v + 0.0:,.1f} %"


def date(value) -> str:
    """A time as its UTC day (``2026-10-08``), for per-day figures."""
    return pd.Timestamp(value).strftime("%Y-%m-%d")


class Table:
    """A DataFrame shown in full: ``_repr_html_`` escapes every value (log strings are attacker-controlled).
    ``formats``: column -> a function giving the text of each of its values (missing values stay empty)."""

    def __init__(self, frame: pd.DataFrame, *, max_rows: int = MAX_ROWS,
                 formats: dict[str, Callable[[object], str]] | None = None):
        self.frame = frame
        self.max_rows = max_rows
        self.formats = formats or {}

    def _text(self, column, value) -> str:
        fmt = self.formats.get(column)
        if fmt is None or value is None or (not isinstance(value, (list, tuple)) and pd.isna(value)):
            return _cell(value)
        return fmt(value)

    def _repr_html_(self) -> str:
        if not len(self.frame.columns):  # nothing to show at all (no data of that kind): no output, so a report
            return ""                    # leaves the section out
        shown = self.frame.head(self.max_rows)
        cols = list(shown.columns)
        rows = ([self._text(c, v) for c, v in zip(cols, row)] for row in shown.itertuples(index=False, name=None))
        return str(render("table.html.j2", columns=[str(c) for c in shown.columns], rows=rows,
                          more=len(self.frame) - len(shown)))

    def __repr__(self) -> str:
        return self.frame.head(self.max_rows).to_string(index=False) if len(self.frame.columns) else ""


def findings_table(findings, *, mitre: bool = False, evidence: bool = True, max_refs: int | None = None) -> Table:
    """One row per finding: severity, title, (its MITRE technique), remediation and (the references of its evidence,
    the first ``max_refs`` of them)."""
    rows = []
    for f in findings:
        row = {"severity": f.severity, "title": f.title}
        if mitre:
            row["MITRE"] = f.extra.get("mitre")
        row["remediation"] = f.remediation
        if evidence:
            row["evidence"] = ", ".join(e.ref for e in f.evidence[:max_refs])
        rows.append(row)
    return Table(pd.DataFrame(rows))
