"""What is usual, and what is new: first-seen aggregates per principal and per credential.

Pure functions, frame in, aggregates out, each one a projection, a group-by or an anti-join, so that a database
(DuckDB, issue 21) can compute the same tables from the same columns:

- :func:`features`: one row per call, the dimensions judged (``address``, ``network``, ``agent`` family, ``region``,
  ``api``) beside ``eventTime``, ``principal`` and ``credential``. AWS services acting for a principal (``invokedBy``,
  or a service host name as the source) get no address, network or agent: they say nothing about where the
  principal is.
- :func:`first_seen`: per key (principal, or credential) and dimension, each value's first and last time and count
  (``GROUP BY key, dimension, value``).
- :func:`new_values`: the window's (key, dimension, value) triples not seen before its start (an anti-join).
- :func:`new_identities`: the keys with calls in the window and none before it, when the frame holds history at all.
- :func:`call_features`: :func:`features` of a frame's calls but failed sign-ins, with the caller's type and ARN
  (and the compact rows' counts), indexed as the frame (a call's eventID is read from the frame where a finding
  names it).

The credential of a call comes from :func:`trailtools.investigations.login.sessions.credential_ids`.
"""
from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pandas as pd

from trailtools.evidence.geoip import GeoIP, public_ip
from trailtools.investigations.login.rules import network
from trailtools.investigations.login.sessions import SIGNIN_EVENTS
from trailtools.rules.model import by_value

DIMENSIONS = ("address", "network", "agent", "region", "api")
FIRST_SEEN_COLUMNS = ["dimension", "value", "first", "last", "calls"]

#: user agent family by the text's start (case-insensitive), first match wins; anything else: its first token
AGENT_FAMILIES = (
    (re.compile(r"^mozilla/", re.I), "browser"),
    (re.compile(r"^aws internal", re.I), "aws-internal"),
    (re.compile(r"^[a-z0-9.-]+\.amazonaws\.com$", re.I), "aws-service"),
    (re.compile(r"^aws-cli/", re.I), "aws-cli"),
    (re.compile(r"^(?:boto3|botocore)/", re.I), "boto3"),
    (re.compile(r"^aws-sdk-go", re.I), "aws-sdk-go"),
    (re.compile(r"^aws-sdk-java|^aws-java-sdk", re.I), "aws-sdk-java"),
    (re.compile(r"^aws-sdk-js|^aws-sdk-nodejs", re.I), "aws-sdk-js"),
    (re.compile(r"^aws-sdk-(?:dotnet|net)", re.I), "aws-sdk-dotnet"),
    (re.compile(r"^aws-sdk-ruby", re.I), "aws-sdk-ruby"),
    (re.compile(r"^aws-sdk-php", re.I), "aws-sdk-php"),
    (re.compile(r"^aws-sdk-rust", re.I), "aws-sdk-rust"),
    (re.compile(r"terraform", re.I), "terraform"),
    (re.compile(r"^aws-?powershell|^awspowershell", re.I), "aws-powershell"),
    (re.compile(r"^aws-cloudshell|exec-env/cloudshell", re.I), "cloudshell"),
)
#: operating systems made for attacking, as the AWS CLI and SDKs name them in their user agent (``distrib#kali``)
ATTACK_DISTROS = re.compile(r"(?:distrib#|\b)(kali|parrot|pentoo)\b", re.I)
MAX_AGENT_TOKEN = 40


def agent_family(agent) -> str | None:
    """The family of a user agent (``aws-cli``, ``boto3``, ``browser``, ``terraform``, ...): versions and platform
    details vary with every update, the family does not. A penetration-testing distribution named in the agent is
    kept (``aws-cli on kali``)."""
    if agent is None or (not isinstance(agent, str) and pd.isna(agent)):
        return None
    text = str(agent).strip()
    if not text:
        return None
    family = next((name for pattern, name in AGENT_FAMILIES if pattern.search(text)), None)
    if family is None:
        family = re.split(r"[/\s(]", text, maxsplit=1)[0].lower()[:MAX_AGENT_TOKEN] or "other"
    distro = ATTACK_DISTROS.search(text)
    return f"{family} on {distro.group(1).lower()}" if distro else family


def _category(codes: np.ndarray, values: list, index: pd.Index) -> pd.Series:
    """A category column whose row i holds ``values[codes[i]]`` (code -1, or a value None: missing). Its categories
    are the distinct values sorted, so that grouping by it orders the keys as grouping the texts would; a row costs
    its code (one to four bytes), not a pointer to a text (eight, and the text's own object where it is not shared)."""
    distinct, categories = pd.factorize(np.array([*values, None], dtype=object), sort=True)  # the last: code -1
    return pd.Series(pd.Categorical.from_codes(distinct[codes], categories=categories), index=index)


def _mapped(values: pd.Series, fn: Callable) -> pd.Series:
    """``fn`` over each distinct value once (a trail has few distinct addresses and agents), as a category; missing
    values (and values ``fn`` maps to None) stay missing. The values are told apart by codes (a category's own), not
    looked up a row at a time."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return _category(codes, [fn(v) for v in uniques], values.index)


def _as_category(values: pd.Series) -> pd.Series:
    """``values`` as a category with sorted categories (a category column already is one: no text is hashed)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return _category(codes, list(uniques), values.index)


def _texts(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Each row's code into a list of distinct texts (a missing value: ""), from a category's codes where it is one."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    texts = [str(u) for u in uniques] + [""]
    return np.where(codes < 0, len(texts) - 1, codes).astype(np.int64), texts


def _joined(a: pd.Series, b: pd.Series, sep: str) -> pd.Series:
    """``a + sep + b`` (missing values as ""), as a category: each distinct pair's text made once (a text a row
    would cost tens of bytes each on millions of rows)."""
    (left, left_texts), (right, right_texts) = _texts(a), _texts(b)
    width = len(right_texts)
    pairs = left * width + right
    if len(left_texts) * width <= len(pairs) + 1_000_000:   # the pairs' range is small: marked, not sorted
        present = np.zeros(len(left_texts) * width, dtype=bool)
        present[pairs] = True
        distinct = np.flatnonzero(present)
        rows = (np.cumsum(present) - 1)[pairs]
    else:
        distinct, rows = np.unique(pairs, return_inverse=True)
    texts = [f"{left_texts[p // width]}{sep}{right_texts[p % width]}" for p in distinct.tolist()]
    return _category(rows.reshape(-1), texts, a.index)


def acting_service(events: pd.DataFrame) -> pd.Series:
    """The calls an AWS service made for a principal: ``invokedBy`` set, or a service host name as the source."""
    # (each column judged once per distinct value where it is a category: millions of calls, few values)
    invoked = events["userIdentity.invokedBy"].notna()
    source = by_value(events["sourceIPAddress"],
                      lambda a: a.astype(object).fillna("").astype(str).str.endswith(".amazonaws.com")).astype(bool)
    service = by_value(events["userIdentity.type"], lambda t: t.astype(object) == "AWSService").astype(bool)
    return invoked | source | service


def features(events: pd.DataFrame, credentials: pd.Series, asn: Callable[[str], str | None] | None = None):
    """One row per call: eventTime, principal (the ``actor``), credential, and the judged dimensions. ``address``
    is a public IP literal (internal and service addresses: None); ``network`` the /24 (IPv4) or /48 (IPv6), or
    with ``asn`` (address -> ``"AS64500 Example"`` or None) the network owner where it knows one; ``api`` is
    ``eventSource:eventName``. The texts are categories (a window of millions of calls has a few thousand distinct
    values of each)."""
    service = acting_service(events)
    address = _mapped(events["sourceIPAddress"], public_ip).where(~service, None)
    if asn is not None:   # the network's owner where the database knows one, else the /24 or /48
        net = _mapped(address, lambda a: owner if (owner := asn(a)) is not None else network(a))
    else:
        net = _mapped(address, network)
    agent = _mapped(events["userAgent"], agent_family).where(~service, None)
    api = _joined(events["eventSource"], events["eventName"], ":")
    return pd.DataFrame(
        {
            "eventTime": events["eventTime"],
            "principal": _as_category(events["actor"]),
            "credential": _as_category(credentials),
            "address": address,
            "network": net.where(address.notna(), None),
            "agent": agent,
            "region": _as_category(events["awsRegion"]),
            "api": api,
        },
        index=events.index,
        copy=False,     # (a dict's columns are copied by default: the times of millions of calls)
    )


def first_seen(feats: pd.DataFrame, by: str, dimensions=DIMENSIONS) -> pd.DataFrame:
    """Per ``by`` (``principal`` or ``credential``), dimension and value: first and last time, and how many calls
    (``SELECT by, dimension, value, min(eventTime), max(eventTime), count(*) ... GROUP BY by, dimension, value``).
    Rows with ``calls`` and ``lastTime`` (a compact history's) count as that many calls until that time."""
    parts = []
    weighted = "calls" in feats.columns and "lastTime" in feats.columns
    for dim in dimensions:
        if weighted:  # compact history rows: each stands for ``calls`` calls from eventTime to lastTime
            rows = feats[[by, dim, "eventTime", "lastTime", "calls"]].dropna(subset=[by, dim])
            if rows.empty:
                continue
            g = rows.groupby([by, dim], sort=True, observed=True).agg(
                first=("eventTime", "min"), last=("lastTime", "max"), calls=("calls", "sum")).reset_index()
        else:
            rows = feats[[by, dim, "eventTime"]].dropna(subset=[by, dim])
            if rows.empty:
                continue
            g = rows.groupby([by, dim], sort=True, observed=True)["eventTime"].agg(["min", "max", "size"]).reset_index()
        g.columns = [by, "value", "first", "last", "calls"]
        g = g.astype({by: object, "value": object})   # (the features are categories: the aggregate is small)
        g.insert(1, "dimension", dim)
        parts.append(g)
    if not parts:
        return pd.DataFrame(columns=[by, *FIRST_SEEN_COLUMNS])
    return pd.concat(parts, ignore_index=True)[[by, *FIRST_SEEN_COLUMNS]]


def known_before(seen: pd.DataFrame, by: str, start) -> dict:
    """``{key: {dimension: set of values}}`` of what each key used before ``start`` (from :func:`first_seen`)."""
    out: dict = {}
    old = seen[seen["first"] < start]
    for key, dim, value in zip(old[by], old["dimension"], old["value"]):
        out.setdefault(key, {}).setdefault(dim, set()).add(value)
    return out


def new_values(seen: pd.DataFrame, by: str, start, end) -> pd.DataFrame:
    """The (key, dimension, value) rows first seen in [start, end) for keys that have some history before ``start``
    in that dimension (a key with none is a new identity, :func:`new_identities`, not a new value)."""
    has_history = seen[seen["first"] < start][[by, "dimension"]].drop_duplicates()
    fresh = seen[(seen["first"] >= start) & (seen["first"] < end)]
    return fresh.merge(has_history, on=[by, "dimension"], how="inner").reset_index(drop=True)


def new_identities(feats: pd.DataFrame, by: str, start, end) -> set:
    """The keys (principals or credentials) with calls in [start, end) and none before ``start``; empty when the
    frame holds nothing before ``start`` (no history at all says nothing about anyone)."""
    before = feats["eventTime"] < start
    if not before.any():
        return set()
    during = (feats["eventTime"] >= start) & (feats["eventTime"] < end)
    old = set(feats.loc[before, by].dropna())
    return {k for k in pd.unique(feats.loc[during, by].dropna()) if k not in old}


#: the columns :func:`call_features` reads (those of :func:`~.baseline.features`, and who called)
FEATURE_COLUMNS = ["eventTime", "eventSource", "eventName", "actor", "sourceIPAddress", "userAgent",
                   "awsRegion", "userIdentity.type", "userIdentity.arn", "userIdentity.invokedBy"]


def call_features(rng: pd.DataFrame, creds: pd.Series, geo: GeoIP | None) -> pd.DataFrame:
    """The baseline features of every call but failed sign-ins (an attempt is no history), with the type and ARN of
    the caller for the findings, indexed as ``rng`` (no copy of each call's eventID: read from ``rng`` where a
    finding names the call); networks are network owners where an ASN database knows them."""
    failed = rng["eventName"].isin(SIGNIN_EVENTS).fillna(False).to_numpy(dtype=bool) & (
        (rng["responseElements.ConsoleLogin"].astype(object) == "Failure") | rng["errorMessage"].notna()
    ).to_numpy(dtype=bool)
    # the copy :func:`features` reads holds only its columns; the others are taken a column at a time after (on the
    # 10M-event trail's 2.2 million calls, ARNs, counts and last times were 40 MB more of the analysis's peak)
    ok = rng.loc[~failed, [c for c in FEATURE_COLUMNS if c in rng.columns and c != "userIdentity.arn"]]

    def owner(address: str) -> str | None:
        loc = geo.locate(address)
        return f"AS{loc.asn} {loc.org or ''}".strip() if loc.asn else None

    feats = features(ok, creds[~failed], owner if geo is not None and geo.has_asn else None)
    feats["type"] = _as_category(ok["userIdentity.type"])
    del ok
    feats["arn"] = _as_category(rng["userIdentity.arn"][~failed])
    if "calls" in rng.columns:   # compact history rows (the out-of-core engine): how many calls, until when
        feats["calls"] = rng["calls"][~failed].fillna(1).astype("int64")
        last = rng["lastTime"][~failed]
        feats["lastTime"] = last.where(last.notna(), rng["eventTime"][~failed])
    return feats
