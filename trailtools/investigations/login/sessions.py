"""Credentials are the unit of a session: which credential made each call, and which console sign-in a console
call belongs to. Pure functions, events frame in.

- :func:`console_calls`: the calls made with the credentials the console minted at a sign-in
  (``sessionCredentialFromConsole: "true"``; in records written before CloudTrail had that field, a temporary
  ``ASIA`` key no STS call in the trail issued, used with a browser's or the console's user agent).
- :func:`credential_ids`: one credential per call: ``console:<principal>`` for console calls, else the access key
  ID (long-term ``AKIA`` keys and temporary ``ASIA`` credentials alike), else ``service:<invokedBy>`` for an AWS
  service, else ``principal:<actor>``.
- :func:`assign_console_sessions`: each console call to the sign-in that minted its credentials: the principal's
  latest successful sign-in at most ``SESSION_LENGTH`` before the call, from the call's own address when there is
  one; all calls made with one ``ASIA`` key stay with the sign-in of the key's first call.
- :func:`session_events`: what one sign-in session did: its console calls, and whatever the credentials it handed
  out did later (keys from ``CreateAccessKey``, temporary credentials from STS, followed through role chains). A
  call the same principal made with another credential (its access key, from anywhere) is not the session's.
- :func:`session_credentials`: each console session its own credential (its calls and the sign-in that opened it).
"""
from __future__ import annotations

import bisect

import numpy as np
import pandas as pd

from trailtools.investigations.login.rules import CHAIN_DEPTH, CONSOLE_AGENT, issued_keys_of
from trailtools.rules.model import by_value

SIGNIN_EVENTS = ("ConsoleLogin",)
SESSION_LENGTH = pd.Timedelta(hours=12)
LONG_TERM = "AKIA"
#: The columns what a session did is judged on (:func:`session_events` and the follow-up rules, the evidence of a
#: session finding): a session's rows need no others.
SESSION_COLUMNS = ["eventTime", "eventSource", "eventName", "eventID", "actor", "sourceIPAddress", "userAgent",
                   "awsRegion", "errorCode", "errorMessage", "requestParameters", "responseElements",
                   "responseElements.ConsoleLogin", "userIdentity.type", "userIdentity.arn",
                   "userIdentity.accessKeyId", "userIdentity.invokedBy", "sessionCredentialFromConsole"]
#: The columns of ``LoginAnalysis.credentials``: one row per credential (console session, access key, temporary
#: credentials, service) that made calls in the window. ``session``: the sign-in eventID of a console session;
#: ``new``: the dimensions (address, network, agent, region, api) with a value the credential's principal never
#: used before the window, or ``["identity"]`` for a principal with no calls before it.
CREDENTIAL_COLUMNS = ["credential", "kind", "principal", "session", "first", "last", "calls", "addresses", "agents",
                      "new"]


def _col(frame: pd.DataFrame, name: str) -> pd.Series:
    return frame[name].astype(object)


def issued_keys(events: pd.DataFrame) -> set[str]:
    """Every access key ID the trail shows being handed out (CreateAccessKey, STS)."""
    return set(new_keys(events))


def console_calls(events: pd.DataFrame, issued: set[str] | None = None) -> pd.Series:
    """Which calls were made with console-minted credentials (see the module's docstring); sign-ins are not."""
    flag, keys = events["sessionCredentialFromConsole"], events["userIdentity.accessKeyId"]
    said = by_value(flag, lambda f: f.astype(object).astype(str).str.lower() == "true")
    # (each distinct key tested once where the keys are a category)
    unsaid = flag.isna() & by_value(keys, lambda k: as_text(k).str.startswith("ASIA"))
    if unsaid.any():
        issued = list(issued_keys(events) if issued is None else issued)
        unsaid &= ~by_value(keys, lambda k: as_text(k).isin(issued)) & by_value(events["userAgent"], _console_agent)
    return (said | unsaid) & ~events["eventName"].isin(SIGNIN_EVENTS)


def _console_agent(agents: pd.Series) -> pd.Series:
    return agents.astype(object).fillna("").astype(str).str.contains(CONSOLE_AGENT, regex=True, case=False)


def as_text(col: pd.Series) -> pd.Series:
    """A column as texts, a missing value as "" (a category's rows share its texts: no text made a row)."""
    if col.dtype == pd.StringDtype("pyarrow", na_value=np.nan):
        return col.fillna("")
    if isinstance(col.dtype, pd.CategoricalDtype) and pd.api.types.is_string_dtype(col.cat.categories):
        return col.astype(object).fillna("")    # the categories' own texts, shared by their rows (not one a row)
    return col.astype(object).fillna("").astype(str)


def credential_ids(events: pd.DataFrame, console: pd.Series | None = None) -> pd.Series:
    """The credential that made each call (see the module's docstring), as one string per row."""
    console = console_calls(events) if console is None else console
    key = as_text(events["userIdentity.accessKeyId"])
    invoked = events["userIdentity.invokedBy"]
    out = by_value(events["actor"], lambda a: "principal:" + a.astype(object).fillna("").astype(str))
    out = out.astype(object)
    blank = by_value(invoked, lambda i: i.astype(object) == "").astype(bool)     # (once per distinct value)
    out = out.where(invoked.isna() | blank,
                    by_value(invoked, lambda i: "service:" + i.astype(object).fillna("").astype(str)))
    no_key = by_value(events["userIdentity.accessKeyId"], lambda k: as_text(k) == "").astype(bool)
    out = out.where(no_key, key)
    return out.where(~console, by_value(events["actor"],
                                        lambda a: "console:" + a.astype(object).fillna("").astype(str)))


def credential_kind(credential: str) -> str:
    """``console``, ``access-key`` (long-term), ``temporary`` (``ASIA``), ``service`` or ``principal``."""
    if credential.startswith("console:"):
        return "console"
    if credential.startswith("service:"):
        return "service"
    if credential.startswith("principal:"):
        return "principal"
    return "access-key" if credential.startswith(LONG_TERM) else "temporary"


def assign_console_sessions(calls: pd.DataFrame, signins: pd.DataFrame) -> pd.Series:
    """The ``eventID`` of the sign-in each console call belongs to (None: no sign-in in the 12 h before it).

    ``calls``: console calls (``eventTime``, ``actor``, ``sourceIPAddress``, ``userIdentity.accessKeyId``), sorted
    by time; ``signins``: successful sign-ins (``time``, ``principal``, ``sourceIPAddress``, ``eventID``)."""
    if calls.empty or signins.empty:
        return pd.Series(None, index=calls.index, dtype=object)
    by_principal: dict = {}
    ok = signins[signins["time"].notna()].sort_values("time", kind="stable")
    # times as integer nanoseconds: compared and searched without a Timestamp made for each of millions of calls
    for p, t, ip, eid in zip(ok["principal"], _ns(ok["time"]), ok["sourceIPAddress"], ok["eventID"]):
        by_principal.setdefault(p, []).append((t, ip, eid))
    times = {p: [s[0] for s in rows] for p, rows in by_principal.items()}
    length = SESSION_LENGTH.value
    key_owner: dict[str, str] = {}
    owners: list = []
    cols = (calls[c].astype(object).to_numpy() for c in ("actor", "sourceIPAddress", "userIdentity.accessKeyId"))
    for t, who, ip, key in zip(_ns(calls["eventTime"]), *cols):
        key = key if isinstance(key, str) and key else None
        if key in key_owner:
            owners.append(key_owner[key])
            continue
        rows = by_principal.get(who)
        if not rows or t == NAT:
            owners.append(None)
            continue
        # the sign-ins at most SESSION_LENGTH before the call: a slice of the principal's, sorted by time
        live = rows[bisect.bisect_left(times[who], t - length):bisect.bisect_right(times[who], t)]
        if not live:
            owners.append(None)
            continue
        same = [s for s in live if s[1] == ip]
        owner = (same or live)[-1][2]
        owners.append(owner)
        if key:
            key_owner[key] = owner
    return pd.Series(owners, index=calls.index, dtype=object)


NAT = np.iinfo(np.int64).min     # a missing time, as :func:`_ns` gives it


def _ns(times: pd.Series) -> list[int]:
    """Times as integer nanoseconds since the epoch (UTC; missing: :data:`NAT`)."""
    return pd.DatetimeIndex(times).as_unit("ns").asi8.tolist()


def new_keys(rows: pd.DataFrame) -> list[str]:
    """The access key IDs some calls handed out (CreateAccessKey, STS), in order."""
    return issued_keys_of(rows)


def session_events(
    events: pd.DataFrame,
    principal: str,
    start,
    end,
    *,
    mine: pd.DataFrame | None = None,
    signin_event: str | None = None,
    owner: pd.Series | None = None,
    by_key: dict | None = None,
    in_order: bool = False,
) -> pd.DataFrame:
    """Everything a sign-in session did, in order: the principal's console calls after the sign-in at ``start``
    until ``end``, and whatever the credentials it handed out did later. ``mine``: the principal's rows, when at
    hand. With ``signin_event`` only the console calls :func:`assign_console_sessions` gives that sign-in count
    (``owner``: that assignment for ``mine``, when already computed): a second session of the same principal from
    another address keeps its own calls. ``by_key``: :func:`rows_by_key` of ``events``, when at hand (the calls
    of the keys handed out are then found without a pass over every event). ``in_order``: ``mine`` is known to be
    in time order, without missing times (its window is then found by binary search, not checked again)."""
    if mine is None:
        mine = events[_col(events, "actor") == principal]
    window = between(mine, start, end, in_order=in_order)
    if signin_event is None:
        acts = window[console_calls(window)]
    else:
        if owner is None:
            failed = (_col(mine, "responseElements.ConsoleLogin") == "Failure") | _col(mine, "errorMessage").notna()
            sign = mine[_col(mine, "eventName").isin(SIGNIN_EVENTS) & ~failed]
            sign = pd.DataFrame({"time": sign["eventTime"], "principal": _col(sign, "actor"),
                                 "sourceIPAddress": _col(sign, "sourceIPAddress"), "eventID": _col(sign, "eventID")})
            calls = mine[(mine["eventTime"] > start - SESSION_LENGTH) & (mine["eventTime"] < end)]
            owner = assign_console_sessions(calls[console_calls(calls)], sign[sign["time"] < end])
        acts = window[owner.reindex(window.index) == signin_event]
    keys, seen = new_keys(acts), set()
    for _ in range(CHAIN_DEPTH):  # what the keys handed out in the session did, whenever
        keys = [k for k in keys if k not in seen]
        if not keys:
            break
        seen.update(keys)
        cols = [c for c in acts.columns if c in events.columns]
        if by_key is not None:
            found = [by_key[k] for k in keys if k in by_key]
            at = np.sort(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)
            at = at[(events["eventTime"].iloc[at] > start).to_numpy(dtype=bool)]
            at = at[~events.index[at].isin(acts.index)]
            extra = events.iloc[at, [events.columns.get_loc(c) for c in cols]]
        else:
            hit = (events["userIdentity.accessKeyId"].isin(keys).fillna(False).to_numpy(dtype=bool)
                   & (events["eventTime"] > start).to_numpy(dtype=bool) & ~events.index.isin(acts.index))
            extra = events.loc[hit, cols]
        acts = pd.concat([acts, extra]).sort_values("eventTime", kind="stable")
        keys = new_keys(extra)
    return acts


def rows_by_key(events: pd.DataFrame) -> dict:
    """Access key ID -> the positions of the calls made with it, in order (for :func:`session_events`)."""
    return events.groupby("userIdentity.accessKeyId", observed=True, sort=False).indices


def between(rows: pd.DataFrame, start, end=None, *, from_start: bool = False, in_order: bool = False) -> pd.DataFrame:
    """The rows after ``start`` (``from_start``: from it on) and before ``end`` (None: no end): a slice when they are
    in time order (``in_order``: known to be; else checked), not a copy of every column through a mask."""
    times = rows["eventTime"]
    side = "left" if from_start else "right"
    if in_order or (len(rows) and times.is_monotonic_increasing and not times.hasnans):
        hi = len(rows) if end is None else times.searchsorted(end, side="left")
        return rows.iloc[times.searchsorted(start, side=side):hi]
    mask = (times >= start) if from_start else (times > start)
    return rows[mask if end is None else mask & (times < end)]


def credential_table(feats: pd.DataFrame, owner: pd.Series, start, end, new_ids: set, seen: pd.DataFrame):
    """One row per credential used in [start, end) (``LoginAnalysis.credentials``): ``feats`` from
    :func:`trailtools.investigations.login.baseline.features`, ``owner`` from :func:`assign_console_sessions`,
    ``new_ids`` from :func:`~.baseline.new_identities` and ``seen`` from :func:`~.baseline.first_seen` by principal."""
    win = between(feats, start, end, from_start=True)
    if win.empty:
        return pd.DataFrame(columns=CREDENTIAL_COLUMNS)
    weighted = "calls" in win.columns    # compact rows (the out-of-core engine): that many calls, until lastTime
    table = win.groupby("credential", sort=True, observed=True).agg(
        principal=("principal", "first"), first=("eventTime", "min"),
        last=("lastTime" if weighted else "eventTime", "max"),
        calls=("calls", "sum") if weighted else ("eventTime", "size"))
    creds, cred_names = pd.factorize(win["credential"])
    cred_names = list(cred_names)   # (read by position for every pair: a list's items, not an index's)

    def values(col: str) -> dict:
        """Each credential's distinct values of ``col``, in order (from the codes of both: no copy of the pairs)."""
        codes, names = pd.factorize(win[col])
        names = list(names)
        both = (codes >= 0) & (creds >= 0)
        width = max(len(names), 1)
        pairs = np.unique(creds[both].astype(np.int64) * width + codes[both])
        out: dict = {}
        for c, v in zip((pairs // width).tolist(), (pairs % width).tolist()):
            out.setdefault(cred_names[c], []).append(names[v])
        return {cred: sorted(vals) for cred, vals in out.items()}

    addresses, agents = values("address"), values("agent")
    session = owner.reindex(win.index)
    has = session.notna()
    session = pd.DataFrame({"credential": win["credential"][has], "session": session[has]}).drop_duplicates(
        "credential")
    session = dict(zip(session["credential"], session["session"]))
    old = seen[seen["first"] < start][["principal", "dimension"]].drop_duplicates()
    fresh = seen[(seen["first"] >= start) & (seen["first"] < end)].merge(old, on=["principal", "dimension"])
    new_dims: dict = {}
    for p, dim, v in zip(fresh["principal"], fresh["dimension"], fresh["value"]):
        new_dims.setdefault(p, {}).setdefault(dim, set()).add(v)
    used = {dim: values(dim) for dim in ("network", "region", "api")}
    used.update(address=addresses, agent=agents)
    rows = []
    for cred, p, first, last, calls in zip(table.index, table["principal"], table["first"], table["last"],
                                           table["calls"]):
        new = ["identity"] if p in new_ids else sorted(
            dim for dim, vals in new_dims.get(p, {}).items() if vals & set(used[dim].get(cred, ())))
        rows.append({"credential": cred, "kind": credential_kind(str(cred)), "principal": p,
                     "session": session.get(cred), "first": first, "last": last, "calls": int(calls),
                     "addresses": addresses.get(cred, [])[:20], "agents": agents.get(cred, [])[:20], "new": new})
    return pd.DataFrame(rows, columns=CREDENTIAL_COLUMNS)


def session_credentials(creds: pd.Series, rng: pd.DataFrame, owner: pd.Series, ok: pd.DataFrame) -> pd.Series:
    """Each console session its own credential, ``console:<principal>@<sign-in eventID>``: its console calls (by
    :func:`assign_console_sessions`) and the successful sign-in that opened it. A category (one code a call: a few
    thousand credentials on millions of calls), each session's text made once."""
    session = owner.reindex(rng.index).to_numpy(dtype=object, copy=True)
    opened = np.flatnonzero(pd.isna(session) & rng["eventID"].isin(set(ok["eventID"])).to_numpy(dtype=bool))
    session[opened] = rng["eventID"].iloc[opened].astype(object).to_numpy()     # the sign-in itself
    has = np.flatnonzero(~pd.isna(session))
    out = creds.to_numpy(dtype=object, copy=True)     # (arrays by position: no index aligned on millions of rows)
    actors = rng["actor"].iloc[has].astype(object).fillna("").astype(str).to_numpy()
    made: dict = {}
    out[has] = [made.get((a, s)) or made.setdefault((a, s), f"console:{a}@{s}") for a, s in zip(actors, session[has])]
    # the category pandas makes of the texts (categories sorted), from a factorize of the objects: a Categorical of
    # the objects themselves turns every row into Arrow text first (10M-event trail: 0.6 s of 2.2 million rows)
    codes, uniques = pd.factorize(out, sort=True)
    return pd.Series(pd.Categorical.from_codes(codes, categories=pd.Index(uniques)), index=creds.index)
