"""Golden tests of the Athena compiler: a query spec in, the exact SQL out (pySigma style); and rows back to the
CloudTrail records they came from."""
import json

import pytest
from conftest import record

from trailtools import Query
from trailtools.sources.athena_sql import (
    COLUMNS,
    CloudTrailTable,
    compile_query,
    cost_usd,
    create_table_ddl,
    row_to_record,
    where_clauses,
)

TABLE = CloudTrailTable("security", "cloudtrail_logs")
SELECT = """SELECT
  eventversion,
  json_format(CAST(useridentity AS JSON)) AS useridentity,
  eventtime,
  eventsource,
  eventname,
  awsregion,
  sourceipaddress,
  useragent,
  errorcode,
  errormessage,
  requestparameters,
  responseelements,
  additionaleventdata,
  requestid,
  eventid,
  readonly,
  json_format(CAST(resources AS JSON)) AS resources,
  eventtype,
  apiversion,
  recipientaccountid,
  serviceeventdetails,
  sharedeventid,
  vpcendpointid,
  vpcendpointaccountid,
  eventcategory,
  json_format(CAST(addendum AS JSON)) AS addendum,
  sessioncredentialfromconsole,
  edgedevicedetails,
  json_format(CAST(tlsdetails AS JSON)) AS tlsdetails"""


def test_reboot_query_golden():
    q = Query(start="2026-10-06", end="2026-10-06", regions=["us-east-1"], accounts=["314159265358"],
              resource="i-04c2a9e71d3b58f06")
    assert compile_query(q, TABLE) == SELECT + """
FROM "security"."cloudtrail_logs"
WHERE "timestamp" >= '2026/10/05'
  AND "timestamp" <= '2026/10/07'
  AND "region" = 'us-east-1'
  AND "account" = '314159265358'
  AND eventtime >= '2026-10-06T00:00:00Z'
  AND eventtime < '2026-10-07T00:00:00Z'
  AND (strpos(requestparameters, 'i-04c2a9e71d3b58f06') > 0 OR strpos(responseelements, 'i-04c2a9e71d3b58f06') > 0 OR strpos(serviceeventdetails, 'i-04c2a9e71d3b58f06') > 0 OR any_match(resources, x -> strpos(x.arn, 'i-04c2a9e71d3b58f06') > 0))
ORDER BY eventtime, eventid"""


def test_empty_query_reads_the_whole_table_golden():
    assert compile_query(Query(), TABLE) == SELECT + """
FROM "security"."cloudtrail_logs"
ORDER BY eventtime, eventid"""


def test_login_query_on_a_day_partitioned_table_golden():
    """AWS's own single-region table has only the day partition: regions and accounts become plain columns."""
    table = CloudTrailTable("db", "t", catalog="AwsDataCatalog", partitions={"day": "timestamp"})
    q = Query(start="2026-10-06T14:00:00Z", regions=["us-east-1", "eu-west-1"], accounts=["111122223333"],
              event_names=["ConsoleLogin", "CreateAccessKey"], event_sources=["signin.amazonaws.com"],
              principal="O'Brien", errors_only=True)
    assert where_clauses(q, table) == [
        "\"timestamp\" >= '2026/10/06'",
        "awsregion IN ('us-east-1', 'eu-west-1')",
        "recipientaccountid = '111122223333'",
        "eventtime >= '2026-10-06T14:00:00Z'",
        "eventname IN ('ConsoleLogin', 'CreateAccessKey')",
        "eventsource = 'signin.amazonaws.com'",
        "errorcode IS NOT NULL",
        "(lower(useridentity.arn) = 'o''brien' OR lower(useridentity.username) = 'o''brien' OR "
        "lower(useridentity.principalid) = 'o''brien' OR lower(useridentity.accesskeyid) = 'o''brien' OR "
        "lower(useridentity.sessioncontext.sessionissuer.username) = 'o''brien' OR "
        "lower(useridentity.sessioncontext.sessionissuer.arn) = 'o''brien' OR "
        "lower(useridentity.arn) LIKE '%/o''brien' OR "
        "regexp_like(lower(useridentity.arn), '(?:^|/)o''brien@[^/@]*$') OR "
        "regexp_like(lower(useridentity.username), '(?:^|/)o''brien@[^/@]*$'))",
    ]
    assert compile_query(q, table).split("\n")[30] == 'FROM "AwsDataCatalog"."db"."t"'


def test_a_bare_user_name_also_finds_its_e_mail_style_names():
    """alice -> alice@example.com, the user name or the session name ending the ARN (as the frame filter)."""
    clause = where_clauses(Query(principal="Emma.Wilson"), TABLE)[-1]
    assert clause.endswith("lower(useridentity.arn) LIKE '%/emma.wilson' OR "
                           "regexp_like(lower(useridentity.arn), '(?:^|/)emma\\.wilson@[^/@]*$') OR "
                           "regexp_like(lower(useridentity.username), '(?:^|/)emma\\.wilson@[^/@]*$'))")
    assert "regexp_like" not in where_clauses(Query(principal="emma@example.com"), TABLE)[-1]


def test_a_late_margin_widens_the_partition_range():
    from datetime import timedelta

    q = Query(start="2026-10-06", end="2026-10-06", late_margin=timedelta(days=2))
    assert where_clauses(q, TABLE)[:2] == ["\"timestamp\" >= '2026/10/05'", "\"timestamp\" <= '2026/10/09'"]


def test_no_partitions_at_all():
    table = CloudTrailTable("db", "t", partitions={})
    q = Query(start="2026-10-06", regions=["us-east-1"])
    assert where_clauses(q, table) == ["awsregion = 'us-east-1'", "eventtime >= '2026-10-06T00:00:00Z'"]


def test_create_table_is_awss_documented_ddl_with_projected_folders():
    ddl = create_table_ddl(TABLE, "s3://trail/AWSLogs", accounts=["111122223333"], regions=["us-east-1", "eu-west-1"],
                           since="2026/01/01")
    assert ddl.startswith("CREATE EXTERNAL TABLE IF NOT EXISTS `security`.`cloudtrail_logs`(\n    eventversion STRING,")
    assert "STORED AS INPUTFORMAT 'com.amazon.emr.cloudtrail.CloudTrailInputFormat'" in ddl
    assert ddl.endswith("""TBLPROPERTIES (
  'projection.enabled'='true',
  'projection.account.type'='enum',
  'projection.account.values'='111122223333',
  'projection.region.type'='enum',
  'projection.region.values'='us-east-1,eu-west-1',
  'projection.timestamp.format'='yyyy/MM/dd',
  'projection.timestamp.interval'='1',
  'projection.timestamp.interval.unit'='DAYS',
  'projection.timestamp.range'='2026/01/01,NOW',
  'projection.timestamp.type'='date',
  'storage.location.template'='s3://trail/AWSLogs/${account}/CloudTrail/${region}/${timestamp}')""")
    for col in COLUMNS:
        assert f"\n    {col} " in ddl
    with pytest.raises(ValueError):
        create_table_ddl(TABLE, "s3://trail/AWSLogs/", accounts=[], regions=["us-east-1"])


def lowercase(obj):
    """What Hive does to a record's names."""
    if isinstance(obj, dict):
        return {k.lower(): lowercase(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [lowercase(v) for v in obj]
    return obj


def athena_row(rec: dict) -> dict:
    """A record as GetQueryResults returns the compiled SELECT's row: every value text, structs as JSON."""
    low = lowercase({k: v for k, v in rec.items()})
    row = {}
    for col, kind in COLUMNS.items():
        value = low.get(col)
        if col in ("requestparameters", "responseelements", "additionaleventdata", "serviceeventdetails"):
            value = rec.get({"requestparameters": "requestParameters", "responseelements": "responseElements",
                             "additionaleventdata": "additionalEventData",
                             "serviceeventdetails": "serviceEventDetails"}[col])
        if value is None:
            row[col] = None
        elif kind in ("json", "struct"):
            row[col] = json.dumps(value)
        elif kind == "bool":
            row[col] = "true" if value else "false"
        else:
            row[col] = str(value)
    return row


def test_rows_become_the_records_they_came_from():
    rec = record("eeeeeeee-0000-4000-8000-000000000009", "2026-10-06T14:22:31Z", "RebootInstances",
                 requestParameters={"instancesSet": {"items": [{"instanceId": "i-04c2a9e71d3b58f06"}]}},
                 resources=[{"ARN": "arn:aws:ec2:us-east-1:111122223333:instance/i-04c2a9e71d3b58f06",
                             "accountId": "111122223333", "type": "AWS::EC2::Instance"}],
                 additionalEventData={"MFAUsed": "No"}, readOnly=False,
                 tlsDetails={"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
                             "clientProvidedHostHeader": "ec2.us-east-1.amazonaws.com"})
    rec["userIdentity"]["sessionContext"] = {"sessionIssuer": {"type": "Role", "userName": "ops"},
                                             "attributes": {"mfaAuthenticated": "true", "creationDate": "x"}}
    back = row_to_record(athena_row(rec))
    expected = {k: v for k, v in rec.items() if k.lower() in COLUMNS and v is not None}
    assert back == expected


def test_cost_is_five_dollars_a_terabyte_with_a_10_mb_minimum():
    assert cost_usd(0) == cost_usd(10 * 2 ** 20) == pytest.approx(10 / 2 ** 20 * 5)
    assert cost_usd(2 ** 40) == 5.0
    assert cost_usd(10 * 2 ** 20 + 1) == pytest.approx(11 / 2 ** 20 * 5)
