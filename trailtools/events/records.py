"""The typed shape of a CloudTrail record, and the lenient way to get one from anything.

The fast path decodes whole files straight into :class:`Record` with msgspec: unknown keys are ignored and the
nested request/response bodies are kept as raw JSON bytes without being parsed. A file that does not fit the types
is decoded untyped and each record goes through :func:`coerce`, which never raises: it returns a :class:`Record` or
the reason the record cannot be used. Both paths end in :func:`extract`, so both give identical rows.
"""
from __future__ import annotations

from operator import attrgetter

import msgspec

_NULL = msgspec.Raw(b"null")


class SessionIssuer(msgspec.Struct, gc=False):
    type: str | None = None
    principalId: str | None = None
    arn: str | None = None
    accountId: str | None = None
    userName: str | None = None


class SessionAttributes(msgspec.Struct, gc=False):
    mfaAuthenticated: str | None = None
    creationDate: str | None = None


class SessionContext(msgspec.Struct, gc=False):
    sessionIssuer: SessionIssuer = msgspec.field(default_factory=SessionIssuer)
    attributes: SessionAttributes = msgspec.field(default_factory=SessionAttributes)
    sourceIdentity: str | None = None


class UserIdentity(msgspec.Struct, gc=False):
    type: str | None = None
    principalId: str | None = None
    arn: str | None = None
    accountId: str | None = None
    accessKeyId: str | None = None
    userName: str | None = None
    invokedBy: str | None = None
    sessionContext: SessionContext = msgspec.field(default_factory=SessionContext)


class TlsDetails(msgspec.Struct, gc=False):
    tlsVersion: str | None = None
    clientProvidedHostHeader: str | None = None


class Record(msgspec.Struct, gc=False):
    """The fields of a CloudTrail record that the frame keeps as columns (the rest stays in the raw record).

    Nested objects default to empty ones (never None), so every dotted path can be read without checks.
    """

    eventTime: str | None = None
    eventVersion: str | None = None
    userIdentity: UserIdentity = msgspec.field(default_factory=UserIdentity)
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
    tlsDetails: TlsDetails = msgspec.field(default_factory=TlsDetails)


class Envelope(msgspec.Struct, gc=False):
    """A CloudTrail log file as delivered to S3."""

    Records: list[Record]


#: The record fields copied into the frame: column name (CloudTrail's dotted path) and kind. Kinds: "time" (parsed
#: to a timestamp), "str", "cat" (low-cardinality text, categorical), "bool", "json" (the raw JSON text).
FIELDS: tuple[tuple[str, str], ...] = (
    ("eventTime", "time"),
    ("eventSource", "cat"),
    ("eventName", "cat"),
    ("awsRegion", "cat"),
    ("recipientAccountId", "cat"),
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
    ("requestParameters", "json"),
    ("responseElements", "json"),
    ("additionalEventData", "json"),
    ("resources", "json"),
    ("serviceEventDetails", "json"),
    ("eventID", "str"),
    ("requestID", "str"),
    ("sharedEventID", "str"),
)
_GET = attrgetter(*(name for name, _ in FIELDS))


def extract(records: list[Record]) -> dict[str, tuple]:
    """Columns (tuples, in record order) for every name in FIELDS; "json" columns hold bytes.

    The loops run in C (attrgetter, map, zip): this is the hot path of every load.
    """
    if not records:
        return {name: () for name, _ in FIELDS}
    columns = dict(zip((name for name, _ in FIELDS), zip(*map(_GET, records))))
    for name, kind in FIELDS:
        if kind == "json":
            columns[name] = tuple(map(bytes, columns[name]))
    return columns


# ---- the lenient path -------------------------------------------------------------------------------------------

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
    """Build a nested struct from whatever is there: unknown types become text, wrong shapes become empty."""
    if not isinstance(value, dict):
        return cls()
    kwargs = {}
    for name in cls.__struct_fields__:
        if name not in value:
            continue
        nested = _NESTED.get((cls, name))
        kwargs[name] = _lenient_struct(nested, value[name]) if nested else _lenient_str(value[name])
    return cls(**kwargs)


_NESTED = {
    (Record, "userIdentity"): UserIdentity,
    (Record, "tlsDetails"): TlsDetails,
    (UserIdentity, "sessionContext"): SessionContext,
    (SessionContext, "sessionIssuer"): SessionIssuer,
    (SessionContext, "attributes"): SessionAttributes,
}
_BOOL_FIELDS = frozenset(("readOnly", "managementEvent"))
_RAW_FIELDS = frozenset(("requestParameters", "responseElements", "additionalEventData", "resources",
                         "serviceEventDetails"))


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
    kwargs = {}
    for name in Record.__struct_fields__:
        if name not in value:
            continue
        v = value[name]
        if (Record, name) in _NESTED:
            kwargs[name] = _lenient_struct(_NESTED[(Record, name)], v)
        elif name in _BOOL_FIELDS:
            kwargs[name] = _lenient_bool(v)
        elif name in _RAW_FIELDS:
            kwargs[name] = _raw(v)
        else:
            kwargs[name] = _lenient_str(v)
    return Record(**kwargs)
