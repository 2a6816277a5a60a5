"""Local files: a downloaded trail bucket (``AWSLogs/...``), Organization trails, flat folders, single files."""
from __future__ import annotations

import bisect
import contextlib
import dataclasses
import gc
import os
import re
import stat
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from trailtools.errors import SourceError
from trailtools.events import layout, table
from trailtools.events.chunk import Chunk
from trailtools.events.limits import from_env
from trailtools.events.query import Query
from trailtools.events.result import LoadOptions, LoadResult
from trailtools.events.safe_open import kind_of
from trailtools.events.sniff import sniff
from trailtools.events.stats import LoadStats
from trailtools.sources.files import load_chunks

try:
    from trailtools.events import _listing
except ImportError:  # not built (no C compiler, or no POSIX folders): the same counts from os.scandir
    _listing = None
if not table.NATIVE_WANTED:
    _listing = None

#: Files are read and cached in groups: one day of one account (all its regions) in the S3 layout, one folder
#: elsewhere; a group larger than this is split.
CHUNK_FILES = 8000


#: Size assumed for a file before it is read (only used to choose between one process and several).
TYPICAL_FILE_BYTES = 4096


class Plan:
    """Which files to read, in which chunks, and what the listing already told (pruned, digests, others)."""

    def __init__(self):
        self.chunks: list[Chunk] = []
        self.bytes = 0
        self.files_seen = 0
        self.pruned = 0
        self.digests = 0
        self.insights = 0
        self.others = 0
        self.unlistable: list[tuple[str, str]] = []
        #: folders not entered whose files are still to be counted (``plan_local(..., count_pruned=False)``)
        self.pruned_folders: list[str] = []

    def count_pruned(self) -> None:
        """Count the files of the folders not entered (listing them was most of a small query's planning: a load
        does it on a thread, from when it has no parsing of its own left)."""
        folders, self.pruned_folders = self.pruned_folders, []
        if folders:
            _count_pruned(folders, self)


def _by_content(folder: str, name: str, where: layout.PathInfo, info: layout.PathInfo) -> layout.PathInfo:
    """A file whose name says OTHER only for want of an event extension, sniffed (its first bytes, see
    :mod:`trailtools.events.sniff`): a CloudTrail log file of the folder's place when it may hold events. Files in a
    folder of the layout that is not CloudTrail's (``AWSLogs/<account>/vpcflowlogs/...``) are never opened."""
    if info.kind != layout.OTHER or where.kind == layout.OTHER or layout.has_event_extension(name):
        return info
    if not sniff(os.path.join(folder, name)):
        return info
    kind = where.kind if where.kind in (layout.LOG, layout.INSIGHT) else layout.LOG
    return layout.PathInfo(kind, where.account, where.region, where.org, where.day)


def _walk(root: Path, plan: Plan, query: Query):
    """Yield (folder, sorted file names) under root.

    Folders of the S3 layout whose account, region or day is outside the query are not entered: their files are
    only counted as pruned. Folders that cannot be listed are recorded with the reason.
    """
    def onerror(exc: OSError):
        plan.unlistable.append((exc.filename or str(root), f"cannot list the folder ({exc.strerror or exc})"))

    for folder, dirs, files in os.walk(root, onerror=onerror):
        dirs.sort()
        keep = []
        for d in dirs:
            if d.startswith("."):
                continue
            child = os.path.join(folder, d)
            where = layout.classify_folder(child)
            if query.prunes_paths and where.kind in (layout.LOG, layout.INSIGHT) and not query.wants_path(where):
                plan.pruned_folders.append(child)
            else:
                keep.append(d)
        dirs[:] = keep
        yield folder, sorted(f for f in files if not f.startswith("."))


def _scandir_count(folders: list[str]) -> tuple[int, int, list[str]]:
    """``_listing.count`` in Python, for where it is not built: the names under the folders that are not folders
    (leaving out those starting with "."), how many end with ".json.gz", and the others; as os.walk takes them (a
    link to a folder is neither entered nor counted; a folder that cannot be listed is left out). FIFOs, sockets and
    devices (and links to them) count as names only: never read, they are no event files."""
    names = json_gz = 0
    odd: list[str] = []
    stack = list(folders)
    while stack:
        try:
            with os.scandir(stack.pop()) as listing:
                entries = list(listing)
        except OSError:
            continue
        try:  # a day folder holds regular files only: one pass tells (d_type, no stat)
            found = [entry.name for entry in entries if entry.is_file(follow_symlinks=False)]
        except OSError:
            found = None
        special = 0
        if found is None or len(found) < len(entries):  # subfolders, links, or a kind that needs a stat that failed
            found = []
            for entry in entries:
                try:
                    is_dir = entry.is_dir()
                    if is_dir and not entry.is_symlink():
                        stack.append(entry.path)
                    regular = is_dir or entry.is_file() or not os.path.lexists(entry.path) or \
                        not os.path.exists(entry.path)
                except OSError:
                    is_dir, regular = False, True
                if not is_dir:
                    if regular:
                        found.append(entry.name)
                    elif not entry.name.startswith("."):
                        special += 1
        if found and min(found) < "/":  # a name that may start with "." (CloudTrail's start with digits)
            found = [name for name in found if not name.startswith(".")]
        others = [name for name in found if not name.endswith(".json.gz")]
        names, json_gz = names + len(found) + special, json_gz + len(found) - len(others)
        odd.extend(others)
    return names, json_gz, odd


def _count_pruned(folders: list[str], plan: Plan) -> None:
    """Count the files under folders that are not entered: one listing per folder, names only, no ``stat`` (in C,
    without holding the interpreter lock, where the native part is built: a thread counts while the frame is
    built)."""
    names, json_gz, odd = (_listing.count if _listing is not None else _scandir_count)(folders)
    events = json_gz + sum(map(layout.has_event_extension, odd))  # the ".json.gz" are event files for sure
    plan.files_seen += names
    plan.pruned += events
    plan.others += names - events


#: A whole folder listing ("\n" after each name) of CloudTrail's own log files named for one account, region, kind
#: and day, each with a valid HHMM time; group 1 is what they share up to the time.
_UNIFORM = re.compile(r"(\d{12}_CloudTrail(?:-Insight)?_[A-Za-z0-9-]+_\d{8}T)"
                      r"(?:[01]\d|2[0-3])[0-5]\dZ_[A-Za-z0-9]+\.json\.gz\n"
                      r"(?:\1(?:[01]\d|2[0-3])[0-5]\dZ_[A-Za-z0-9]+\.json\.gz\n)*")


def _classify_uniform(names: list[str], prefix: str, where: layout.PathInfo, place_ok: bool, lo: str, hi: str,
                      plan: Plan, files: list[tuple[str, bool]]) -> bool:
    """:func:`_classify_by_text` for the usual day folder, all of whose (sorted) names are CloudTrail's log files for
    the folder's account, region, kind and day, with valid times: one pattern checks the whole listing, and as the
    names' times are then valid and in the names' order, two bisections find the wanted ones; the same answers.
    Returns False, having done nothing, for any other folder."""
    if not names or where.day is None:
        return False
    joined = "\n".join(names) + "\n"
    m = _UNIFORM.fullmatch(joined)
    kind = "-Insight" if where.kind == layout.INSIGHT else ""
    common = f"{where.account}_CloudTrail{kind}_{where.region}_{where.day:%Y%m%d}T"
    if m is None or m.group(1) != common or joined.count("\n") != len(names):  # (a name holding a newline)
        return False
    day, at, n = common[-9:], len(common), len(names)

    def stamp(name: str) -> str:  # a name's time as the last 6 characters of its text form: HHMM + "00"
        return name[at:at + 4] + "00"

    if not place_ok:
        first = last = 0
    else:  # lo <= day + stamp <= hi, as text; "" and "~" stand for no bound
        first = 0 if lo[:9] < day else n if lo[:9] > day else bisect.bisect_left(names, lo[9:], key=stamp)
        last = n if hi[:9] > day else 0 if hi[:9] < day else bisect.bisect_right(names, hi[9:], key=stamp)
        last = max(first, last)
    wanted = [False] * first + [True] * (last - first) + [False] * (n - last)
    files.extend(zip([prefix + name for name in names], wanted))
    plan.files_seen += n
    plan.pruned += n - (last - first)
    if kind:
        plan.insights += last - first
    return True


def _classify_by_text(names: list[str], folder: str, where: layout.PathInfo, query: Query, lo: str | None,
                      hi: str | None, plan: Plan, files: list[tuple[str, bool]]) -> None:
    """The names of a CloudTrail folder (account and region known) as plan_local's loop takes them, for a query that
    prunes: a log file name's kind and time are read from the name pattern's match and compared as text (see
    ``Query.delivery_text_bounds``) instead of building a PathInfo and a datetime per file; the same answers. Other
    names take the general path."""
    # what wants_path says from the folder alone: the account and region (always the folder's here), and the day
    # for a name whose time is not a valid time
    place_ok = query.wants_path(layout.PathInfo(where.kind, where.account, where.region, where.org))
    day_ok = query.wants_path(where)
    prefix = folder + os.sep
    lo = lo or ""
    hi = "~" if hi is None else hi  # after any time's text
    if _classify_uniform(names, prefix, where, place_ok, lo, hi, plan, files):
        return
    match, kinds, time_text, digest, insight = (layout.match_name, layout.KIND_BY_SUFFIX, layout.name_time_text,
                                                layout.DIGEST, layout.INSIGHT)
    pruned = insights = digests = others = 0
    for name in names:
        m = match(name)
        if m is None:  # as plan_local's loop
            info = _by_content(folder, name, where, layout.classify_name(name, where))
            if info.kind == layout.DIGEST:
                digests += 1
                continue
            if info.kind == layout.OTHER:
                others += 1
                continue
            kind, wanted = info.kind, query.wants_path(info)
        else:
            suffix, stamp = m.group("kind", "time")
            kind = kinds[suffix]
            if kind == digest:
                digests += 1
                continue
            text = time_text(stamp)
            wanted = day_ok if text is None else place_ok and lo <= text <= hi
        pruned += not wanted
        insights += wanted and kind == insight
        files.append((prefix + name, wanted))
    plan.files_seen += len(names)
    plan.pruned += pruned
    plan.insights += insights
    plan.digests += digests
    plan.others += others


def plan_local(path: Path, query: Query, *, use_cache: bool, count_pruned: bool = True) -> Plan:
    """What to read under ``path`` for ``query``.

    With ``count_pruned=False`` the files of the folders pruned whole are not counted yet (``plan.pruned_folders``):
    :meth:`Plan.count_pruned` does it, before the counts are used.
    """
    plan = Plan()
    if path.is_file():
        # a file the user names is read whatever its name (but its name may still prune it)
        info = layout.classify(path.name)
        plan.files_seen = 1
        if info.kind == layout.DIGEST:
            plan.digests = 1
        elif not query.wants_path(info):
            plan.pruned = 1
        else:
            plan.insights = int(info.kind == layout.INSIGHT)
            plan.chunks.append(Chunk([str(path)]))
            plan.bytes = path.stat().st_size
        return plan

    by_group: dict[tuple, list[tuple[str, bool]]] = defaultdict(list)
    try:
        lo, hi = query.delivery_text_bounds()
        by_text = query.prunes_paths
    except OverflowError:  # a window at the ends of time: wants_path says what it says, file by file
        lo = hi = None
        by_text = False
    for folder, names in _walk(path, plan, query):
        where = layout.classify_folder(folder)
        group = (where.day.isoformat(), where.org or "", where.account, where.kind) if where.day else ("", folder)
        in_layout = where.kind in (layout.LOG, layout.INSIGHT)
        # inside CloudTrail's own folders, with nothing to prune by, a file name need not be parsed
        trusted = not query.prunes_paths and in_layout
        if by_text and in_layout and where.account and where.region:
            _classify_by_text(names, folder, where, query, lo, hi, plan, by_group[group])
            continue
        if trusted and all(n.lower().endswith(layout.EVENT_EXTENSIONS) for n in names):
            # CloudTrail's own folder of log files, nothing pruned (a warm load's 120,000 names: one pass each)
            plan.files_seen += len(names)
            plan.insights += len(names) if where.kind == layout.INSIGHT else 0
            by_group[group].extend([(folder + os.sep + name, True) for name in names])
            continue
        for name in names:
            plan.files_seen += 1
            info = where if trusted and layout.has_event_extension(name) else \
                _by_content(folder, name, where, layout.classify_name(name, where))
            if info.kind == layout.DIGEST:
                plan.digests += 1
            elif info.kind == layout.OTHER:
                plan.others += 1
            else:
                wanted = trusted or query.wants_path(info)
                plan.pruned += not wanted
                plan.insights += wanted and info.kind == layout.INSIGHT
                by_group[group].append((folder + os.sep + name, wanted))

    for key in sorted(by_group):
        files = by_group[key]
        for i in range(0, len(files), CHUNK_FILES):
            part = files[i:i + CHUNK_FILES]
            selected = [f for f, wanted in part if wanted]
            if not selected:
                continue
            # only whole groups are cached: a query that reads part of a group does not spoil the entry
            plan.chunks.append(Chunk(selected, cacheable=use_cache and len(selected) == len(part),
                                     position=len(plan.chunks)))
            plan.bytes += len(selected) * TYPICAL_FILE_BYTES
    if count_pruned:
        plan.count_pruned()
    return plan


def check_path(uri: str) -> Path:
    path = Path(os.path.expanduser(uri))
    if not path.exists():
        raise SourceError(
            f"No such file or folder: {uri}: give the path of a downloaded trail bucket (the folder holding "
            "AWSLogs/) or of CloudTrail .json/.json.gz files, or use 'demo' for the bundled demo account."
        )
    mode = path.stat().st_mode
    if not stat.S_ISDIR(mode) and not stat.S_ISREG(mode):
        raise SourceError(f"{uri} is {kind_of(mode)}, not a file or folder: give the path of a downloaded trail "
                          "bucket or of CloudTrail .json/.json.gz files.")
    return path


def no_cloudtrail_error(uri: str, plan: Plan) -> SourceError:
    found = []
    if plan.digests:
        found.append(f"{plan.digests} digest files")
    if plan.others:
        found.append(f"{plan.others} other files")
    what = f" (found {' and '.join(found)})" if found else " (it is empty)"
    return SourceError(
        f"No CloudTrail log files under {uri}{what}: point at a copy of the trail bucket (the folder holding "
        "AWSLogs/<account>/CloudTrail/) or at CloudTrail .json/.json.gz files."
    )


def _with_root(path: Path, options: LoadOptions) -> LoadOptions:
    # links that lead out of the folder named are not read (unless allowed) and are noted; a file named alone is
    # read wherever its link leads, as asked
    root = os.path.realpath(path) if path.is_dir() else None
    return dataclasses.replace(options, limits=dataclasses.replace(options.limits or from_env(), root=root))


def chunk_day(chunk: Chunk) -> date | None:
    """The delivery day of a chunk's files (a chunk of the S3 layout holds one day folder); None elsewhere."""
    where = layout.classify_folder(os.path.dirname(chunk.paths[0])) if chunk.paths else None
    if where is None or where.kind not in (layout.LOG, layout.INSIGHT) or where.day is None:
        return None
    return where.day.date() if isinstance(where.day, datetime) else where.day


@dataclass
class Parts:
    """A local load in parts, for writing more events than fit in memory (``trailtools events`` export): the plan's
    chunks in groups of consecutive delivery days of at least ``files_per_part`` files, each group loaded on its own,
    every file read once. Files outside CloudTrail's dated folders (a few loose files beside the trail) are read
    with the first part; ``dated`` is False when they are more than a part's worth (a flat folder of log files:
    load the whole source instead)."""

    uri: str
    query: Query
    options: LoadOptions
    files_per_part: int = 4000
    plan: Plan = field(init=False)
    dated: bool = field(init=False)

    def __post_init__(self):
        path = check_path(self.uri)
        self.plan = plan_local(path, self.query, use_cache=self.options.cache)
        self.options = _with_root(path, self.options)
        loose = sum(len(c.paths) for c in self.plan.chunks if chunk_day(c) is None)
        self.dated = loose <= self.files_per_part
        if not self.plan.chunks and not self.plan.pruned:
            raise no_cloudtrail_error(self.uri, self.plan)

    def groups(self) -> list[tuple[date, list[Chunk]]]:
        """(last delivery day, chunks) per part, in day order."""
        by_day: dict[date, list[Chunk]] = defaultdict(list)
        part = []
        for c in self.plan.chunks:
            day = chunk_day(c)
            if day is None:
                part.append(c)
            else:
                by_day[day].append(c)
        out, files = [], sum(len(c.paths) for c in part)
        for day in sorted(by_day):
            part += by_day[day]
            files += sum(len(c.paths) for c in by_day[day])
            if files >= self.files_per_part:
                out.append((day, part))
                part, files = [], 0
        if part:
            out.append((max(by_day) if by_day else date.max, part))
        return out

    def load(self, chunks: list[Chunk]) -> LoadResult:
        """One part's frame (sorted by time, copies within the part compared) and its own stats."""
        stats = LoadStats(source=self.uri, query=self.query.describe())
        return load_chunks(chunks, self.query, stats, self.options)


@contextlib.contextmanager
def _collector_paused():
    """Python's cycle collector off (as it was after): a load makes few cycles but many objects (a tuple per file
    planned, 120,000 for 1M events), which ran the collector 168 times while planning, each pass over every object
    alive (about 0.05 s)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def load_local(uri: str, query: Query, options: LoadOptions) -> LoadResult:
    """Load a local folder (recursively) or file."""
    with _collector_paused():
        return _load_local(uri, query, options)


def _load_local(uri: str, query: Query, options: LoadOptions) -> LoadResult:
    started = time.perf_counter()
    path = check_path(uri)
    plan = plan_local(path, query, use_cache=options.cache, count_pruned=False)
    options = _with_root(path, options)
    if not plan.chunks:
        plan.count_pruned()
        if not plan.pruned:
            raise no_cloudtrail_error(uri, plan)
    stats = LoadStats(source=uri, query=query.describe())
    for folder, reason in plan.unlistable:
        stats.add_skip(folder, reason)
    # the pruned folders are counted on a thread (the native count runs without the interpreter lock) from when this
    # process has no parsing of its own left, on the core that frees, while the last pieces and the frame are made
    with ThreadPoolExecutor(1) as background:
        counting = []
        result = load_chunks(plan.chunks, query, stats, options, total_bytes=plan.bytes,
                             idle=lambda: counting.append(background.submit(plan.count_pruned)))
        for counted in counting:
            counted.result()
    plan.count_pruned()  # a no-op once the thread has counted
    stats.files_seen, stats.files_pruned, stats.insight_files = plan.files_seen, plan.pruned, plan.insights
    stats.digest_files += plan.digests  # collect() added those it found in the files read
    stats.other_files += plan.others
    if stats.records_seen == 0 and stats.skipped and not plan.pruned:
        reasons = "; ".join(f"{s.path}: {s.reason}" for s in stats.skipped[:3])
        raise SourceError(f"No CloudTrail could be read from {uri}: {reasons}.")
    stats.elapsed_s = time.perf_counter() - started
    return result
