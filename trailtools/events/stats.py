"""Load statistics: nothing is lost silently. Every source returns one of these beside the frame."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

#: At most this many skipped files/records are listed one by one; the counts stay exact beyond it.
MAX_LISTED_SKIPS = 1000
#: At most this many conflicting eventIDs are listed (the count stays exact).
MAX_LISTED_CONFLICTS = 100
#: At most this many records with a suspicious eventTime are listed (per chunk of files read, and in the stats).
MAX_SUSPICIOUS_LISTED = 20


@dataclass
class Skip:
    """One file, or one record of a file, that could not be used, and why."""

    path: str
    reason: str
    record: int | None = None  # position of the record in the file; None when the whole file is meant


@dataclass
class SuspiciousTime:
    """A record kept whose eventTime is suspicious (see ``LoadStats.suspicious_times``), and why."""

    path: str
    record: int            # position of the record in the file
    eventID: str | None
    eventTime: str         # as the file has it (at most 40 characters)
    reason: str


@dataclass
class LoadStats:
    """What a load read, pruned, dropped and skipped.

    files_seen: files found under the source; files_pruned: not opened because their path is outside the query;
    files_read: opened and parsed (from the cache or not); files_cached: served from the columnar cache;
    files_skipped: opened but unusable as a whole (their reasons are in ``skipped``);
    digest_files / insight_files / other_files: recognized for what they are (digests and others are not events);
    records_seen: record positions in the files read; records_skipped: records that could not be used;
    duplicates_dropped: identical copies of an event (the same eventID and content) dropped;
    conflicting_duplicates: eventIDs held by records whose content differs (all kept: possible tampering), listed in
    ``conflicts`` (eventID and each copy's file and record position; at most MAX_LISTED_CONFLICTS);
    filtered_out: rows outside the query; events: rows in the frame; text_escaped: records kept whose text was not
    valid Unicode (the bad code units written as ``\\udXXX``); links_outside_root: symbolic links leading out of the
    evidence folder (listed in ``skipped`` when not read, in ``notes`` when read).
    suspicious_times: records read and kept whose eventTime has no time zone (read as UTC), is before CloudTrail
    existed, or is more than 24 h after the delivery time in their file's name (counted before the query and
    duplicates); suspicious_time_kinds: how many of each kind; suspicious_time_sample: the first few, with why.
    """

    source: str = ""
    query: dict = field(default_factory=dict)
    files_seen: int = 0
    files_read: int = 0
    files_pruned: int = 0
    files_cached: int = 0
    files_skipped: int = 0
    digest_files: int = 0
    insight_files: int = 0
    other_files: int = 0
    bytes_read: int = 0
    records_seen: int = 0
    records_skipped: int = 0
    duplicates_dropped: int = 0
    conflicting_duplicates: int = 0
    filtered_out: int = 0
    events: int = 0
    text_escaped: int = 0
    links_outside_root: int = 0
    elapsed_s: float = 0.0
    skipped: list[Skip] = field(default_factory=list)
    skipped_not_listed: int = 0
    conflicts: list[dict] = field(default_factory=list)
    conflicts_not_listed: int = 0
    notes: list[str] = field(default_factory=list)
    suspicious_times: int = 0
    suspicious_time_kinds: dict[str, int] = field(default_factory=dict)
    suspicious_time_sample: list[SuspiciousTime] = field(default_factory=list)

    def add_skip(self, path: str, reason: str, record: int | None = None, counted: bool = True) -> None:
        """List a skipped file or record; ``counted=False`` for files already counted as another kind."""
        if record is None:
            self.files_skipped += counted
        else:
            self.records_skipped += 1
        if len(self.skipped) < MAX_LISTED_SKIPS:
            self.skipped.append(Skip(path, reason, record))
        else:
            self.skipped_not_listed += 1

    def add_suspicious_times(self, rows: int, kinds: dict[str, int], sample) -> None:
        """Count records kept with a suspicious eventTime: ``sample`` holds (path, record, eventID, eventTime,
        reason) of some of them; the first :data:`MAX_SUSPICIOUS_LISTED` are kept."""
        self.suspicious_times += rows
        for kind, n in kinds.items():
            self.suspicious_time_kinds[kind] = self.suspicious_time_kinds.get(kind, 0) + n
        for item in sample:
            if len(self.suspicious_time_sample) >= MAX_SUSPICIOUS_LISTED:
                break
            self.suspicious_time_sample.append(SuspiciousTime(*item))

    def add_part(self, part: LoadStats) -> None:
        """Fold in the statistics of a part of this load read on its own (every file in one part only): the counts
        add up, the lists join (within their limits). ``events`` is the caller's to count."""
        for name in ("files_read", "files_cached", "digest_files", "other_files", "bytes_read", "records_seen",
                     "duplicates_dropped", "conflicting_duplicates", "filtered_out", "text_escaped",
                     "links_outside_root"):
            setattr(self, name, getattr(self, name) + getattr(part, name))
        self.files_skipped += part.files_skipped
        self.records_skipped += part.records_skipped
        room = max(0, MAX_LISTED_SKIPS - len(self.skipped))
        self.skipped += part.skipped[:room]
        self.skipped_not_listed += part.skipped_not_listed + len(part.skipped[room:])
        room = max(0, MAX_LISTED_CONFLICTS - len(self.conflicts))
        self.conflicts += part.conflicts[:room]
        self.conflicts_not_listed += part.conflicts_not_listed + len(part.conflicts[room:])
        self.notes += [n for n in part.notes if n not in self.notes]
        self.add_suspicious_times(part.suspicious_times, part.suspicious_time_kinds,
                                  [tuple(vars(s).values()) for s in part.suspicious_time_sample])

    def to_dict(self) -> dict:
        out = asdict(self)
        out["skipped"] = [{k: v for k, v in s.items() if v is not None} for s in out["skipped"]]
        out["elapsed_s"] = round(self.elapsed_s, 3)
        return out

    def summary(self) -> str:
        """One line for humans (stderr of the CLI, the top of a report)."""
        parts = [f"{self.events:,} events from {self.files_read:,} files"]
        if self.files_cached:
            parts.append(f"{self.files_cached:,} from cache")
        if self.files_pruned:
            parts.append(f"{self.files_pruned:,} files pruned by the query")
        if self.duplicates_dropped:
            parts.append(f"{self.duplicates_dropped:,} duplicates dropped")
        if self.conflicting_duplicates:
            files = sorted({c["path"].replace("\\", "/").rsplit("/", 1)[-1]  # the file names, not their folders
                            for x in self.conflicts for c in x["copies"]})
            shown = ", ".join(files[:4]) + (f" and {len(files) - 4:,} more" if len(files) > 4 else "")
            parts.append(f"{self.conflicting_duplicates:,} conflicting duplicates kept (the same eventID with "
                         f"different content: possible tampering; in {shown})")
        if self.filtered_out:
            parts.append(f"{self.filtered_out:,} outside the query")
        bad = [f"{n:,} {what}" for n, what in ((self.files_skipped, "files"), (self.records_skipped, "records")) if n]
        if bad:
            parts.append(" and ".join(bad) + " skipped (see the stats for why)")
        if self.text_escaped:
            parts.append(f"{self.text_escaped:,} records with text that is not valid Unicode (escaped)")
        if self.links_outside_root:
            parts.append(f"{self.links_outside_root:,} links leading outside the evidence folder")
        if self.suspicious_times:
            kinds = ", ".join(f"{n:,} {kind}" for kind, n in self.suspicious_time_kinds.items())
            parts.append(f"{self.suspicious_times:,} records kept with a suspicious eventTime ({kinds})")
        recognized = []
        if self.digest_files:
            recognized.append(f"{self.digest_files:,} digest")
        if self.insight_files:
            recognized.append(f"{self.insight_files:,} Insights")
        if self.other_files:
            recognized.append(f"{self.other_files:,} other")
        if recognized:
            parts.append(" and ".join([", ".join(recognized[:-1]), recognized[-1]] if len(recognized) > 1
                                      else recognized) + " files recognized")
        return "; ".join(parts) + f" ({self.elapsed_s:.1f} s)"
