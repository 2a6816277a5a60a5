"""Elastic Common Schema documents of the Filebeat AWS module (and Elastic Agent's AWS integration), back to CloudTrail.

Filebeat's ``aws.cloudtrail`` fileset renames every CloudTrail field: ``eventName`` becomes ``event.action``,
``sourceIPAddress`` ``source.address``, ``userIdentity.arn`` ``aws.cloudtrail.user_identity.arn``, and so on. When
the document keeps the original record (``event.original``, kept by the ``preserve_original_event`` tag) that record
is used as it is. Otherwise the record is rebuilt from the document by :data:`FIELDS` (ECS path -> CloudTrail path,
the mapping as data, first match wins), and the CloudTrail fields a record normally has that the document does not
hold are counted (:data:`EXPECTED`): the load stats say which could not be recovered, and in how many records.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

from trailtools.events.mapping import put

#: ECS / Filebeat path -> CloudTrail path (several ECS paths may give one CloudTrail field: the first present wins)
FIELDS: tuple[tuple[str, str], ...] = (
    ("@timestamp", "eventTime"),
    ("event.id", "eventID"),
    ("event.action", "eventName"),
    ("event.provider", "eventSource"),
    ("cloud.region", "awsRegion"),
    ("source.address", "sourceIPAddress"),
    ("source.ip", "sourceIPAddress"),
    ("source.domain", "sourceIPAddress"),
    ("user_agent.original", "userAgent"),
    ("aws.cloudtrail.event_version", "eventVersion"),
    ("aws.cloudtrail.event_type", "eventType"),
    ("aws.cloudtrail.event_category", "eventCategory"),
    ("aws.cloudtrail.request_id", "requestID"),
    ("aws.cloudtrail.api_version", "apiVersion"),
    ("aws.cloudtrail.error_code", "errorCode"),
    ("aws.cloudtrail.error_message", "errorMessage"),
    ("error.message", "errorMessage"),
    ("aws.cloudtrail.read_only", "readOnly"),
    ("aws.cloudtrail.management_event", "managementEvent"),
    ("aws.cloudtrail.recipient_account_id", "recipientAccountId"),
    ("aws.cloudtrail.shared_event_id", "sharedEventID"),
    ("aws.cloudtrail.vpc_endpoint_id", "vpcEndpointId"),
    ("aws.cloudtrail.user_identity.type", "userIdentity.type"),
    ("aws.cloudtrail.user_identity.arn", "userIdentity.arn"),
    ("aws.cloudtrail.user_identity.access_key_id", "userIdentity.accessKeyId"),
    ("aws.cloudtrail.user_identity.invoked_by", "userIdentity.invokedBy"),
    ("user.id", "userIdentity.principalId"),
    ("user.name", "userIdentity.userName"),
    ("cloud.account.id", "userIdentity.accountId"),
    ("aws.cloudtrail.user_identity.session_context.mfa_authenticated",
     "userIdentity.sessionContext.attributes.mfaAuthenticated"),
    ("aws.cloudtrail.user_identity.session_context.creation_date",
     "userIdentity.sessionContext.attributes.creationDate"),
    ("aws.cloudtrail.user_identity.session_context.session_issuer.type",
     "userIdentity.sessionContext.sessionIssuer.type"),
    ("aws.cloudtrail.user_identity.session_context.session_issuer.arn",
     "userIdentity.sessionContext.sessionIssuer.arn"),
    ("aws.cloudtrail.user_identity.session_context.session_issuer.principal_id",
     "userIdentity.sessionContext.sessionIssuer.principalId"),
    ("aws.cloudtrail.user_identity.session_context.session_issuer.account_id",
     "userIdentity.sessionContext.sessionIssuer.accountId"),
    ("aws.cloudtrail.tls_details.tls_version", "tlsDetails.tlsVersion"),
    ("aws.cloudtrail.tls_details.cipher_suite", "tlsDetails.cipherSuite"),
    ("aws.cloudtrail.tls_details.client_provided_host_header", "tlsDetails.clientProvidedHostHeader"),
    # the structures: the flattened object when the document has it, else the text (decoded when it is JSON)
    ("aws.cloudtrail.flattened.request_parameters", "requestParameters"),
    ("aws.cloudtrail.request_parameters", "requestParameters"),
    ("aws.cloudtrail.flattened.response_elements", "responseElements"),
    ("aws.cloudtrail.response_elements", "responseElements"),
    ("aws.cloudtrail.flattened.additional_eventdata", "additionalEventData"),
    ("aws.cloudtrail.additional_eventdata", "additionalEventData"),
    ("aws.cloudtrail.flattened.service_event_details", "serviceEventDetails"),
    ("aws.cloudtrail.service_event_details", "serviceEventDetails"),
)
#: ConsoleLogin's additionalEventData, which the module moves and turns into booleans
CONSOLE_LOGIN = {"mfa_used": "MFAUsed", "mobile_version": "MobileVersion", "login_to": "LoginTo"}
#: CloudTrail fields every record has: those a document does not give back are counted as not recovered
EXPECTED = ("eventVersion", "eventTime", "eventID", "eventSource", "eventName", "awsRegion", "sourceIPAddress",
            "userAgent", "userIdentity.type", "requestID", "eventType", "recipientAccountId", "readOnly",
            "managementEvent", "eventCategory")
#: the text form of a structure when it is not JSON: kept as text, and counted
TEXT_ONLY = "{field} (only as text)"


@dataclass
class Mapped:
    """What one file's documents mapped back from ``aws.cloudtrail.*`` could not recover."""

    documents: int = 0
    lost: Counter = field(default_factory=Counter)

    def note(self) -> str:
        return note(self.documents, self.lost)


def get(obj, path: str):
    """The value at a dotted path; ECS documents may also hold a dotted name as one key (``"event.action"``)."""
    if isinstance(obj, dict) and path in obj:
        return obj[path]
    head, _, rest = path.partition(".")
    if not rest or not isinstance(obj, dict):
        return None
    return get(obj.get(head), rest)


def is_ecs(obj) -> bool:
    """A Filebeat / Elastic Agent CloudTrail document: ``aws.cloudtrail`` fields, or ``event.original`` from the
    ``aws.cloudtrail`` dataset."""
    if not isinstance(obj, dict):
        return False
    if isinstance(get(obj, "aws.cloudtrail"), dict):
        return True
    return isinstance(get(obj, "event.original"), str) and "cloudtrail" in str(get(obj, "event.dataset") or "")


def _structure(value, name: str, lost: list[str]):
    if isinstance(value, str):
        try:
            return json.loads(value)
        except (ValueError, RecursionError):
            lost.append(TEXT_ONLY.format(field=name))
    return value


def _resources(doc: dict) -> list[dict] | None:
    arns, types, accounts = (get(doc, f"aws.cloudtrail.resources.{k}") for k in ("arn", "type", "account_id"))
    if arns is None:
        return None
    as_list = (lambda v: v if isinstance(v, list) else [v])  # noqa: E731 - one line, used three times
    arns, types, accounts = as_list(arns), as_list(types), as_list(accounts)
    out = []
    for i, arn in enumerate(arns):
        item = {"accountId": accounts[i] if i < len(accounts) else None, "type": types[i] if i < len(types) else None,
                "ARN": arn}
        out.append({k: v for k, v in item.items() if v is not None})
    return out


def from_ecs(doc: dict) -> tuple[dict | None, str | None, list[str]]:
    """(record, None, fields not recovered) for an ECS document; (None, reason, []) when it cannot be one."""
    original = get(doc, "event.original")
    if isinstance(original, str):
        try:
            rec = json.loads(original)
        except (ValueError, RecursionError) as exc:
            return None, f"Elastic document: event.original is not JSON ({str(exc)[:120]})", []
        if isinstance(rec, dict):
            return rec, None, []
        return None, "Elastic document: event.original is not a CloudTrail record", []
    rec: dict = {}
    lost: list[str] = []
    for ecs_path, ct_path in FIELDS:
        if get(rec, ct_path) is not None:
            continue
        value = get(doc, ecs_path)
        if value is None or value == "":
            continue
        if ct_path in ("requestParameters", "responseElements", "additionalEventData", "serviceEventDetails"):
            value = _structure(value, ct_path, lost)
        if isinstance(value, list) and ct_path == "sourceIPAddress":
            value = value[0] if value else None
        put(rec, ct_path, value)
    console = get(doc, "aws.cloudtrail.console_login.additional_eventdata")
    if isinstance(console, dict):
        extra = rec.setdefault("additionalEventData", {}) if isinstance(rec.get("additionalEventData", {}), dict) \
            else {}
        for key, name in CONSOLE_LOGIN.items():
            value = console.get(key)
            if isinstance(value, bool) and key != "login_to":
                value = "Yes" if value else "No"
            if value is not None:
                extra.setdefault(name, value)
    resources = _resources(doc)
    if resources:
        rec["resources"] = resources
    for flag in ("readOnly", "managementEvent"):
        if isinstance(rec.get(flag), str) and rec[flag] in ("true", "false"):
            rec[flag] = rec[flag] == "true"
    lost.extend(name for name in EXPECTED if get(rec, name) is None)
    return rec, None, lost


def note(documents: int, lost: Counter) -> str:
    """The load stats' line for a file's documents mapped back."""
    what = ", ".join(f"{name} ({n:,})" for name, n in sorted(lost.items(), key=lambda x: (-x[1], x[0])))
    return (f"{documents:,} Elastic Common Schema documents mapped back from aws.cloudtrail.* (no event.original); "
            + (f"not recovered (in how many records): {what}" if what else "every usual field recovered"))
