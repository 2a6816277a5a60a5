"""``trailtools hunt``: every rule (or those named), and the user's Sigma rules, over a window of a source, loading
only the events the rules read; the findings most severe first, each naming the eventIDs of its evidence, then
grouped by credential and by attack chain (:mod:`trailtools.rules.chains`). ``--json FILE`` writes them as a
findings document (docs/findings-schema.md, investigation ``hunt``, with the groups); ``notebooks/hunt.ipynb`` and
``trailtools report hunt`` show the same (:func:`investigate`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pandas as pd

from trailtools.events.load import load_events
from trailtools.evidence import aws_ranges
from trailtools.findings import schema
from trailtools.findings.model import SEVERITIES, Finding, JsonOutput, iso_time
from trailtools.findings.tampering import conflicting_duplicate_findings
from trailtools.investigations.base import Needs
from trailtools.report.provenance import evidence_files, file_digest, relative_path, versions
from trailtools.rules import chains, registry, sigma
from trailtools.rules.model import Rule
from trailtools.templating import render
from trailtools.views.answer import answer_box
from trailtools.views.explorer import time_bins
from trailtools.views.hunt import findings_timeline
from trailtools.views.tables import Table

#: What the hunt reads of the trail: the eventNames its rules read (:func:`trailtools.rules.registry.pushed_down`,
#: with the STS calls that link attack chains; every event when a rule reads them all), and of each event only the
#: columns the rules, the chains, the timeline and the report read (every column with Sigma rules, which can read
#: any field). tests/test_hunt_projection.py checks that the findings are the same with every column.
NEEDS = Needs(columns=(
    "awsRegion", "recipientAccountId", "actor", "userIdentity.type", "userIdentity.arn", "userIdentity.userName",
    "userIdentity.principalId", "userIdentity.accountId", "userIdentity.accessKeyId", "userIdentity.invokedBy",
    "userIdentity.sessionContext.sessionIssuer.userName", "sourceIPAddress", "userAgent", "errorCode",
    "errorMessage", "sessionCredentialFromConsole", "requestParameters", "responseElements", "resources",
    "additionalEventData.MFAUsed", "responseElements.ConsoleLogin", "instanceIds",
))

#: eventIDs shown per finding and per group on the terminal (the JSON has them all).
SHOWN_IDS = 5
#: Groups listed on the terminal (the JSON has them all).
SHOWN_GROUPS = 10


@dataclass
class HuntResult(JsonOutput):
    source: str
    start: str | None
    end: str | None
    rules: list[Rule]
    findings: list[Finding]
    events: int                      # events loaded (only those the rules read)
    load_stats: dict = field(default_factory=dict)
    load_summary: str = ""           # the load's one line (files read, pruned, skipped ...)
    aws_ranges: str = ""             # which AWS IP ranges the rules judged addresses with, and their date
    credentials: list[chains.Group] = field(default_factory=list)   # the findings by credential, ranked
    chains: list[chains.Group] = field(default_factory=list)        # the findings by attack chain, ranked
    sigma: sigma.SigmaResult | None = None                           # the Sigma rules run and rejected (--sigma)
    frame: pd.DataFrame | None = field(default=None, repr=False)     # the events read (for the timeline)

    def window_text(self) -> str:
        if not self.start and not self.end:
            return "all the events the source holds"
        return f"{self.start or 'the beginning'} to {self.end or 'the end'}"

    def headline(self) -> str:
        n_sigma = f" and {len(self.sigma.rules)} Sigma rules" if self.sigma is not None else ""
        return (f"{len(self.findings)} finding{'s' if len(self.findings) != 1 else ''} from {len(self.rules)} rules"
                f"{n_sigma} over {self.events:,} events read by them ({self.window_text()}) in {self.source}")

    def summary_lines(self) -> list[str]:
        """The findings for a terminal: most severe first, each with its rule and eventIDs; then the attack chains,
        each with its credentials, the calls that link them and its findings by credential."""
        lines = [self.headline()]
        for f in self.findings:
            ids = [e.ref for e in f.evidence]
            total = int(f.extra.get("events", len(ids))) if f.extra else len(ids)
            more = f" (+{total - SHOWN_IDS} more)" if total > SHOWN_IDS else ""
            lines += [f"  {f.severity}: {f.title}",
                      f"      {f.check} at {f.evidence[0].time if f.evidence else '?'}; eventIDs: "
                      f"{', '.join(ids[:SHOWN_IDS])}{more}"]
        if not self.findings:
            lines.append("  No rule fired in this window.")
        if self.chains:
            lines.append(f"By attack chain ({len(self.chains)}; credentials issued by AssumeRole/GetSessionToken "
                         "belong to the chain of the credential that asked for them):")
        for g in self.chains[:SHOWN_GROUPS]:
            lines += _group_lines(g, [c for c in self.credentials if c.name in g.credentials])
        if len(self.chains) > SHOWN_GROUPS:
            lines.append(f"  ... {len(self.chains) - SHOWN_GROUPS} more chains (--json FILE lists them all)")
        if self.sigma is not None:
            lines += [f"Sigma rule not run: {r.file}{': ' + r.title if r.title else ''}: {r.reason}"
                      for r in self.sigma.rejected]
        return lines

    def all_findings(self) -> list[Finding]:
        return list(self.findings)

    def to_dict(self) -> dict:
        doc = schema.build_document(
            "hunt", {"source": self.source, "start": self.start, "end": self.end,
                     "rules": [r.id for r in self.rules], "aws_ip_ranges": self.aws_ranges or None,
                     **({"sigma": [r.check for r in self.sigma.rules]} if self.sigma is not None else {})},
            verdict=None, findings=[f.to_dict() for f in self.findings], sources=self.sources(),
            load_stats=self.load_stats, generated_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
        doc["groups"] = {"credentials": [g.to_dict() for g in self.credentials],
                         "chains": [g.to_dict() for g in self.chains]}
        if self.sigma is not None:
            doc["sigma"] = {"rules": [r.to_dict() for r in self.sigma.rules],
                            "rejected": [r.to_dict() for r in self.sigma.rejected]}
        doc["provenance"] = {"source": self.source, "load_stats": self.load_stats, "versions": versions(),
                             # the findings' evidence files, with their SHA-256 (an s3:// copy as its object)
                             "inputs": [{**file_digest(p), "path": relative_path(p, None)}
                                        for p in evidence_files(self.frame, self.findings)]}
        return doc

    def sources(self) -> list[dict]:
        out = [{"name": "CloudTrail", "status": "consulted" if self.events else "empty",
                "detail": f"{self.events:,} events read by the rules ({self.window_text()})"}]
        if self.sigma is not None:
            out.append({"name": "Sigma rules", "status": "consulted" if self.sigma.rules else "empty",
                        "detail": f"{len(self.sigma.rules)} run, {len(self.sigma.rejected)} could not be run"})
        return out

    # ---- for the notebook and the report ----

    def answer_box(self):
        """The most severe chains, in plain words (a template escapes every value)."""
        top = [f for f in self.findings if f.severity in ("critical", "high", "medium")]
        return answer_box(f"{self.headline()}; {len(top)} worth a look, in {len(self.chains)} attack "
                          f"chain{'s' if len(self.chains) != 1 else ''}.",
                          render("hunt_answer.html.j2", chains=self.chains[:5]))

    def findings_table(self) -> Table:
        """One row per finding, most severe first: its rule, MITRE ATT&CK, credential, chain and eventIDs."""
        rows = [{"severity": f.severity, "check": f.check, "title": f.title,
                 "MITRE": " ".join(x for x in (f.extra.get("tactic"), f.extra.get("technique")) if x),
                 "credential": chains.credential_of(f) or "", "chain": f.extra.get("chain", ""),
                 "time": f.evidence[0].time if f.evidence else "",
                 "eventIDs": ", ".join(e.ref for e in f.evidence[:SHOWN_IDS])
                 + (f" (+{len(f.evidence) - SHOWN_IDS} more)" if len(f.evidence) > SHOWN_IDS else ""),
                 "what to check next": f.remediation} for f in self.findings]
        return Table(pd.DataFrame(rows, columns=None if rows else ["severity", "check", "title"]))

    def groups_table(self, kind: str = "chain") -> Table:
        """The attack chains (``kind`` "chain") or the credentials ("credential"), ranked."""
        groups = self.chains if kind == "chain" else self.credentials
        rows = [{kind: g.name, "severity": g.severity, "findings": len(g.findings),
                 "checks": ", ".join(dict.fromkeys(f.check for f in g.findings)),
                 "credentials": " -> ".join(g.credentials), "actors": ", ".join(g.actors),
                 "linked by": ", ".join(f"{k.event_name} {k.event_id}" for k in g.links),
                 "first": g.first, "last": g.last, "eventIDs": ", ".join(g.event_ids()[:20])} for g in groups]
        frame = pd.DataFrame(rows)
        if kind != "chain" and len(frame):   # one credential, no link: its name says it all
            frame = frame.drop(columns=["credentials", "linked by"])
        return Table(frame)

    def sigma_table(self) -> Table:
        """The Sigma rules run and those that could not be, with the reason (empty without ``sigma``)."""
        if self.sigma is None:
            return Table(pd.DataFrame())
        ran = [{"file": r.file, "rule": r.title, "ran": "yes", "hits": sum(
            int(f.extra.get("events", 0)) for f in self.findings if f.check == r.check), "why not": ""}
            for r in self.sigma.rules]
        not_run = [{"file": r.file, "rule": r.title, "ran": "no", "hits": 0, "why not": r.reason}
                   for r in self.sigma.rejected]
        return Table(pd.DataFrame(ran + not_run))

    def timeline(self):
        """The findings' events over time, one lane per attack chain, coloured by severity, over the number of
        events read per time bin."""
        volume = time_bins(self.frame) if self.frame is not None and len(self.frame) else None
        return findings_timeline(self.findings, self.chains, volume)


def _group_lines(chain: chains.Group, by_credential: list[chains.Group]) -> list[str]:
    ids = chain.event_ids()
    more = f" (+{len(ids) - SHOWN_IDS} more)" if len(ids) > SHOWN_IDS else ""
    lines = [f"  {chain.name}: {chain.severity}, {len(chain.findings)} finding{'s' if len(chain.findings) > 1 else ''}"
             f", {chain.first} to {chain.last}; credentials {' -> '.join(chain.credentials)}"]
    lines += [f"      {k.parent} -> {k.child} by {k.event_name} {k.event_id} at {k.time}" for k in chain.links]
    for g in by_credential:
        checks = ", ".join(f"{f.severity} {f.check}" for f in g.findings)
        lines.append(f"      credential {g.name} ({', '.join(g.actors)}): {checks}")
    lines.append(f"      eventIDs: {', '.join(ids[:SHOWN_IDS])}{more}")
    return lines


def hunt(source: str = "demo", start: str | None = None, end: str | None = None, rules: str | list | None = None,
         sigma_rules: str | None = None, *, cache: bool = True, aws_ip_ranges: str | None = None) -> HuntResult:
    """Run the rules named (comma-separated ids or families; all by default) and the Sigma rules of
    ``sigma_rules`` (a file or folder; none by default) over [start, end) of ``source``. ``aws_ip_ranges``: AWS's
    ``ip-ranges.json`` for the rules that tell AWS addresses from others (default: the bundled snapshot,
    :mod:`trailtools.evidence.aws_ranges`).

    When every rule chosen reads only some calls, only those, and the STS calls that issue credentials (which link
    the attack chains), are loaded; a rule that reads every call (stolen workload credentials) or a Sigma rule
    (which can read any event) loads the whole window."""
    ranges = aws_ranges.ranges(aws_ip_ranges)           # a bad file is one sentence before anything is loaded
    chosen = registry.with_aws_ranges(registry.select(rules), aws_ip_ranges)
    if sigma_rules:
        sigma.rule_files(sigma_rules)          # a missing path is one sentence before anything is loaded
    pushed = registry.pushed_down(chosen)
    names = sorted({*pushed, *chains.ISSUERS}) if pushed and not sigma_rules else None
    # a Sigma rule can read any field: every column then
    needs = Needs(event_names=names or (), columns=() if sigma_rules else NEEDS.columns)
    query = needs.query(start=start, end=end)
    res = load_events(source, query, cache=cache)
    frame = res.frame
    findings = registry.run(frame, chosen)
    found_sigma = None
    if sigma_rules:
        found_sigma = sigma.hunt_sigma(frame, sigma_rules)
        findings += found_sigma.findings
    findings.sort(key=lambda f: (SEVERITIES.index(f.severity), f.evidence[0].time or "" if f.evidence else "",
                                 f.check))
    findings[:0] = conflicting_duplicate_findings(res.stats, source)
    links = chains.issued(frame, {c for f in findings if (c := chains.credential_of(f)) is not None})
    by_chain = chains.by_chain(findings, links)
    chains.label_findings(by_chain)
    read = int(frame["eventName"].isin(registry.event_names(chosen)).sum()) if names else len(frame)
    return HuntResult(source, iso_time(query.start) if query.start else None,
                      iso_time(query.end) if query.end else None, chosen, findings, read, res.stats.to_dict(),
                      res.stats.summary(),
                      aws_ranges=ranges.describe() if any("aws_ip_ranges" in r.parameters for r in chosen) else "",
                      credentials=chains.by_credential(findings), chains=by_chain, sigma=found_sigma, frame=frame)


def investigate(*, source: str = "demo", start: str | None = None, end: str | None = None, rules: str | None = None,
                sigma: str | None = None) -> HuntResult:
    """What ``notebooks/hunt.ipynb`` and ``trailtools report hunt`` run: :func:`hunt` with the notebook's
    parameters."""
    return hunt(source, start, end, rules, sigma)
