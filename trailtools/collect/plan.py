"""What to collect for a scope: the window, the regions, the instances and principals, where the trail is.

:func:`scope` checks the parameters (one sentence for a bad one) and :func:`jobs` lists the collectors to run, in
order: the caller's identity first (it goes into the manifest), then the trail (from its bucket, or from
LookupEvents), then EC2 and CloudWatch per region, AWS Health, and Cost Explorer and the Cost and Usage Report's
objects when cost is in scope (``--cost``; ``--cur s3://BUCKET/PREFIX`` puts it in scope too).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from trailtools.errors import QueryError
from trailtools.events.query import parse_time
from trailtools.evidence.ec2 import check_instance_id

#: The window when no --start is given: this long before its end.
DEFAULT_DAYS = 7
REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")


@dataclass
class Scope:
    """The parameters of one ``collect`` run (they are recorded in the manifest)."""

    case_dir: str
    start: datetime
    end: datetime
    regions: list[str] = field(default_factory=list)
    instances: list[str] = field(default_factory=list)
    principals: list[str] = field(default_factory=list)
    trail: str | None = None          # s3://BUCKET[/PREFIX]
    lookup: bool = False
    cost: bool = False
    profile: str | None = None
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    cur: str | None = None            # s3://BUCKET/PREFIX of the Cost and Usage Report (legacy, CUR 2.0, FOCUS)

    @property
    def cur_bucket(self) -> str | None:
        return self.cur[len("s3://"):].partition("/")[0] if self.cur else None

    @property
    def cur_prefix(self) -> str:
        return self.cur[len("s3://"):].partition("/")[2] if self.cur else ""

    @property
    def bucket(self) -> str | None:
        return self.trail[len("s3://"):].partition("/")[0] if self.trail else None

    @property
    def prefix(self) -> str:
        if not self.trail:
            return ""
        prefix = self.trail[len("s3://"):].partition("/")[2]
        return prefix if not prefix or prefix.endswith("/") else prefix + "/"

    def parameters(self) -> dict:
        return {"start": self.start.strftime("%Y-%m-%dT%H:%M:%SZ"), "end": self.end.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "regions": self.regions, "instances": self.instances, "principals": self.principals,
                "trail": self.trail, "lookup": self.lookup, "cost": self.cost, "profile": self.profile,
                **({"cur": self.cur} if self.cur else {})}


def _list(values) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    return list(dict.fromkeys(v.strip() for item in values for v in str(item).split(",") if v.strip()))


def scope(case_dir: str, *, start=None, end=None, regions=None, instances=None, principals=None,
          trail: str | None = None, lookup: bool = False, cost: bool = False, profile: str | None = None,
          now: datetime | None = None, cur: str | None = None) -> Scope:
    """The checked scope of a run (QueryError: one sentence, for a parameter that cannot be used)."""
    now = now or datetime.now(UTC)
    end_t = parse_time(end, end=True) if end else now
    start_t = parse_time(start) if start else end_t - timedelta(days=DEFAULT_DAYS)
    if end_t <= start_t:
        raise QueryError(f"The window ends ({end_t:%Y-%m-%dT%H:%MZ}) before it starts ({start_t:%Y-%m-%dT%H:%MZ}): "
                         "swap --start and --end.")
    regions = _list(regions)
    bad = [r for r in regions if not REGION.match(r)]
    if bad:
        raise QueryError(f"{bad[0]!r} is not an AWS region name (such as us-east-1).")
    instances = [check_instance_id(i) for i in _list(instances)]
    if trail and lookup:
        raise QueryError("Give either --trail s3://BUCKET[/PREFIX] or --lookup, not both.")
    if trail is not None:
        if not trail.startswith("s3://") or not trail[len("s3://"):].partition("/")[0]:
            raise QueryError(f"{trail!r} is not s3://BUCKET[/PREFIX]: give the trail's bucket, as `aws cloudtrail "
                             "describe-trails` shows it.")
    if cur is not None and (not cur.startswith("s3://") or not cur[len("s3://"):].partition("/")[0]):
        raise QueryError(f"{cur!r} is not s3://BUCKET[/PREFIX]: give where the Cost and Usage Report is delivered "
                         "(the export's or report's S3 bucket and prefix).")
    return Scope(str(case_dir), start_t, end_t, regions, instances, _list(principals), trail, bool(lookup or not trail),
                 bool(cost or cur), profile, now, cur or None)


def jobs(s: Scope) -> list[str]:
    """The collectors to run for this scope, by name, in order."""
    out = ["identity", "trail-s3" if s.trail else "trail-lookup"]
    return out + ["ec2", "cloudwatch", "health"] + (["cost"] if s.cost else []) + (["cur"] if s.cur else [])
