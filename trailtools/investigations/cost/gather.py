"""The cost-spike investigation as the notebook runs it: read the cost source (:mod:`trailtools.evidence.cost`) and the
calls that create resources from the trail, analyse them (:mod:`trailtools.investigations.cost.analysis`), and show the
answer,
the charts and the evidence."""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from trailtools.errors import QueryError, TrailtoolsError
from trailtools.events.frame import empty_frame
from trailtools.events.load import load_events
from trailtools.evidence.cost import check_granularity, read_cost
from trailtools.evidence.cost.frame import CostData
from trailtools.findings.model import JsonOutput, iso_time
from trailtools.findings.tampering import conflicting_duplicate_findings
from trailtools.integrity.case import case_info
from trailtools.integrity.coverage import coverage_for
from trailtools.investigations.base import Needs, SourceStatus, Window, source_lines
from trailtools.investigations.cost import analysis as cost_spike
from trailtools.report.provenance import file_digest, relative_path, versions
from trailtools.sources.resolve import resolve_source
from trailtools.templating import render
from trailtools.views import cost as cost_views
from trailtools.views.answer import answer_box
from trailtools.views.cost import cost_by_principal_chart, cost_by_service_chart, creations_chart
from trailtools.views.coverage import coverage_chart, shade_gaps
from trailtools.views.tables import Table, findings_table

DEFAULT_WINDOW = pd.Timedelta(days=30)
#: What the cost investigation reads of the trail: the calls that create billable resources, and of each only the
#: columns its creations table (who, from where, the resource in the request or response) and the notebook's
#: explorer read.
NEEDS = Needs(event_names=tuple(cost_spike.CREATE_CALLS), columns=(
    "awsRegion", "actor", "userIdentity.arn", "userIdentity.principalId", "userIdentity.accessKeyId",
    "sourceIPAddress", "userAgent", "errorCode", "errorMessage", "requestParameters", "responseElements",
    "resources",
))


@dataclass
class CostEvidence:
    """What was gathered: the cost data, the creating calls from the trail, and what each source said."""

    source: str
    cost_source: str
    window: tuple[pd.Timestamp, pd.Timestamp]
    granularity: str
    service: str | None
    cost: CostData
    events: pd.DataFrame
    trail_window: tuple[pd.Timestamp, pd.Timestamp] | None
    load_stats: dict = field(default_factory=dict)
    sources: list[SourceStatus] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    src: object = None   # trailtools.sources.resolve.SourceData of ``source`` (None: no trail given)


def gather(*, source: str = "demo", cost_source: str = "demo", start=None, end=None, granularity: str = "DAILY",
           service: str | None = None, profile: str | None = None, region: str | None = None) -> CostEvidence:
    """The cost of [start, end) from ``cost_source`` and the trail's creating calls in the same window. With the
    default ``cost_source`` and a ``source`` folder holding ``cost/`` (a case folder ``trailtools collect --cost``
    wrote), that folder's cost data is read.

    A live cost source (``ce://``, ``s3://``) uses the standard credential chain with ``profile``; if it cannot be
    read the investigation stops with one sentence (without cost there is nothing to investigate). The trail is
    optional: without it, creators come from the ``aws:createdBy`` tag only, and the sources table says so."""
    granularity = check_granularity(granularity)
    src = resolve_source(source, profile=profile) if source else None
    if cost_source == "demo" and source != "demo" and src is not None and src.folder is not None \
            and (src.folder / "cost").is_dir():
        cost_source = str(src.folder / "cost")  # a case folder (trailtools collect --cost): its own cost data
    now = src.now if src is not None and source == "demo" and cost_source == "demo" else \
        pd.Timestamp.now(tz="UTC").floor("s")
    start_t, end_t = Window.resolve(start, end, now=now.ceil("D"), length=DEFAULT_WINDOW).as_tuple()
    data = read_cost(cost_source, start=start_t, end=end_t, granularity=granularity, service=service,
                     profile=profile, region=region)
    fallback = None
    if not len(data.frame) and not start and not end and data.stats.data_end and not cost_source.startswith("ce://"):
        # a file holds its own period: with no window given, show its last 30 days rather than nothing
        end_t = pd.Timestamp(data.stats.data_end).ceil("D")
        start_t = end_t - DEFAULT_WINDOW
        fallback = (f"The last 30 days before now hold no cost in {cost_source}; shown instead: the last 30 days of "
                    f"the data ({iso_time(start_t)} to {iso_time(end_t)}).")
        data = read_cost(cost_source, start=start_t, end=end_t, granularity=granularity, service=service,
                         profile=profile, region=region)
    if fallback:
        data.notes.append(fallback)
    if granularity == "HOURLY" and data.granularity != "HOURLY":
        raise QueryError(f"granularity HOURLY needs hourly cost data; {cost_source} has {data.granularity} rows "
                         "(a CUR with hourly line items has them).")
    stats = data.stats
    cost_status = SourceStatus(
        f"Cost ({data.kind or 'cost data'})", "consulted" if len(data.frame) else "empty",
        stats.summary() + (f"; the data covers {stats.data_start} to {stats.data_end}" if stats.data_start else "")
        + (f"; skipped: {'; '.join(s['path'].rsplit('/', 1)[-1] + ': ' + s['reason'] for s in stats.skipped[:3])}"
           if stats.skipped else "")
        + ("".join(f"; {n}" for n in data.notes)))
    ev = CostEvidence(source or "", cost_source, (start_t, end_t), granularity if granularity != "MONTHLY" else
                      "DAILY", service, data, empty_frame(), None, sources=[cost_status], src=src)
    ev.inputs.extend(data.inputs)
    if data.anomalies is not None:
        ev.sources.append(SourceStatus("Cost Anomaly Detection", "consulted" if len(data.anomalies) else "empty",
                                       f"{len(data.anomalies)} anomalies"))
    else:
        ev.sources.append(SourceStatus("Cost Anomaly Detection", "unavailable",
                                       f"not in {cost_source} (ce:// asks AWS; a saved `aws ce get-anomalies` "
                                       "response beside the CUR is read too)"))
    if not source:
        ev.sources.append(SourceStatus("CloudTrail", "unavailable", "no trail given (source=): creators come "
                                                                     "from the aws:createdBy tag only"))
        return ev
    try:
        res = load_events(src.trail, NEEDS.query(start=start_t.to_pydatetime(), end=end_t.to_pydatetime()))
    except TrailtoolsError as exc:
        ev.sources.append(SourceStatus("CloudTrail", "unavailable", str(exc)))
        return ev
    ev.events = res.frame
    ev.load_stats = {k: v for k, v in res.stats.to_dict().items() if k not in ("elapsed_s", "files_cached")}
    ev.inputs.extend(sorted(set(map(str, res.frame["_file"]))))
    if len(res.frame):
        ev.trail_window = (max(start_t, res.frame["eventTime"].min().floor("D")), end_t)
    elif res.stats.files_read:
        ev.trail_window = (start_t, end_t)
    ev.sources.append(
        SourceStatus(
            "CloudTrail",
            "consulted" if len(res.frame) else "empty",
            f"{len(res.frame)} resource-creating calls "
            f"({', '.join(sorted(set(map(str, res.frame['eventName'])))) or 'none'})"
            f" among {res.stats.records_seen:,} records in {res.stats.files_read:,} files"
            + (f"; the trail starts {iso_time(ev.trail_window[0])}" if ev.trail_window else ""),
        )
    )
    return ev


@dataclass
class CostInvestigation(JsonOutput):
    evidence: CostEvidence
    analysis: cost_spike.CostAnalysis
    coverage: object = None

    @property
    def findings(self):
        return self.analysis.findings

    # ---- what the notebook shows ----------------------------------------------------------------------------
    def summary_lines(self) -> list[str]:
        """The answer for a terminal: the headline, one line per finding, and the sources."""
        lines = [self.analysis.headline]
        for f in self.findings:
            main_spike = f.check == "cost.spike" and f.extra.get("main")
            lines.append(f"  {f.severity}: spike {f.extra['episode']['start']} to {f.extra['episode']['end']}"
                         if main_spike else f"  {f.severity}: {f.title}")
        return lines + source_lines(self.evidence.sources)

    def answer_box(self):
        """The answer in plain words (a template escapes every value: tags and IDs come from cost files)."""

        a, ev = self.analysis, self.evidence
        lo, hi = (iso_time(t) for t in ev.window)
        rows = [("Window", f"{lo} to {hi} ({ev.granularity.lower()}, {ev.cost_source})")]
        if a.spike is not None:
            s = a.spike
            rows += [
                (
                    "Spike",
                    f"{iso_time(s.start)} to {iso_time(s.end)}; peak {cost_spike.money(s.peak, a.currency)}"
                    f" on {iso_time(s.peak_period)}",
                ),
                ("Above baseline", f"{cost_spike.money(s.excess, a.currency)} in all"),
            ]
            rows.append(("Reading the figures", self._figures_note()))
            top = a.contributions[(a.contributions["dimension"] == "usage_type") & (a.contributions["delta"] > 0)]
            if len(top):
                rows.append(
                    (
                        "Usage types",
                        ", ".join(
                            f"{v} (+{cost_spike.money(d, a.currency)})"
                            for v, d in zip(top["value"][:3], top["delta"][:3])
                        ),
                    )
                )
        return answer_box(a.headline, render("cost_answer.html.j2", rows=rows, notes=a.notes))

    def _figures_note(self) -> str:
        """How the per-period figures of the answer and the findings relate (they are not all the same rise)."""
        a, unit = self.analysis, self._unit()
        s, cur = a.spike, a.currency
        text = (f"per-{unit} figures compare a typical {unit} of the spike (the median) with the median {unit} of "
                f"the {len(s.baseline_periods)} {unit}s before it. The whole bill rose by "
                f"{cost_spike.money(s.typical - s.baseline, cur)}/{unit}")
        top = a.contributions[(a.contributions["dimension"] == "service+region") & (a.contributions["delta"] > 0)]
        if len(top):
            t = top.iloc[0]
            text += (f"; {t['value']} by {cost_spike.money(t['typical'] - t['baseline'], cur)}/{unit}"
                     + (" (more than the whole bill: others fell a little)"
                        if t["typical"] - t["baseline"] > s.typical - s.baseline else ""))
        mean = float(a.total[a.total.index.isin(pd.DatetimeIndex(s.periods))].mean()) if s.periods else s.typical
        return text + (f". Averaged over all {len(s.periods)} {unit}s of the spike, the bill was "
                       f"{cost_spike.money(mean, cur)}/{unit} (less than a typical {unit} when the spike began or "
                       f"ended part-way through one).")

    def daily_chart(self):
        return cost_by_service_chart(
            cost_spike.per_period(self.evidence.cost.frame, self.analysis.granularity, "service"),
            self.analysis.spike,
            unit=cost_spike._unit(self.analysis.granularity),
        )

    def coverage_chart(self):
        """The trail's logging coverage of the window as one bar (gaps in grey): creators of resources launched
        while logging was off cannot be known from the trail. None when it could not be computed."""

        return coverage_chart(self.coverage) if self.coverage is not None else None

    def principal_chart(self):
        return cost_by_principal_chart(
            self.analysis.by_principal, self.analysis.spike, unit=cost_spike._unit(self.analysis.granularity)
        )

    def creations_chart(self):
        chart = creations_chart(
            self.analysis.total,
            self.analysis.creations,
            self.analysis.spike,
            unit=cost_spike._unit(self.analysis.granularity),
            costed=set(self.analysis.resources["resource_id"]),
        )
        if self.coverage is None:
            return chart

        return shade_gaps(chart, self.coverage, self.evidence.window)

    def _unit(self) -> str:
        return cost_spike._unit(self.analysis.granularity)

    def contributions_table(self, top: int = 5) -> Table:
        a = self.analysis
        return cost_views.contributions_table(a.contributions, a.spike, a.currency, unit=self._unit(), top=top)

    def dimension_spikes_table(self, top: int = 30) -> Table:
        """Rises of single services, regions, usage types and accounts against their own baselines."""
        a = self.analysis
        return cost_views.dimension_spikes_table(a.dimension_spikes, a.currency, unit=self._unit(), top=top)

    def resources_table(self, top: int = 50) -> Table:
        """Resources with cost, the biggest movers first, each with its creator or why there is none."""
        a = self.analysis
        return cost_views.resources_table(a.resources, a.spike, a.currency, unit=self._unit(), top=top)

    def principals_table(self) -> Table:
        a = self.analysis
        return cost_views.principals_table(a.principals, a.spike, a.currency, unit=self._unit())

    def creations_table(self) -> Table:
        return cost_views.creations_table(self.analysis.creations)

    def anomalies_table(self) -> Table:
        return cost_views.anomalies_table(self.analysis.anomalies, self.analysis.currency)

    def sources_table(self) -> Table:
        return Table(pd.DataFrame([s.__dict__ for s in self.evidence.sources]).rename(columns={"name": "source"}))

    def findings_table(self) -> Table:
        return findings_table(self.findings, max_refs=6)

    # ---- JSON -------------------------------------------------------------------------------------------
    def provenance(self) -> dict:
        ev = self.evidence
        folder = ev.src.folder if ev.src is not None else None
        cost_folder = (
            (folder if ev.source == "demo" else resolve_source("demo").folder) if ev.cost_source == "demo" else None
        )
        inputs = []
        for p in ev.inputs:
            if p.startswith(("s3://", "ce://")):
                inputs.append({"path": p})
            else:
                inputs.append({**file_digest(p), "path": relative_path(p, cost_folder or folder)})
        cost_stats = ev.cost.stats.to_dict()
        # what was skipped, the trail's and the cost source's, in the one list the report shows
        skipped = list(ev.load_stats.get("skipped", [])) + [
            {**x, "path": relative_path(x["path"], cost_folder) if not x["path"].startswith("s3://") else x["path"]}
            for x in cost_stats.get("skipped", [])
        ]
        out = {
            "source": ev.source,
            "cost_source": ev.cost_source,
            "inputs": inputs,
            "load_stats": {
                **ev.load_stats,
                "cost": {k: v for k, v in cost_stats.items() if k != "skipped"},
                "skipped": skipped,
            },
            "versions": versions(),
        }
        case = case_info(folder)
        if case is not None:
            out["case"] = case
        if self.coverage is not None:
            out["coverage"] = self.coverage.to_dict()
        return out

    def to_dict(self) -> dict:
        ev = self.evidence
        return {
            "investigation": "cost",
            "source": ev.source,
            "cost_source": ev.cost_source,
            "window": [iso_time(ev.window[0]), iso_time(ev.window[1])],
            "verdict": None,
            "analysis": self.analysis.to_dict(),
            "sources": [s.__dict__ for s in ev.sources],
            "findings": [f.to_dict() for f in self.all_findings()],
            "provenance": self.provenance(),
        }

    def all_findings(self) -> list:
        """The cost findings, then the window's anti-forensic ones (logging stopped, trail deleted ...)."""
        extra = [f for f in self.coverage.findings() if f.status == "FAIL"] if self.coverage is not None else []
        return [*self.findings, *extra]


def investigate(
    *,
    source: str = "demo",
    cost_source: str = "demo",
    start=None,
    end=None,
    granularity: str = "DAILY",
    service: str | None = None,
    profile: str | None = None,
    region: str | None = None,
) -> CostInvestigation:
    """Gather (:func:`gather`), analyse, and return what the notebook shows."""
    ev = gather(
        source=source,
        cost_source=cost_source,
        start=start,
        end=end,
        granularity=granularity,
        service=service,
        profile=profile,
        region=region,
    )
    analysis = cost_spike.analyze(
        ev.cost.frame,
        ev.events,
        granularity=ev.granularity,
        start=ev.window[0],
        end=ev.window[1],
        resource_frame=ev.cost.resources,
        anomalies=ev.cost.anomalies,
        trail_window=ev.trail_window,
    )
    analysis.notes[:0] = ev.cost.notes
    analysis.findings[:0] = conflicting_duplicate_findings(ev.load_stats, ev.source)
    if ev.cost.stats.data_start and not len(ev.cost.frame):
        analysis.headline = (
            f"No cost in this window ({iso_time(ev.window[0])} to {iso_time(ev.window[1])}): "
            f"the cost data covers {ev.cost.stats.data_start} to {ev.cost.stats.data_end}; set "
            "start and end."
        )
    return CostInvestigation(ev, analysis, _coverage(ev, analysis.notes))


def _coverage(ev: CostEvidence, notes: list):
    """The trail's coverage of the cost window, or None (no trail given, or it could not be read: said in notes)."""

    if not ev.source:
        return None
    try:
        return coverage_for(ev.src.trail, ev.window[0], ev.window[1])
    except TrailtoolsError as exc:
        notes.append(f"Logging coverage could not be computed: {exc}")
        return None
