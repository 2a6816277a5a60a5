"""The s3:// source lists and reads only the window's prefixes, and a rerun is served from the download cache.

Runs moto in server mode on 127.0.0.1 (nothing leaves the machine), fills a bucket with a small trail in the real
layout (one account, ``--regions`` regions, ``--days`` days, ``--per-day`` log files a region and day), then:

1. lists the whole bucket the naive way (every key, paginated) and counts requests and keys;
2. loads a one-day, one-region window through ``s3://`` (cold cache), counting every API call;
3. loads it again (warm download cache): no GetObject.

API calls are counted on the client side by wrapping botocore's ``BaseClient._make_api_call`` (independently of
the source's own counter), keys returned by reading the responses. Usage::

    .venv/bin/python benchmarks/bench_s3.py [--days 14] [--regions 2] [--per-day 288] [--json FILE]
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ACCOUNT = "111122223333"
REGIONS = ("us-east-1", "eu-west-1", "us-west-2", "ap-northeast-1")


def record(n: int, when: datetime, region: str) -> dict:
    return {"eventVersion": "1.09", "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "eventSource": "ec2.amazonaws.com", "eventName": "DescribeInstances", "awsRegion": region,
            "sourceIPAddress": "192.0.2.10", "userAgent": "aws-cli/2.15.0",
            "userIdentity": {"type": "IAMUser", "arn": f"arn:aws:iam::{ACCOUNT}:user/alice", "userName": "alice"},
            "eventID": f"00000000-0000-4000-8000-{n:012d}", "requestID": f"r{n}", "readOnly": True,
            "eventType": "AwsApiCall", "recipientAccountId": ACCOUNT}


def fill(s3, bucket: str, days: int, regions: int, per_day: int, first: datetime) -> int:
    items = []
    n = 0
    for region in REGIONS[:regions]:
        for d in range(days):
            day = first + timedelta(days=d)
            for i in range(per_day):
                delivered = day + timedelta(minutes=i * (1440 // per_day) + 5)
                n += 1
                key = (f"AWSLogs/{ACCOUNT}/CloudTrail/{region}/{day:%Y/%m/%d}/"
                       f"{ACCOUNT}_CloudTrail_{region}_{delivered:%Y%m%dT%H%MZ}_b{n:06d}.json.gz")
                body = gzip.compress(json.dumps({"Records": [record(n, delivered - timedelta(minutes=3),
                                                                    region)]}).encode())
                items.append((key, body))
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda kb: s3.put_object(Bucket=bucket, Key=kb[0], Body=kb[1]), items))
    return len(items)


class CallCounter:
    """Counts every botocore API call in the process, by operation."""

    def __init__(self):
        from botocore.client import BaseClient

        self.counts: Counter = Counter()
        self._real = BaseClient._make_api_call
        counter = self

        def counted(client, operation, params):
            counter.counts[operation] += 1
            return counter._real(client, operation, params)

        BaseClient._make_api_call = counted

    def take(self) -> dict:
        out = dict(self.counts)
        self.counts.clear()
        return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--days", type=int, default=14)
    ap.add_argument("--regions", type=int, default=2, choices=range(1, len(REGIONS) + 1))
    ap.add_argument("--per-day", type=int, default=288, help="log files a region and day (288: one every 5 min)")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args(argv)

    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    cache_dir = tempfile.mkdtemp(prefix="bench-s3-cache-")
    os.environ.update({"AWS_ENDPOINT_URL": f"http://{host}:{port}", "AWS_ACCESS_KEY_ID": "testing",
                       "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
                       "TRAILTOOLS_CACHE_DIR": cache_dir})
    os.environ.pop("AWS_PROFILE", None)
    import boto3

    from trailtools import Query, load_events

    try:
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="bench-trail")
        first = datetime(2026, 10, 1, tzinfo=UTC)
        t = time.perf_counter()
        objects = fill(s3, "bench-trail", args.days, args.regions, args.per_day, first)
        print(f"bucket: {objects:,} objects ({args.regions} regions x {args.days} days x {args.per_day}), "
              f"uploaded in {time.perf_counter() - t:.1f} s", file=sys.stderr)

        counter = CallCounter()
        t = time.perf_counter()
        keys, token = 0, None
        while True:
            resp = s3.list_objects_v2(Bucket="bench-trail", **({"ContinuationToken": token} if token else {}))
            keys += resp.get("KeyCount", 0)
            if not resp.get("IsTruncated"):
                break
            token = resp["NextContinuationToken"]
        whole = {"requests": counter.take(), "keys_listed": keys, "seconds": round(time.perf_counter() - t, 3)}

        day = first + timedelta(days=args.days // 2)
        q = Query(start=day.date().isoformat(), end=day.date().isoformat(), regions=[REGIONS[0]])
        runs = []
        for label in ("cold", "warm"):
            t = time.perf_counter()
            res = load_events("s3://bench-trail", q, progress=False)
            runs.append({"run": label, "requests": counter.take(), "seconds": round(time.perf_counter() - t, 3),
                         "events": len(res.frame), "files_seen": res.stats.files_seen,
                         "files_pruned": res.stats.files_pruned, "notes": res.stats.notes})
        result = {"bucket_objects": objects, "window": q.describe(), "whole_bucket_listing": whole, "runs": runs}
    finally:
        server.stop()

    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    cold, warm = runs
    ok = (cold["requests"].get("GetObject", 0) == cold["files_seen"] - cold["files_pruned"]
          and warm["requests"].get("GetObject", 0) == 0 and cold["events"] == warm["events"] > 0)
    print(f"window: {cold['requests'].get('ListObjectsV2', 0)} ListObjectsV2 and {cold['files_seen']} keys listed "
          f"(whole bucket: {whole['requests'].get('ListObjectsV2', 0)} requests, {whole['keys_listed']:,} keys); "
          f"cold {cold['requests'].get('GetObject', 0)} GetObject, warm {warm['requests'].get('GetObject', 0)}",
          file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
