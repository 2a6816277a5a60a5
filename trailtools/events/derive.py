"""The few columns the events frame adds to CloudTrail's own, computed on whole Arrow columns at once.

See docs/events-frame.md: ``actor`` (the acting principal), ``instanceIds`` (EC2 instances an event touched), and
the sign-in fields lifted out of their objects (``additionalEventData.MFAUsed`` ...).
"""
from __future__ import annotations

import json
import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# starts with a literal so the regex engine can jump to candidates; the character before is checked by hand
_INSTANCE_ID = re.compile(r"i-(?:[0-9a-fA-F]{17}|[0-9a-fA-F]{8})(?![A-Za-z0-9_-])")
_WORD_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
# rows worth a closer look: an ID starts a JSON string ("i-...) or follows a slash in an ARN (instance/i-...)
_MAY_HOLD_ID = r'["/]i-[0-9a-fA-F]{8}'


def _true(mask) -> pa.Array:
    return pc.fill_null(mask, False)


def actor_of(type_: str | None, arn: str | None, user: str | None, principal: str | None,
             account: str | None, invoked_by: str | None) -> str | None:
    """The acting principal in one readable string, for every identity type.

    IAMUser -> the user name; AssumedRole -> ``role/session`` (for SSO: the permission set and the person);
    Root -> ``root``; AWSService -> the service (``invokedBy``); FederatedUser -> ``federated-user/name``;
    AWSAccount -> ``account/<id>``; anything else -> the user name, ARN, principal ID or invokedBy, the first there.
    """
    arn = arn or ""
    if type_ == "Root":
        return "root"
    if type_ == "IAMUser" and user:
        return user
    if type_ == "AssumedRole" and ":assumed-role/" in arn:
        return arn.split(":assumed-role/", 1)[1]
    if type_ == "AWSService":
        return invoked_by or principal
    if type_ == "FederatedUser" and ":federated-user/" in arn:
        return "federated-user/" + arn.split(":federated-user/", 1)[1]
    if type_ == "AWSAccount" and (account or principal):
        return f"account/{account or principal}"
    return user or arn or principal or invoked_by


def _codes(column: pa.Array) -> tuple[np.ndarray, list]:
    """A column as (codes, values): code 0 is null, code k the k-th value of its dictionary (encoded here unless it
    is a dictionary column already)."""
    encoded = column if pa.types.is_dictionary(column.type) else column.dictionary_encode()
    indices = pc.fill_null(encoded.indices.cast(pa.int64()), -1).to_numpy() + 1
    return indices, [None] + encoded.dictionary.to_pylist()


def actor(*identity: pa.Array) -> pa.Array:
    """:func:`actor_of` for whole columns (type, arn, userName, principalId, accountId, invokedBy), plain or
    dictionary-encoded (the frame's columns are: encoding them first costs nothing more).

    Computed once per distinct identity, then spread over the rows: a trail has few callers and many events. The
    identities are told apart by the six columns' dictionary codes, never by their texts joined (which a value
    holding the separator could fool).
    """
    n = len(identity[0])
    if not n:
        return pa.array([], pa.string())
    coded = [_codes(col) for col in identity]
    key = np.zeros(n, dtype=np.int64)
    room = 1
    for codes, values in coded:  # one integer per row: the codes in mixed radix, while they fit in 62 bits
        if room * len(values) >= 1 << 62:
            key = np.unique(key, return_inverse=True)[1].astype(np.int64)
            room = int(key.max()) + 1
        key = key * len(values) + codes
        room *= len(values)
    _, firsts, rows = np.unique(key, return_index=True, return_inverse=True)  # (a row of each identity)
    names = [actor_of(*(values[codes[i]] for codes, values in coded)) for i in firsts.tolist()]
    return pc.take(pa.array(names, pa.string()), pa.array(rows.astype(np.int32)))


def string_offsets(text: pa.Array) -> np.ndarray:
    """The offsets of a string or large_string array, as numpy reads them in its buffer (no copy): row i is the
    bytes ``offsets[i]:offsets[i + 1]`` of its data buffer."""
    kind = np.int64 if pa.types.is_large_string(text.type) else np.int32
    return np.frombuffer(text.buffers()[1], dtype=kind, count=len(text) + 1,
                         offset=text.offset * np.dtype(kind).itemsize)


def rows_containing(text: pa.Array, needle: str) -> list[int]:
    """The rows of a string column whose text contains ``needle`` (as ``pc.match_substring``, 3-4x faster: one
    search of the column's bytes, which finds a rare needle at memchr speed, instead of a search per row)."""
    n = len(text)
    if not n or text.null_count == n:
        return []
    offsets = string_offsets(text)
    start, end = int(offsets[0]), int(offsets[-1])
    data = text.buffers()[2].slice(0, end).to_pybytes() if end else b""
    want = needle.encode()
    hits, at = [], data.find(want, start)
    while at >= 0:
        hits.append(at)
        at = data.find(want, at + 1)
    if not hits:
        return []
    found = np.array(hits, dtype=np.int64)
    rows = np.searchsorted(offsets, found, side="right") - 1
    inside = found + len(want) <= offsets[rows + 1]  # not across the end of a row
    rows = np.unique(rows[inside]).tolist()
    # under a null there may be bytes all the same (Arrow leaves them undefined)
    return [r for r in rows if text[r].is_valid] if text.null_count else rows


def lifted(text: pa.Array, key: str) -> pa.Array:
    """The top-level string value of ``key`` in a column of JSON object texts (parsed only where the key occurs)."""
    rows = rows_containing(text, f'"{key}"')
    values = [None] * len(text)
    for i in rows:
        try:
            obj = json.loads(text[i].as_py())
        except (TypeError, ValueError):
            continue
        if isinstance(obj, dict) and key in obj:
            v = obj[key]
            values[i] = v if v is None or isinstance(v, str) else json.dumps(v)
    return pa.array(values, pa.string())


def instance_ids(*texts: pa.Array) -> pa.Array:
    """Per row, the EC2 instance IDs found in the given JSON text columns, in order of appearance, no repeats."""
    n = len(texts[0])
    maybe = None
    for t in texts:
        m = _true(pc.match_substring_regex(t, _MAY_HOLD_ID))
        maybe = m if maybe is None else pc.or_(maybe, m)
    counts = np.zeros(n, dtype=np.int32)
    values: list[str] = []
    rows = pc.indices_nonzero(maybe) if n else pa.array([], pa.uint64())
    if len(rows):
        for i, *row_texts in zip(rows.to_pylist(), *(pc.take(t, rows).to_pylist() for t in texts)):
            found: list[str] = []
            for s in row_texts:
                if s and ('"i-' in s or "/i-" in s):
                    for m in _INSTANCE_ID.finditer(s):
                        start = m.start()
                        if (start == 0 or s[start - 1] not in _WORD_CHARS) and m.group() not in found:
                            found.append(m.group())
            counts[i] = len(found)
            values.extend(found)
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(values, pa.string()))
