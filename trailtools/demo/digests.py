"""CloudTrail digest files for the demo account, signed with the demo's own RSA key, so ``trailtools verify demo``
can be tried like everything else.

As CloudTrail writes them (User Guide, "CloudTrail digest file structure"; :mod:`trailtools.integrity.digests`
reads them): one digest per region and hour at
``AWSLogs/<account>/CloudTrail-Digest/<region>/YYYY/MM/DD/<account>_CloudTrail-Digest_<region>_<trail>_us-east-1_
<end>.json.gz``, naming the log files delivered in that hour with the SHA-256 of their uncompressed content, chained
to the previous digest of its region (its SHA-256 and signature), and signed SHA256withRSA. A local copy keeps no S3
metadata, so the newest digest of each region carries its signature in a sidecar
(``<digest>.metadata.json``, as ``aws s3api head-object`` prints it). The public key is in
``cloudtrail/list-public-keys.json``, as ``aws cloudtrail list-public-keys --output json`` prints it.

The key below stands in for AWS's and is public on purpose: it makes the demo verifiable, and proves nothing about
anything else. RSA PKCS #1 v1.5 signatures are deterministic: the same log files give the same digest bytes.
Unlike a real trail, the digests run on through the demo's logging gap (incident 6 stops logging for a while; a
real trail delivers no digests then, and ``verify`` reports the ``gap``): the demo shows a clean verification.
"""
from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from trailtools.demo import scenario as S
from trailtools.demo._io import cli_json
from trailtools.integrity.digests import sidecar_path

#: Where the public keys file is, in the demo folder.
PUBLIC_KEYS = "cloudtrail/list-public-keys.json"
HOME_REGION = "us-east-1"
_LOG_TIME = re.compile(r"_CloudTrail_[a-z0-9-]+_(\d{8}T\d{4})Z_")
_EVENT_TIME = re.compile(rb'"eventTime":"([0-9T:Z-]{20})"')

# A 2048-bit RSA key made once for the demo (public on purpose: see the module's doc).
DEMO_SIGNING_KEY = """\
-----BEGIN PRIVATE KEY-----
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDQwh3zfPe8rE/f
8NoxuJZIOjfXMpLPwOu4TXNuIsFvlQWR+ynrcUBKacC1Atm3Fmxn5dHcvh4jf+3e
wdIr6LJC6G9ssGhH85Nu0kF7ENyOHBOwW0xRfU93fE0H+LYAZXKd23ycnmiWN7dQ
ioiEAu/D+hZvYX0Ex/Vq750U0cDd+8DVgQIPCCj1GR0cVP36UcbrhjP+Oe31yi4m
iH3IS+Hi6zDqluJwSh3hSN81iGoIs1oi5PVaGvNf8BfsaX3i3Er+WjOnuQTUa0tT
g66JPPUmft+MTgho0aINEL+Kd66/byCPZJ4nr6WNfirB4GPLe5t5QjFCcAwCSqCN
dxI4jsINAgMBAAECggEAHZKiM5AMeEngttSj1E9V2r2Ek5OygIPP4Lf4Fi4OQQRX
Waq+8X+FoAUDK6FPvkQK71z7Mc4s7tJ8nAXRBC9esWPEBR2oaCj1Rcm7RPfKhscr
ctw8H38k9sRBFVQCVGQKrJofOQCnyD/0VBCL7keMN7MB4p1o3HiHJ7LyCbT9IXT6
zj45j7QvfOWWDKpQZpWHWVo8QIhHSy+MekkFCPwmQAY4yTlQMlwYUu0dAjBgPm49
nSECsWc986thBD6BmM9MDyWZ/2mWS9kioKBsJC064ZIiO/HIhjU2KMQqsupsklxh
4rvLboi29GQPac8qRQufdG1H5EksOYVhUJ9s2M+WAQKBgQD7Uq+uhyYbmhuCedG4
CifFPOD/ROARce3AUtFpI1Ol5x07HhhTnq6gY1cqxG8kF5s+jhXukhq7xs3dzqy9
SYV33heHHnX+lLAM5a6mcJkVUgY/txy4xZXAh0igziy0sicusT9ie7WRJy8+fjB9
7vhBAHZ+fyPsY/n9r31zaYYEbQKBgQDUpKaJTXzSUQjF62jFv3hDq7viCPiVf5dk
ZrM9LbSkpqRbESbVFlCGO4FsjBVYgS8onR5yCLEm3O4JmILn4jiUTKoZ7FH6TBmz
S6qLxlIPSnYXx2esupGunvnEwhuQJRQ1ZOHkXMeFwThtezSxkxz71d3HPCdhZEEd
yxgFmWrwIQKBgQD06UIMiOVo9oeiYYYum67f9ZCpEfxs46I1zj8F/wgP3yXMK2q3
aiZwY/5Yze4ktOBzWFElGLn2jSim4zXQjCoFgqdY5CVGPq1FFDpbNdToQvOV+aKC
qQFjCjKLif9k40ttpArJtRZd6lqOwrgMsOi5p3LRmKJwRYkjX3WYF5gjDQKBgQCL
6jKyEUxaTnuJTxZHV27Yh/0+A00dgTCqHXE+hf5ggE2Qpj544w/k4u6L77hz3byb
6pYHznRR7/ioU7N+xDkaSz95gyeFm+ElOlpjUgDYktQVXV14J+KHlY8eyeG8/MjJ
QTHpQqr99V8dmn3XgccGZXhiCdCXopG9+s45kPLuQQKBgD0SPeI2UlBsNBLWagp/
igfdCggXYQeya34RuE5iOvns939199GCTt8omMCeJG4WlSxDlxl5dqjghr+gaxF9
4iZm0ONisQfmY9hYOeiUjUWFsnQFyzERoyluPHpSFE2sndDpyoll+YWrnbuOFKim
KpzLXCM44gTEr7hFzkmdIMdV
-----END PRIVATE KEY-----

"""


def _key():
    return serialization.load_pem_private_key(DEMO_SIGNING_KEY.encode(), password=None)


def _t(d: datetime) -> str:
    return d.strftime("%Y-%m-%dT%H:%M:%SZ")


def public_keys_response(key=None) -> dict:
    """The demo key as ``aws cloudtrail list-public-keys --output json`` prints it (DER PKCS #1, base64; the
    fingerprint is the hex MD5 of the DER)."""
    der = (key or _key()).public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    return {"PublicKeyList": [{"Value": base64.b64encode(der).decode(), "ValidityStartTime": _t(S.START - timedelta(
        days=1)), "ValidityEndTime": _t(S.NOW + timedelta(days=3650)), "Fingerprint": hashlib.md5(der).hexdigest()}]}


def _log_files(out_dir: Path) -> dict[str, list[tuple[datetime, str]]]:
    """Each region's CloudTrail log files: (delivery time, key), in order."""
    base = out_dir / "AWSLogs" / S.ACCOUNT_ID / "CloudTrail"
    out: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    for path in sorted(base.glob("*/*/*/*/*.json.gz")):
        m = _LOG_TIME.search(path.name)
        if m:
            key = path.relative_to(out_dir).as_posix()
            out[key.split("/")[3]].append((datetime.strptime(m.group(1), "%Y%m%dT%H%M").replace(tzinfo=UTC), key))
    return out


def _entry(out_dir: Path, key: str) -> dict:
    body = gzip.decompress((out_dir / key).read_bytes())
    times = sorted(t.decode() for t in _EVENT_TIME.findall(body))
    return {"s3Bucket": S.TRAIL_BUCKET, "s3Object": key, "hashValue": hashlib.sha256(body).hexdigest(),
            "hashAlgorithm": "SHA-256", "newestEventTime": times[-1] if times else None,
            "oldestEventTime": times[0] if times else None}


def write(out_dir: Path) -> dict:
    """Write the hourly digest chains of every region with log files, the newest digests' signature sidecars and the
    public keys file; returns counts for the manifest. Reads the log files, never changes them."""
    out_dir = Path(out_dir)
    key = _key()
    fingerprint = public_keys_response(key)["PublicKeyList"][0]["Fingerprint"]
    n = 0
    for region, logs in sorted(_log_files(out_dir).items()):
        by_hour: dict[datetime, list[str]] = defaultdict(list)
        for delivered, k in logs:
            by_hour[delivered.replace(minute=0)].append(k)
        hour, last = min(by_hour), max(by_hour)
        prev = None  # (key, uncompressed bytes, signature)
        while hour <= last:
            end = hour + timedelta(hours=1)
            files = [_entry(out_dir, k) for k in by_hour.get(hour, [])]
            dkey = (f"AWSLogs/{S.ACCOUNT_ID}/CloudTrail-Digest/{region}/{end:%Y/%m/%d}/{S.ACCOUNT_ID}_CloudTrail-"
                    f"Digest_{region}_{S.TRAIL_NAME}_{HOME_REGION}_{end:%Y%m%dT%H%M%SZ}.json.gz")
            newest = [f["newestEventTime"] for f in files if f["newestEventTime"]]
            oldest = [f["oldestEventTime"] for f in files if f["oldestEventTime"]]
            body = {
                "awsAccountId": S.ACCOUNT_ID, "digestStartTime": _t(hour), "digestEndTime": _t(end),
                "digestS3Bucket": S.TRAIL_BUCKET, "digestS3Object": dkey,
                "digestPublicKeyFingerprint": fingerprint, "digestSignatureAlgorithm": "SHA256withRSA",
                "newestEventTime": max(newest) if newest else None, "oldestEventTime": min(oldest) if oldest else None,
                "previousDigestS3Bucket": S.TRAIL_BUCKET if prev else None,
                "previousDigestS3Object": prev[0] if prev else None,
                "previousDigestHashValue": hashlib.sha256(prev[1]).hexdigest() if prev else None,
                "previousDigestHashAlgorithm": "SHA-256" if prev else None,
                "previousDigestSignature": prev[2] if prev else None,
                "logFiles": files,
            }
            raw = json.dumps(body, separators=(",", ":")).encode()
            text = (f"{_t(end)}\n{S.TRAIL_BUCKET}/{dkey}\n{hashlib.sha256(raw).hexdigest()}\n"
                    f"{prev[2] if prev else 'null'}")  # the string CloudTrail signs
            signature = key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256()).hex()
            path = out_dir / dkey
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(gzip.compress(raw, mtime=0))
            prev, hour, n = (dkey, raw, signature), end, n + 1
        sidecar_path(out_dir / prev[0]).write_bytes(cli_json(
            {"ContentType": "application/json", "Metadata": {"signature": prev[2],
                                                             "signature-algorithm": "SHA256withRSA"}}))
    keys = out_dir / PUBLIC_KEYS
    keys.parent.mkdir(parents=True, exist_ok=True)
    keys.write_bytes(cli_json(public_keys_response(key)))
    return {"digests": n, "public_keys": PUBLIC_KEYS, "trail": S.TRAIL_NAME, "bucket": S.TRAIL_BUCKET}
