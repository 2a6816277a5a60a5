"""Shared by the evidence readers (AWS Health, EC2, CloudWatch): times in any shape AWS answers with, typed frames,
and saved ``aws ... --output json`` responses in the demo account's layout.

Each evidence module has three layers, kept apart so that each can be tested alone:

- ``transform_*``: one raw API response -> a pandas frame with documented columns. The response is a dict
  exactly as boto3 returns it or as the ``aws`` CLI prints it to JSON (timestamps as ``datetime`` objects,
  ISO-8601 strings or epoch seconds are all accepted); times come out as ``datetime64[us, UTC]``.
- ``read_*``: the saved responses of an account folder laid out like the demo account (``health/``,
  ``ec2/<region>/``, ``cloudwatch/<region>/``) -> the same frames. In a case folder (``trailtools collect``) a
  response a later run found changed has a newer copy under ``runs/<run>/``: :func:`load_saved` reads the newest
  (:func:`trailtools.integrity.case.newest_copy` chooses), and :func:`newer_copy_notes` says so.
- ``get_*``: live AWS through a boto3 client the caller made (:func:`trailtools.aws.client`), with explicit
  pagination and a page limit; every failure becomes one :class:`~trailtools.aws.errors.AwsDataUnavailable`
  whose message is a sentence for the user.

    from trailtools.evidence import health, ec2, cloudwatch
    h = health.read_health(account_folder)            # or health.get_health(aws.client("health"))
    h.events_for("i-0b81f3d6c2e9a4775")
"""
from __future__ import annotations

import datetime as _dt
import json
import numbers
from pathlib import Path

import numpy as np
import pandas as pd

from trailtools.integrity.case import case_root, describe_copy, newer_copies, newest_copy

TIME_DTYPE = "datetime64[us, UTC]"


def to_utc(values) -> pd.Series:
    """Timestamps in any of the shapes AWS answers with -> a ``datetime64[us, UTC]`` series.

    Accepts ``datetime`` objects (naive ones are taken as UTC), ISO-8601 strings (``2026-10-06T14:22:31.000Z``,
    ``2026-10-09T02:00:00+00:00``), RFC 1123-like strings (``21 Jan 2019 09:00:43 GMT``), epoch seconds (the
    JSON-protocol services such as Health, as the CLI prints them), and None/NaN (NaT).
    """
    values = list(values)
    micros = np.full(len(values), np.iinfo("int64").min, dtype="int64")  # NaT until set
    numbers_at, strings_at = [], []
    for i, v in enumerate(values):
        if v is None or (isinstance(v, float) and v != v) or v is pd.NaT:
            continue
        if isinstance(v, numbers.Real) and not isinstance(v, bool):
            numbers_at.append(i)
        elif isinstance(v, str):
            if v.strip():
                strings_at.append(i)
        else:
            if isinstance(v, _dt.date) and not isinstance(v, _dt.datetime):
                v = _dt.datetime(v.year, v.month, v.day)
            ts = pd.Timestamp(v)
            ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
            micros[i] = ts.as_unit("ns").value // 1000
    if numbers_at:
        secs = np.array([float(values[i]) for i in numbers_at], dtype="float64")
        micros[numbers_at] = np.round(secs * 1_000_000).astype("int64")
    if strings_at:
        texts = pd.Series([values[i].strip() for i in strings_at], dtype=object)
        try:
            parsed = pd.to_datetime(texts, utc=True, format="ISO8601")
        except (ValueError, TypeError):
            parsed = pd.to_datetime(texts, utc=True, format="mixed")
        micros[strings_at] = parsed.astype(TIME_DTYPE).array.asi8
    return pd.Series(pd.to_datetime(micros, unit="us", utc=True)).astype(TIME_DTYPE)


def frame(rows: list[dict], columns: dict[str, str]) -> pd.DataFrame:
    """Rows -> a frame with exactly these columns; ``columns`` maps each name to its kind.

    Kinds: "time" (``datetime64[us, UTC]``), "bool", "int", "float", "str".
    """
    df = pd.DataFrame(rows, columns=list(columns))
    for name, kind in columns.items():
        if kind == "time":
            df[name] = to_utc(df[name]).set_axis(df.index)
        elif kind == "bool":
            df[name] = df[name].fillna(False).astype(bool)
        elif kind == "int":
            df[name] = pd.to_numeric(df[name]).astype("int64")
        elif kind == "float":
            df[name] = pd.to_numeric(df[name], errors="coerce").astype("float64")
        else:
            df[name] = df[name].astype("str")
    return df


# ---- saved responses in the demo account's layout ---------------------------------------------------------------

def newest_saved(path) -> Path:
    """The copy of a saved file to read: in a case folder, the newest copy its manifest lists (a later run knows
    more: a scheduled event completed since); elsewhere ``path`` itself."""
    path = Path(path)
    root = case_root(path)
    if root is None:
        return path
    try:
        rel = path.relative_to(root).as_posix()
    except ValueError:
        return path
    run, used = newest_copy(root, rel)
    return path if run is None else root / used


def load_saved(path: Path) -> dict | None:
    """A saved `aws ... --output json` response (its newest copy in a case folder), or None when it is not there."""
    if not Path(path).is_file():
        return None
    return json.loads(newest_saved(path).read_text(encoding="utf-8"))


def newer_copy_notes(folder, service: str | None = None) -> list[str]:
    """For a case folder: one note per saved file (under ``<service>/`` when given) read from a later run's copy,
    naming the copy read and the earlier ones (without a final full stop); [] elsewhere."""
    prefix = f"{service}/" if service else ""
    return [describe_copy(x["path"], x["run"], x["read"], x["earlier"])
            for x in newer_copies(folder) if x["path"].startswith(prefix)]


def service_folder(folder, service: str) -> Path:
    """``<folder>/<service>/``, or ``folder`` itself when it is that folder (or has no such subfolder)."""
    folder = Path(folder)
    return folder if folder.name == service or not (folder / service).is_dir() else folder / service


def region_folders(folder, service: str) -> tuple[Path, list[Path]]:
    """:func:`service_folder` and its per-region subfolders."""
    base = service_folder(folder, service)
    return base, sorted(p for p in base.glob("*") if p.is_dir())


def only_instance(df: pd.DataFrame, instance_id: str) -> pd.DataFrame:
    """The rows of one instance (column ``instanceId``)."""
    return df[df["instanceId"] == instance_id].reset_index(drop=True)
