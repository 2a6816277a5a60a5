"""Collection: one credential reading many S3 buckets in a short time (GetObject / ListObjects over at least
``min_buckets`` distinct buckets within ``window_minutes``). Needs S3 data events in the trail: a trail without them
records no GetObject or ListObjects, and this rule then has nothing to read."""
from __future__ import annotations

import pandas as pd

from trailtools.rules.model import Hit, Rule, findings_from_hits, text

S3 = "s3.amazonaws.com"
READS = ("GetObject", "ListObjects", "ListObjectsV2", "ListObjectVersions")
_BUCKET = r'"bucketName"\s*:\s*"((?:[^"\\]|\\.)*)"'


def _credentials(rows: pd.DataFrame) -> pd.Series:
    keys = rows["userIdentity.accessKeyId"].astype(object).where(rows["userIdentity.accessKeyId"].notna(), None)
    keys = keys.where(keys.astype(str) != "", None)
    return keys.fillna(rows["actor"].astype(object)).fillna("unknown").astype(str)


def widest_window(times: list, buckets: list[str], within: pd.Timedelta) -> tuple[int, int, int]:
    """(distinct buckets, start, stop) of the span of positions, no longer than ``within``, that reads the most
    distinct buckets (times sorted)."""
    best, counts, lo = (0, 0, 0), {}, 0
    for hi, (t, b) in enumerate(zip(times, buckets)):
        counts[b] = counts.get(b, 0) + 1
        while t - times[lo] > within:
            counts[buckets[lo]] -= 1
            if not counts[buckets[lo]]:
                del counts[buckets[lo]]
            lo += 1
        if len(counts) > best[0]:
            best = (len(counts), lo, hi + 1)
    return best


def _many_buckets(rows: pd.DataFrame, rule: Rule):
    # AWS services reading on someone's behalf (Athena, Glue: invokedBy) are not the credential reading
    rows = rows[rows["userIdentity.invokedBy"].isna()]
    bucket = rows["requestParameters"].astype(str).str.extract(_BUCKET, expand=False)
    rows = rows.assign(_bucket=bucket, _cred=_credentials(rows))[bucket.notna()]
    need, within = rule.parameters["min_buckets"], pd.Timedelta(minutes=rule.parameters["window_minutes"])
    hits = []
    for _, by_outcome in rows.groupby(rows["errorCode"].notna(), sort=False):   # succeeded, failed
        for _, reads in by_outcome.groupby("_cred", sort=False):
            if reads["_bucket"].nunique() < need:
                continue
            reads = reads.sort_values("eventTime", kind="stable")
            n, start, stop = widest_window(list(reads["eventTime"]), list(reads["_bucket"]), within)
            if n < need:
                continue
            span = reads.iloc[start:stop]
            first = span.drop_duplicates("_bucket")          # each bucket's first read: the evidence
            names = list(first["_bucket"])
            shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
            minutes = max(1, round((span["eventTime"].iloc[-1] - span["eventTime"].iloc[0]).total_seconds() / 60))
            what = (f"read {n} S3 buckets within {minutes} minute{'s' if minutes > 1 else ''} "
                    f"({len(span)} GetObject/ListObjects calls): {shown}")
            hits += [Hit(label, text(b), what) for label, b in zip(first.index, first["_bucket"])]
    return findings_from_hits(rule, rows, hits)


RULES = (
    Rule("collection.many-buckets-read", "One credential reading many S3 buckets", "high",
         "TA0009 Collection", "T1530 Data from Cloud Storage",
         tuple((S3, n) for n in READS), _many_buckets,
         "Applications read the few buckets they were built for; a stolen access key is used to list and download "
         "whatever it can reach, bucket after bucket. Many distinct buckets read by one credential in a short time "
         "is how data theft looks in S3 data events (backup and inventory tools do it too).",
         "Is the credential a backup, replication or inventory tool? If not: disable it, list the objects it read "
         "(the evidence names each bucket's first read; the events frame has them all), and treat them as taken.",
         parameters={"min_buckets": 10, "window_minutes": 60},
         mitre_note="TrailDiscover maps GetObject to Exfiltration (T1048) and ListObjects to Discovery (T1619); "
                    "reading many buckets is ATT&CK's Data from Cloud Storage (T1530)."),
)
