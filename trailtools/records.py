"""One CloudTrail record -> one row of the events frame.

The fast path decodes whole files straight into the typed :class:`Record` with msgspec (unknown keys are ignored,
nested request/response bodies are kept as raw JSON text without being parsed). A file that does not fit the types
is decoded untyped and each record goes through :func:`coerce`, which never raises: it returns a :class:`Record` or
the reason the record cannot be used. Both paths end in :func:`columns`, so both give identical rows.
"""
from __future__ import annotations

import re

import msgspec

_NULL = msgspec.Raw(b"null")
_INSTANCE_ID = re.compile(rb"(?<![A-Za-z0-9_-])i-(?:[0-9a-fA-F]{17}|[0-9a-fA-F]{8})(?![A-Za-z0-9_-])")


class SessionIssuer(msgspec.Struct, omit_defaults=True):
    type: str | None = None
    principalId: str | None = None
    arn: str | None = None
    accountId: str | None = None
    userName: str | None = None


class SessionAttributes(msgspec.Struct, omit_defaults=True):
    mfaAuthenticated: str | None = None
    creationDate: str | None = None


class SessionContext(msgspec.Struct, omit_defaults=True):
    sessionIssuer: SessionIssuer | None = None
    attributes: SessionAttributes | None = None
    sourceIdentity: str | None = None


class UserIdentity(msgspec.Struct, omit_defaults=True):
    type: str | None = None
    principalId: str | None = None
    arn: str | None = None
    accountId: str | None = None
    accessKeyId: str | None = None
    userName: str | None = None
    invokedBy: str | None = None
    sessionContext: SessionContext | None = None


class TlsDetails(msgspec.Struct, omit_defaults=True):
    tlsVersion: str | None = None
    clientProvidedHostHeader: str | None = None


class Record(msgspec.Struct):
    """The fields of a CloudTrail record that the frame keeps as columns (the rest stays in the raw record)."""

    eventTime: str | None = None
    eventVersion: str | None = None
    userIdentity: UserIdentity | None = None
    eventSource: str | None = None
    eventName: str | None = None
    awsRegion: str | None = None
    sourceIPAddress: str | None = None
    userAgent: str | None = None
    errorCode: str | None = None
    errorMessage: str | None = None
    requestParameters: msgspec.Raw = _NULL
    responseElements: msgspec.Raw = _NULL
    additionalEventData: msgspec.Raw = _NULL
    resources: msgspec.Raw = _NULL
    serviceEventDetails: msgspec.Raw = _NULL
    requestID: str | None = None
    eventID: str | None = None
    readOnly: bool | None = None
    eventType: str | None = None
    managementEvent: bool | None = None
    recipientAccountId: str | None = None
    eventCategory: str | None = None
    sharedEventID: str | None = None
    vpcEndpointId: str | None = None
    sessionCredentialFromConsole: str | None = None
    tlsDetails: TlsDetails | None = None


class Envelope(msgspec.Struct):
    """A CloudTrail log file as delivered to S3."""

    Records: list[Record]


#: (column, kind). Kinds: "str" text, "cat" low-cardinality text (categorical), "bool", "json" raw JSON text, "time".
#: Dotted names are CloudTrail's own nested paths. Derived columns are documented in docs/events-frame.md.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("eventTime", "time"),
    ("eventSource", "cat"),
    ("eventName", "cat"),
    ("awsRegion", "cat"),
    ("recipientAccountId", "cat"),
    ("actor", "cat"),
    ("userIdentity.type", "cat"),
    ("userIdentity.arn", "cat"),
    ("userIdentity.userName", "cat"),
    ("userIdentity.principalId", "cat"),
    ("userIdentity.accountId", "cat"),
    ("userIdentity.accessKeyId", "str"),
    ("userIdentity.invokedBy", "cat"),
    ("userIdentity.sessionContext.sessionIssuer.type", "cat"),
    ("userIdentity.sessionContext.sessionIssuer.arn", "cat"),
    ("userIdentity.sessionContext.sessionIssuer.userName", "cat"),
    ("userIdentity.sessionContext.attributes.mfaAuthenticated", "cat"),
    ("userIdentity.sessionContext.sourceIdentity", "cat"),
    ("sourceIPAddress", "cat"),
    ("userAgent", "cat"),
    ("errorCode", "cat"),
    ("errorMessage", "str"),
    ("readOnly", "bool"),
    ("managementEvent", "bool"),
    ("eventType", "cat"),
    ("eventCategory", "cat"),
    ("eventVersion", "cat"),
    ("sessionCredentialFromConsole", "cat"),
    ("vpcEndpointId", "cat"),
    ("tlsDetails.clientProvidedHostHeader", "cat"),
    ("additionalEventData.MFAUsed", "cat"),
    ("additionalEventData.LoginTo", "str"),
    ("responseElements.ConsoleLogin", "cat"),
    ("requestParameters", "json"),
    ("responseElements", "json"),
    ("additionalEventData", "json"),
    ("resources", "json"),
    ("serviceEventDetails", "json"),
    ("instanceIds", "list"),
    ("eventID", "str"),
    ("requestID", "str"),
    ("sharedEventID", "str"),
)
COLUMN_NAMES = tuple(name for name, _ in COLUMNS)


def actor(ui: UserIdentity | None) -> str | None:
    """The acting principal in one readable string, for every identity type.

    IAMUser -> the user name; AssumedRole -> ``role/session`` (for SSO that is the permission set and the person);
    Root -> ``root``; AWSService -> the service (``ec2.amazonaws.com``); FederatedUser -> ``federated-user/name``;
    AWSAccount -> ``account/<id>``; others -> the user name, ARN or principal ID, whichever is there.
    """
    if ui is None:
        return None
    kind = ui.type
    arn = ui.arn or ""
    if kind == "Root":
        return "root"
    if kind == "IAMUser" and ui.userName:
        return ui.userName
    if kind == "AssumedRole" and ":assumed-role/" in arn:
        return arn.split(":assumed-role/", 1)[1]
    if kind == "AWSService":
        return ui.invokedBy or ui.principalId
    if kind == "FederatedUser" and ":federated-user/" in arn:
        return "federated-user/" + arn.split(":federated-user/", 1)[1]
    if kind == "AWSAccount":
        return f"account/{ui.accountId or ui.principalId}"
    return ui.userName or arn or ui.principalId or ui.invokedBy


def _nested(raw: bytes, key: bytes, name: str) -> str | None:
    """A top-level string value from a raw JSON object, decoded only when the key is present."""
    if key not in raw:
        return None
    try:
        value = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return None
    if isinstance(value, dict):
        v = value.get(name)
        if v is None or isinstance(v, str):
            return v
        return msgspec.json.encode(v).decode()
    return None


def _text(raw: bytes) -> str | None:
    return None if raw == b"null" or not raw else raw.decode("utf-8", "replace")


def _instance_ids(*raws: bytes) -> list[str]:
    found: list[str] = []
    for raw in raws:
        if b"i-" in raw:
            for m in _INSTANCE_ID.findall(raw):
                s = m.decode()
                if s not in found:
                    found.append(s)
    return found


def columns(records: list[Record]) -> dict[str, list]:
    """Column lists (every name in COLUMN_NAMES) for a list of records, in order. ``eventTime`` stays text."""
    uis = [r.userIdentity or _EMPTY_UI for r in records]
    sctx = [u.sessionContext or _EMPTY_SC for u in uis]
    issuers = [s.sessionIssuer or _EMPTY_ISSUER for s in sctx]
    attrs = [s.attributes or _EMPTY_ATTRS for s in sctx]
    req = [bytes(r.requestParameters) for r in records]
    resp = [bytes(r.responseElements) for r in records]
    extra = [bytes(r.additionalEventData) for r in records]
    res = [bytes(r.resources) for r in records]
    service = [bytes(r.serviceEventDetails) for r in records]
    out: dict[str, list] = {
        "eventTime": [r.eventTime for r in records],
        "eventSource": [r.eventSource for r in records],
        "eventName": [r.eventName for r in records],
        "awsRegion": [r.awsRegion for r in records],
        "recipientAccountId": [r.recipientAccountId for r in records],
        "actor": [actor(r.userIdentity) for r in records],
        "userIdentity.type": [u.type for u in uis],
        "userIdentity.arn": [u.arn for u in uis],
        "userIdentity.userName": [u.userName for u in uis],
        "userIdentity.principalId": [u.principalId for u in uis],
        "userIdentity.accountId": [u.accountId for u in uis],
        "userIdentity.accessKeyId": [u.accessKeyId for u in uis],
        "userIdentity.invokedBy": [u.invokedBy for u in uis],
        "userIdentity.sessionContext.sessionIssuer.type": [i.type for i in issuers],
        "userIdentity.sessionContext.sessionIssuer.arn": [i.arn for i in issuers],
        "userIdentity.sessionContext.sessionIssuer.userName": [i.userName for i in issuers],
        "userIdentity.sessionContext.attributes.mfaAuthenticated": [a.mfaAuthenticated for a in attrs],
        "userIdentity.sessionContext.sourceIdentity": [s.sourceIdentity for s in sctx],
        "sourceIPAddress": [r.sourceIPAddress for r in records],
        "userAgent": [r.userAgent for r in records],
        "errorCode": [r.errorCode for r in records],
        "errorMessage": [r.errorMessage for r in records],
        "readOnly": [r.readOnly for r in records],
        "managementEvent": [r.managementEvent for r in records],
        "eventType": [r.eventType for r in records],
        "eventCategory": [r.eventCategory for r in records],
        "eventVersion": [r.eventVersion for r in records],
        "sessionCredentialFromConsole": [r.sessionCredentialFromConsole for r in records],
        "vpcEndpointId": [r.vpcEndpointId for r in records],
        "tlsDetails.clientProvidedHostHeader": [
            r.tlsDetails.clientProvidedHostHeader if r.tlsDetails else None for r in records
        ],
        "additionalEventData.MFAUsed": [_nested(b, b'"MFAUsed"', "MFAUsed") for b in extra],
        "additionalEventData.LoginTo": [_nested(b, b'"LoginTo"', "LoginTo") for b in extra],
        "responseElements.ConsoleLogin": [_nested(b, b'"ConsoleLogin"', "ConsoleLogin") for b in resp],
        "requestParameters": [_text(b) for b in req],
        "responseElements": [_text(b) for b in resp],
        "additionalEventData": [_text(b) for b in extra],
        "resources": [_text(b) for b in res],
        "serviceEventDetails": [_text(b) for b in service],
        "instanceIds": [_instance_ids(*group) for group in zip(req, resp, res, service)],
        "eventID": [r.eventID for r in records],
        "requestID": [r.requestID for r in records],
        "sharedEventID": [r.sharedEventID for r in records],
    }
    return out


_EMPTY_UI = UserIdentity()
_EMPTY_SC = SessionContext()
_EMPTY_ISSUER = SessionIssuer()
_EMPTY_ATTRS = SessionAttributes()

# ---- the lenient path -------------------------------------------------------------------------------------------

_STR_FIELDS = tuple(
    f for f, t in Record.__annotations__.items() if t in ("str | None",)
)
_BOOL_FIELDS = ("readOnly", "managementEvent")
_RAW_FIELDS = ("requestParameters", "responseElements", "additionalEventData", "resources", "serviceEventDetails")


def _lenient_str(value) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    try:
        return msgspec.json.encode(value).decode()
    except (TypeError, msgspec.EncodeError, ValueError, OverflowError):
        return repr(value)


def _lenient_bool(value) -> bool | None:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def _lenient_struct(cls, value):
    """Build a nested struct from whatever is there: unknown types become text, wrong shapes become None."""
    if not isinstance(value, dict):
        return None
    kwargs = {}
    for name, hint in cls.__annotations__.items():
        if name not in value:
            continue
        v = value[name]
        nested = _NESTED.get((cls, name))
        kwargs[name] = _lenient_struct(nested, v) if nested else _lenient_str(v)
    return cls(**kwargs)


_NESTED = {
    (UserIdentity, "sessionContext"): SessionContext,
    (SessionContext, "sessionIssuer"): SessionIssuer,
    (SessionContext, "attributes"): SessionAttributes,
}


def _raw(value) -> msgspec.Raw:
    try:
        return msgspec.Raw(msgspec.json.encode(value))
    except (TypeError, msgspec.EncodeError, ValueError, OverflowError):
        return msgspec.Raw(msgspec.json.encode(_lenient_str(value)))


def coerce(value) -> Record | str:
    """A Record from any decoded JSON value, or the reason it is not a usable CloudTrail record. Never raises."""
    if not isinstance(value, dict):
        return f"record is a JSON {type(value).__name__}, not an object"
    t = value.get("eventTime")
    if t is None:
        return "record has no eventTime"
    if not isinstance(t, str):
        return f"eventTime is not a string: {_lenient_str(t)[:60]!r}"
    kwargs = {"eventTime": t}
    for name in _STR_FIELDS:
        if name != "eventTime" and name in value:
            kwargs[name] = _lenient_str(value[name])
    for name in _BOOL_FIELDS:
        if name in value:
            kwargs[name] = _lenient_bool(value[name])
    for name in _RAW_FIELDS:
        if name in value:
            kwargs[name] = _raw(value[name])
    if "userIdentity" in value:
        kwargs["userIdentity"] = _lenient_struct(UserIdentity, value["userIdentity"])
    if "tlsDetails" in value:
        tls = value["tlsDetails"]
        kwargs["tlsDetails"] = (
            TlsDetails(**{k: _lenient_str(tls[k]) for k in ("tlsVersion", "clientProvidedHostHeader") if k in tls})
            if isinstance(tls, dict) else None
        )
    return Record(**kwargs)
