"""Local cost files or folders: CUR (legacy and 2.0) and FOCUS 1.x as CSV, ``.csv.gz``, ``.csv.zip`` or Parquet, and
saved Cost Explorer responses (``aws ce get-cost-and-usage ... > x.json``, ``aws ce get-anomalies > y.json``,
``aws ce get-cost-and-usage-with-resources ...``: resource-level rows, which say "which instance").

A folder holding the report's manifests (``*-Manifest.json``: legacy CUR's ``reportKeys``, Data Exports'
``dataFiles``) is read as the report is meant to be: for each billing period, only the data files its newest manifest
lists (a CUR that keeps earlier versions has a full copy of the month per update; reading them all would count the
spend once per version); the others are listed as skipped. In a case folder (``trailtools collect``) each file is
read in its newest copy (:func:`trailtools.evidence.saved.newest_saved`) and the notes say so.

Which schema a table has is decided by its columns (:func:`cur.is_cur`, :func:`focus.is_focus`), not by its name.
In a folder, line items (CUR, FOCUS) are the cost and saved Cost Explorer totals are not added on top (they would
count the same spend twice); saved anomalies are always read. A file that cannot be read is skipped and listed
with the reason; a source with nothing readable is one error sentence.
"""
from __future__ import annotations

import gzip
import io
import json
import os
import zipfile
import zlib
from pathlib import Path

import pandas as pd

from trailtools.errors import SourceError
from trailtools.events.limits import from_env
from trailtools.events.safe_open import (
    MAX_RATIO,
    FoundFile,
    check_regular,
    files_under,
    inflated_size,
    read_regular,
    too_large,
)
from trailtools.evidence.cost import ce, cur, focus
from trailtools.evidence.cost.cur import billing_period
from trailtools.evidence.cost.frame import CostData, CostStats
from trailtools.evidence.saved import newer_copy_notes, newest_saved
from trailtools.integrity.case import case_root

SUFFIXES = (".parquet", ".csv", ".csv.gz", ".csv.zip", ".zip", ".json", ".json.gz")
MAX_ZIP_MEMBERS = 100
#: the kinds read into memory whole (bounded by ``max_file_bytes``) rather than streamed from the path
_IN_MEMORY = (".json", ".json.gz", ".csv.zip", ".zip")
#: what a corrupt or foreign file raises: the file is skipped with the reason (:func:`_reason`)
UNREADABLE = (ValueError, OSError, EOFError, UnicodeDecodeError, pd.errors.ParserError, zlib.error, RecursionError,
              zipfile.BadZipFile, zipfile.LargeZipFile)


class NotReadable(ValueError):
    """A file that is not read at all: not a regular file, a link out of the folder, past ``max_file_bytes``."""


def _evidence(path, suffix: str | None) -> bytes | None:
    """Check a cost file as evidence is checked (trailtools/events/safe_open.py) before anything opens it: a regular
    file (a FIFO would block pandas, a link to /dev/zero read forever); a gzip file must not inflate past
    ``max_file_bytes`` (counted in a streaming way). Returns the bytes of the small kinds (JSON), None for those
    read from the path (CSV streamed by pandas, Parquet); raises :class:`NotReadable` with the reason."""
    limits = from_env()
    root, follow = getattr(path, "evidence_root", None), limits.follow_outside_links
    if suffix in (".csv", ".parquet"):
        opened = check_regular(str(path), root=root, follow_outside=follow)
    else:
        opened = read_regular(str(path), limits.max_file_bytes, root=root, follow_outside=follow)
    if opened.problem:
        raise NotReadable(opened.problem)
    data = opened.data
    if data is not None and data[:2] == b"\x1f\x8b" and len(data) * MAX_RATIO > limits.max_file_bytes \
            and inflated_size(data, limits.max_file_bytes) > limits.max_file_bytes:
        raise NotReadable(too_large(limits.max_file_bytes))
    return data if suffix in _IN_MEMORY else None


def _suffix(name: str) -> str | None:
    lower = name.lower()
    return next((s for s in sorted(SUFFIXES, key=len, reverse=True) if lower.endswith(s)), None)


def _needed_parquet_columns(names: list[str]) -> list[str]:
    wanted = {c for cands in cur.FIELDS.values() for c in cands} | {"line_item_availability_zone"}
    wanted_focus = {c for cands in focus.FIELDS.values() for c in cands} | {"Tags", "ProviderName"}
    return [n for n in names if cur.snake(n) in wanted or n in wanted_focus or n == "resource_tags"
            or n.startswith(cur.LEGACY_TAG_PREFIXES)]


def read_table(name: str, data) -> tuple[str, object]:
    """One file (a path, or its bytes) -> ("cost", frame, kind) | ("ce", responses) | ("anomalies", responses).

    Returns (kind, payload); raises ValueError with the reason when the file is not cost data."""
    suffix = _suffix(name)
    raw = data if isinstance(data, (bytes, bytearray)) else None
    if raw is None and suffix is not None:
        raw = _evidence(data, suffix)
    elif raw is not None and raw[:2] == b"\x1f\x8b":  # fetched bytes: the same bound on what they inflate to
        limit = from_env().max_file_bytes
        if len(raw) * MAX_RATIO > limit and inflated_size(raw, limit) > limit:
            raise NotReadable(too_large(limit))
    src = io.BytesIO(raw) if raw is not None else data
    if suffix == ".parquet":
        import pyarrow.parquet as pq  # noqa: PLC0415 (heavy, loaded on use)

        pf = pq.ParquetFile(src)
        cols = _needed_parquet_columns(pf.schema_arrow.names)
        df = pf.read(columns=cols).to_pandas()
    elif suffix in (".csv", ".csv.gz"):
        df = pd.read_csv(src, dtype=str, keep_default_na=False,
                         compression="gzip" if suffix == ".csv.gz" else None)
    elif suffix in (".csv.zip", ".zip"):
        df = _read_zip(raw)
    elif suffix in (".json", ".json.gz"):
        blob = raw if raw is not None else Path(data).read_bytes()
        if suffix == ".json.gz":
            blob = gzip.decompress(blob)
        doc = json.loads(blob)
        if isinstance(doc, dict) and "ResultsByTime" in doc:
            by = {d.get("Key") for d in doc.get("GroupDefinitions") or [] if isinstance(d, dict)}
            return ("resources" if "RESOURCE_ID" in by else "ce"), doc
        if isinstance(doc, dict) and "Anomalies" in doc:
            return "anomalies", doc
        raise ValueError("JSON that is neither a Cost Explorer get-cost-and-usage nor a get-anomalies response")
    else:
        raise ValueError("not a CSV, CSV.gz, Parquet or JSON file")
    columns = list(df.columns)
    if focus.is_focus(columns):
        return "cost", (focus.transform_focus(df), "FOCUS 1.x")
    if cur.is_cur(columns):
        return "cost", (cur.transform_cur(df), cur.kind_of(columns))
    raise ValueError(f"no CUR or FOCUS columns (has {', '.join(columns[:6])}{' ...' if len(columns) > 6 else ''})")


def _read_zip(raw: bytes) -> pd.DataFrame:
    """Legacy CUR's ZIP compression: the CSV files in the archive, their declared sizes within ``max_file_bytes``
    (zipfile never inflates a member past its declared size)."""
    limit = from_env().max_file_bytes
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        members = [i for i in zf.infolist() if not i.is_dir() and i.filename.lower().endswith(".csv")]
        if not members:
            raise ValueError("a ZIP file with no CSV file in it")
        if len(members) > MAX_ZIP_MEMBERS:
            raise NotReadable(f"a ZIP file with {len(members):,} CSV files (a CUR has one; at most "
                              f"{MAX_ZIP_MEMBERS} are read)")
        if sum(i.file_size for i in members) > limit:
            raise NotReadable(too_large(limit))
        try:
            frames = [pd.read_csv(zf.open(i), dtype=str, keep_default_na=False) for i in members]
        except (RuntimeError, NotImplementedError) as exc:  # encrypted, or a compression zipfile cannot undo
            raise ValueError(f"a ZIP file that cannot be opened ({exc})") from None
    return pd.concat(frames, ignore_index=True)


def assemble(items, stats: CostStats, uri: str) -> CostData:
    """Files read (name, (kind, payload)) -> CostData; line items win over saved Cost Explorer totals."""
    frames, kinds, ce_resp, anomalies, inputs, res_resp = [], set(), [], [], [], []
    for name, (kind, payload) in items:
        inputs.append(name)
        if kind == "cost":
            frames.append(payload[0])
            kinds.add(payload[1])
        elif kind == "ce":
            ce_resp.append((name, payload))
        elif kind == "resources":
            res_resp.append((name, payload))
        else:
            anomalies.append(payload)
    notes = []
    if frames:
        frame = pd.concat(frames, ignore_index=True)
        gran = "HOURLY" if len(frame) and ((frame["usage_end"] - frame["usage_start"]).dropna()
                                           <= pd.Timedelta(hours=1)).mean() > 0.5 else "DAILY"
        for name, _ in ce_resp:
            inputs.remove(name)
            stats.skipped.append({"path": name, "reason": "saved Cost Explorer totals not added: the line items "
                                                          "in the same source already count this spend"})
    elif ce_resp:
        # several saved groupings of the same spend (by service, by region ...) would count it once per file:
        # use the first grouping; list the others
        first = ce_resp[0]
        frame = ce.transform_cost_and_usage(first[1])
        for name, _ in ce_resp[1:]:
            inputs.remove(name)
            stats.skipped.append({"path": name, "reason": f"another grouping of the same spend as {first[0]}"})
        kinds.add("Cost Explorer (saved)")
        gran = "DAILY"
    else:
        raise SourceError(f"No cost data in {uri}: give a CUR (legacy or 2.0) or FOCUS export as CSV, .csv.gz "
                          "or Parquet, or saved `aws ce get-cost-and-usage` output"
                          + (f" ({len(stats.skipped)} files skipped: {stats.skipped[0]['reason']})."
                             if stats.skipped else "."))
    stats.rows = len(frame)
    data = CostData(frame, stats, granularity=gran, kind=" + ".join(sorted(kinds)), inputs=inputs, notes=notes)
    if res_resp and frames and (frame["resource_id"] != "").any():
        for name, _ in res_resp:
            inputs.remove(name)
            stats.skipped.append({"path": name, "reason": "saved resource-level Cost Explorer rows not used: the line "
                                                          "items in the same source carry resource IDs"})
    elif res_resp:
        data.resources = resource_rows([payload for _, payload in res_resp])
    if anomalies:
        data.anomalies = ce.transform_anomalies(anomalies)
    return data


def resource_rows(responses) -> pd.DataFrame:
    """Saved GetCostAndUsageWithResources responses -> resource-level cost rows; the API serves EC2 compute only, so
    rows that name no service are that service's."""
    rows = ce.transform_cost_and_usage(responses)
    rows.loc[rows["service"] == "", "service"] = ce.EC2_COMPUTE
    return rows


def report_keys(doc) -> list[str]:
    """The data files a CUR manifest lists: legacy ``reportKeys`` (keys) or Data Exports ``dataFiles`` (s3:// URIs),
    as keys."""
    if not isinstance(doc, dict):
        return []
    keys = doc.get("reportKeys") if isinstance(doc.get("reportKeys"), list) else []
    files = doc.get("dataFiles") if isinstance(doc.get("dataFiles"), list) else []
    keys = [k for k in keys if isinstance(k, str)]
    keys += [u.split("/", 3)[3] for u in files if isinstance(u, str) and u.startswith("s3://") and u.count("/") >= 3]
    return keys


def period_tail(key: str) -> str | None:
    """A data file's path from its billing-period folder on (``20261001-20261101/<assembly>/x-1.csv.gz``): how a
    manifest's key and a copy of the file are matched, wherever the copy was put."""
    found = billing_period(key)
    return None if found is None else "/".join(key.split("/")[found[1]:])


def current_report_files(manifests: list[Path]) -> dict[str, set[str]]:
    """billing period -> the data files (:func:`period_tail`) its newest manifest lists (newest: the latest copy
    written, as ``aws s3 sync`` and ``trailtools collect`` keep S3's order)."""
    newest: dict[str, tuple[float, set[str]]] = {}
    for m in manifests:
        try:
            doc = json.loads(_evidence(m, ".json") or b"null")
        except (*UNREADABLE, NotReadable):
            continue
        tails = {t for k in report_keys(doc) if (t := period_tail(k))}
        periods = {billing_period(t)[0] for t in tails}
        when = os.stat(m).st_mtime
        for period in periods:
            if period not in newest or when >= newest[period][0]:
                newest[period] = (when, {t for t in tails if billing_period(t)[0] == period})
    return {p: tails for p, (_, tails) in newest.items()}


def _file_tail(f: Path, root: Path | None) -> str | None:
    """:func:`period_tail` of a file (its path in the case folder when there is one)."""
    return period_tail(Path(f).relative_to(root).as_posix() if root is not None and Path(f).is_relative_to(root)
                       else Path(f).as_posix())


def _newest_copies(files: list[Path], root: Path | None) -> list[Path]:
    """Each file as its newest copy in the case folder ``root`` (unchanged elsewhere)."""
    if root is None:
        return files
    real = os.path.realpath(root)
    out = []
    for f in files:
        newer = newest_saved(f)
        if newer != f:
            newer = FoundFile(newer)
            newer.evidence_root = real
        out.append(newer)
    return out


def read_local(uri: str, q=None) -> CostData:
    path = Path(uri).expanduser()
    if not path.exists():
        raise SourceError(f"Cost source not found: {uri}: give a CUR or FOCUS file or folder, an s3:// URI, "
                          "ce:// for Cost Explorer, or demo.")
    root = case_root(path / "_" if path.is_dir() else path)
    files = _newest_copies(files_under(path) if path.is_dir() else [path], root)
    tails = {f: _file_tail(f, root) for f in files}
    current = current_report_files([f for f in files if f.name.lower().endswith("manifest.json")])
    present = set(tails.values())
    current = {p: listed for p, listed in current.items() if listed & present}  # a manifest of files not here: moot
    stats = CostStats(source=uri)
    items = []
    for f in files:
        if _suffix(f.name) is None or f.name.lower().endswith("manifest.json"):
            if path.is_file() or _suffix(f.name) is not None:
                stats.skipped.append({"path": str(f), "reason": "a manifest or not a cost file"})
            continue
        tail = tails[f]
        if tail is not None and billing_period(tail)[0] in current and tail not in current[billing_period(tail)[0]]:
            stats.skipped.append({"path": str(f), "reason": "not in the newest manifest of its billing period (an "
                                                            "earlier version of the report)"})
            continue
        try:
            items.append((str(f), read_table(f.name, f)))
            stats.files_read += 1
        except UNREADABLE as exc:
            stats.skipped.append({"path": str(f), "reason": _reason(exc)})
        except Exception as exc:  # pyarrow's errors (ArrowInvalid ...) are corrupt files too
            if type(exc).__module__.startswith("pyarrow"):
                stats.skipped.append({"path": str(f), "reason": _reason(exc)})
            else:
                raise
    data = assemble(items, stats, uri)
    if root is not None:
        base = path.relative_to(root).as_posix() if path.is_relative_to(root) else None
        data.notes += [n + "." for n in newer_copy_notes(root, base if base and base != "." else None)]
    return data


def _reason(exc: Exception) -> str:
    if isinstance(exc, NotReadable):
        return str(exc)
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return f"unreadable ({type(exc).__name__}: {text[:200]})"
