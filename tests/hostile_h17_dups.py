"""Hostile inputs for issue 17 item 2 (a planted duplicate hides evidence), generated at test time.

- :func:`planted_reboot_trail`: a trail in CloudTrail's S3 layout where a real ``RebootInstances`` of an instance
  sits in its delivery file, and a planted file that sorts earlier holds a record with the same eventID and benign
  content (a ``DescribeInstances`` of the same instance at the same time, by someone else);
- :func:`redelivered_trail`: the same real trail where CloudTrail delivered the reboot's file twice, byte for byte
  (what its own duplicates look like);
- :func:`reformatted_copy`: an identical record in another key order and spacing (still the same event).
"""
from __future__ import annotations

import gzip
import json
from pathlib import Path

ACCOUNT = "111122223333"
INSTANCE = "i-0a1b2c3d4e5f60718"
REBOOT_ID = "7d3c1f0e-5b2a-4c6d-9e8f-0a1b2c3d4e5f"
REBOOT_TIME = "2026-11-03T14:05:09Z"


def _path(root: Path, delivered: str, uid: str) -> Path:
    y, m, d = delivered[:4], delivered[4:6], delivered[6:8]
    return (root / "AWSLogs" / ACCOUNT / "CloudTrail" / "us-east-1" / y / m / d
            / f"{ACCOUNT}_CloudTrail_us-east-1_{delivered}_{uid}.json.gz")


def _write(path: Path, records: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(json.dumps({"Records": records}).encode()))
    return path


def _identity(user: str) -> dict:
    return {"type": "IAMUser", "principalId": "AIDA6ON6E4XEGITEXAMPLE", "arn": f"arn:aws:iam::{ACCOUNT}:user/{user}",
            "accountId": ACCOUNT, "accessKeyId": "AKIA6ON6E4XEEXAMPLE1", "userName": user}


def reboot_record() -> dict:
    """The real call, as CloudTrail writes a RebootInstances by the CLI."""
    return {
        "eventVersion": "1.10", "userIdentity": _identity("mallory"), "eventTime": REBOOT_TIME,
        "eventSource": "ec2.amazonaws.com", "eventName": "RebootInstances", "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.77", "userAgent": "aws-cli/2.17.20 md/Botocore#1.34.138 os/linux#6.8",
        "requestParameters": {"instancesSet": {"items": [{"instanceId": INSTANCE}]}},
        "responseElements": {"requestId": "5f1c0a7e-2d3b-4c5a-8e9f-1a2b3c4d5e6f", "_return": True},
        "requestID": "5f1c0a7e-2d3b-4c5a-8e9f-1a2b3c4d5e6f", "eventID": REBOOT_ID, "readOnly": False,
        "eventType": "AwsApiCall", "managementEvent": True, "recipientAccountId": ACCOUNT,
        "eventCategory": "Management",
        "tlsDetails": {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
                       "clientProvidedHostHeader": "ec2.us-east-1.amazonaws.com"},
    }


def benign_copy() -> dict:
    """The planted record: the reboot's eventID on a harmless read of the same instance by an automation user."""
    rec = reboot_record()
    rec.update(userIdentity=_identity("inventory-bot"), eventName="DescribeInstances", readOnly=True,
               sourceIPAddress="198.51.100.20", userAgent="Boto3/1.34.0 Python/3.11 inventory-scan",
               responseElements=None)
    return rec


def _context(n: int) -> list[dict]:
    """Ordinary calls of the hour, about other instances."""
    out = []
    for i in range(n):
        rec = reboot_record()
        rec.update(eventID=f"0e{i:06d}-1111-4222-8333-944455556666", eventName="DescribeInstances",
                   eventTime=f"2026-11-03T14:{i % 60:02d}:00Z", readOnly=True, responseElements=None,
                   requestParameters={"instancesSet": {"items": [{"instanceId": f"i-0ffff{i:012d}"}]}},
                   userIdentity=_identity("alice"))
        out.append(rec)
    return out


def planted_reboot_trail(root: Path) -> tuple[Path, Path, Path]:
    """(root, the real file, the planted file): the planted file's name sorts before the real one's."""
    real = _write(_path(root, "20261103T1410Z", "Xq7RealDelivery1"), _context(5) + [reboot_record()])
    planted = _write(_path(root, "20261103T1405Z", "AAAAplanted00001"), [benign_copy()])
    assert str(planted) < str(real)
    return root, real, planted


def redelivered_trail(root: Path) -> tuple[Path, Path, Path]:
    """(root, the file, its re-delivery): CloudTrail delivered the same records twice (byte-identical records)."""
    real = _write(_path(root, "20261103T1410Z", "Xq7RealDelivery1"), _context(5) + [reboot_record()])
    again = _write(_path(root, "20261103T1415Z", "Xq7RealDelivery2"), [reboot_record()])
    return root, real, again


def reformatted_copy(root: Path) -> tuple[Path, Path, Path]:
    """(root, the file, a copy of the reboot record with its keys reversed and indented: the same content)."""
    real = _write(_path(root, "20261103T1410Z", "Xq7RealDelivery1"), _context(5) + [reboot_record()])
    rec = reboot_record()
    text = json.dumps({"Records": [dict(reversed(list(rec.items())))]}, indent=3)
    other = _path(root, "20261103T1405Z", "AAAAreformatted1")
    other.parent.mkdir(parents=True, exist_ok=True)
    other.write_bytes(gzip.compress(text.encode()))
    return root, real, other
