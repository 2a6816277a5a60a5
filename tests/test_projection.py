"""Column projection (``Query.columns``): the frame holds the columns asked and those it always has, with the same
rows and values as without projection, from a parse, from the cache and from Athena (the SELECT lists only the
fields those columns come from); and the delivery bounds that let a long window be read slice by slice."""
import json
from datetime import UTC, datetime

import pandas as pd
import pytest
from conftest import record

from trailtools import Query, load_events
from trailtools.errors import QueryError
from trailtools.events import cache
from trailtools.events.layout import LOG, PathInfo
from trailtools.events.mapping import record_fields
from trailtools.events.query import ALWAYS_COLUMNS
from trailtools.sources.athena_sql import CloudTrailTable, compile_query, selected
from trailtools.sources.lake_sql import compile_query as lake_query

INSTANCE = "i-04c2a9e71d3b58f06"
ASKED = ("userAgent", "sourceIPAddress", "instanceIds", "userIdentity.arn")


def test_the_columns_asked_those_always_there_and_those_the_filters_read():
    q = Query(columns=["userAgent"], principal="alice", start="2026-10-06")
    assert q.frame_columns() == ("eventTime", "eventSource", "eventName", "userAgent", "eventID", "_file", "_index")
    assert set(q.read_columns()) >= {"userIdentity.arn", "actor", "userIdentity.accessKeyId", *q.frame_columns()}
    assert Query().frame_columns() is None and Query().read_columns() is None
    assert Query(columns="userAgent,errorCode").columns == ("userAgent", "errorCode")
    assert Query(columns=ASKED).describe()["columns"] == list(ASKED)
    with pytest.raises(QueryError, match="'userAgnet' is not a column of the events frame"):
        Query(columns=["userAgnet"])


@pytest.mark.parametrize("query", [Query(resource=INSTANCE), Query(start="2026-10-06", end="2026-10-07"),
                                   Query(principal="dave.miller", errors_only=False, regions=["us-east-1"]),
                                   Query(start="2026-10-13", end="2026-10-14", errors_only=True)],
                         ids=["resource", "day", "principal", "errors"])
def test_the_same_rows_and_values_as_without_projection(query, tmp_path, monkeypatch):
    monkeypatch.setenv("TRAILTOOLS_CACHE_DIR", str(tmp_path))   # a cold cache: the first load parses
    full = load_events("demo", query, cache=False).frame
    assert len(full)
    for cached in (False, True, True):   # parsed, parsed and cached, read from the cache
        res = load_events("demo", query.replace(columns=ASKED), cache=cached)
        part = res.frame
        assert list(part.columns) == list(query.replace(columns=ASKED).frame_columns())
        assert set(ALWAYS_COLUMNS) <= set(part.columns)
        pd.testing.assert_frame_equal(part, full[list(part.columns)])
        assert res.stats.events == len(full)


def test_the_cache_reads_only_the_columns_asked(tmp_path, monkeypatch):
    monkeypatch.setenv("TRAILTOOLS_CACHE_DIR", str(tmp_path))
    load_events("demo", Query(start="2026-10-06", end="2026-10-07"))
    entry = next(tmp_path.rglob("*.arrow"))
    whole, _ = cache.read(entry.stem)
    some, meta = cache.read(entry.stem, ("eventTime", "eventID"))
    assert some.column_names == ["eventTime", "eventID", "_row"] and whole.num_columns > 40
    assert some.num_rows == whole.num_rows and meta["files_read"]


def test_record_fields_of_columns():
    assert record_fields(["userIdentity.arn", "actor", "_file", "additionalEventData.MFAUsed", "eventTime"]) == (
        "userIdentity", "additionalEventData", "eventTime")
    assert record_fields(["instanceIds"]) == ("requestParameters", "responseElements", "resources",
                                              "serviceEventDetails")


def test_athena_selects_only_the_fields_of_the_columns_golden():
    q = Query(start="2026-10-06", end="2026-10-06", regions=["us-east-1"], columns=["userAgent", "actor"])
    assert compile_query(q, CloudTrailTable("security", "cloudtrail_logs")) == """SELECT
  json_format(CAST(useridentity AS JSON)) AS useridentity,
  eventtime,
  eventsource,
  eventname,
  awsregion,
  useragent,
  eventid
FROM "security"."cloudtrail_logs"
WHERE "timestamp" >= '2026/10/05'
  AND "timestamp" <= '2026/10/07'
  AND "region" = 'us-east-1'
  AND eventtime >= '2026-10-06T00:00:00Z'
  AND eventtime < '2026-10-07T00:00:00Z'
ORDER BY eventtime, eventid"""
    # a resource is matched in four fields: they are selected, so that the frame's own filter can be applied again
    assert selected(Query(resource=INSTANCE, columns=["errorCode"])) == [
        "eventtime", "eventsource", "eventname", "errorcode", "requestparameters", "responseelements", "eventid",
        "resources", "serviceeventdetails"]


def test_lake_selects_only_the_fields_of_the_columns():
    sql = lake_query(Query(start="2026-10-06", end="2026-10-07", columns=["sourceIPAddress"]), "EDS1")
    assert sql.split("\nFROM")[0] == """SELECT
  to_iso8601(eventTime) AS "eventTime",
  eventSource AS "eventSource",
  eventName AS "eventName",
  sourceIPAddress AS "sourceIPAddress",
  eventID AS "eventID\""""


def test_athena_rows_of_the_selected_fields_give_the_same_frame(aws_env, tmp_path):
    import boto3
    from test_athena_sql import athena_row
    from test_source_athena import seed

    recs = [record(f"ffffffff-0000-4000-8000-{i:012d}", f"2026-10-06T14:2{i}:31Z", name, awsRegion="us-east-1",
                   requestParameters={"instancesSet": {"items": [{"instanceId": INSTANCE}]}})
            for i, name in enumerate(("RebootInstances", "DescribeInstances"))]
    q = Query(start="2026-10-06", end="2026-10-06", resource=INSTANCE, columns=["userAgent", "actor"])
    cols = selected(q)
    rows = [{c: athena_row(r)[c] for c in cols} for r in recs]
    data = [{"Data": [{"VarCharValue": c} for c in cols]}]
    data += [{"Data": [({"VarCharValue": r[c]} if r[c] is not None else {}) for c in cols]} for r in rows]
    seed(aws_env, data, [{"Name": c, "Label": c, "Type": "varchar"} for c in cols])
    boto3.client("s3").create_bucket(Bucket="athena-results")
    res = load_events("athena://security.cloudtrail_logs?workgroup=primary&output=s3://athena-results/q/", q)
    f = tmp_path / "same.json"
    f.write_text(json.dumps({"Records": recs}))
    local = load_events(str(f), q.replace(columns=()))
    assert list(res.frame.columns) == list(q.frame_columns())
    shown = [c for c in q.frame_columns() if not c.startswith("_")]
    pd.testing.assert_frame_equal(res.frame[shown], local.frame[shown])


def _at(text: str) -> PathInfo:
    t = datetime.fromisoformat(text).replace(tzinfo=UTC)
    return PathInfo(LOG, "111122223333", "us-east-1", None, day=t.replace(hour=0, minute=0, second=0), delivered=t)


def test_delivery_bounds_read_each_file_in_one_slice_only():
    cut = "2026-10-05T12:00:00"
    older = Query(end="2026-10-06T00:00:00Z", delivered_from="2026-10-01T11:45:00", delivered_before=cut)
    newer = Query(end="2026-10-06T00:00:00Z", delivered_from=cut)
    for t in ("2026-10-05T11:59:59", "2026-10-05T12:00:00", "2026-10-05T12:00:01", "2026-10-01T11:45:00",
              "2026-10-06T03:00:00"):
        assert older.wants_path(_at(t)) + newer.wants_path(_at(t)) == 1, t
        lo, hi = older.delivery_text_bounds()
        stamp = t.replace("-", "").replace(":", "")
        assert older.wants_path(_at(t)) == (lo <= stamp <= hi), t
    assert not newer.wants_path(_at("2026-10-06T03:00:01"))   # the late margin of the window's end still holds
    assert older.describe()["delivered_before"] == "2026-10-05T12:00:00Z"


def test_lookup_gives_the_projected_frame_from_the_same_requests(tmp_path, monkeypatch):
    from botocore.stub import Stubber
    from test_source_lookup import NOW, FakeClock, cloudtrail, entry, recs

    from trailtools.events.result import LoadOptions
    from trailtools.sources import lookup

    monkeypatch.setenv("TRAILTOOLS_CACHE_DIR", str(tmp_path))
    eu, us = cloudtrail("eu-west-1"), cloudtrail("us-east-1")
    mine = recs(3, day="2026-11-20", userAgent="console.amazonaws.com")
    q = Query(start="2026-11-20", end="2026-11-20", resource="i-0123456789abcdef0")
    clients = {"eu-west-1": eu, "us-east-1": us}
    with Stubber(eu) as s_eu, Stubber(us) as s_us:
        s_eu.add_response("lookup_events", {"Events": [entry(r) for r in mine]})
        s_us.add_response("lookup_events", {"Events": []})
        whole = lookup.load_lookup("lookup://eu-west-1", q, LoadOptions(progress=False), clients=clients, now=NOW,
                                   sleep=FakeClock().sleep)
    with Stubber(eu), Stubber(us):   # the same windows, settled: from the cache, whatever the columns asked
        part = lookup.load_lookup("lookup://eu-west-1", q.replace(columns=["userAgent"]), LoadOptions(progress=False),
                                  clients=clients, now=NOW, sleep=FakeClock().sleep)
    assert list(part.frame.columns) == list(q.replace(columns=["userAgent"]).frame_columns())
    assert len(part.frame) == 3
    pd.testing.assert_frame_equal(part.frame, whole.frame[list(part.frame.columns)])
