"""The reboot investigation as the notebook runs it: gather the evidence about one instance from a source,
analyse it (:mod:`trailtools.investigations.reboot.analysis`), and show it (verdict box, timeline, tables, findings
JSON)."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from trailtools import aws
from trailtools.aws.errors import AwsDataUnavailable, unavailable
from trailtools.errors import QueryError, TrailtoolsError
from trailtools.events.load import load_events
from trailtools.events.safe_open import files_under
from trailtools.evidence import cloudwatch, ec2, eventbridge, health
from trailtools.evidence.ec2 import INSTANCE_ID
from trailtools.evidence.guest_logs import guest_log_paths, read_guest_logs
from trailtools.evidence.saved import newer_copy_notes, newest_saved
from trailtools.findings.model import Finding, JsonOutput, iso_time
from trailtools.findings.tampering import conflicting_duplicate_findings
from trailtools.integrity.case import case_info
from trailtools.integrity.coverage import coverage_for
from trailtools.integrity.verify import verify
from trailtools.investigations.base import Needs, SourceStatus, Window, source_lines
from trailtools.investigations.reboot import analysis as reboot
from trailtools.investigations.reboot import evidence_table as rows
from trailtools.investigations.reboot import remote, schedules, search, verdict_findings
from trailtools.report.provenance import file_digest, relative_path, versions
from trailtools.sources.resolve import SourceData, resolve_source
from trailtools.templating import render
from trailtools.views.answer import answer_box
from trailtools.views.tables import Table, findings_table

#: What the reboot investigation reads of the trail (docs/reboot.md): every call touching the instance (its
#: query's resource), and of each only the columns its analysis, evidence rows, timeline, findings and the explorer
#: of its notebook read.
NEEDS = Needs(columns=(
    "awsRegion", "actor", "userIdentity.type", "userIdentity.arn", "userIdentity.accessKeyId",
    "userIdentity.invokedBy", "userIdentity.sessionContext.sessionIssuer.userName", "sourceIPAddress", "userAgent",
    "errorCode", "errorMessage", "sessionCredentialFromConsole", "requestParameters", "responseElements", "resources",
    "serviceEventDetails", "instanceIds",
))
#: Searched for restarts when no start is given, step by step back from ``end`` (default the source's "now"; see
#: search.py); the window shown is then centred on the last restart found, or is the last 7 days when there is none.
STEPS = search.STEPS
DEFAULT_WINDOW = pd.Timedelta(days=7)
BEFORE_RESTART = pd.Timedelta(days=1)
AFTER_RESTART = pd.Timedelta(hours=2)


def check_instance(instance) -> str:
    text = str(instance or "").strip()
    if not INSTANCE_ID.match(text):  # the same rule as the EC2 readers
        raise QueryError(
            f"{instance!r} is not an EC2 instance ID: give one like i-0123456789abcdef0 "
            "(i- followed by 8 or 17 lowercase hex digits)."
        )
    return text


def _empty_or(frame: pd.DataFrame | None) -> pd.DataFrame:
    return frame if frame is not None else pd.DataFrame()


_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")


def _about(rel: Path, instance: str, regions: set[str]) -> bool:
    """Whether a saved response (its path under the source folder, e.g. ``ec2/us-east-1/get-console-output/i-0ab.json``)
    is about ``instance``: it names no other instance, and its region folder (if any) is one the instance is in
    (all regions while that is unknown)."""
    parts = [*rel.parts[:-1], rel.stem.split(".")[0]]
    if any(INSTANCE_ID.match(p) and p != instance for p in parts):
        return False
    in_region = [p for p in parts if _REGION.match(p)]
    return not (regions and in_region and in_region[0] not in regions)


def gather(
    instance: str,
    *,
    source: str = "demo",
    start=None,
    end=None,
    region: str | None = None,
    profile: str | None = None,
    os_logs=None,
    src: SourceData | None = None,
) -> reboot.InstanceEvidence:
    """Everything the source holds about one instance, with the status of each kind of evidence.

    AWS Health, EC2 and CloudWatch come from saved responses beside the trail when there are some (the demo's
    layout), else from AWS itself when ``profile`` is given (the standard credential chain with that profile;
    ``region`` is the instance's); otherwise they are listed as unavailable, with what to do. ``src``: the source
    already resolved (:func:`investigate` resolves it once for every read).
    """
    instance = check_instance(instance)
    src = src or resolve_source(source, profile=profile)
    start_t, end_t = Window.resolve(start, end, now=src.now, length=STEPS[-1]).as_tuple()
    ev = reboot.InstanceEvidence(instance, (start_t, end_t), source=source)
    base = NEEDS.query(resource=instance, regions=[region] if region else ())
    # what is read whatever the window (saved responses, guest logs; AWS is asked only with a profile and no saved
    # responses): before the trail when no start is given, so that the search below sees it too
    saved_only = not profile or all(src.folder is not None and (src.folder / sub).is_dir() for sub in SAVED)
    other = None
    if not start and saved_only:
        other = _other_evidence(ev, src, instance, source=source, region=region, profile=profile, os_logs=os_logs)
    if start:
        res = load_events(src.trail, base.replace(start=start_t.to_pydatetime(), end=end_t.to_pydatetime()))
        calls, stats = res.frame, res.stats
    else:  # the last day, then the last week ... until a restart is found (search.py)
        def found(frame, lo):  # the evidence read so far, clipped to the range read, as the window is below
            seen = dataclasses.replace(ev, calls=frame, window=(lo, end_t))
            _clip(seen)
            return _last_restart(seen, instance, lo, end_t)

        calls, stats, ev.search = search.widen(src.trail, base, end_t, found)
        start_t = ev.search.start
        ev.window = (start_t, end_t)
    ev.calls = calls
    ev.load_stats = stats.to_dict()
    trail_inputs = sorted(set(map(str, calls["_file"])))
    ev.sources.insert(0, SourceStatus(
        "CloudTrail",
        "consulted" if len(calls) else "empty",
        f"{len(calls)} events touching {instance}, among {stats.records_seen:,} records in "
        f"{stats.files_read:,} files read ({stats.files_pruned:,} pruned by the time window)"
        + (f"; {ev.search.note()}" if ev.search is not None else ""),
    ))

    if schedules.needs_setups(reboot.records(ev.calls)):  # Systems Manager acted on its own: who set it up?
        setups = load_events(src.trail, NEEDS.query(start=(start_t - schedules.LOOKBACK).to_pydatetime(),
                                                    end=end_t.to_pydatetime(), event_names=schedules.SETUP_CALLS,
                                                    regions=[region] if region else ()))
        ev.ssm_setups = setups.frame
        trail_inputs.extend(sorted(set(map(str, setups.frame["_file"])) - set(trail_inputs)))
    ev.inputs[:0] = trail_inputs

    if other is None:  # AWS asked for the window read
        other = _other_evidence(ev, src, instance, source=source, region=region, profile=profile, os_logs=os_logs,
                                start_t=start_t, end_t=end_t)
    # the saved responses read, as inputs: only those about this instance (not another instance's console output,
    # not the responses of regions it is not in)
    saved_inputs, regions = other
    if not region:
        regions |= set(map(str, calls.get("awsRegion", ())))
    at = ev.inputs.index(SAVED_MARK)
    ev.inputs[at:at + 1] = [str(p) for p in saved_inputs if _about(p.relative_to(src.folder), instance, regions)]
    _clip(ev)
    # no start given: centre the window on the last restart found, or show the last 7 days
    if not start:
        last = _last_restart(ev, instance, start_t, end_t)
        if last is not None:
            last = last.floor("s")
            ev.window = (max(start_t, last - BEFORE_RESTART), min(end_t, last + AFTER_RESTART))
        else:
            ev.window = (max(start_t, end_t - DEFAULT_WINDOW), end_t)
        _clip(ev)
    return ev


#: The saved responses' folders beside a trail (the demo's layout).
SAVED = ("health", "ec2", "cloudwatch")
#: Where the saved responses go among the inputs, once the regions the instance is in are known.
SAVED_MARK = "\0saved"


def _last_restart(ev: reboot.InstanceEvidence, instance: str, lo, hi) -> pd.Timestamp | None:
    """The last restart the evidence shows in [lo, hi], as today's ways find one: :func:`reboot.restart_times`, else
    a Systems Manager command that can restart (the trail alone)."""
    restarts = [t for t in reboot.restart_times(ev) if lo <= t <= hi] or [
        r.time for r in remote.ssm_requests(reboot.records(ev.calls), instance)
        if remote.may_restart(r) and lo <= r.time <= hi]
    return restarts[-1] if restarts else None


def _other_evidence(ev: reboot.InstanceEvidence, src: SourceData, instance: str, *, source: str, region, profile,
                    os_logs, start_t=None, end_t=None) -> tuple[list[Path], set[str]]:
    """AWS Health, EC2, CloudWatch (saved beside the trail, else asked of AWS for [start_t, end_t] with a profile),
    the console output, EventBridge's Spot notices and the guest logs, into ``ev``. Returns the saved responses read
    and the regions the instance is in as far as they tell (the inputs are chosen once the trail is read too)."""
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415 (heavy, loaded on use)

    consoles, described, regions = [], [], {region} if region else set()

    def ec2_events(data):  # the scheduled events; the console output and describe-instances are kept aside
        consoles.append(data.console)
        described.append(data.instances)
        if data.region:
            regions.add(data.region)
        return data.events

    saved = (
        ("AWS Health", "health", lambda f: health.read_health(f).events_for(instance)),
        ("EC2 scheduled events", "ec2", lambda f: ec2_events(ec2.read_ec2(f, instance))),
        ("Status checks (CloudWatch)", "cloudwatch", lambda f: cloudwatch.read_cloudwatch(f, instance).failures),
    )
    live = {
        "health": lambda: health.get_health(
            aws.client("health", profile=profile), entity_values=[instance], start=start_t, end=end_t
        ).events_for(instance),
        "ec2": lambda: ec2_events(ec2.get_ec2(aws.client("ec2", region=region, profile=profile), instance)),
        "cloudwatch": lambda: (
            cloudwatch.get_status_checks(
                aws.client("cloudwatch", region=region, profile=profile), instance, start_t, end_t
            ).failures
        ),
    }
    frames, saved_inputs = {}, []
    for name, sub, read in saved:
        frames[sub] = pd.DataFrame()
        has_saved = src.folder is not None and (src.folder / sub).is_dir()
        if not has_saved and not profile:
            ev.sources.append(
                SourceStatus(
                    name,
                    "unavailable",
                    f"not in {source}: give profile= (and region=) to ask AWS directly, or save "
                    f"the `aws ... --output json` responses in a {sub}/ folder beside the trail",
                )
            )
            continue
        try:
            if has_saved:
                frames[sub] = _empty_or(read(src.folder))
                saved_inputs.extend(sorted(newest_saved(p) for p in (src.folder / sub).rglob("*.json")))
            else:
                frames[sub] = _empty_or(live[sub]())
        except AwsDataUnavailable as exc:
            ev.sources.append(SourceStatus(name, "unavailable", str(exc)))
            continue
        except (BotoCoreError, ClientError) as exc:
            ev.sources.append(SourceStatus(name, "unavailable", str(unavailable(exc, sub, "client"))))
            continue
        origin = "; ".join(["saved responses", *newer_copy_notes(src.folder, sub)]) if has_saved \
            else f"AWS, profile {profile}"
        ev.sources.append(
            SourceStatus(
                name,
                "consulted" if len(frames[sub]) else "empty",
                f"{len(frames[sub])} rows about {instance} ({origin})",
            )
        )
    ev.inputs.append(SAVED_MARK)
    ev.health, ev.scheduled, ev.status_failures = frames["health"], frames["ec2"], frames["cloudwatch"]
    ev.instance_facts = next((d for d in described if d is not None and len(d)), pd.DataFrame())
    console = next((c for c in consoles if c is not None), None)
    console_rows = _console_evidence(console)
    ev.sources.append(
        SourceStatus(
            "EC2 console output",
            "consulted" if console_rows else "empty" if consoles else "unavailable",
            f"captured {console.timestamp}: {len(console.text.splitlines())} lines"
            if console is not None
            else "none saved or returned"
            if consoles
            else "comes with the EC2 data",
        )
    )

    if src.folder is not None and (src.folder / "eventbridge").is_dir():  # EC2's Spot notices, when archived
        ev.spot_notices = eventbridge.read_notices(src.folder, instance)
        ev.inputs.extend(sorted(set(ev.spot_notices["file"])))
        ev.sources.append(SourceStatus("EC2 Spot notices (EventBridge)",
                                       "consulted" if len(ev.spot_notices) else "empty",
                                       f"{len(ev.spot_notices)} rebalance recommendations or interruption warnings "
                                       f"about {instance}"))

    paths = guest_log_paths(os_logs)
    given = bool(paths)
    if not paths and src.folder is not None and (src.folder / "oslogs" / instance).is_dir():
        paths = files_under(src.folder / "oslogs" / instance)  # a FIFO or device there is skipped with its kind
    if paths:
        ev.inputs.extend(str(p) for p in paths)
        guest = read_guest_logs(paths)
        ev.guest_events, ev.guest_boots, ev.guest_ssh = guest.events.copy(), guest.boots.copy(), guest.ssh.copy()
        for frame in (ev.guest_events, ev.guest_boots, ev.guest_ssh):  # refs "oslogs/i-.../messages:12"
            if "file" in frame:
                frame["file"] = [relative_path(f, src.folder) for f in frame["file"]]
        origin = "given" if given else f"from {source}"
        ev.sources.append(
            SourceStatus(
                "Guest OS logs",
                "consulted" if len(guest.events) else "empty",
                f"{len(paths)} files {origin}; {len(guest.boots)} boots found"
                + (f"; {' '.join(guest.notes)}" if guest.notes else ""),
            )
        )
    else:
        ev.sources.append(
            SourceStatus(
                "Guest OS logs",
                "unavailable",
                "none given: pass os_logs= with /var/log/messages, secure or a "
                "journalctl -o json export to see inside the guest",
            )
        )

    if console_rows:
        ev.guest_events = pd.concat([ev.guest_events, pd.DataFrame(console_rows)], ignore_index=True)
    return saved_inputs, regions


#: Console-output lines worth showing: the kernel starting, and the guest saying it reboots or halts.
_CONSOLE_MARKS = re.compile(
    r"Linux version|reboot: (Restarting|Power down)|Reached target (Reboot|Shutdown)|"
    r"Kernel panic|cloud-init.*(finished|running)",
    re.I,
)


def _console_evidence(console) -> list[dict]:
    """The console output as evidence: the lines that mark a boot or a shutdown, at the capture time (the console
    keeps no clock of its own)."""
    if console is None or not console.text or console.timestamp is None:
        return []
    marks = [(n, line.strip()) for n, line in enumerate(console.text.splitlines(), 1) if _CONSOLE_MARKS.search(line)]
    return [
        {
            "time": pd.Timestamp(console.timestamp),
            "kind": "console-output",
            "user": None,
            "command": None,
            "host": None,
            "file": "console-output",
            "line": n,
            "text": line,
        }
        for n, line in marks[-5:]
    ]


def _clip(ev: reboot.InstanceEvidence) -> None:
    """Keep only the evidence inside the window (intervals that overlap it)."""
    lo, hi = ev.window

    def keep(frame, start_col, end_col=None, upcoming=None):
        if frame.empty or start_col not in frame:
            return frame
        s = pd.to_datetime(frame[start_col], utc=True)
        e = pd.to_datetime(frame[end_col], utc=True).fillna(s) if end_col and end_col in frame else s
        inside = (e >= lo) & (s <= hi)
        if upcoming is not None:  # what is still to come stays: it is a finding of its own
            inside |= upcoming(frame) & (s > hi)
        return frame[inside]

    ev.calls = keep(ev.calls, "eventTime")
    ev.health = keep(ev.health, "startTime", "endTime", lambda f: f["statusCode"] == "upcoming")
    ev.scheduled = keep(
        ev.scheduled, "notBefore", "notAfter", lambda f: ~f["completed"].astype(bool) & ~f["canceled"].astype(bool)
    )
    ev.status_failures = keep(ev.status_failures, "start", "end")
    ev.guest_events = keep(ev.guest_events, "time")
    ev.guest_boots = keep(ev.guest_boots, "time")
    ev.guest_ssh = keep(ev.guest_ssh, "time")
    ev.spot_notices = keep(ev.spot_notices, "time")


@dataclass
class RebootInvestigation(JsonOutput):
    evidence: reboot.InstanceEvidence
    verdict: reboot.Verdict
    findings: list[Finding]
    coverage: object = None  # trailtools.integrity.coverage.Coverage of the window (None: it could not be computed)
    integrity: object = None
    coverage_notes: list = None  # why coverage or verification could not be computed, if so
    folder: Path | None = None  # the source's folder (paths in the provenance are relative to it)

    def summary_lines(self) -> list[str]:
        """The answer for a terminal: the verdict, its evidence chain, the sources and the trail's coverage."""
        v = self.verdict
        lines = [v.summary, f"  cause: {reboot.CAUSES[v.cause]} (confidence {v.confidence})"]
        lines += [f"  evidence: {e.kind} {e.time or ''} {e.summary} [{e.ref}]" for e in v.evidence]
        lines += source_lines(self.evidence.sources)
        if self.evidence.search is not None:
            lines.append(f"  search: {self.evidence.search.note()}")
        if self.coverage is not None:
            lines.append(f"  coverage: {self.coverage.summary()}")
        if self.integrity is not None:
            lines.append(f"  integrity: {self.integrity.summary().split(chr(10))[0]}")  # \n only ends its lines
        return lines

    def answer_box(self):
        """The verdict in plain words, as HTML (a template escapes every value: log strings are attacker-controlled)."""

        v = self.verdict
        label = ", ".join(x for x in (v.name, v.instance_type) if x)
        rows = [(k, x) for k, x in (
            ("Instance", f"{v.instance} ({label})" if label else v.instance),
            ("Cause", reboot.CAUSES[v.cause]),
            ("Confidence", v.confidence),
            ("Restart", iso_time(v.restart) or "not found"),
            ("Actor", v.actor),
            ("How", v.how),
            ("From", v.where),
            ("Searched", self.evidence.search.note() if self.evidence.search is not None else None),
        ) if x]
        return answer_box(v.summary, render("reboot_answer.html.j2", rows=rows, evidence=v.evidence,
                                            would_change=v.would_change))

    def timeline(self):
        # the chart modules import Altair (two seconds): only when a chart is drawn, not on every command-line run
        from trailtools.views.timeline import instance_timeline  # noqa: PLC0415

        return instance_timeline(
            rows.evidence_frame(self.evidence),
            restart=self.verdict.restart,
            window=self.evidence.window,
            gaps=self.coverage,
            title=f"{self.evidence.instance}: evidence by kind",
        )

    def coverage_chart(self):
        """The window's logging coverage as one bar (gaps in grey), or None when it could not be computed."""
        from trailtools.views.coverage import coverage_chart  # noqa: PLC0415 (Altair, when a chart is drawn)

        return coverage_chart(self.coverage) if self.coverage is not None else None

    def sources_table(self) -> Table:
        return Table(pd.DataFrame([s.__dict__ for s in self.evidence.sources]).rename(columns={"name": "source"}))

    def evidence_table(self) -> Table:
        """The evidence that bears on the restart, the verdict's chain first (see evidence_table.evidence_rows)."""
        return Table(rows.evidence_rows(self.evidence, self.verdict))

    def findings_table(self) -> Table:
        return findings_table(self.findings)

    def provenance(self) -> dict:
        """Where every piece of evidence came from: each input file with its SHA-256, the trail's load stats."""
        # values that depend on the run rather than the inputs (timing, cache hits) are left out, so the same
        # inputs give the same report
        stats = {k: v for k, v in (self.evidence.load_stats or {}).items() if k not in ("elapsed_s", "files_cached")}
        folder = self.folder
        out = {
            "source": self.evidence.source,
            "inputs": [{**file_digest(p), "path": relative_path(p, folder)} for p in self.evidence.inputs],
            "load_stats": stats,
            "versions": versions(),
        }
        if self.evidence.search is not None:
            out["search"] = self.evidence.search.to_dict()
        case = case_info(folder)
        if case is not None:
            out["case"] = case
        if self.coverage is not None:
            out["coverage"] = self.coverage.to_dict()
        if self.integrity is not None:
            out["integrity"] = self.integrity.to_dict()
        if self.coverage_notes:
            out["coverage_notes"] = list(self.coverage_notes)
        return out

    def all_findings(self) -> list[Finding]:
        """The reboot findings, then the anti-forensic ones of the window (logging stopped, trail deleted ...)."""
        extra = [f for f in (self.coverage.findings() if self.coverage is not None else []) if f.status == "FAIL"]
        if self.integrity is not None:
            extra += [f for f in self.integrity.findings() if f.status == "FAIL"]
        return [*self.findings, *extra]

    def to_dict(self) -> dict:
        ev = self.evidence
        return {
            "investigation": "reboot",
            "instance": ev.instance,
            "source": ev.source,
            "window": [iso_time(ev.window[0]), iso_time(ev.window[1])],
            **({"search": ev.search.to_dict()} if ev.search is not None else {}),
            "verdict": self.verdict.to_dict(),
            "sources": [s.__dict__ for s in ev.sources],
            "findings": [f.to_dict() for f in self.all_findings()],
            "provenance": self.provenance(),
        }


def investigate(
    instance: str,
    *,
    source: str = "demo",
    start=None,
    end=None,
    region: str | None = None,
    profile: str | None = None,
    os_logs=None,
) -> RebootInvestigation:
    """Gather, analyse, and return what the notebook shows (see :func:`gather` for the sources)."""
    src = resolve_source(source, profile=profile)  # once, for the evidence, the coverage and the provenance
    ev = gather(instance, source=source, start=start, end=end, region=region, profile=profile, os_logs=os_logs,
                src=src)
    verdict = reboot.analyze(ev)
    integrity, cov, notes = _integrity_and_coverage(ev, src)
    findings = [*conflicting_duplicate_findings(ev.load_stats, ev.instance), *verdict_findings.findings(ev, verdict)]
    return RebootInvestigation(ev, verdict, findings, coverage=cov, integrity=integrity, coverage_notes=notes,
                               folder=src.folder)


def _integrity_and_coverage(ev: reboot.InstanceEvidence, src: SourceData):
    """The digest verification of a local copy that has digests (None otherwise), the window's coverage, and why
    either could not be computed. Neither stops the investigation. The coverage reads the trail again: it needs
    every event of the window (its silent hours), the verdict only the instance's."""
    integrity, cov, notes = None, None, []
    if src.folder is not None and ev.source != "demo" and any(src.folder.rglob("CloudTrail-Digest")):
        try:
            integrity = verify(str(src.folder), start=ev.window[0].to_pydatetime(), end=ev.window[1].to_pydatetime())
        except TrailtoolsError as exc:
            notes.append(f"Digest verification failed: {exc}")
    try:
        cov = coverage_for(src.trail, ev.window[0], ev.window[1], verification=integrity)
    except TrailtoolsError as exc:
        notes.append(f"Logging coverage could not be computed: {exc}")
    return integrity, cov, notes
