"""Evidence integrity: are the CloudTrail log files of a trail the ones CloudTrail delivered, and all of them?

:func:`check` holds the checks and does no I/O; :func:`verify` reads a local copy or an S3 trail
(:mod:`trailtools.integrity.digests`) and calls it. What is checked, per chain of digests (one trail, account and
region):

- every log file a digest names: present, and the SHA-256 of its uncompressed content equal to ``hashValue``
  (``missing-log``, ``modified-log``);
- every CloudTrail log file of the copy that no digest names, delivered while digests were being written
  (``extra-log``; delivered after the newest digest or inside a gap: ``uncovered-log``, a warning);
- the chain: the digest each ``previousDigestS3Object`` names is there (``missing-digest``), its SHA-256 equals
  ``previousDigestHashValue`` and its signature equals ``previousDigestSignature`` (``broken-chain``); the digest
  is where its ``digestS3Object`` says (``moved-digest``); it is readable (``invalid-digest``);
- the hourly sequence: a chain that restarts (``previousDigestSignature`` null) after an earlier digest, or
  digests that do not meet end to start, leave a ``gap`` (logging or validation was off, or the last digests of a
  chain were deleted: CloudTrail cannot tell which);
- each digest's signature, SHA256withRSA over the string CloudTrail signs (:func:`string_to_sign`), with the public
  key whose fingerprint the digest names (``bad-signature``; no signature known: ``unsigned-digest``; no key:
  ``unverifiable-digest``, warnings);
- for a case folder made by ``trailtools collect`` (:mod:`trailtools.integrity.case`): every file against its
  manifest (``case-modified``, ``case-missing``, ``case-added``, ``case-manifest``), with the case's own public
  keys and, unless a window is given, the window it was collected for;
- every key (or file name) of the store that CloudTrail never writes and that would be dangerous as a path: a
  ``..`` segment, an absolute path, a NUL or another control character (``unsafe-key``; such a file is not read,
  and no signature sidecar is written for it).

Exit codes of ``trailtools verify``: 0 everything verified, 1 something failed (evidence of tampering or loss),
3 nothing failed but something could not be verified (gaps, unsigned or unverifiable digests, uncovered files).
"""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from trailtools.aws import client as make_client
from trailtools.aws.errors import AwsDataUnavailable
from trailtools.demo import ensure_demo_account
from trailtools.demo.digests import PUBLIC_KEYS as DEMO_PUBLIC_KEYS
from trailtools.errors import QueryError
from trailtools.events.layout import shown_name
from trailtools.events.query import parse_time
from trailtools.findings.model import EvidenceRef, Finding, JsonOutput, iso_time
from trailtools.integrity import digests as dg
from trailtools.integrity.case import check_case, copies_of, manifest_sha256, read_manifest
from trailtools.integrity.digests import Digest, LogFile, PublicKey, aws_suffix, name_time
from trailtools.templating import render
from trailtools.terminal import visible

#: What verifying from s3:// calls (docs/iam-policy.json should allow them).
IAM_ACTIONS = ("cloudtrail:ListPublicKeys", "s3:GetObject", "s3:ListBucket")
FAIL, WARN = "fail", "warn"
KINDS = {  # kind -> (severity, what it means, in a few words)
    "modified-log": (FAIL, "log file modified"),
    "missing-log": (FAIL, "log file missing"),
    "extra-log": (FAIL, "log file no digest names"),
    "missing-digest": (FAIL, "digest missing from the chain"),
    "broken-chain": (FAIL, "digest chain broken"),
    "bad-signature": (FAIL, "digest signature invalid"),
    "moved-digest": (FAIL, "digest not where it was delivered"),
    "invalid-digest": (FAIL, "digest unreadable"),
    "gap": (WARN, "no digests for a period"),
    "unsigned-digest": (WARN, "digest signature not available"),
    "unverifiable-digest": (WARN, "no public key for the digest"),
    "uncovered-log": (WARN, "log file outside the digests' period"),
    "unsafe-key": (FAIL, "file with a key CloudTrail never writes"),
    "case-modified": (FAIL, "case file changed since collection"),
    "case-missing": (FAIL, "case file missing"),
    "case-added": (FAIL, "file added to the case after collection"),
    "case-manifest": (FAIL, "case manifest edited"),
}
#: Digests of one chain meet end to start; a little slack for clock rounding.
SLACK = pd.Timedelta(minutes=5)
LATE = pd.Timedelta(hours=1)  # log files of a window may be named in the digest of the next hour


def string_to_sign(data: dict, digest_sha256: str) -> bytes:
    """The string CloudTrail signs for a digest (User Guide, "Recreate the data signing string")::

        digestEndTime \\n digestS3Bucket/digestS3Object \\n hex SHA-256 of the uncompressed digest \\n
        previousDigestSignature (the text "null" for the first digest of a chain, as the AWS CLI does)
    """
    previous = data.get("previousDigestSignature")
    return (f"{data['digestEndTime']}\n{data['digestS3Bucket']}/{data['digestS3Object']}\n{digest_sha256}\n"
            f"{'null' if previous is None else previous}").encode()


def signature_ok(der: bytes, signature_hex: str, message: bytes) -> bool:
    """SHA256withRSA (PKCS #1 v1.5) verification with a DER public key (PKCS #1 or SubjectPublicKeyInfo)."""
    from cryptography.exceptions import InvalidSignature  # noqa: PLC0415 (heavy, loaded on use)
    from cryptography.hazmat.primitives import hashes, serialization  # noqa: PLC0415 (heavy, loaded on use)
    from cryptography.hazmat.primitives.asymmetric import padding, rsa  # noqa: PLC0415 (heavy, loaded on use)

    try:
        key = serialization.load_der_public_key(der)
        sig = bytes.fromhex(signature_hex)
    except ValueError:
        return False
    if not isinstance(key, rsa.RSAPublicKey):
        return False
    try:
        key.verify(sig, message, padding.PKCS1v15(), hashes.SHA256())
        return True
    except InvalidSignature:
        return False


@dataclass(frozen=True)
class Problem:
    kind: str            # one of KINDS
    path: str            # the file (log or digest) it is about, as found or as a digest names it
    detail: str          # one sentence
    start: str | None = None   # for a gap: the period (ISO UTC)
    end: str | None = None

    @property
    def severity(self) -> str:
        return KINDS[self.kind][0]


@dataclass
class Verification(JsonOutput):
    """What :func:`verify` found. ``ok`` is True only when everything was verified."""

    source: str
    window: tuple[str | None, str | None]
    digests: int = 0             # digest files checked (in the window)
    digests_verified: int = 0    # their signature checked and good
    logs: int = 0                # log files the digests name
    logs_verified: int = 0       # present with the right SHA-256
    chains: list[dict] = field(default_factory=list)   # one per trail/account/region: first, last, digests
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def failures(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == FAIL]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == WARN]

    @property
    def ok(self) -> bool:
        return not self.problems and self.digests > 0

    @property
    def status(self) -> str:
        if self.failures:
            return "FAILED"
        if self.digests == 0:
            return "NO DIGESTS"
        return "INCOMPLETE" if self.warnings else "VERIFIED"

    @property
    def exit_code(self) -> int:
        return {"VERIFIED": 0, "FAILED": 1}.get(self.status, 3)

    def gaps(self) -> list[tuple[pd.Timestamp, pd.Timestamp, str]]:
        """The periods no digest covers, with why (for :mod:`trailtools.integrity.coverage`)."""
        return [(pd.Timestamp(p.start), pd.Timestamp(p.end), p.detail) for p in self.problems
                if p.kind in ("gap", "missing-digest") and p.start and p.end]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for p in self.problems:
            out[p.kind] += 1
        return dict(out)

    def summary(self) -> str:
        """A few lines for people: the verdict, the counts, then each problem (at most ``limit``).

        Each line is made :func:`trailtools.terminal.visible` (paths and details come from the copy: untrusted), so
        the lines are exactly the newlines of the text."""
        lo, hi = self.window
        head = (f"{self.status}: {self.digests} digest files ({self.digests_verified} signatures verified), "
                f"{self.logs_verified}/{self.logs} log files intact, in {self.source}"
                + (f" from {lo}" if lo else "") + (f" to {hi}" if hi else ""))
        lines = [head]
        if self.problems:
            lines.append("  " + ", ".join(f"{n} {KINDS[k][1]}" for k, n in sorted(self.counts().items())))
        for p in self.problems:
            lines.append(f"  {p.severity.upper()} {p.kind}: {p.path}: {p.detail}")
        lines.extend(f"  note: {n}" for n in self.notes)
        return "\n".join(visible(line) for line in lines)

    def to_dict(self) -> dict:
        return {"source": self.source, "window": list(self.window), "status": self.status,
                "exit_code": self.exit_code, "digests": self.digests, "digests_verified": self.digests_verified,
                "logs": self.logs, "logs_verified": self.logs_verified, "counts": self.counts(),
                "chains": self.chains, "problems": [{**asdict(p), "severity": p.severity} for p in self.problems],
                "notes": self.notes}

    def findings(self) -> list[Finding]:
        """One finding per kind of problem (its files as evidence), or one PASS finding."""
        if not self.problems:
            return [Finding("integrity.verified", "info", "The trail's log files and digests verified",
                            self.summary(), self.source, status="PASS" if self.digests else "INFO")]
        out = []
        by_kind: dict[str, list[Problem]] = defaultdict(list)
        for p in self.problems:
            by_kind[p.kind].append(p)
        for kind, items in by_kind.items():
            sev, what = KINDS[kind]
            out.append(Finding(
                f"integrity.{kind}", "high" if sev == FAIL else "medium",
                f"{len(items)} × {what}", " ".join(dict.fromkeys(p.detail for p in items[:5])), self.source,
                evidence=tuple(EvidenceRef("file", p.path, p.start, p.detail) for p in items[:50]),
                remediation=REMEDIATION.get(kind, ""), status="FAIL"))
        return out

    def to_html(self) -> str:
        """The result as a small HTML block, every value escaped by its template (paths come from the copy:
        untrusted)."""
        return str(render("verify.html.j2", status=self.status, headline=self.summary().splitlines()[0],
                          problems=self.problems[:200], more=len(self.problems) - 200))


REMEDIATION = {
    "modified-log": "Treat the events of these files as untrusted; get the originals from the trail bucket "
                    "(S3 versioning, a replica, or an Object Lock copy) and compare.",
    "missing-log": "Look for the files in the bucket (and its previous versions); their events are not in this "
                   "evidence.",
    "extra-log": "A log file no digest names may have been planted: compare it with the bucket and do not rely on "
                 "its events.",
    "missing-digest": "A deleted digest hides which log files existed in its hour: recover it from the bucket's "
                      "versions.",
    "broken-chain": "The digest differs from the one CloudTrail chained: recover the original from the bucket.",
    "bad-signature": "The digest was not signed by CloudTrail's key: treat it and the log files it names as forged.",
    "moved-digest": "Verify from the original location; a digest copied elsewhere may be a substitute.",
    "invalid-digest": "Recover the digest from the bucket.",
    "gap": "Check the trail's StopLogging/DeleteTrail/UpdateTrail history for the period; events then are not "
           "in this trail.",
    "unsigned-digest": "Save the newest digests' S3 metadata beside them (aws s3api head-object ... > "
                       "<digest>.metadata.json) or verify from s3:// directly.",
    "unverifiable-digest": "Give the region's public keys: aws cloudtrail list-public-keys --region R "
                           "--start-time ... > keys.json, then --public-keys keys.json.",
    "uncovered-log": "These files were delivered when no digest was written (or after the newest one): their "
                     "integrity cannot be shown.",
    "case-modified": "The file is not what `trailtools collect` saved: collect it again into a new case folder, and "
                     "find who changed it.",
    "case-missing": "A file of the case was deleted: collect it again (if AWS still has it) into a new case folder.",
    "case-added": "Keep notes and reports outside the case folder; a file added to it has no recorded origin.",
    "case-manifest": "The manifest's earlier runs were edited: the chain of custody is broken from that run on.",
    "unsafe-key": "Someone other than CloudTrail wrote these objects into the trail bucket (their keys try to "
                  "leave a folder or hold control characters): find who (S3 data events, the bucket policy) and "
                  "do not copy them with tools that follow the key as a path.",
}


# ---- the checks (no I/O) ------------------------------------------------------------------------------------------

def _in_window(d: Digest, lo, hi) -> bool:
    end = d.end
    if end is None:
        return True
    start = d.start or end - pd.Timedelta(hours=1)
    return (lo is None or end > lo) and (hi is None or start <= hi + LATE)


def check(digests: list[Digest], logs: dict[str, LogFile], log_hashes: dict[str, str],
          public_keys: dict[str, PublicKey], *, source: str, start=None, end=None,
          bucket: str | None = None) -> Verification:
    """Check parsed digests against the log files present and their hashes (no I/O).

    ``logs`` maps each log file's ``AWSLogs/...`` suffix to where it is; ``log_hashes`` maps a log file's key to
    the hex SHA-256 of its uncompressed content (or ``"error: ..."``); ``bucket`` is the bucket the files were read
    from (None for a local copy, where only the key from ``AWSLogs/`` on is compared).
    """
    lo = pd.Timestamp(start) if start is not None else None
    hi = pd.Timestamp(end) if end is not None else None
    res = Verification(source, (iso_time(lo), iso_time(hi)))
    problems = res.problems
    by_suffix = {d.suffix: d for d in digests}
    readable = [d for d in digests if d.error is None]

    # signatures carried by successors: suffix of a digest -> the previousDigestSignature that names it
    carried: dict[str, tuple[str, Digest]] = {}
    for d in readable:
        prev = d.data.get("previousDigestS3Object")
        if prev and d.data.get("previousDigestSignature"):
            carried[aws_suffix(prev)] = (d.data["previousDigestSignature"], d)

    chains: dict[tuple, list[Digest]] = defaultdict(list)
    for d in digests:
        if d.error is not None:
            if _in_window(d, lo, hi):
                res.digests += 1
                problems.append(Problem("invalid-digest", d.location, f"The digest cannot be read: {d.error}."))
            continue
        chains[d.chain].append(d)

    referenced: set[str] = set()
    covered: dict[tuple, list[tuple[pd.Timestamp, pd.Timestamp]]] = defaultdict(list)  # (org, acct, region)
    gaps: dict[tuple, list[tuple[pd.Timestamp, pd.Timestamp]]] = defaultdict(list)
    for chain, items in sorted(chains.items(), key=lambda kv: tuple(str(x) for x in kv[0])):
        items.sort(key=lambda d: (d.end, d.key))
        where = chain[:3]
        for d in items:
            for lf in d.data.get("logFiles") or []:
                if isinstance(lf, dict) and lf.get("s3Object"):
                    referenced.add(aws_suffix(str(lf["s3Object"])))
            if d.start is not None:
                covered[where].append((d.start, d.end))
        selected = [d for d in items if _in_window(d, lo, hi)]
        if selected:
            res.chains.append({"org": chain[0], "account": chain[1], "region": chain[2], "trail": chain[3],
                               "home_region": chain[4], "digests": len(selected),
                               "first": iso_time(selected[0].start), "last": iso_time(selected[-1].end)})
        previous_in_time = None
        for d in items:
            inside = _in_window(d, lo, hi)
            if inside:
                _check_one(d, by_suffix, carried, public_keys, bucket, res)
            prev_key = d.data.get("previousDigestS3Object")
            if not prev_key:
                if previous_in_time is not None and inside and d.start is not None \
                        and previous_in_time.end is not None and d.start - previous_in_time.end > SLACK:
                    problems.append(Problem(
                        "gap", d.location, f"No digests from {iso_time(previous_in_time.end)} to {iso_time(d.start)}: "
                        f"the chain of trail {chain[3]} restarts here (logging or log file validation was off, or "
                        "the last digests before it were deleted).",
                        iso_time(previous_in_time.end), iso_time(d.start)))
                    gaps[where].append((previous_in_time.end, d.start))
            else:
                prev = by_suffix.get(aws_suffix(prev_key))
                prev_time = name_time(prev_key)
                outside = prev_time is not None and lo is not None and prev_time < lo
                if prev is None and inside and not outside:
                    gap_start = iso_time(prev_time - pd.Timedelta(hours=1)) if prev_time is not None else None
                    problems.append(Problem(
                        "missing-digest", prev_key,
                        f"The digest {d.location} chains to this digest, which is not in the copy.",
                        gap_start, iso_time(d.start)))
                    if prev_time is not None and d.start is not None:
                        gaps[where].append((prev_time - pd.Timedelta(hours=1), d.start))
                elif prev is not None and prev.error is None and (inside or _in_window(prev, lo, hi)):
                    if prev.sha256 != str(d.data.get("previousDigestHashValue") or "").lower():
                        problems.append(Problem(
                            "broken-chain", prev.location,
                            f"Its SHA-256 is not the previousDigestHashValue recorded in {d.location}: the digest "
                            "was changed after CloudTrail chained it."))
                    if prev.end is not None and d.start is not None and abs(d.start - prev.end) > SLACK:
                        problems.append(Problem(
                            "gap", d.location, f"No digest covers {iso_time(prev.end)} to {iso_time(d.start)}.",
                            iso_time(prev.end), iso_time(d.start)))
                        gaps[where].append((prev.end, d.start))
            previous_in_time = d
        if selected:  # with an explicit window: no digests at its edges is a gap too
            first, last = selected[0], selected[-1]
            if lo is not None and first.start is not None and first.start - lo > LATE \
                    and not first.data.get("previousDigestS3Object"):
                problems.append(Problem("gap", first.location, f"No digests of trail {chain[3]} from the window's "
                                        f"start {iso_time(lo)} to {iso_time(first.start)}.", iso_time(lo),
                                        iso_time(first.start)))
                gaps[where].append((lo, first.start))
            if hi is not None and last.end is not None and hi - last.end > LATE:
                problems.append(Problem("gap", last.location, f"No digests of trail {chain[3]} after "
                                        f"{iso_time(last.end)} up to the window's end {iso_time(hi)}.",
                                        iso_time(last.end), iso_time(hi)))
                gaps[where].append((last.end, hi))

    # the log files the digests in the window name
    for d in (x for x in readable if _in_window(x, lo, hi)):
        for lf in d.data.get("logFiles") or []:
            if not isinstance(lf, dict) or not lf.get("s3Object"):
                problems.append(Problem("invalid-digest", d.location, "A logFiles entry has no s3Object."))
                continue
            res.logs += 1
            suffix = aws_suffix(str(lf["s3Object"]))
            found = logs.get(suffix)
            if found is None:
                problems.append(Problem("missing-log", str(lf["s3Object"]),
                                        f"Named in {d.location} (delivered by {d.data.get('digestEndTime')}) "
                                        "but not in the copy."))
                continue
            got = log_hashes.get(found.key)
            want = str(lf.get("hashValue") or "").lower()
            if got is None or got.startswith("error:"):
                problems.append(Problem("modified-log", found.location,
                                        f"The file cannot be read as gzip ({(got or 'error: not hashed')[7:]})."))
            elif got != want:
                problems.append(Problem("modified-log", found.location,
                                        f"SHA-256 of its content is {got}, the digest {d.location} recorded {want}."))
            else:
                res.logs_verified += 1

    # log files no digest names
    for suffix, lf in sorted(logs.items()):
        if suffix in referenced or lf.delivered is None:
            continue
        if (lo is not None and lf.delivered < lo) or (hi is not None and lf.delivered > hi + LATE):
            continue
        where = (lf.org, lf.account, lf.region)
        spans = covered.get(where)
        if not spans:
            continue  # no digests at all for this account and region: nothing to compare with (noted below)
        first, last = min(s for s, _ in spans), max(e for _, e in spans)
        in_gap = any(a <= lf.delivered <= b for a, b in gaps.get(where, []))
        inside_span = any(s - SLACK <= lf.delivered <= e + SLACK for s, e in spans)
        if inside_span and not in_gap:
            problems.append(Problem("extra-log", lf.location,
                                    f"Delivered {iso_time(lf.delivered)}, while digests were written, but no digest "
                                    "names it."))
        elif first <= lf.delivered <= last or in_gap:
            problems.append(Problem("uncovered-log", lf.location,
                                    f"Delivered {iso_time(lf.delivered)}, in a period no digest covers."))
        else:
            problems.append(Problem("uncovered-log", lf.location,
                                    f"Delivered {iso_time(lf.delivered)}, "
                                    + ("after the newest digest." if lf.delivered > last else
                                       "before the oldest digest.")))
    no_digest = sorted({f"{lf.account}/{lf.region}" for lf in logs.values()
                        if not covered.get((lf.org, lf.account, lf.region))})
    if no_digest:
        res.notes.append(f"No digest files for {', '.join(no_digest[:10])}"
                         + (" and more" if len(no_digest) > 10 else "")
                         + ": log file validation was off there, their log files cannot be verified.")
    if not digests:
        res.notes.append("No digest files found: enable log file validation on the trail "
                         "(aws cloudtrail update-trail --enable-log-file-validation) and copy CloudTrail-Digest/ too.")
    return res


def _check_one(d: Digest, by_suffix, carried, public_keys, bucket, res: Verification) -> None:
    """The checks of one digest on its own: where it is, its signature."""
    res.digests += 1
    data, problems = d.data, res.problems
    moved = aws_suffix(str(data.get("digestS3Object"))) != d.suffix or (
        bucket is not None and (data.get("digestS3Bucket") != bucket or data.get("digestS3Object") != d.key))
    if moved:
        said = f"{data.get('digestS3Bucket')}/{data.get('digestS3Object')}"
        problems.append(Problem("moved-digest", d.location, f"It says it was delivered to {said}."))
        return
    signature, origin = d.signature, d.signature_from
    if d.suffix in carried:
        successor_sig, successor = carried[d.suffix]
        if signature and signature.lower() != successor_sig.lower():
            problems.append(Problem("broken-chain", d.location,
                                    f"Its signature ({origin}) is not the previousDigestSignature in "
                                    f"{successor.location}."))
            return
        signature, origin = successor_sig, f"previousDigestSignature of {successor.location}"
    if not signature:
        problems.append(Problem("unsigned-digest", d.location,
                                "Its signature is in the S3 object's metadata, which this copy lacks: save it "
                                "beside the digest as <digest>.metadata.json, or verify from s3://."))
        return
    algorithm = data.get("digestSignatureAlgorithm") or d.signature_algorithm
    if algorithm and algorithm != "SHA256withRSA":
        problems.append(Problem("unverifiable-digest", d.location, f"Unknown signature algorithm {algorithm!r}."))
        return
    fingerprint = str(data.get("digestPublicKeyFingerprint") or "").lower()
    key = public_keys.get(fingerprint)
    if key is None:
        problems.append(Problem("unverifiable-digest", d.location,
                                f"No public key with fingerprint {fingerprint} was given or returned by "
                                "ListPublicKeys."))
        return
    if signature_ok(key.der, signature, string_to_sign(data, d.sha256)):
        res.digests_verified += 1
    else:
        problems.append(Problem("bad-signature", d.location,
                                f"The signature ({origin}) does not verify with key {fingerprint}: the digest "
                                "was changed, or was not written by CloudTrail."))


# ---- the one call -------------------------------------------------------------------------------------------------

def verify(source: str, *, start=None, end=None, public_keys=None, s3_client=None,
           cloudtrail_client=None, save_signatures=None) -> Verification:
    """Verify a local copy of a trail bucket or ``s3://bucket/prefix`` (see the module docstring).

    ``public_keys`` is a list of files saved from ``aws cloudtrail list-public-keys``. Without it, an S3 source
    asks ``ListPublicKeys`` in each digest's region (``cloudtrail_client``: a client, or a callable region -> client;
    the default is the standard credential chain); a local copy without keys has its signatures left unverified.
    ``save_signatures`` (a folder, S3 sources only) writes each digest's signature there as a sidecar, so that a
    copy synced into that folder verifies offline. ``source`` ``demo`` is the bundled demo account, whose digests
    are signed with its own key; a folder holding the demo (``trailtools demo DIR``) is verified with that key when
    no ``public_keys`` are given.
    """

    source = str(ensure_demo_account()) if str(source) == "demo" else str(source)
    case = read_manifest(source) if "://" not in source else None
    if case is not None and not start and not end:  # a case folder: the window it was collected for
        start, end = _case_window(case)
    lo = pd.Timestamp(parse_time(start)) if start else None
    hi = pd.Timestamp(parse_time(end, end=True)) if end else None
    public_keys, notes_demo = _demo_keys(source, public_keys)
    if lo is not None and hi is not None and hi <= lo:
        raise QueryError(f"The window ends ({hi}) before it starts ({lo}): swap --start and --end.")
    store = dg.open_trail(str(source), s3_client=s3_client)
    listing = dg.list_trail(store, lo, hi)
    if save_signatures:
        if not isinstance(store, dg.S3Trail):
            raise QueryError("--save-signatures reads the signatures from S3: give an s3:// source.")
        n, refused = dg.save_signatures(listing, save_signatures)
        notes_saved = [f"Saved {n} digest signatures as sidecars under {save_signatures}."]
        notes_saved += [f"Not saved: the signature of {shown_name(store.location(k))}: {why}." for k, why in refused]
    else:
        notes_saved = []
    keys, notes = dg.load_public_keys(public_keys)
    in_window = [d for d in listing.digests if d.error is None and _in_window(d, lo, hi)]
    dg.find_logs(listing, in_window)
    if not public_keys and isinstance(store, dg.S3Trail) and in_window:
        for region in sorted({d.name.get("region") for d in in_window if d.name.get("region")}):
            times = [t for d in in_window if d.name.get("region") == region for t in (d.start, d.end) if t is not None]
            try:
                client = (cloudtrail_client(region) if callable(cloudtrail_client) and not hasattr(
                    cloudtrail_client, "meta") else cloudtrail_client)
                if client is None:
                    client = make_client("cloudtrail", region=region)
                k, w = dg.get_public_keys(client, min(times), max(times))
                keys.update(k)
                notes.extend(w)
            except AwsDataUnavailable as exc:
                notes.append(f"Public keys for {region} could not be read: {exc}")
    wanted = set()
    for d in in_window:
        for lf in d.data.get("logFiles") or []:
            found = listing.logs.get(aws_suffix(str(lf.get("s3Object", "")))) if isinstance(lf, dict) else None
            if found is not None:
                wanted.add(found.key)
    hashes = dg.hash_logs(store, sorted(wanted))
    res = check(listing.digests, listing.logs, hashes, keys, source=store.describe(), start=lo, end=hi,
                bucket=getattr(store, "bucket", None))
    for key, why in listing.unsafe:
        res.problems.append(Problem("unsafe-key", shown_name(store.location(key)),
                                    f"Not read and not saved: {why}; CloudTrail never writes such a key."))
    res.notes = notes_demo + notes + notes_saved + res.notes
    if case is not None:
        found, counts = check_case(source)
        res.problems.extend(Problem(kind, path, detail) for kind, path, detail in found)
        res.notes.append(f"Case {case.get('case')}: {counts.get('files_verified', 0)}/{counts.get('files', 0)} files "
                         f"of its manifest ({counts.get('runs', 0)} runs, SHA-256 {manifest_sha256(source)}) intact.")
    return res


def _case_window(case: dict) -> tuple[str | None, str | None]:
    """The window a case was collected for: from the earliest start to the latest end of its runs."""
    starts = [r.get("parameters", {}).get("start") for r in case.get("runs") or []]
    ends = [r.get("parameters", {}).get("end") for r in case.get("runs") or []]
    starts, ends = [x for x in starts if isinstance(x, str)], [x for x in ends if isinstance(x, str)]
    return (min(starts) if starts else None), (max(ends) if ends else None)


def _demo_keys(source: str, public_keys) -> tuple[list, list[str]]:
    """The public keys to use: those given, else, for a folder holding the trailtools demo account, the demo's own
    (``cloudtrail/list-public-keys.json``: the key that signed its digests, public on purpose)."""
    if public_keys or "://" in source:
        return list(public_keys or []), []
    folder = Path(source).expanduser()
    if read_manifest(folder) is not None:  # a case folder: the keys collect saved with ListPublicKeys, every copy
        firsts = [p.relative_to(folder).as_posix() for p in folder.glob("cloudtrail/*/list-public-keys.json")]
        return sorted(str(folder / path) for rel in firsts for _, path in copies_of(folder, rel) or [(1, rel)]), []
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return [], []
    keys = folder / DEMO_PUBLIC_KEYS
    if not isinstance(manifest, dict) or manifest.get("generator") != "trailtools.demo" or not keys.is_file():
        return [], []
    return [str(keys)], [f"The demo account's digests are signed with the demo's own key ({DEMO_PUBLIC_KEYS}), "
                         "not AWS's: this shows how verification works and proves nothing about a real trail."]
