"""Seeded, deterministic generator of realistic CloudTrail management events.

Used by the demo account, the tests and the loading benchmark. Pure standard library.

- :func:`default_profile` describes a small AWS account: SSO humans, a CI/Terraform role, EC2 instance
  roles, AWS services, two IAM users and a rarely used root user.
- :func:`build_record` builds ONE record with CloudTrail's real key set, key order and value types for the
  event name (see ``CATALOG``); scenario builders call it directly for the events a story needs.
- :func:`generate_records` produces background traffic: sorted by ``eventTime``, diurnal for humans,
  constant for automation, a low rate of errors, about 1.4 KB per serialized record.
- :func:`write_trail` writes records in the S3 delivery layout of a trail
  (``AWSLogs/[<org>/]<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_<ts>_<rand>.json.gz``),
  byte-identical for a seed.

Everything random comes from a ``random.Random`` seeded by the caller: the same seed gives the same records
(event IDs, request IDs, access keys ...) and the same file bytes.
"""
from __future__ import annotations

import bisect
import json
import math
import os
import random
import zlib
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

from trailtools.demo.catalog import (
    CATALOG,
    CLI_COMMANDS,
    Api,
    Context,
    fmt_time,
    guess_read_only,
    host_header,
    new_uuid,
    rand_str,
    session_key,
    token,
)
from trailtools.demo.principals import (
    ALNUM,
    BOTO3,
    GLOBAL_REGION,
    UTC,
    AccountProfile,
    Principal,
    default_profile,
    fleet_instances,
    random_instance_id,
    stable_id,
)

__all__ = [
    "Principal",
    "AccountProfile",
    "CATALOG",
    "default_profile",
    "build_record",
    "generate_records",
    "iter_records",
    "write_trail",
    "random_instance_id",
    "fleet_instances",
    "delivery_key",
]

# ------------------------------------------------------------------------------------------------ records
def build_record(*, event_name: str, event_source: str, principal: Principal, account_id: str,
                 event_time: datetime, region: str, source_ip: str | None = None, user_agent: str | None = None,
                 request_parameters: dict | None = None, response_elements: dict | None = None,
                 additional_event_data: dict | None = None, resources: list | None = None,
                 error_code: str | None = None, error_message: str | None = None,
                 read_only: bool | None = None, event_type: str = "AwsApiCall", rng: random.Random,
                 profile: AccountProfile | None = None, console: bool | None = None) -> dict:
    """One CloudTrail record, with the real key order, key set and value types for ``event_name``.

    Arguments left at ``None`` get realistic values: for event names in :data:`CATALOG`,
    ``request_parameters``/``response_elements``/``resources``/``additional_event_data`` are built from the
    catalog (consistent with each other: the instance in StopInstances' request is the one in its response);
    for other names they stay ``null``. An ``error_code`` makes ``responseElements`` null (as CloudTrail does),
    except for a failed ConsoleLogin (pass ``error_message="Failed authentication"``; CloudTrail logs no
    errorCode for it, and ``responseElements.ConsoleLogin`` becomes ``"Failure"``).
    IAM/STS/sign-in events are logged in us-east-1, whatever ``region`` says.
    ``console=True`` marks an API call made from the AWS console (``sessionCredentialFromConsole``).
    """
    if event_time.tzinfo is None:
        raise ValueError("event_time must be timezone-aware (UTC)")
    t = event_time.astimezone(UTC)
    api = CATALOG.get(event_name)
    if api is not None and api.source != event_source:
        api = None  # same name, other service: use the generic shape
    is_global = api.is_global if api else event_source in ("iam.amazonaws.com", "sts.amazonaws.com",
                                                             "signin.amazonaws.com")
    if is_global:
        region = GLOBAL_REGION
    ctx = Context(rng, account_id, region, t, principal, profile)
    p = principal
    is_login = event_name in ("ConsoleLogin", "CheckMfa") and event_source == "signin.amazonaws.com"
    if console is None:
        console = is_login or (p.console_share > 0 and rng.random() < p.console_share)
    if api is not None and event_type == "AwsApiCall" and api.event_type != "AwsApiCall":
        event_type = api.event_type

    # userIdentity --------------------------------------------------------------------------------
    if p.kind == "AWSService":
        ui: dict[str, Any] = {"type": "AWSService", "invokedBy": p.invoked_by or p.name}
    elif p.kind == "Root":
        ui = {"type": "Root", "principalId": account_id, "arn": f"arn:aws:iam::{account_id}:root",
              "accountId": account_id}
        if is_login:
            ui["accessKeyId"] = ""
        else:
            key, created = session_key(p, account_id, t)
            ui["accessKeyId"] = key
            ui["sessionContext"] = {"attributes": {"creationDate": fmt_time(created),
                                                   "mfaAuthenticated": "true" if p.mfa else "false"}}
    elif p.kind == "IAMUser":
        user = p.user_name or p.name
        ui = {"type": "IAMUser", "principalId": p.principal_id or stable_id("AIDA", account_id + user),
              "arn": f"arn:aws:iam::{account_id}:user/{user}", "accountId": account_id}
        if is_login and error_message is not None:  # failed sign-in: no ARN, empty access key
            ui = {"type": "IAMUser", "principalId": ui["principalId"], "accountId": account_id, "accessKeyId": "",
                  "userName": user}
        elif is_login:
            ui["userName"] = user
        elif console:
            key, created = session_key(p, account_id, t)
            ui["accessKeyId"] = key
            ui["userName"] = user
            ui["sessionContext"] = {"attributes": {"creationDate": fmt_time(created),
                                                   "mfaAuthenticated": "true" if p.mfa else "false"}}
        else:
            ui["accessKeyId"] = stable_id("AKIA", account_id + user + "key1", 16)
            ui["userName"] = user
    else:  # AssumedRole
        role_id = p.principal_id or stable_id("AROA", account_id + (p.role_name or ""))
        ui = {"type": "AssumedRole", "principalId": f"{role_id}:{p.session_name}", "arn": p.arn(account_id),
              "accountId": account_id}
        key, created = session_key(p, account_id, t)
        if not is_login:
            ui["accessKeyId"] = key
        sc: dict[str, Any] = {"sessionIssuer": {"type": "Role", "principalId": role_id,
                                                "arn": p.role_arn(account_id), "accountId": account_id,
                                                "userName": p.role_name},
                              "attributes": {"creationDate": fmt_time(created), "mfaAuthenticated": "false"}}
        if p.instance_id:
            sc["ec2RoleDelivery"] = "2.0"
        ui["sessionContext"] = sc
        if p.invoked_by:
            ui["invokedBy"] = p.invoked_by

    # request / response ---------------------------------------------------------------------------
    # An authorization failure outside EC2 (AccessDenied) is logged with null requestParameters and no
    # resources; EC2's Client.UnauthorizedOperation keeps the request.
    denied = error_code in ("AccessDenied", "AccessDeniedException")
    if request_parameters is None and api is not None and not denied:
        request_parameters = api.req(ctx)
    request_id: str | None
    if api is not None and api.request_id == "none":
        request_id = None
    elif api is not None and api.request_id == "s3":
        request_id = rand_str(rng, 16)
    else:
        request_id = new_uuid(rng)
    failed_login = is_login and error_message is not None
    if response_elements is None and api is not None and api.resp is not None and not error_code:
        if failed_login:
            response_elements = {"ConsoleLogin": "Failure"}
        else:
            response_elements = api.resp(ctx, request_parameters, request_id or "")
    if additional_event_data is None and api is not None and api.additional is not None:
        additional_event_data = api.additional(ctx)
    if resources is None and api is not None and api.resources is not None and not denied:
        resources = api.resources(ctx, request_parameters)
    if read_only is None:
        read_only = api.read_only if api is not None else guess_read_only(event_name)

    # where from -------------------------------------------------------------------------------------
    if p.kind == "AWSService" or p.invoked_by:
        source_ip = source_ip or (p.invoked_by or p.name)
        user_agent = user_agent or (p.invoked_by or p.name)
    else:
        if source_ip is None:
            ips = p.ips or ("198.51.100.1",)
            source_ip = ips[0] if (len(ips) == 1 or rng.random() < 0.8) else ips[1 + int(rng.random() * (len(ips) - 1))]
        if user_agent is None:
            if console and p.browser_agents:
                user_agent = (p.browser_agents[int(rng.random() * len(p.browser_agents))] if is_login
                              else ("AWS Internal" if rng.random() < 0.3 else p.browser_agents[0]))
            elif p.user_agents:
                user_agent = p.user_agents[int(rng.random() * len(p.user_agents))]
                if "{cmd}" in user_agent:
                    user_agent = user_agent.replace("{cmd}", CLI_COMMANDS.get(event_name, event_source.split(".")[0]
                                                                          + "." + event_name.lower()))
                if "{svc}" in user_agent:
                    user_agent = user_agent.replace("{svc}", event_source.split(".")[0])
            else:
                user_agent = BOTO3

    # assemble, in CloudTrail's key order ------------------------------------------------------------
    version = api.version if api is not None else "1.09"
    rec: dict[str, Any] = {"eventVersion": version, "userIdentity": ui, "eventTime": fmt_time(t),
                           "eventSource": event_source, "eventName": event_name, "awsRegion": region,
                           "sourceIPAddress": source_ip, "userAgent": user_agent}
    if error_code is not None:
        rec["errorCode"] = error_code
    if error_message is not None:
        rec["errorMessage"] = error_message
    rec["requestParameters"] = request_parameters
    rec["responseElements"] = response_elements
    if additional_event_data is not None:
        rec["additionalEventData"] = additional_event_data
    if request_id is not None:
        rec["requestID"] = request_id
    rec["eventID"] = new_uuid(rng)
    rec["readOnly"] = read_only
    if resources is not None:
        rec["resources"] = resources
    rec["eventType"] = event_type
    rec["managementEvent"] = True
    rec["recipientAccountId"] = account_id
    if p.kind == "AWSService":
        rec["sharedEventID"] = new_uuid(rng)
    if p.vpc_endpoint and not is_global:
        rec["vpcEndpointId"] = p.vpc_endpoint
        rec["vpcEndpointAccountId"] = account_id
    rec["eventCategory"] = "Management"
    if p.kind != "AWSService" and not p.invoked_by:
        rec["tlsDetails"] = {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
                             "clientProvidedHostHeader": host_header(event_source, region, is_global,
                                                                      request_parameters)}
        if console and not is_login:
            rec["sessionCredentialFromConsole"] = "true"
    return rec


# ----------------------------------------------------------------------------------------- background
def _hour_weight(local_hour: float, weekday: int) -> float:
    if weekday >= 5:
        return 0.06
    if 9 <= local_hour < 18:
        return 1.0 if not 12 <= local_hour < 13 else 0.6
    if 7 <= local_hour < 9 or 18 <= local_hour < 21:
        return 0.3
    return 0.02


_MEAN_HOUR_WEIGHT = sum(_hour_weight(h + 0.5, d) for d in range(7) for h in range(24)) / (7 * 24)


def _cum(weights: Iterable[float]) -> list[float]:
    out, s = [], 0.0
    for w in weights:
        s += w
        out.append(s)
    return out


def _pick(rng: random.Random, cum: list[float]) -> int:
    return min(bisect.bisect_right(cum, rng.random() * cum[-1]), len(cum) - 1)


def _error_for(api: Api | None, event_source: str, event_name: str, p: Principal, account_id: str,
               region: str, rng: random.Random) -> tuple[str, str]:
    action = f"{event_source.split('.')[0]}:{event_name.replace('20150331', '')}"
    r = rng.random()
    if event_source == "ec2.amazonaws.com":
        if r < 0.25 and (api is None or api.read_only):
            return "Client.RequestLimitExceeded", "Request limit exceeded."
        return ("Client.UnauthorizedOperation",
                f"You are not authorized to perform this operation. User: {p.arn(account_id)} is not authorized "
                f"to perform: {action} on resource: arn:aws:ec2:{region}:{account_id}:instance/* because no "
                f"identity-based policy allows the {action} action. Encoded authorization failure message: "
                + token(rng, 300).replace("+", "-").replace("/", "_"))
    if r < 0.3:
        return "ThrottlingException", "Rate exceeded"
    return ("AccessDenied",
            f"User: {p.arn(account_id)} is not authorized to perform: {action} because no identity-based policy "
            f"allows the {action} action")


def iter_records(profile: AccountProfile, *, start: datetime, end: datetime, events: int,
                 seed: int) -> Iterator[dict]:
    """Like :func:`generate_records` but yields the records one by one (sorted by eventTime)."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be timezone-aware (UTC)")
    if end <= start:
        raise ValueError("end must be after start")
    rng = random.Random(seed)
    t0 = start.timestamp()
    span = end.timestamp() - t0
    principals = profile.principals
    # Humans are drawn with weight / mean(office-hours factor), then kept with the probability of the
    # factor at the drawn time: over whole weeks they get their weight share, in a weekend-only
    # window almost nothing.
    pcum = _cum(p.weight / _MEAN_HOUR_WEIGHT if p.diurnal else p.weight for p in principals)
    acums = [_cum(w for _, w in p.actions) for p in principals]
    prof_regions = list(profile.regions.items())
    rcum_prof = _cum(w for _, w in prof_regions)
    rcums = [(_cum(w for _, w in p.regions), [r for r, _ in p.regions]) if p.regions else
             (rcum_prof, [r for r, _ in prof_regions]) for p in principals]

    draws: list[tuple[float, int]] = []
    for _ in range(events):
        while True:
            pi = _pick(rng, pcum)
            p = principals[pi]
            ts = t0 + rng.random() * span
            if not p.diurnal:
                break
            lt = ts + p.tz_offset_hours * 3600
            day = math.floor(lt / 86400)
            if rng.random() < _hour_weight((lt - day * 86400) / 3600, (day + 3) % 7):
                break
        draws.append((ts, pi))
    draws.sort()
    for ts, pi in draws:
        p = principals[pi]
        name = p.actions[_pick(rng, acums[pi])][0] if p.actions else "GetCallerIdentity"
        api = CATALOG[name]
        rcum, rnames = rcums[pi]
        region = rnames[_pick(rng, rcum)]
        t = datetime.fromtimestamp(int(ts), UTC)
        err_code = err_msg = None
        if name == "ConsoleLogin":
            if rng.random() < 0.03:
                err_msg = "Failed authentication"
        elif rng.random() < p.error_rate:
            err_code, err_msg = _error_for(api, api.source, name, p, profile.account_id, region, rng)
        yield build_record(event_name=name, event_source=api.source, principal=p, account_id=profile.account_id,
                           event_time=t, region=region, error_code=err_code, error_message=err_msg, rng=rng,
                           profile=profile)


def generate_records(profile: AccountProfile, *, start: datetime, end: datetime, events: int,
                     seed: int) -> list[dict]:
    """``events`` background records between ``start`` and ``end`` (tz-aware), sorted by eventTime.

    Deterministic for a seed. Principals get their ``weight`` share; humans follow office hours in their
    time zone (and rarely work weekends), automation and services are constant. About 1-2 % errors
    (AccessDenied, Client.UnauthorizedOperation, Client.RequestLimitExceeded, ThrottlingException), 3 % of
    console sign-ins fail.
    """
    return list(iter_records(profile, start=start, end=end, events=events, seed=seed))


# -------------------------------------------------------------------------------------------- delivery
SLOT_SECONDS = 300


def delivery_key(account_id: str, region: str, delivery_time: datetime, suffix: str,
                 org_id: str | None = None) -> str:
    """The S3 key of a CloudTrail log file delivered at ``delivery_time``."""
    org = f"{org_id}/" if org_id else ""
    return (f"AWSLogs/{org}{account_id}/CloudTrail/{region}/{delivery_time:%Y/%m/%d}/"
            f"{account_id}_CloudTrail_{region}_{delivery_time:%Y%m%dT%H%MZ}_{suffix}.json.gz")


def _parse_event_ts(s: str) -> int:
    # "YYYY-MM-DDTHH:MM:SSZ" -> epoch seconds, fast path
    return int(datetime(int(s[0:4]), int(s[5:7]), int(s[8:10]), int(s[11:13]), int(s[14:16]), int(s[17:19]),
                        tzinfo=UTC).timestamp())


def _compress_write(path: Path, body: bytes) -> int:
    data = zlib.compress(body, 6, 31)  # gzip container, mtime 0, no file name
    with open(path, "wb") as f:
        f.write(data)
    return len(data)


def write_trail(records: Iterable[dict], out_dir: Path, *, seed: int, late_fraction: float = 0.01,
                org_id: str | None = None, workers: int | None = None) -> dict:
    """Write records as a trail's S3 delivery: one ``.json.gz`` per (account, region, 5-minute slot).

    Records should come sorted by eventTime (as :func:`generate_records` yields them); they are grouped
    in a streaming way, so an iterator of millions of records needs only a few hours of them in memory.
    A ``late_fraction`` of records goes into a file delivered 15 min .. 3 h after their eventTime (in
    that file's date folder). The file name's timestamp is the delivery time: the end of the slot plus
    1-4 minutes. Same records + same seed -> same file names and bytes (gzip mtime 0, no name).
    Compression and writing run in ``workers`` threads (zlib releases the GIL).
    Returns ``{"files": n, "events": n, "bytes": n, "json_bytes": n}`` (bytes: compressed bytes written;
    json_bytes: the uncompressed JSON).
    """
    out_dir = Path(out_dir)
    rng = random.Random(seed)
    dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True).encode
    groups: dict[tuple[str, str, int], list[str]] = {}
    horizon = (3 * 3600 + 2 * SLOT_SECONDS) // SLOT_SECONDS  # slots a late record can reach ahead
    n_files = n_events = 0
    nbytes = json_bytes = 0
    workers = workers or min(4, (os.cpu_count() or 1))
    pool = ThreadPoolExecutor(max_workers=workers)
    pending: list = []
    made_dirs: set[Path] = set()

    def flush(keys: list[tuple[str, str, int]]) -> None:
        nonlocal n_files, nbytes, json_bytes
        for key in sorted(keys, key=lambda k: (k[2], k[0], k[1])):
            items = groups.pop(key)
            acct, region, slot = key
            delivered = datetime.fromtimestamp((slot + 1) * SLOT_SECONDS + rng.randrange(60, 240), UTC)
            suffix = "".join(rng.choices(ALNUM, k=16))
            path = out_dir / delivery_key(acct, region, delivered, suffix, org_id)
            body = ('{"Records":[' + ",".join(items) + "]}").encode()
            json_bytes += len(body)
            if path.parent not in made_dirs:
                path.parent.mkdir(parents=True, exist_ok=True)
                made_dirs.add(path.parent)
            pending.append(pool.submit(_compress_write, path, body))
            n_files += 1
        while len(pending) > 4 * workers:
            nbytes += pending.pop(0).result()

    last_slot = None
    try:
        for rec in records:
            ts = _parse_event_ts(rec["eventTime"])
            slot = ts // SLOT_SECONDS
            if late_fraction and rng.random() < late_fraction:
                slot = (ts + rng.randrange(15 * 60, 3 * 3600 - 2 * SLOT_SECONDS)) // SLOT_SECONDS
            key = (rec.get("recipientAccountId") or "000000000000", rec.get("awsRegion") or GLOBAL_REGION, slot)
            g = groups.get(key)
            if g is None:
                groups[key] = g = []
            g.append(dumps(rec))
            n_events += 1
            cur = ts // SLOT_SECONDS
            if last_slot is None or cur > last_slot:
                if last_slot is not None:
                    done = [k for k in groups if k[2] < cur - horizon]
                    if done:
                        flush(done)
                last_slot = cur
        flush(list(groups))
        for f in pending:
            nbytes += f.result()
        pending.clear()
    finally:
        pool.shutdown(wait=True)
    return {"files": n_files, "events": n_events, "bytes": nbytes, "json_bytes": json_bytes}
