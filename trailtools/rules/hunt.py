"""``trailtools hunt``: every rule (or those named) over a window of a source, loading only the events the rules read;
the findings most severe first, each naming the eventIDs of its evidence. ``--json FILE`` writes them as a findings
document (docs/findings-schema.md, investigation ``hunt``)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from trailtools.events.load import load_events
from trailtools.events.query import Query
from trailtools.evidence import aws_ranges
from trailtools.findings import schema
from trailtools.findings.model import Finding, JsonOutput, iso_time
from trailtools.findings.tampering import conflicting_duplicate_findings
from trailtools.rules import registry
from trailtools.rules.model import Rule

#: eventIDs shown per finding on the terminal (the JSON has them all).
SHOWN_IDS = 5


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

    def window_text(self) -> str:
        if not self.start and not self.end:
            return "all the events the source holds"
        return f"{self.start or 'the beginning'} to {self.end or 'the end'}"

    def summary_lines(self) -> list[str]:
        """The findings for a terminal: most severe first, each with its rule and eventIDs."""
        lines = [f"{len(self.findings)} finding{'s' if len(self.findings) != 1 else ''} from {len(self.rules)} rules "
                 f"over {self.events:,} events read by them ({self.window_text()}) in {self.source}"]
        for f in self.findings:
            ids = [e.ref for e in f.evidence]
            total = int(f.extra.get("events", len(ids))) if f.extra else len(ids)
            more = f" (+{total - SHOWN_IDS} more)" if total > SHOWN_IDS else ""
            lines += [f"  {f.severity}: {f.title}",
                      f"      {f.check} at {f.evidence[0].time if f.evidence else '?'}; eventIDs: "
                      f"{', '.join(ids[:SHOWN_IDS])}{more}"]
        if not self.findings:
            lines.append("  No rule fired in this window.")
        return lines

    def to_dict(self) -> dict:
        return schema.build_document(
            "hunt", {"source": self.source, "start": self.start, "end": self.end,
                     "rules": [r.id for r in self.rules], "aws_ip_ranges": self.aws_ranges or None},
            verdict=None, findings=[f.to_dict() for f in self.findings], sources=[], load_stats=self.load_stats,
            generated_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))


def hunt(source: str = "demo", start: str | None = None, end: str | None = None, rules: str | list | None = None,
         *, cache: bool = True, aws_ip_ranges: str | None = None) -> HuntResult:
    """Run the rules named (comma-separated ids or families; all by default) over [start, end) of ``source``.
    ``aws_ip_ranges``: AWS's ``ip-ranges.json`` for the rules that tell AWS addresses from others (default: the
    bundled snapshot, :mod:`trailtools.evidence.aws_ranges`)."""
    ranges = aws_ranges.ranges(aws_ip_ranges)           # a bad file is one sentence before anything is loaded
    chosen = registry.with_aws_ranges(registry.select(rules), aws_ip_ranges)
    query = Query(start=start, end=end, event_names=registry.pushed_down(chosen))
    res = load_events(source, query, cache=cache)
    findings = registry.run(res.frame, chosen)
    findings[:0] = conflicting_duplicate_findings(res.stats, source)
    stats = res.stats.to_dict()
    return HuntResult(source, iso_time(query.start) if query.start else None,
                      iso_time(query.end) if query.end else None, chosen, findings, len(res.frame), stats,
                      res.stats.summary(),
                      ranges.describe() if any("aws_ip_ranges" in r.parameters for r in chosen) else "")
