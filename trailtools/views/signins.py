"""Sign-ins per principal on one time axis: successes and failures, with or without MFA, and the risky actions
that followed drawn on the same axis; SSH logins from the guest logs, when given, one row per instance. Returns an
Altair chart; never displays; strings go into the spec unchanged (escaping is for whoever writes it into HTML:
`trailtools.views.spec_json`)."""
from __future__ import annotations

import altair as alt
import pandas as pd

from trailtools.views import offline  # noqa: F401 (its charts render offline: Vega bundled, no CDN)
from trailtools.views.time import axis_format, human_series, iso_series, utc_series

MAX_ROWS = 5000
#: SSH attempts drawn at most (every accepted one, then the latest failures): a brute force must not hide the rest.
MAX_SSH_ROWS = 2000
COLORS = {"sign-in success": "#2ca02c", "sign-in failure": "#d62728", "risky action": "#ff7f0e",
          "SSH accepted": "#1f77b4", "SSH failed": "#9467bd"}
#: the plot's width and the longest principal label in px: with the labels on the left and the legends below, the
#: chart fits the report's 1,100 px column
WIDTH, LABEL_LIMIT = 760, 220
SHAPES = {"MFA": "circle", "no MFA": "triangle-up", "n/a": "diamond", "action": "square", "SSH": "cross"}


def _role_label(role: str) -> str:
    """``AWSReservedSSO_AdministratorAccess_fbb972cd20594ef2`` -> ``AdministratorAccess`` (the permission set); any
    other role name unchanged."""
    if role.startswith("AWSReservedSSO_"):
        return role[len("AWSReservedSSO_"):].rsplit("_", 1)[0] or role
    return role


def short_names(principals) -> dict[str, str]:
    """A short label for each principal that still tells it apart from the others.

    ``role/session`` (an assumed role, as ``actor`` writes it) -> the session name (for an SSO role, the person:
    ``alice@example.com``); an ARN -> its last part; ``federated-user/name`` -> the name; an IAM user name, ``root``
    and anything else unchanged. Principals whose short labels would collide get the role's name (an SSO role's
    permission set) in brackets, and the full principal when that still collides.
    """
    names = list(dict.fromkeys(str(p) for p in principals))

    def short(p: str) -> str:
        if p.startswith("ssh @ ") or "/" not in p:
            return p
        return p.rsplit("/", 1)[1] or p

    def qualified(p: str) -> str:
        parts = p.split(":")[-1].split("/")
        role = parts[-2] if len(parts) >= 2 else ""
        return f"{short(p)} ({_role_label(role)})" if role and short(p) != p else p

    out = {p: short(p) for p in names}
    for step in (qualified, str):
        seen: dict[str, list[str]] = {}
        for p, label in out.items():
            seen.setdefault(label, []).append(p)
        for group in seen.values():
            if len(group) > 1:
                out.update({p: step(p) for p in group})
    return out


def _place(signins: pd.DataFrame) -> list[str]:
    """Where each sign-in's address is ("Amsterdam, NL", "AS16509 AMAZON-02"), when a GeoIP/ASN lookup said so."""
    out = []
    for r in signins.to_dict("records"):
        parts = [str(r[c]) for c in ("city", "country") if isinstance(r.get(c), str) and r[c]]
        if r.get("asn") is not None and pd.notna(r.get("asn")):   # a number (a float once pandas mixed in None)
            parts.append(f"AS{int(r['asn'])} {r.get('org') or ''}".strip())
        out.append(", ".join(parts))
    return out


def _ssh_rows(ssh: pd.DataFrame) -> pd.DataFrame:
    """SSH attempts (:data:`trailtools.evidence.guest_logs.SSH_COLUMNS`) as timeline rows: one row of the chart per
    host."""
    if ssh.empty:
        return pd.DataFrame()
    accepted = ssh["result"].astype(object) == "Accepted"
    failed = ssh[~accepted].sort_values("time", kind="stable")
    keep = pd.concat([ssh[accepted], failed.tail(max(0, MAX_SSH_ROWS - int(accepted.sum())))])
    user = keep["user"].astype(object).where(keep["user"].notna(), "").astype(str)
    invalid = keep["invalid_user"].astype(object).fillna(False).astype(bool)
    return pd.DataFrame(
        {
            "time": utc_series(keep["time"]),
            "principal": "ssh @ " + keep["host"].astype(object).where(keep["host"].notna(), "?").astype(str),
            "kind": ["SSH accepted" if a else "SSH failed" for a in keep["result"].astype(object) == "Accepted"],
            "mfa": "SSH",
            "what": user.where(~invalid, user + " (invalid user)"),
            "source": keep["source"],
            "place": "",
            "detail": keep["method"],
            "ref": keep["file"].astype(object).astype(str) + ":" + keep["line"].astype(object).astype(str),
        }
    )


def _rows(signins: pd.DataFrame, actions: pd.DataFrame, ssh: pd.DataFrame) -> pd.DataFrame:
    s = pd.DataFrame(
        {
            "time": utc_series(signins.get("time", pd.Series(dtype=object))),
            "principal": signins.get("principal", pd.Series(dtype=object)),
            "arn": signins.get("arn", pd.Series(dtype=object)),
            "kind": ["sign-in success" if r == "Success" else "sign-in failure" for r in signins.get("result", [])],
            "mfa": ["MFA" if m == "Yes" else "no MFA" if m == "No" else "n/a" for m in signins.get("mfa", [])],
            "what": "ConsoleLogin",
            "source": signins.get("sourceIPAddress", pd.Series(dtype=object)),
            "place": _place(signins),
            "detail": signins.get("userAgent", pd.Series(dtype=object)),
            "ref": signins.get("eventID", pd.Series(dtype=object)),
        }
    )
    a = pd.DataFrame(
        {
            "time": utc_series(actions.get("time", pd.Series(dtype=object))),
            "principal": actions.get("principal", pd.Series(dtype=object)),
            "kind": "risky action",
            "mfa": "action",
            "what": actions.get("eventName", pd.Series(dtype=object)),
            "source": actions.get("sourceIPAddress", pd.Series(dtype=object)),
            "place": "",
            "detail": actions.get("category", pd.Series(dtype=object)),
            "ref": actions.get("eventID", pd.Series(dtype=object)),
        }
    )
    if not a.empty:  # an action's ARN: its principal's sign-in's
        known = s.dropna(subset=["principal", "arn"]).drop_duplicates("principal").set_index("principal")["arn"]
        a["arn"] = a["principal"].map(known)
    df = pd.concat([s, a, _ssh_rows(ssh)], ignore_index=True)
    df = df[df["time"].notna()].sort_values("time", kind="stable").tail(MAX_ROWS)
    for col in ("principal", "arn", "kind", "mfa", "what", "source", "place", "detail", "ref"):
        df[col] = df[col].astype(object).where(df[col].notna(), "").astype(str) if col in df else ""
    df["arn"] = df["arn"].where(df["arn"] != "", df["principal"])
    df["label"] = df["principal"].map(short_names(df["principal"]))
    df["when"] = human_series(df["time"])
    df["time"] = iso_series(df["time"])
    return df


def signin_timeline(
    signins: pd.DataFrame, actions: pd.DataFrame | None = None, *, ssh: pd.DataFrame | None = None, title: str = ""
) -> alt.Chart:
    """One row per principal; sign-ins coloured by result and shaped by MFA; risky follow-up actions as squares.

    ``signins``: time, principal, result ("Success"/"Failure"), mfa ("Yes"/"No"/None), sourceIPAddress,
    userAgent, eventID, and optionally city, country, asn, org (shown as the place in the tooltip).
    ``actions``: time, principal, eventName, category, sourceIPAddress, eventID.
    ``ssh``: SSH attempts from the guest logs (:data:`trailtools.evidence.guest_logs.SSH_COLUMNS`), as crosses on one
    row per
    host ("ssh @ host"), the user name in the tooltip; every accepted login and the latest failures
    (:data:`MAX_SSH_ROWS` in all).
    Principals are labelled by :func:`short_names` (the full principal or ARN in the tooltip); the time axis carries
    the date when the rows span several days (:func:`trailtools.views.time.axis_format`); the legends are below.
    Zoom and pan on x; click a legend entry to highlight one kind.
    """
    data = _rows(
        signins, actions if actions is not None else pd.DataFrame(), ssh if ssh is not None else pd.DataFrame()
    )
    pick = alt.selection_point(fields=["kind"], bind="legend", name="kind_pick")
    zoom = alt.selection_interval(encodings=["x"], bind="scales", name="zoom")
    labels = list(dict.fromkeys(data["label"])) or [""]
    legend = alt.Legend(orient="bottom", direction="horizontal", titleOrient="left")
    return (
        alt.Chart(data, title=title or "Sign-ins and what followed")
        .mark_point(filled=True, size=90, clip=True)
        .encode(
            x=alt.X("time:T", title="time (UTC)", scale=alt.Scale(type="utc"),
                    axis=alt.Axis(format=axis_format(data["time"]), labelOverlap=True, labelSeparation=6)),
            y=alt.Y("label:N", title=None, sort=labels, axis=alt.Axis(labelLimit=LABEL_LIMIT)),
            color=alt.Color("kind:N", title="", legend=legend,
                            scale=alt.Scale(domain=list(COLORS), range=list(COLORS.values()))),
            shape=alt.Shape("mfa:N", title="MFA", legend=legend,
                            scale=alt.Scale(domain=list(SHAPES), range=list(SHAPES.values()))),
            opacity=alt.condition(pick, alt.value(0.95), alt.value(0.15)),
            tooltip=["when:N", alt.Tooltip("label:N", title="who"), alt.Tooltip("arn:N", title="principal"), "what:N",
                     "kind:N", "mfa:N", "source:N", "place:N", "detail:N", "ref:N"],
        )
        .add_params(pick, zoom)
        .properties(width=WIDTH, height=max(60, 28 * len(labels)))
    )
