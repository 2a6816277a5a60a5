"""The suspicious-login investigation as the notebook runs it: load the window and its baseline from a source,
analyse the sign-ins (:mod:`trailtools.login`), and show the ranked answer, the timeline and the evidence."""
from __future__ import annotations

import html
from dataclasses import dataclass

import pandas as pd

from . import login
from .findings import JsonOutput
from .errors import QueryError
from .load import load_events
from .query import Query, parse_time
from .source_data import resolve_source
from .provenance import versions
from .views.tables import Table

DEFAULT_WINDOW = pd.Timedelta(days=7)


@dataclass
class LoginInvestigation(JsonOutput):
    source: str
    window: tuple[pd.Timestamp, pd.Timestamp]
    events: pd.DataFrame
    analysis: login.LoginAnalysis
    load_stats: dict

    @property
    def findings(self):
        return self.analysis.findings

    def summary_box(self):
        """The sessions worth a human's time, ranked, in plain words (every value escaped)."""
        from .views.answer import answer_box

        esc = html.escape
        top = [f for f in self.findings if f.severity in ("critical", "high", "medium")][:5]
        items = "".join(f"<li><b>{esc(f.severity)}</b>: {esc(f.title)}</li>" for f in top)
        lo, hi = (t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in self.window)
        body = (f"<ol>{items}</ol>" if items else
                "<p>No sign-in in this window needs a human's attention (nothing above low).</p>")
        notes = "".join(f"<li>{esc(n)}</li>" for n in self.analysis.notes)
        return answer_box(f"{self.signins_in_window()} sign-ins between {lo} and {hi} in {self.source}; "
                          f"{len(top)} worth a look.",
                          body + (f"<p><i>Checks not done:</i></p><ul>{notes}</ul>" if notes else ""))

    def signins_in_window(self) -> int:
        sign = self.analysis.signins
        return int(sign["in_window"].sum()) if "in_window" in sign else len(sign)

    def timeline(self):
        from .views.signins import signin_timeline

        return signin_timeline(self.analysis.signins, self.risky_actions(), title="Sign-ins and what followed")

    def risky_actions(self) -> pd.DataFrame:
        return login.risky_actions(self.events, self.analysis.sessions)

    def sessions_table(self, top: int = 50) -> Table:
        """The sign-in sessions, the most suspicious first."""
        ranked = self.analysis.sessions.sort_values("score", ascending=False, kind="stable")
        return Table(ranked, max_rows=top)

    def findings_table(self) -> Table:
        return Table(pd.DataFrame([{"severity": f.severity, "title": f.title, "MITRE": f.extra.get("mitre"),
                                    "remediation": f.remediation} for f in self.findings]))

    def session_events(self, rank: int = 0) -> Table:
        """Everything the ``rank``-th most suspicious session did, in order (0: the top one)."""
        sessions = self.analysis.sessions
        if sessions.empty or rank >= len(sessions):
            return Table(pd.DataFrame())
        ranked = sessions.sort_values("score", ascending=False, kind="stable")
        s = ranked.iloc[rank]
        rows = login.session_events(self.events, s["principal"], s["start"], s["end"])
        return Table(rows[["eventTime", "eventName", "eventSource", "sourceIPAddress", "errorCode", "userAgent",
                           "eventID"]])

    def to_dict(self) -> dict:
        lo, hi = (t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in self.window)
        return {"investigation": "login", "source": self.source, "window": [lo, hi], "verdict": None,
                "sources": [{"name": "CloudTrail", "status": "consulted" if len(self.events) else "empty",
                             "detail": f"{len(self.events):,} events loaded (window and baseline)"}],
                "findings": [f.to_dict() for f in self.findings],
                "provenance": {"source": self.source, "load_stats": self.load_stats, "versions": versions()}}



def investigate(*, source: str = "demo", start=None, end=None, principal: str | None = None,
                baseline_days: int = 30) -> LoginInvestigation:
    """Load the window and the ``baseline_days`` before it, and analyse every sign-in in the window."""
    if int(baseline_days) < 1:
        raise QueryError(f"baseline_days must be at least 1 (got {baseline_days}): it is the history that defines "
                         "what is normal for each principal.")
    src = resolve_source(source)
    end_t = pd.Timestamp(parse_time(end, end=True)) if end else src.now
    start_t = pd.Timestamp(parse_time(start)) if start else end_t - DEFAULT_WINDOW
    if end_t <= start_t:
        raise QueryError(f"The window ends ({end_t}) before it starts ({start_t}): swap start and end.")
    first = start_t - pd.Timedelta(days=int(baseline_days))
    res = load_events(src.trail, Query(start=first.to_pydatetime(), end=end_t.to_pydatetime()))
    stats = {k: v for k, v in res.stats.to_dict().items() if k not in ("elapsed_s", "files_cached")}
    analysis = login.analyze_logins(res.frame, start=start_t, end=end_t, baseline_days=int(baseline_days),
                                    principal=principal)
    return LoginInvestigation(source, (start_t, end_t), res.frame, analysis, stats)
