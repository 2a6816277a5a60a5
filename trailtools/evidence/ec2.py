"""Amazon EC2: scheduled events and status checks, instance facts, console output.

- transform: ``describe-instance-status`` (scheduled events; states and status checks), ``describe-instances``,
  ``get-console-output`` responses -> frames / a small record.
- read: ``<account>/ec2/<region>/`` as the demo account saves them; the region is found by the instance ID.
- get: the live API through an ``ec2`` client of the instance's region.

``DescribeInstanceStatus`` lists scheduled events (``system-reboot``, ``instance-reboot``, ``instance-stop``,
``instance-retirement``, ``system-maintenance``); AWS keeps ``[Completed]`` and ``[Canceled]`` ones for about a
week only, and a stopped instance is listed only with ``IncludeAllInstances``.

Columns (times ``datetime64[us, UTC]``):

- events (:func:`transform_instance_status`): ``instanceId, availabilityZone, code, description, notBefore,
  notAfter, notBeforeDeadline, eventId, completed, canceled`` (the two booleans from the ``[Completed]`` /
  ``[Canceled]`` prefix of the description)
- states (:func:`transform_instance_states`): ``instanceId, state, systemStatus, instanceStatus,
  availabilityZone, attachedEbsStatus``
- instances (:func:`transform_instances`): ``instanceId, name, instanceType, state, launchTime,
  availabilityZone, stateTransitionReason, stateReason``
"""
from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from typing import NamedTuple

import pandas as pd

from trailtools.aws.errors import AwsDataUnavailable, call, pages
from trailtools.errors import QueryError
from trailtools.evidence.saved import frame, load_saved, only_instance, region_folders, to_utc

# what get_ec2 calls (docs/iam-policy.json must allow them)
IAM_ACTIONS = ("ec2:DescribeInstanceStatus", "ec2:DescribeInstances", "ec2:GetConsoleOutput")
INSTANCE_ID = re.compile(r"^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
EVENT_CODES = ("system-reboot", "instance-reboot", "instance-stop", "instance-retirement", "system-maintenance")
EVENT_COLUMNS = {"instanceId": "str", "availabilityZone": "str", "code": "str", "description": "str",
                 "notBefore": "time", "notAfter": "time", "notBeforeDeadline": "time", "eventId": "str",
                 "completed": "bool", "canceled": "bool"}
STATE_COLUMNS = {"instanceId": "str", "state": "str", "systemStatus": "str", "instanceStatus": "str",
                 "availabilityZone": "str", "attachedEbsStatus": "str"}
INSTANCE_COLUMNS = {"instanceId": "str", "name": "str", "instanceType": "str", "state": "str", "launchTime": "time",
                    "availabilityZone": "str", "stateTransitionReason": "str", "stateReason": "str"}


class ConsoleOutput(NamedTuple):
    instance_id: str | None
    timestamp: pd.Timestamp | None
    text: str


def check_instance_id(instance_id: str) -> str:
    if not isinstance(instance_id, str) or not INSTANCE_ID.match(instance_id):
        raise QueryError(f"{instance_id!r} is not an EC2 instance ID (i- followed by 8 or 17 hexadecimal digits).")
    return instance_id


# ---------------------------------------------------------------- transform

def transform_instance_status(resp: dict) -> pd.DataFrame:
    """``DescribeInstanceStatus`` -> one row per scheduled event (no row for an instance without events)."""
    rows = []
    for st in resp.get("InstanceStatuses") or []:
        for ev in st.get("Events") or []:
            desc = ev.get("Description") or ""
            rows.append({"instanceId": st.get("InstanceId"), "availabilityZone": st.get("AvailabilityZone"),
                         "code": ev.get("Code"), "description": ev.get("Description"),
                         "notBefore": ev.get("NotBefore"), "notAfter": ev.get("NotAfter"),
                         "notBeforeDeadline": ev.get("NotBeforeDeadline"), "eventId": ev.get("InstanceEventId"),
                         "completed": desc.startswith("[Completed]"), "canceled": desc.startswith("[Canceled]")})
    return frame(rows, EVENT_COLUMNS)


def transform_instance_states(resp: dict) -> pd.DataFrame:
    """``DescribeInstanceStatus`` -> one row per instance: its state and the status checks' summaries."""
    rows = [{"instanceId": st.get("InstanceId"), "state": (st.get("InstanceState") or {}).get("Name"),
             "systemStatus": (st.get("SystemStatus") or {}).get("Status"),
             "instanceStatus": (st.get("InstanceStatus") or {}).get("Status"),
             "availabilityZone": st.get("AvailabilityZone"),
             "attachedEbsStatus": (st.get("AttachedEbsStatus") or {}).get("Status")}
            for st in resp.get("InstanceStatuses") or []]
    return frame(rows, STATE_COLUMNS)


def transform_instances(resp: dict) -> pd.DataFrame:
    """``DescribeInstances`` -> one row per instance (the ``Name`` tag as ``name``)."""
    rows = []
    for res in resp.get("Reservations") or []:
        for inst in res.get("Instances") or []:
            tags = {t.get("Key"): t.get("Value") for t in inst.get("Tags") or []}
            reason = inst.get("StateReason") or {}
            rows.append({"instanceId": inst.get("InstanceId"), "name": tags.get("Name"),
                         "instanceType": inst.get("InstanceType"), "state": (inst.get("State") or {}).get("Name"),
                         "launchTime": inst.get("LaunchTime"),
                         "availabilityZone": (inst.get("Placement") or {}).get("AvailabilityZone"),
                         "stateTransitionReason": inst.get("StateTransitionReason") or None,
                         "stateReason": reason.get("Message") or reason.get("Code")})
    return frame(rows, INSTANCE_COLUMNS)


_BASE64 = re.compile(r"^[A-Za-z0-9+/]+={0,2}$")  # console text always has spaces; base64 never


def transform_console_output(resp: dict) -> ConsoleOutput:
    """``GetConsoleOutput`` -> (instance_id, timestamp, text).

    boto3 returns ``Output`` base64-encoded, the AWS CLI prints it decoded: both are accepted.
    """
    raw = resp.get("Output") or ""
    text = raw
    compact = "".join(raw.split())
    if compact and _BASE64.match(compact):
        try:
            text = base64.b64decode(compact, validate=True).decode("utf-8", errors="replace")
        except (binascii.Error, ValueError):
            text = raw
    ts = resp.get("Timestamp")
    ts = None if ts is None else to_utc([ts]).iloc[0]
    return ConsoleOutput(resp.get("InstanceId"), None if ts is pd.NaT else ts, text)


# ---------------------------------------------------------------- the result

@dataclass
class Ec2Data:
    """What EC2 says about one instance (frames filtered to it; columns in the module's docstring)."""
    instance_id: str
    region: str | None = None
    events: pd.DataFrame = field(default_factory=lambda: frame([], EVENT_COLUMNS))
    states: pd.DataFrame = field(default_factory=lambda: frame([], STATE_COLUMNS))
    instances: pd.DataFrame = field(default_factory=lambda: frame([], INSTANCE_COLUMNS))
    console: ConsoleOutput | None = None
    source: str = ""
    truncated: bool = False
    notes: list[str] = field(default_factory=list)
    unavailable: list[AwsDataUnavailable] = field(default_factory=list)


# ---------------------------------------------------------------- read (saved responses)

def read_ec2(folder, instance_id: str) -> Ec2Data:
    """One instance's saved EC2 responses from ``<folder>/ec2/<region>/`` (the region holding the instance).

    An instance found in no region gives an empty Ec2Data with ``region`` None and a note.
    """
    check_instance_id(instance_id)
    base, regions = region_folders(folder, "ec2")
    for region_dir in regions:
        status = load_saved(region_dir / "describe-instance-status.json") or {}
        described = load_saved(region_dir / "describe-instances.json") or {}
        data = Ec2Data(instance_id, region_dir.name, only_instance(transform_instance_status(status), instance_id),
                       only_instance(transform_instance_states(status), instance_id),
                       only_instance(transform_instances(described), instance_id), source=str(region_dir))
        if not len(data.states) and not len(data.instances) and not len(data.events):
            continue
        console = load_saved(region_dir / "get-console-output" / f"{instance_id}.json")
        if console is None:
            data.notes.append(f"no saved console output for {instance_id} in {region_dir}")
        else:
            data.console = transform_console_output(console)
        return data
    return Ec2Data(instance_id, source=str(base), notes=[f"no saved EC2 data for {instance_id} in {base}"])


# ---------------------------------------------------------------- get (live AWS)

def get_ec2(client, instance_id: str, *, console: bool = True, max_pages: int = 5) -> Ec2Data:
    """One instance's scheduled events, status checks, facts and console output from the live API.

    ``client`` is an ``ec2`` client of the instance's region. ``DescribeInstanceStatus`` failing raises
    AwsDataUnavailable; ``DescribeInstances`` and ``GetConsoleOutput`` failing are listed in ``unavailable``.
    """
    check_instance_id(instance_id)
    data = Ec2Data(instance_id, client.meta.region_name, source="Amazon EC2 API")
    resps, data.truncated = pages(client, "describe_instance_status", token="NextToken", max_pages=max_pages,
                                  InstanceIds=[instance_id], IncludeAllInstances=True)
    statuses = pd.concat([transform_instance_status(r) for r in resps], ignore_index=True)
    data.events = only_instance(statuses, instance_id)
    data.states = only_instance(
        pd.concat([transform_instance_states(r) for r in resps], ignore_index=True), instance_id
    )
    try:
        resps, cut = pages(
            client, "describe_instances", token="NextToken", max_pages=max_pages, InstanceIds=[instance_id]
        )
        data.truncated |= cut
        data.instances = only_instance(
            pd.concat([transform_instances(r) for r in resps], ignore_index=True), instance_id
        )
    except AwsDataUnavailable as exc:
        data.unavailable.append(exc)
    if console:
        try:
            data.console = transform_console_output(call(client, "get_console_output", InstanceId=instance_id))
        except AwsDataUnavailable as exc:
            data.unavailable.append(exc)
    return data
