"""`trailtools verify demo`: the demo account's digests, signed with its own key, verify; a copy with one changed byte
in one log file fails, naming that file (the variant docs/demo-account.md suggests trying)."""
from __future__ import annotations

import gzip
import json
import shutil

import pytest

from trailtools import cli
from trailtools.demo import ensure_demo_account
from trailtools.demo import scenario as S
from trailtools.demo.digests import PUBLIC_KEYS, public_keys_response
from trailtools.integrity import digests as dg

pytestmark = pytest.mark.slow  # generates the demo account (once per session) and hashes its 14,000 log files


def test_verify_demo_exits_0(capsys):
    root = ensure_demo_account()
    manifest = json.loads((root / "manifest.json").read_text())
    n_logs, n_digests = manifest["kinds"]["cloudtrail"]["log_files"], manifest["kinds"]["digests"]["digests"]
    assert cli.main(["verify", "demo"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"VERIFIED: {n_digests} digest files ({n_digests} signatures verified), "
                          f"{n_logs}/{n_logs} log files intact"), out
    assert "the demo's own key" in out
    # the keys file has the shape of `aws cloudtrail list-public-keys --output json`, and is what signed them
    keys, notes = dg.load_public_keys([root / PUBLIC_KEYS])
    assert notes == [] and list(keys) == [public_keys_response()["PublicKeyList"][0]["Fingerprint"]]
    first = sorted((root / manifest["kinds"]["digests"]["prefix"] / "us-east-1").rglob("*.json.gz"))[0]
    d = json.loads(gzip.decompress(first.read_bytes()))
    assert d["digestS3Bucket"] == S.TRAIL_BUCKET and d["digestPublicKeyFingerprint"] in keys
    assert d["previousDigestSignature"] is None and d["logFiles"][0]["hashAlgorithm"] == "SHA-256"


def test_a_copy_with_one_byte_changed_fails_naming_the_file(tmp_path, capsys):
    root = ensure_demo_account()
    copy = tmp_path / "demo-copy"
    shutil.copytree(root, copy)
    assert cli.main(["verify", str(copy)]) == 0   # a folder holding the demo: verified with the demo's key
    capsys.readouterr()
    victim = sorted((copy / f"AWSLogs/{S.ACCOUNT_ID}/CloudTrail/us-east-1/2026/10/11").glob("*.json.gz"))[30]
    body = gzip.decompress(victim.read_bytes())
    i = body.index(b'"sourceIPAddress":"') + len(b'"sourceIPAddress":"')
    victim.write_bytes(gzip.compress(body[:i] + bytes([body[i] ^ 1]) + body[i + 1:]))  # one digit of an address
    assert cli.main(["verify", str(copy)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("FAILED") and victim.name in out and "modified" in out, out
    assert cli.main(["verify", str(copy), "--start", "2026-10-12"]) == 0   # outside the window it is not looked at
