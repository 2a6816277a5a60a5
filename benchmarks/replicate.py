"""A large corpus from a smaller one: every file of a source corpus copied under K accounts.

Generating events costs about 0.8 ms each (13 minutes for 1M on 2 cores), so a 10M corpus is built by replicating a
1M one: what an organization trail of K accounts with the same activity looks like (principals x K, same times).
The first account is the source's own, its files copied byte for byte, so the source corpus is part of the result.
In every other copy each file is gunzipped once and rewritten with, consistently within the copy:

- the source account ID replaced by the copy's (12 digits, derived from the copy's number) in the record text and
  in the file's path and name: ARNs, ``recipientAccountId``, ``userIdentity.accountId``, bucket names ...;
- every UUID (``eventID``, ``requestID``, ``sharedEventID``, KMS key IDs ...), every IAM unique ID and access key
  ID (``AKIA``/``ASIA``/``AROA``/``AIDA``... ), every EC2 instance ID and every 16-character S3 ``requestID``
  replaced by a value derived from the copy's number and the original (BLAKE2b), so eventIDs are unique across
  copies and each copy's principals, credentials and resources are its own;

then gzipped again with ISA-L (level 2: about 10x faster than zlib level 6, files about 10 % larger). The output
depends only on the source and K, not on the number of processes.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from isal import igzip, isal_zlib

FORMAT = 1  # bump when what a copy rewrites changes
LEVEL = 2
_BATCH = 400  # files per task

_TOKEN = re.compile(
    rb"((?<![0-9])[0-9]{12}(?![0-9])"                                   # an account ID (checked against the source's)
    rb"|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"  # a UUID
    rb"|\b(?:AKIA|ASIA|AROA|AIDA|ANPA|AGPA|AIPA|ANVA|APKA)[A-Z0-9]{16,17}\b"  # IAM unique / access key IDs
    rb"|\bi-0[0-9a-f]{16}\b"                                             # an EC2 instance ID
    rb'|(?<="requestID":")[A-Z0-9]{16}(?="))')                         # an S3-style request ID


def account_ids(source_account: str, k: int) -> list[str]:
    """The K accounts: the source's, then K-1 derived ones (deterministic, distinct, 12 digits)."""
    out = [source_account]
    i = 0
    while len(out) < k:
        i += 1
        h = int.from_bytes(hashlib.sha256(f"replica:{source_account}:{i}".encode()).digest()[:8], "big")
        acct = f"{200_000_000_000 + h % 700_000_000_000:012d}"
        if acct not in out:
            out.append(acct)
    return out


def _mapper(src: bytes, dst: bytes, copy: int):
    salt = f"copy{copy}:".encode()

    def new(tok: bytes) -> bytes:
        if len(tok) == 12 and tok.isdigit():
            return dst if tok == src else tok
        d = hashlib.blake2b(salt + tok, digest_size=16).digest()
        if len(tok) == 36:  # UUID, version 4 shape kept
            h = d.hex()
            return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[d[8] & 3]}{h[17:20]}-{h[20:32]}".encode()
        if tok.startswith(b"i-0"):
            return b"i-0" + d.hex()[:16].encode()
        if len(tok) == 16:  # S3-style request ID
            return base64.b32encode(d)[:16]
        return tok[:4] + base64.b32encode(d)[:len(tok) - 4]  # IAM ID: its prefix kept

    return new


def _task(args: tuple[str, str, list[str], list[str]]) -> dict:
    src_dir, out_dir, rels, accounts = args
    src_acct = accounts[0].encode()
    mappers = [None] + [_mapper(src_acct, a.encode(), i) for i, a in enumerate(accounts) if i]
    made: set[str] = set()
    files = events = nbytes = json_bytes = 0
    for rel in rels:
        data = Path(src_dir, rel).read_bytes()
        body = igzip.decompress(data)
        n_events = body.count(b'"eventID"')
        parts = _TOKEN.split(body)  # literal, token, literal, token ..., literal
        toks = parts[1::2]
        for i, acct in enumerate(accounts):
            out_rel = rel.replace(accounts[0], acct)
            path = os.path.join(out_dir, out_rel)
            folder = os.path.dirname(path)
            if folder not in made:
                os.makedirs(folder, exist_ok=True)
                made.add(folder)
            if i == 0:
                blob = data
            else:
                new = mappers[i]
                table = {t: new(t) for t in set(toks)}
                parts[1::2] = [table[t] for t in toks]
                blob = isal_zlib.compress(b"".join(parts), LEVEL, 31)  # gzip container, mtime 0, no name
            with open(path, "wb") as fh:
                fh.write(blob)
            files += 1
            events += n_events
            nbytes += len(blob)
            json_bytes += len(body)  # every replacement has the length of what it replaces
    return {"files": files, "events": events, "bytes": nbytes, "json_bytes": json_bytes}


def replicate(source: Path, tmp: Path, k: int, *, workers: int | None = None, quiet: bool = False) -> dict:
    """Write K copies of ``source``'s trail under ``tmp``; returns the totals (files, events, bytes, json_bytes)."""
    manifest = json.loads((source / "corpus.json").read_text())
    accounts = account_ids(manifest["params"]["account"], k)
    rels = sorted(str(p.relative_to(source)) for p in (source / "AWSLogs").rglob("*.json.gz"))
    tasks = [(str(source), str(tmp), rels[i:i + _BATCH], accounts) for i in range(0, len(rels), _BATCH)]
    workers = workers or max(1, len(os.sched_getaffinity(0)))
    totals = {"files": 0, "events": 0, "bytes": 0, "json_bytes": 0}
    t0 = time.perf_counter()
    if not quiet:
        print(f"replicating {len(rels):,} files of {source} into {k} accounts with {workers} processes ...",
              file=sys.stderr)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for i, res in enumerate(pool.map(_task, tasks)):
            for key in totals:
                totals[key] += res[key]
            if not quiet and (i + 1) % max(1, len(tasks) // 20) == 0:
                print(f"  {i + 1}/{len(tasks)} batches, {totals['files']:,} files, {totals['events']:,} events, "
                      f"{time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    return {**totals, "accounts": accounts}


def params_for(source: Path, k: int) -> dict:
    """The replicated corpus's parameters: the source manifest's (days, start ...) and what replication adds."""
    raw = (source / "corpus.json").read_bytes()
    src = json.loads(raw)["params"]
    return {**src, "replicate_accounts": k, "replicate_format": FORMAT, "gzip": f"isal level {LEVEL}",
            "source_manifest_sha256": hashlib.sha256(raw).hexdigest()[:16],
            "source_events": json.loads(raw)["events"], "events": json.loads(raw)["events"] * k}
