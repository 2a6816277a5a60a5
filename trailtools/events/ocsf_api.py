"""Security Lake's CloudTrail: OCSF API Activity (class 6003) in Parquet, mapped back to CloudTrail's records.

Amazon Security Lake stores CloudTrail management and data events as OCSF events in Parquet files
(``.../region=us-east-1/accountId=111122223333/eventDay=20261103/<id>.gz.parquet``). Each OCSF field that comes from
a CloudTrail field is mapped back (:data:`FIELDS`, the mapping as data: OCSF path -> CloudTrail path, as the OCSF
project's CloudTrail mapping for OCSF 1.1 gives it; :data:`FIELDS_RC2` for Security Lake's first source version,
OCSF 1.0.0-rc.2, whose classes 3001, 3002 and 6003 named some fields otherwise). ``unmapped`` (the CloudTrail fields
OCSF has no place for, dotted names as keys) is folded back in, its JSON text decoded. What cannot come back is listed
in docs/sources.md (the session issuer beyond its ARN, the types of values Security Lake keeps as text, ...).

A Parquet file (``PAR1``) is recognized by its magic bytes; its size once decompressed is checked from its footer
before any column is read, and its rows are read in batches of 256 whose size is counted (``max_file_bytes``);
rows of another OCSF class are counted skips.
"""
from __future__ import annotations

import io
import json
from datetime import UTC, datetime

from trailtools.events.limits import describe
from trailtools.events.mapping import json_text, put

PARQUET_MAGIC = b"PAR1"
API_ACTIVITY = 6003
#: Security Lake's first source version (OCSF 1.0.0-rc.2) put CloudTrail in three classes
RC2_CLASSES = (3001, 3002, 6003)

#: OCSF 1.1 path -> CloudTrail path: the mapping back, as data
FIELDS: dict[str, str] = {
    "metadata.uid": "eventID",
    "metadata.product.version": "eventVersion",
    "metadata.event_code": "eventType",
    "metadata.product.feature.name": "eventCategory",
    "api.operation": "eventName",
    "api.service.name": "eventSource",
    "api.version": "apiVersion",
    "api.request.uid": "requestID",
    "api.request.data": "requestParameters",
    "api.response.data": "responseElements",
    "api.response.error": "errorCode",
    "api.response.message": "errorMessage",
    "cloud.region": "awsRegion",
    "http_request.user_agent": "userAgent",
    "src_endpoint.uid": "vpcEndpointId",
    "actor.user.type": "userIdentity.type",
    "actor.user.uid": "userIdentity.arn",
    "actor.user.uid_alt": "userIdentity.principalId",
    "actor.user.name": "userIdentity.userName",
    "actor.user.account.uid": "userIdentity.accountId",
    "actor.user.credential_uid": "userIdentity.accessKeyId",
    "actor.invoked_by": "userIdentity.invokedBy",
    "actor.idp.name": "userIdentity.webIdFederationData.federatedProvider",
    "actor.session.issuer": "userIdentity.sessionContext.sessionIssuer.arn",
    "accountid": "recipientAccountId",
}
#: OCSF 1.0.0-rc.2 (Security Lake source version 1): the paths that differ
FIELDS_RC2: dict[str, str] = {
    **{k: v for k, v in FIELDS.items() if not k.startswith(("actor.user.uid", "actor.user.account"))},
    "actor.user.uuid": "userIdentity.arn",
    "actor.user.uid": "userIdentity.principalId",
    "actor.user.account_uid": "userIdentity.accountId",
}
#: CloudTrail fields that need more than a copy: the event time, the source address, MFA, the session's creation,
#: the resources
SPECIAL = ("time_dt|time -> eventTime", "src_endpoint.ip|src_endpoint.domain -> sourceIPAddress",
           "actor.session.is_mfa|actor.session.mfa -> userIdentity.sessionContext.attributes.mfaAuthenticated",
           "actor.session.created_time_dt|actor.session.created_time -> "
           "userIdentity.sessionContext.attributes.creationDate",
           "resources[].uid, .owner.account.uid, .type -> resources[].ARN, .accountId, .type")


def is_parquet(data: bytes) -> bool:
    return data[:4] == PARQUET_MAGIC


def _get(obj, path: str):
    for part in path.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def _iso(value) -> str | None:
    if isinstance(value, datetime):
        value = value if value.tzinfo else value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _iso(datetime.fromtimestamp(value / 1000, UTC))
    return value if isinstance(value, str) else None


def to_record(row: dict) -> tuple[dict | None, str | None]:
    """One OCSF event (a Parquet row as a dict) -> (the CloudTrail record, None) or (None, why not)."""
    cls = row.get("class_uid")
    version = str(_get(row, "metadata.version") or "")
    rc2 = version.startswith("1.0.0-rc")
    if cls not in (RC2_CLASSES if rc2 else (API_ACTIVITY,)):
        return None, f"OCSF class {cls} ({row.get('class_name') or 'no name'}) is not API Activity (6003): skipped"
    rec: dict = {}
    for ocsf, ct in (FIELDS_RC2 if rc2 else FIELDS).items():
        value = _get(row, ocsf)
        if value is not None and value != "":
            put(rec, ct, json_text(value) if ocsf.endswith(".data") else value)
    when = _iso(row.get("time_dt")) or _iso(row.get("time"))
    if when:
        rec["eventTime"] = when
    address = _get(row, "src_endpoint.ip") or _get(row, "src_endpoint.domain")
    if address:
        rec["sourceIPAddress"] = address
    mfa = _get(row, "actor.session.is_mfa")
    mfa = _get(row, "actor.session.mfa") if mfa is None else mfa
    if mfa is not None:
        put(rec, "userIdentity.sessionContext.attributes.mfaAuthenticated", str(bool(mfa)).lower())
    created = _iso(_get(row, "actor.session.created_time_dt")) or _iso(_get(row, "actor.session.created_time"))
    if created:
        put(rec, "userIdentity.sessionContext.attributes.creationDate", created.replace(".000Z", "Z"))
    resources = row.get("resources")
    if isinstance(resources, list) and resources:
        rec["resources"] = [{k: v for k, v in (("ARN", r.get("uid")), ("accountId", _get(r, "owner.account.uid")),
                                                ("type", r.get("type"))) if v is not None}
                            for r in resources if isinstance(r, dict)]
    unmapped = row.get("unmapped")
    if isinstance(unmapped, list):  # a Parquet map read as (key, value) pairs
        unmapped = dict(unmapped)
    if isinstance(unmapped, dict):
        for key, value in unmapped.items():
            if value is not None and isinstance(key, str) and key and _get(rec, key) is None:
                put(rec, key, json_text(value))
    return rec, None


def records(data: bytes, max_bytes: int) -> tuple[list[tuple[dict | None, str | None]], str | None]:
    """Every row of a Parquet file as (record, None) or (None, reason); or ([], the file's problem)."""
    import pyarrow as pa  # noqa: PLC0415 (heavy, loaded on use)
    import pyarrow.parquet as pq  # noqa: PLC0415

    try:
        pf = pq.ParquetFile(io.BytesIO(data))
        meta = pf.metadata
        size = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
        if size > max_bytes:
            return [], (f"a Parquet file of {size:,} bytes once decompressed: past the limit of "
                        f"{describe(max_bytes)} (max_file_bytes): not read")
        names = set(pf.schema_arrow.names)
        if "class_uid" not in names or not ({"api", "metadata"} <= names):
            return [], "not CloudTrail: a Parquet file that is not OCSF API Activity (no class_uid, api, metadata)"
        rows: list[dict] = []
        read = 0
        for batch in pf.iter_batches(batch_size=256):  # streamed: a file whose encoding hides its size stops early
            read += batch.nbytes
            if read > max_bytes:
                return [], (f"a Parquet file whose rows pass the limit of {describe(max_bytes)} once read "
                            "(max_file_bytes): not read")
            rows.extend(batch.to_pylist())
    except (pa.ArrowException, OSError, ValueError) as exc:
        return [], f"not a readable Parquet file ({str(exc)[:160]})"
    return [to_record(row) for row in rows], None


def as_text(data: bytes, max_bytes: int) -> tuple[bytes, str | None, list[tuple[int, str]]]:
    """A Parquet file as the JSON text of a ``{"Records": [...]}`` document the reader takes (the OCSF events that
    map back, in row order), the file's problem or None, and (row number, reason) for each event that does not."""
    rows, problem = records(data, max_bytes)
    if problem:
        return b"", problem, []
    skipped = [(n, why) for n, (rec, why) in enumerate(rows) if rec is None]
    body = json.dumps({"Records": [rec for rec, _ in rows if rec is not None]}, separators=(",", ":"), default=str)
    return body.encode(), None, skipped
