"""One ``trailtools collect`` run: the scope's jobs in order, each failure one sentence in the run's notes, then the
notes and the manifest written.

Besides the evidence, each run writes ``notes/run-<n>-not-collected.txt`` (what could not be collected, and why:
one sentence each) and ``notes/run-<n>-expiring.txt`` (what AWS will delete, and when); both are also in the
manifest's run.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from trailtools import __version__
from trailtools.aws.errors import AWS_ERRORS, AwsDataUnavailable, call
from trailtools.collect import cost as cost_jobs
from trailtools.collect import cur as cur_jobs
from trailtools.collect import health
from trailtools.collect import instances as ec2_cw
from trailtools.collect import trail as trail_jobs
from trailtools.collect.context import Collection, plain
from trailtools.collect.manifest import Manifest
from trailtools.collect.plan import Scope, jobs, scope
from trailtools.collect.store import CaseStore, now_iso
from trailtools.terminal import visible

IAM_ACTIONS = ("sts:GetCallerIdentity",)


@dataclass
class CollectResult:
    case_dir: Path
    run: int
    manifest_sha256: str
    files: int
    unchanged: int
    resumed: int  # objects already in the case with the same ETag and size: not downloaded again
    not_collected: list[dict] = field(default_factory=list)
    expiring: list[dict] = field(default_factory=list)

    def summary_lines(self) -> list[str]:
        lines = [f"Run {self.run} of case {self.case_dir}: {self.files} files added, "
                 f"{self.unchanged + self.resumed} already there unchanged; manifest.json SHA-256 "
                 f"{self.manifest_sha256}."]
        lines += [f"  not collected: {n['what']}: {n['why']}" for n in self.not_collected]
        lines += [f"  expiring: {e['what']}" + (f" (until about {e['until']})" if e.get("until") else "")
                  for e in self.expiring[:20]]
        if len(self.expiring) > 20:
            lines.append(f"  ... {len(self.expiring) - 20} more in notes/run-{self.run}-expiring.txt")
        return [visible(line) for line in lines]


def _identity(c: Collection) -> dict | None:
    try:
        sts = c.client("sts", c.scope.regions[0] if c.scope.regions else None)
        resp = call(sts, "get_caller_identity")
    except (AwsDataUnavailable, *AWS_ERRORS) as exc:
        c.not_collected("the caller's identity (sts:GetCallerIdentity)", exc)
        return None
    return {k: resp.get(k) for k in ("Account", "Arn", "UserId")}


def _notes(c: Collection) -> None:
    run = c.manifest.run
    n = run["run"]
    lines = [f"{x['what']}: {x['why']}" for x in run["not_collected"]] or ["Everything in scope was collected."]
    c.save(f"notes/run-{n}-not-collected.txt", ("\n".join(lines) + "\n").encode("utf-8"),
           {"made_by": "trailtools collect", "what": "what could not be collected, and why"})
    lines = [f"{x['what']}: until {x['until'] or 'its next change'}: {x['why']}" for x in run["expiring"]] \
        or ["Nothing collected is known to expire soon."]
    c.save(f"notes/run-{n}-expiring.txt", ("\n".join(lines) + "\n").encode("utf-8"),
           {"made_by": "trailtools collect", "what": "what AWS will delete, and when"})


def run(s: Scope, *, clients=None, progress: bool | None = None) -> CollectResult:
    """Collect everything in scope into ``s.case_dir`` (see :mod:`trailtools.collect`)."""
    root = Path(s.case_dir).expanduser()
    manifest = Manifest(root)
    store = CaseStore(root, len(manifest.runs) + 1)
    manifest.start_run(started=now_iso(), finished=None, trailtools_version=__version__,
                       parameters=plain(s.parameters()), region=None, identity=None)
    c = Collection(s, store, manifest, clients=clients, progress=progress)
    try:
        _jobs(c)
    except BaseException:  # interrupted (Ctrl-C) or failed: what was written is recorded, so a rerun resumes
        manifest.run["interrupted"] = True
        manifest.save()
        raise
    _notes(c)
    manifest.run["finished"] = now_iso()
    digest = manifest.save()
    return CollectResult(root, manifest.run["run"], digest, c.counts.get("files", 0), c.counts.get("unchanged", 0),
                         c.counts.get("resumed", 0), list(manifest.run["not_collected"]),
                         list(manifest.run["expiring"]))


def _jobs(c: Collection) -> None:
    s, manifest = c.scope, c.manifest
    found: dict = {}
    for job in jobs(s):
        if job == "identity":
            manifest.run["identity"] = _identity(c)
            try:
                manifest.run["region"] = s.regions[0] if s.regions else c.client("ec2", None).meta.region_name
            except AWS_ERRORS:
                manifest.run["region"] = None
        elif job == "trail-s3":
            trail_jobs.collect_s3(c)
        elif job == "trail-lookup":
            trail_jobs.collect_lookup(c)
        elif job == "ec2":
            found = ec2_cw.collect_ec2(c)
        elif job == "cloudwatch":
            ec2_cw.collect_cloudwatch(c, found)
        elif job == "health":
            health.collect_health(c)
        elif job == "cost":
            cost_jobs.collect_cost(c)
        elif job == "cur":
            cur_jobs.collect_cur(c)


def collect(case_dir, *, start=None, end=None, regions=None, instances=None, principals=None, trail=None,
            lookup: bool = False, cost: bool = False, profile: str | None = None, clients=None,
            progress: bool | None = None, now=None, cur: str | None = None) -> CollectResult:
    """``trailtools collect``: build (or add to) a case folder. ``clients``: (service, region) -> boto3 client, for
    tests; the standard credential chain (with ``profile``) otherwise. ``cur``: s3://BUCKET/PREFIX of the Cost and
    Usage Report (puts cost in scope)."""
    s = scope(str(case_dir), start=start, end=end, regions=regions, instances=instances, principals=principals,
              trail=trail, lookup=lookup, cost=cost, profile=profile, now=now, cur=cur)
    return run(s, clients=clients, progress=progress)
