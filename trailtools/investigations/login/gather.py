"""The suspicious-login investigation as the notebook runs it: load the window and its baseline from a source, open
the optional GeoIP/ASN databases and guest logs, analyse the sign-ins
(:mod:`trailtools.investigations.login.analysis`), and show the ranked
answer, which checks ran, the timeline and the evidence."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from trailtools.errors import QueryError, TrailtoolsError
from trailtools.events.load import load_events
from trailtools.events.query import Query
from trailtools.evidence.geoip import open_geoip
from trailtools.evidence.guest_logs import guest_log_paths, read_guest_logs
from trailtools.findings.model import JsonOutput, iso_time
from trailtools.findings.tampering import conflicting_duplicate_findings
from trailtools.integrity import coverage
from trailtools.integrity.case import case_info
from trailtools.investigations.base import Needs, Window
from trailtools.investigations.login import analysis as login
from trailtools.investigations.login.attacks import SEQUENCE_COLUMNS
from trailtools.investigations.login.baseline import FEATURE_COLUMNS
from trailtools.investigations.login.credentials import ISSUER_COLUMNS
from trailtools.investigations.login.history import KEYS, TEXT_EVENTS, load_compact
from trailtools.investigations.login.history_athena import load_compact_athena
from trailtools.investigations.login.hours import parse_business_hours
from trailtools.investigations.login.rules import CALL_COLUMNS
from trailtools.investigations.login.sessions import SESSION_COLUMNS
from trailtools.report.provenance import evidence_files, file_digest, relative_path, versions
from trailtools.rules import credential_access
from trailtools.sources.resolve import resolve_source
from trailtools.sources.scan import scannable
from trailtools.templating import render
from trailtools.views.answer import answer_box
from trailtools.views.tables import Table, findings_table

DEFAULT_WINDOW = pd.Timedelta(days=7)
#: How the window and its baseline are read: "duckdb" (the window whole, the baseline compact, computed by DuckDB over
#: a streaming scan of the files: memory grows with principals x features, not with events; sources with files; on
#: ``athena://`` the same compact rows come from Athena, history_athena.py) or "memory" (every event of both loaded
#: whole, as a frame). None: duckdb where the source has files or is athena://.
ENGINES = ("duckdb", "memory")
#: The columns the logging coverage reads (integrity/coverage.py): the hours, and the trail's control calls.
COVERAGE_COLUMNS = ["eventTime", "eventSource", "eventName", "recipientAccountId", "requestParameters", "actor",
                    "userIdentity.arn", "eventID", "errorCode"]
#: What the login investigation reads of the trail: the columns its checks (sign-ins, sessions, credentials, chains,
#: workload credentials, the sequences, the coverage), its views and its report read, and the JSON bodies only of the
#: calls a check reads them on (:data:`~.history.TEXT_EVENTS`). The duckdb engine keeps no more of the rows it keeps
#: whole (the window's are most of its memory); the memory engine loads every column (the events explorer's search
#: then looks in every call's parameters).
NEEDS = Needs(columns=(
    *SESSION_COLUMNS, *CALL_COLUMNS, *SEQUENCE_COLUMNS, *ISSUER_COLUMNS, *credential_access.ISSUE_COLUMNS,
    *credential_access.CALL_COLUMNS, *FEATURE_COLUMNS, *COVERAGE_COLUMNS, *KEYS, "userIdentity.principalId",
    "userIdentity.userName", "userIdentity.accountId", "errorMessage", "eventCategory", "additionalEventData.MFAUsed",
    "_file", "_index"), text_events=TEXT_EVENTS)


@dataclass
class LoginInvestigation(JsonOutput):
    source: str
    window: tuple[pd.Timestamp, pd.Timestamp]
    events: pd.DataFrame
    analysis: login.LoginAnalysis
    load_stats: dict
    inputs: tuple[str, ...] = ()        # the trail files of the findings' evidence, GeoIP/ASN databases, guest logs
    folder: Path | None = None          # the source's folder (paths in the provenance are relative to it)
    coverage: object = None  # trailtools.integrity.coverage.Coverage of the window (None: it could not be computed)
    engine: str = "memory"   # how the events were read (ENGINES): "duckdb" holds the baseline compact in ``events``

    @property
    def findings(self):
        return self.analysis.findings

    def summary_lines(self) -> list[str]:
        """The answer for a terminal: the window, then the findings worth a human's time, most severe first."""
        lo, hi = (iso_time(t) for t in self.window)
        lines = [f"{self.signins_in_window()} sign-ins between {lo} and {hi} in {self.source}"]
        top = [f for f in self.findings if f.severity in ("critical", "high", "medium")]
        lines += [f"  {f.severity}: {f.title}" for f in top] or [
            "  No sign-in in this window needs a human's attention (nothing above low)."]
        if self.coverage is not None:
            lines.append(f"  coverage: {self.coverage.summary()}")
        return lines

    def answer_box(self):
        """The sessions worth a human's time, ranked, in plain words (a template escapes every value)."""

        top = [f for f in self.findings if f.severity in ("critical", "high", "medium")][:5]
        lo, hi = (iso_time(t) for t in self.window)
        return answer_box(
            f"{self.signins_in_window()} sign-ins between {lo} and {hi} in {self.source}; {len(top)} worth a look.",
            render("login_answer.html.j2", findings=top, notes=self.analysis.notes),
        )

    def checks_table(self) -> Table:
        """Which checks ran on this input, and why the others could not."""
        return Table(
            pd.DataFrame(
                [
                    {"check": c.name, "done": "yes" if c.done else "no", "how / why not": c.detail}
                    for c in self.analysis.checks
                ]
            )
        )

    def ssh_in_window(self) -> pd.DataFrame | None:
        """The SSH attempts of the window from the guest logs (None without os_logs)."""
        ssh = self.analysis.ssh
        if ssh is None or ssh.empty:
            return ssh
        lo, hi = self.window
        return ssh[(ssh["time"] >= lo) & (ssh["time"] < hi)]

    def ssh_table(self, top: int = 200) -> Table:
        """The SSH attempts in the window from the guest logs (empty without os_logs)."""
        rows = self.ssh_in_window()
        if rows is None or self.analysis.ssh.empty:
            return Table(pd.DataFrame())
        return Table(
            rows[["time", "host", "result", "user", "source", "method", "invalid_user", "file", "line"]], max_rows=top
        )

    def signins_in_window(self) -> int:
        sign = self.analysis.signins
        return int(sign["in_window"].sum()) if "in_window" in sign else len(sign)

    def timeline(self):
        # the chart modules import Altair (two seconds): only when a chart is drawn, not on every command-line run
        from trailtools.views.coverage import shade_gaps  # noqa: PLC0415
        from trailtools.views.signins import signin_timeline  # noqa: PLC0415

        ssh = self.ssh_in_window()
        chart = signin_timeline(
            self.analysis.signins,
            self.risky_actions(),
            ssh=ssh,
            title="Sign-ins, SSH logins and what followed" if ssh is not None else "Sign-ins and what followed",
        )
        if self.coverage is None:
            return chart

        return shade_gaps(chart, self.coverage, self.window)

    def coverage_chart(self):
        """The window's logging coverage as one bar (gaps in grey), or None when it could not be computed."""
        from trailtools.views.coverage import coverage_chart  # noqa: PLC0415 (Altair, when a chart is drawn)

        return coverage_chart(self.coverage) if self.coverage is not None else None

    def all_findings(self) -> list:
        """The sign-in findings, then the window's anti-forensic ones (logging stopped, trail deleted ...)."""
        extra = [f for f in self.coverage.findings() if f.status == "FAIL"] if self.coverage is not None else []
        return [*self.findings, *extra]

    def risky_actions(self) -> pd.DataFrame:
        """What each session did next that a rule calls risky (``LoginAnalysis.follow_ups``), for the timeline."""
        return self.analysis.follow_ups

    def sessions_table(self, top: int = 50) -> Table:
        """The sign-in sessions, the most suspicious first."""
        ranked = self.analysis.sessions.sort_values("score", ascending=False, kind="stable")
        return Table(ranked, max_rows=top)

    def findings_table(self) -> Table:
        return findings_table(self.findings, mitre=True, evidence=False)

    def credentials_table(self, top: int = 100) -> Table:
        """The credentials that made calls in the window (console sessions, access keys, temporary credentials),
        those with something new first (``new``: "identity", or the dimensions first seen in the window)."""
        creds = self.analysis.credentials
        ranked = creds.assign(_n=creds["new"].map(len)).sort_values(["_n", "calls"], ascending=False, kind="stable")
        return Table(ranked.drop(columns="_n"), max_rows=top)

    def session_events(self, rank: int = 0) -> Table:
        """Everything the ``rank``-th most suspicious session did, in order (0: the top one): the calls made with its
        console credentials and with the credentials it handed out."""
        sessions = self.analysis.sessions
        if sessions.empty or rank >= len(sessions):
            return Table(pd.DataFrame())
        ranked = sessions.sort_values("score", ascending=False, kind="stable")
        s = ranked.iloc[rank]
        rows = login.session_events(self.events, s["principal"], s["start"], s["end"], signin_event=s["signin_event"])
        return Table(
            rows[["eventTime", "eventName", "eventSource", "sourceIPAddress", "errorCode", "userAgent", "eventID"]]
        )

    def to_dict(self) -> dict:
        lo, hi = (iso_time(t) for t in self.window)
        ssh = self.analysis.ssh
        checks = {c.name: c for c in self.analysis.checks}
        geo = [checks[k] for k in ("new country, impossible travel", "new network owner (ASN)") if k in checks]
        return {
            "investigation": "login",
            "source": self.source,
            "window": [lo, hi],
            "verdict": None,
            "sources": [
                {
                    "name": "CloudTrail",
                    "status": "consulted" if len(self.events) else "empty",
                    "detail": f"{self.load_stats.get('events', len(self.events)):,} events loaded (window and "
                              f"baseline; engine {self.engine})",
                },
                {
                    "name": "GeoIP/ASN",
                    "status": "consulted" if any(c.done for c in geo) else "unavailable",
                    "detail": "; ".join(c.detail for c in geo),
                },
                {
                    "name": "Guest OS logs (SSH)",
                    "status": "unavailable" if ssh is None else "consulted" if len(ssh) else "empty",
                    "detail": "none given (os_logs)" if ssh is None else f"{len(ssh):,} sshd attempts",
                },
            ],
            "findings": [f.to_dict() for f in self.all_findings()],
            "provenance": {
                "source": self.source,
                "engine": self.engine,
                "load_stats": self.load_stats,
                "versions": versions(),
                "inputs": [{**file_digest(p), "path": relative_path(p, self.folder)} for p in self.inputs],
                **({"coverage": self.coverage.to_dict()} if self.coverage is not None else {}),
                **({"case": case} if (case := case_info(self.folder)) is not None else {}),
            },
        }


def investigate(
    *,
    source: str = "demo",
    start=None,
    end=None,
    principal: str | None = None,
    baseline_days: int = 30,
    geoip_db: str | None = None,
    asn_db: str | None = None,
    os_logs=None,
    business_hours: str | None = None,
    timezone: str = "UTC",
    profile: str | None = None,
    engine: str | None = None,
) -> LoginInvestigation:
    """Load the window and the ``baseline_days`` before it, and analyse every sign-in in the window.

    ``geoip_db`` / ``asn_db``: optional MaxMind-format .mmdb files; ``os_logs``: optional guest ``secure`` /
    ``auth.log`` files (paths or one comma-separated string) for SSH logins; ``business_hours`` ("08:00-18:00",
    Monday to Friday, or "Mon-Sat 07:30-19:00") in ``timezone`` (an IANA name); ``profile``: the AWS profile for a
    live source (s3://, lookup://, athena://, cwlogs://, lake://); ``engine``: "duckdb" or "memory" (see
    :data:`ENGINES`; default: duckdb for a source with files or athena://). Bad values are one sentence."""
    if int(baseline_days) < 1:
        raise QueryError(
            f"baseline_days must be at least 1 (got {baseline_days}): it is the history that defines "
            "what is normal for each principal."
        )
    if engine not in (None, "", *ENGINES):
        raise QueryError(f"engine must be one of {', '.join(ENGINES)} (got {engine!r}).")
    hours = parse_business_hours(business_hours, timezone)
    paths = guest_log_paths(os_logs)
    geo = open_geoip(geoip_db, asn_db)
    try:
        return _investigate(source, start, end, principal, int(baseline_days), geo, hours, paths, profile,
                            engine or None)
    finally:
        geo.close()


def _investigate(source, start, end, principal, baseline_days, geo, hours, paths, profile,
                 engine) -> LoginInvestigation:
    src = resolve_source(source, profile=profile)
    start_t, end_t = Window.resolve(start, end, now=src.now, length=DEFAULT_WINDOW).as_tuple()
    first = start_t - pd.Timedelta(days=int(baseline_days))
    in_athena = src.trail.startswith("athena://")   # the baseline is compacted by Athena, where the trail is
    files = scannable(src.trail) or in_athena
    engine_note = None
    if engine is None:
        engine = "duckdb" if files else "memory"
    elif engine == "duckdb" and not files:
        engine_note = f"The duckdb engine needs a source with files or athena://; {source} was read in memory."
        engine = "memory"
    if engine == "duckdb":
        loaded = (load_compact_athena(src.trail, start_t, end_t, baseline_days) if in_athena else
                  load_compact(src.trail, start_t, end_t, baseline_days, needs=NEEDS))
        frame, load_stats = loaded.frame, loaded.stats
        # the coverage's hours: the hourly counts of the events compacted, and the rows kept whole (the window,
        # control calls): of the window's other calls only their times and accounts (what the silent-hours rule
        # reads), every coverage column of the control calls
        control = frame["eventName"].astype(object).isin(coverage.CONTROL_EVENTS)
        compacted = np.zeros(len(frame), dtype=bool)
        compacted[loaded.compact_at] = True
        whole = (frame["eventTime"] >= start_t) & ~control & ~compacted
        cov_frame = pd.concat([loaded.hourly, frame.loc[whole, ["eventTime", "recipientAccountId"]],
                               frame.loc[control, COVERAGE_COLUMNS]],
                              ignore_index=True, sort=False)
        where = " (the baseline compacted by Athena)" if in_athena else ""
        in_window = int((frame["eventTime"] >= start_t).sum()) - loaded.window_compact_rows
        services = (f" (and the {loaded.window_compact_events:,} calls AWS services made as themselves, which no "
                    f"check reads one by one, as {loaded.window_compact_rows:,} compact rows)"
                    if loaded.window_compact_rows else "")
        how = (f"Engine duckdb{where}: the window's {in_window:,} events whole{services}, the "
               f"baseline's {loaded.history_events:,} events as {loaded.compact_rows:,} compact rows (one per "
               "principal, credential, address, user agent, region and API) and its sign-ins, credential-issuing "
               "and other calls the checks read whole.")
    else:
        res = load_events(src.trail, Query(start=first.to_pydatetime(), end=end_t.to_pydatetime()))
        frame, load_stats, cov_frame = res.frame, res.stats, res.frame
        how = "Engine memory: every event of the window and its baseline loaded whole."
    # the coverage before the analysis: its frame (a copy of the window's rows, with the duckdb engine) is let go
    # before the analysis holds its own state (10M-event trail, the analysis's peak: 1.27 -> 1.09 GB)
    cov_note = None
    try:  # the window and its baseline (or its hourly counts): enough for the silent-hours rule
        cov = coverage.compute(cov_frame, (start_t, end_t))
    except TrailtoolsError as exc:
        cov = None
        cov_note = f"Logging coverage could not be computed: {exc}"
    del cov_frame
    stats = {k: v for k, v in load_stats.to_dict().items() if k not in ("elapsed_s", "files_cached")}
    ssh, guest_notes = None, []
    if paths:
        guest = read_guest_logs(paths)
        ssh, guest_notes = guest.ssh.copy(), guest.notes
        ssh["file"] = [relative_path(f, src.folder) for f in ssh["file"]]
    analysis = login.analyze_logins(
        frame,
        start=start_t,
        end=end_t,
        baseline_days=baseline_days,
        principal=principal,
        geo=geo,
        hours=hours,
        ssh=ssh,
    )
    analysis.notes.extend(guest_notes)
    analysis.notes.extend(n for n in (engine_note, how) if n)
    analysis.findings[:0] = conflicting_duplicate_findings(load_stats)
    inputs = tuple(p for p in (geo.city_path, geo.asn_path) if p) + tuple(str(p) for p in paths) + \
        evidence_files(frame, analysis.findings)
    if cov_note:
        analysis.notes.append(cov_note)
    return LoginInvestigation(source, (start_t, end_t), frame, analysis, stats, inputs, src.folder, cov, engine)
