import json
import os
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import settings

# The same examples on every run (CI must not fail on a new random draw); HYPOTHESIS_PROFILE=explore searches wider.
settings.register_profile("repeatable", derandomize=True, print_blob=True)
settings.register_profile("explore", max_examples=5000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("TRAILTOOLS_SHARED", ROOT.parent / "shared"))
DATASETS = SHARED / "datasets"
STRATUS = DATASETS / "stratus-red-team-detonation-logs"
AWSDOCS = DATASETS / "awsdocs-examples" / "cloudtrail-user-guide"
CLI_EXAMPLES = DATASETS / "aws-cli-examples"


def need(path: Path) -> Path:
    """The shared dataset at path, or skip the test with the reason (the datasets live beside the project)."""
    if not path.exists():
        pytest.skip(f"shared dataset not found: {path}")
    return path


@pytest.fixture(scope="session")
def _demo_cache(tmp_path_factory):
    """One generated demo account for the whole test run (generating it takes 10-40 s), shared by pytest-xdist's
    workers: the first to need it generates it, the others wait for it (``ensure_demo_account`` locks the folder)."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the run's folder, above each worker's own
    folder = base / "demo-cache"
    folder.mkdir(exist_ok=True)
    return folder


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch, _demo_cache):
    """Every test gets its own columnar cache folder: no test reads another's entries or the user's cache."""
    monkeypatch.setenv("TRAILTOOLS_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.setenv("TRAILTOOLS_DEMO_CACHE_DIR", str(_demo_cache))


def s3_path(root: Path, account: str, region: str, delivered: str, *, org: str | None = None,
            kind: str = "CloudTrail", uid: str = "AbCdEf0123456789") -> Path:
    """Where CloudTrail would deliver a file: delivered is 'YYYYMMDDTHHMMZ'."""
    y, m, d = delivered[:4], delivered[4:6], delivered[6:8]
    base = root / "AWSLogs" / (org or "") / account / kind / region / y / m / d
    return base / f"{account}_{kind}_{region}_{delivered}_{uid}.json.gz"


def write_gz(path: Path, obj) -> Path:
    import gzip
    import json

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(json.dumps(obj).encode()))
    return path


def record(event_id: str, time: str, name: str = "DescribeInstances", **extra) -> dict:
    """A small but complete CloudTrail record."""
    rec = {
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "principalId": "AIDAEXAMPLE", "arn": "arn:aws:iam::111122223333:user/alice",
                         "accountId": "111122223333", "accessKeyId": "AKIAEXAMPLE", "userName": "alice"},
        "eventTime": time, "eventSource": "ec2.amazonaws.com", "eventName": name, "awsRegion": "us-east-1",
        "sourceIPAddress": "192.0.2.10", "userAgent": "aws-cli/2.15.0", "requestParameters": None,
        "responseElements": None, "requestID": "req-" + event_id, "eventID": event_id, "readOnly": True,
        "eventType": "AwsApiCall", "managementEvent": True, "recipientAccountId": "111122223333",
        "eventCategory": "Management",
    }
    rec.update(extra)
    return rec


# ---- shared by the AWS service tests ---------------------------------------------------------------------

def cli_outputs(path: Path) -> list:
    """The JSON of every ``Output::`` literal block of an aws-cli example page (indented 4 spaces).

    Some blocks are bare fragments (``"Event": {...}``): those are wrapped in braces.
    """
    if not path.exists():
        pytest.skip(f"shared dataset not found: {path}")
    out, lines = [], path.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if line.strip() != "Output::":
            continue
        block = []
        for nxt in lines[i + 1:]:
            if nxt.strip() and not nxt.startswith("    "):
                break
            block.append(nxt[4:])
        text = "\n".join(block).strip()
        try:
            out.append(json.loads(text))
        except json.JSONDecodeError:
            out.append(json.loads("{" + text + "}"))
    assert out, f"no Output:: block in {path}"
    return out


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


#: Debian's chromium, driven by Playwright (never a downloaded browser); CI installs it (apt-get install chromium).
CHROMIUM = Path("/usr/bin/chromium")
#: headless, and none of chromium's own network traffic (this machine's closed network refuses it)
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium under Playwright, one per test module; the test is skipped, saying why, without it."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not installed (CI installs Debian's chromium: apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield b
    b.close()
    pw.stop()


@pytest.fixture(scope="module")
def moto_server():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws_env(moto_server, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return moto_server


@pytest.fixture
def api_calls(monkeypatch):
    """Every AWS API call made during the test, as the IAM action it needs (``s3:ListBucket`` for ListObjectsV2)."""
    from botocore.client import BaseClient

    from trailtools.aws.errors import IAM_ACTION

    calls = set()
    real = BaseClient._make_api_call

    def record_call(self, operation, params):
        service = self.meta.service_model.service_name
        calls.add(IAM_ACTION.get((service, operation), f"{self.meta.service_model.signing_name}:{operation}"))
        return real(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", record_call)
    return calls


@pytest.fixture(params=[pytest.param(True, id="native"), pytest.param(False, id="python")])
def native(request, monkeypatch):
    """Both reading paths: the native scanner (where built) and the pure Python one."""
    from trailtools.events import table

    if request.param and table._scan is None:
        pytest.skip("the native scanner is not built")
    monkeypatch.setattr(table, "NATIVE", request.param)
    return request.param
