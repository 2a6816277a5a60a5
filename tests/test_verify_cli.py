"""`trailtools verify`: the summary, --json, and the exit codes (0 verified, 1 failed, 3 incomplete, 2 user error)."""
import gzip
import json
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from test_verify import build_trail, keys_file


def run(*args):
    return subprocess.run([sys.executable, "-m", "trailtools", "verify", *args], capture_output=True, text=True)


@pytest.fixture(scope="module")
def signed(tmp_path_factory):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    root = tmp_path_factory.mktemp("cli-trail")
    built = build_trail(root, key)
    return root, built, keys_file(root.parent / "cli-keys.json", key)


def test_verified_trail_exits_0_with_a_summary(signed):
    root, _, keys = signed
    p = run(str(root), "--public-keys", str(keys))
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.startswith("VERIFIED: 4 digest files (4 signatures verified), 8/8 log files intact")


def test_without_keys_exits_3(signed):
    root, _, _ = signed
    p = run(str(root))
    assert p.returncode == 3
    assert p.stdout.startswith("INCOMPLETE:") and "4 no public key for the digest" in p.stdout


def test_tampered_trail_exits_1_and_names_the_file(signed, tmp_path):
    import shutil

    root, built, keys = signed
    copy = tmp_path / "copy"
    shutil.copytree(root, copy)
    victim = copy / built["logs"][2]
    victim.write_bytes(gzip.compress(b'{"Records": []}'))
    p = run(str(copy), "--public-keys", str(keys), "--json")
    assert p.returncode == 1
    doc = json.loads(p.stdout)
    assert doc["status"] == "FAILED" and doc["counts"] == {"modified-log": 1}
    assert doc["problems"][0]["path"] == str(victim) and doc["problems"][0]["severity"] == "fail"


@pytest.mark.parametrize("args, message", [
    (["/no/such/folder"], "No such folder: /no/such/folder"),
    (["ftp://x"], "not ftp://"),
    (["."], "Cannot read the public keys file"),
    (["s3://"], "names no bucket"),
])
def test_user_errors_exit_2_in_one_sentence(args, message, tmp_path):
    if args == ["."]:
        args = [str(tmp_path), "--public-keys", str(tmp_path / "missing.json")]
    p = run(*args)
    assert p.returncode == 2, p.stdout + p.stderr
    assert message in p.stderr and "Traceback" not in p.stderr


def test_bad_window_exits_2(signed):
    root, _, _ = signed
    p = run(str(root), "--start", "2026-11-05", "--end", "2026-11-04")
    assert p.returncode == 2 and "swap --start and --end" in p.stderr
