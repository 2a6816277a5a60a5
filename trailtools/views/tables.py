"""Tables for notebooks and reports: whole cell values (no "..."), readable UTC times, every value escaped (by a
template)."""
from __future__ import annotations

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


class Table:
    """A DataFrame shown in full: ``_repr_html_`` escapes every value (log strings are attacker-controlled)."""

    def __init__(self, frame: pd.DataFrame, *, max_rows: int = MAX_ROWS):
        self.frame = frame
        self.max_rows = max_rows

    def _repr_html_(self) -> str:
        if not len(self.frame.columns):  # nothing to show at all (no data of that kind): no output, so a report
            return ""                    # leaves the section out
        shown = self.frame.head(self.max_rows)
        rows = ([_cell(v) for v in row] for row in shown.itertuples(index=False, name=None))
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
