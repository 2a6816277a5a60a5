"""Golden SQL for CloudTrail Lake (issue 22 item 3): the query spec compiled as for Athena, the time first."""
from trailtools import Query
from trailtools.sources.lake_sql import COLUMNS, compile_query, cost_usd, row_to_record, store_id, where_clauses

STORE = "EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE"


def test_a_window_a_region_and_a_principal():
    q = Query(start="2026-11-03", end="2026-11-03", principal="alice", event_names=["RunInstances", "StopInstances"],
              regions=["us-east-1"])
    sql = compile_query(q, STORE)
    assert sql.startswith('SELECT\n  eventVersion AS "eventVersion",\n  json_format(CAST(userIdentity AS JSON)) AS '
                          '"userIdentity",\n  to_iso8601(eventTime) AS "eventTime",\n')
    assert sql.endswith(
        "FROM EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE\n"
        "WHERE eventTime >= timestamp '2026-11-03 00:00:00'\n"
        "  AND eventTime < timestamp '2026-11-04 00:00:00'\n"
        "  AND awsRegion = 'us-east-1'\n"
        "  AND eventName IN ('RunInstances', 'StopInstances')\n"
        "  AND (lower(userIdentity.arn) = 'alice' OR lower(userIdentity.username) = 'alice' OR "
        "lower(userIdentity.principalid) = 'alice' OR lower(userIdentity.accesskeyid) = 'alice' OR "
        "lower(userIdentity.sessioncontext.sessionissuer.username) = 'alice' OR "
        "lower(userIdentity.sessioncontext.sessionissuer.arn) = 'alice' OR lower(userIdentity.arn) LIKE '%/alice' OR "
        "regexp_like(lower(userIdentity.arn), '(?:^|/)alice@[^/@]*$') OR "
        "regexp_like(lower(userIdentity.username), '(?:^|/)alice@[^/@]*$'))\n"
        "ORDER BY eventTime, eventID")
    assert all(f"AS \"{name}\"" in sql for name in COLUMNS)  # every column under CloudTrail's own name


def test_resource_accounts_errors_and_quotes():
    q = Query(start="2026-11-03T10:00:00", end="2026-11-03T11:30:00", resource="i-0abc'; DROP",
              accounts=["111122223333", "444455556666"], event_sources=["ec2.amazonaws.com"], errors_only=True)
    assert where_clauses(q) == [
        "eventTime >= timestamp '2026-11-03 10:00:00'",
        "eventTime < timestamp '2026-11-03 11:30:00'",
        "recipientAccountId IN ('111122223333', '444455556666')",
        "eventSource = 'ec2.amazonaws.com'",
        "errorCode IS NOT NULL",
        "(strpos(json_format(CAST(requestParameters AS JSON)), 'i-0abc''; DROP') > 0 OR "
        "strpos(json_format(CAST(responseElements AS JSON)), 'i-0abc''; DROP') > 0 OR "
        "strpos(json_format(CAST(serviceEventDetails AS JSON)), 'i-0abc''; DROP') > 0 OR "
        "any_match(resources, x -> strpos(x.arn, 'i-0abc''; DROP') > 0))",
    ]


def test_store_ids_cost_and_rows():
    assert store_id(STORE) == STORE
    assert store_id(f"arn:aws:cloudtrail:us-east-1:111122223333:eventdatastore/{STORE}") == STORE
    assert store_id("x; DROP TABLE") is None
    assert cost_usd(2 * 1024 ** 3) == 0.01
    row = [{"eventTime": "2026-11-03T10:00:00.000Z"}, {"readOnly": "false"},
           {"requestParameters": '{"instancesSet":"{\\"items\\":[{\\"instanceId\\":\\"i-0abc\\"}]}","force":"true"}'},
           {"userIdentity": '{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/alice","sessionContext":null}'},
           {"errorCode": None}, {"unknownColumn": "x"}]
    assert row_to_record(row) == {
        "eventTime": "2026-11-03T10:00:00.000Z", "readOnly": False,
        "requestParameters": {"instancesSet": {"items": [{"instanceId": "i-0abc"}]}, "force": "true"},
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/alice"}}
