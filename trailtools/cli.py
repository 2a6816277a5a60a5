"""The command line: ``trailtools events SOURCE ...``, ``hunt SOURCE`` (the detection rules of
:mod:`trailtools.rules`; registered as an investigation for its notebook and report, its verb is written here),
one verb per investigation (``reboot``, ``login``, ``cost``: from
:mod:`trailtools.investigations.registry`), ``report``, ``verify``, ``collect`` and ``demo [DIR]``.

Errors a user can cause print one sentence and exit with code 2; nothing prints a traceback for them.
Every string printed passes :func:`trailtools.terminal.visible` (evidence text is attacker-controlled: control
characters, ANSI/OSC escapes and bidi overrides are shown as escapes, never sent to the terminal).
"""
from __future__ import annotations

import argparse
import json
import sys
from datetime import timedelta

from trailtools import __version__
from trailtools.errors import TrailtoolsError
from trailtools.events.output import (
    FORMATS,
    STREAMED,
    TABLE_COLUMNS,
    PartWriter,
    isatty,
    select_columns,
    write_frame,
)
from trailtools.events.query import Query
from trailtools.findings.ocsf import detection_findings
from trailtools.investigations import registry
from trailtools.terminal import echo, guard, json_visible, visible


def _query_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--start", help="window start, ISO date or time in UTC (inclusive)")
    p.add_argument("--end", help="window end, ISO date or time in UTC (exclusive; a date alone means its whole day)")
    p.add_argument("--region", action="append", default=[], help="awsRegion to keep (repeat or comma-separate)")
    p.add_argument("--account", action="append", default=[], help="recipientAccountId to keep (12 digits)")
    p.add_argument("--event-name", action="append", default=[], help="eventName to keep, e.g. RebootInstances")
    p.add_argument("--event-source", action="append", default=[], help="eventSource to keep, e.g. ec2.amazonaws.com")
    p.add_argument("--resource", help="an instance ID, ARN or other identifier the event touched")
    p.add_argument("--principal", help="ARN, user name, role or session name, access key ID of the caller "
                                       "(alice also finds alice@example.com)")
    p.add_argument("--errors-only", action="store_true", help="keep only events with an errorCode")
    p.add_argument("--late-margin", type=float, default=3.0, metavar="HOURS",
                   help="read log files delivered up to this many hours after --end (default 3)")


def _split(values: list[str]) -> list[str]:
    return [v.strip() for item in values for v in item.split(",") if v.strip()]


def build_query(args: argparse.Namespace) -> Query:
    return Query(start=args.start, end=args.end, regions=_split(args.region), accounts=_split(args.account),
                 event_names=_split(args.event_name), event_sources=_split(args.event_source),
                 resource=args.resource, principal=args.principal, errors_only=args.errors_only,
                 late_margin=timedelta(hours=args.late_margin))


def parser(verb: str | None = None) -> argparse.ArgumentParser:
    """The command line. The options of investigation ``verb`` are read from its notebook's parameters cell (only
    for the verb being run: reading a notebook costs the import of papermill)."""
    p = argparse.ArgumentParser(prog="trailtools", description="Forensic investigations on AWS CloudTrail.")
    p.add_argument("--version", action="version", version=f"trailtools {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    ev = sub.add_parser("events", help="load CloudTrail events from a source and print or save them",
                        description="Load CloudTrail from SOURCE ('demo', a folder, file or archive, or s3://, "
                                    "lookup://, athena://, cwlogs://, lake:// in AWS) into one table.")
    ev.add_argument("source", nargs="?", default="demo",
                    help="'demo' (default), a folder or a file, s3://BUCKET[/PREFIX], lookup://REGION, "
                         "athena://DB.TABLE?..., cwlogs://LOG_GROUP, lake://EVENT_DATA_STORE (docs/sources.md)")
    _query_args(ev)
    ev.add_argument("--format", choices=FORMATS, default="table",
                    help="output format (default table); jsonl: CloudTrail's own records (the frame's columns with "
                         "--columns)")
    ev.add_argument("-o", "--output", help="write to this file instead of standard output")
    ev.add_argument("--partition", choices=("day",), help="with --format parquet -o FOLDER: write hive-style "
                    "partitions FOLDER/day=YYYY-MM-DD/part-NNNNN.parquet (for DuckDB, Athena, Spark)")
    ev.add_argument("--stats-json", metavar="FILE", help="write the load statistics as JSON to FILE")
    ev.add_argument("--no-cache", action="store_true", help="do not read or write the local Parquet cache")
    ev.add_argument("--limit", type=int, default=50, help="rows shown by --format table (default 50; 0 = all)")
    ev.add_argument("--columns", help="comma-separated columns to output (default for the table: "
                    + ",".join(TABLE_COLUMNS) + "; for other formats: all)")
    ev.set_defaults(func=cmd_events)

    hp = sub.add_parser("hunt", help="run the detection rules over a window and list their findings",
                        description="Run every detection rule (docs/rules.md), or those named, over SOURCE between "
                                    "--start and --end (loading only the events the rules read), and print the "
                                    "findings most severe first, each with the eventIDs of its evidence.")
    hp.add_argument("source", nargs="?", default="demo", help="'demo' (default), a folder or a file, s3://, lookup://, "
                    "athena:// (as for events)")
    hp.add_argument("--start", help="window start, ISO date or time in UTC (default: the source's first event)")
    hp.add_argument("--end", help="window end, exclusive (a date alone means its whole day; default: the last event)")
    hp.add_argument("--rules", help="comma-separated rule ids or families to run (default all), e.g. "
                    "exposure,execution.ssm-send-command")
    hp.add_argument("--sigma", metavar="PATH", help="also run these Sigma rules (a .yml file or a folder of them, "
                    "logsource product aws, service cloudtrail); their findings are ranked with the others")
    hp.add_argument("--json", metavar="FILE", help="write the findings, grouped by credential and by attack chain, as "
                    "a findings document (JSON) to FILE")
    hp.add_argument("--ocsf", metavar="FILE", help="write the findings as OCSF Detection Findings (class 2004, a JSON "
                    "array) to FILE, for a SIEM")
    hp.add_argument("--aws-ip-ranges", metavar="FILE", help="AWS's ip-ranges.json (plain or .gz), to tell AWS "
                    "addresses from others (default: the bundled snapshot; findings name the one used and its date)")
    hp.add_argument("--no-cache", action="store_true", help="do not read or write the local Parquet cache")
    hp.set_defaults(func=cmd_hunt)

    for inv in registry.INVESTIGATIONS.values():
        if inv.name not in sub.choices:  # hunt has its verb above (it reads no notebook, and has --ocsf)
            investigation_parser(sub, inv, full=inv.name == verb)

    rp = sub.add_parser("report", help="run an investigation notebook and write an offline HTML report + findings",
                        description="Execute notebooks/NAME.ipynb with papermill and write, in --out, the executed "
                                    "notebook, a self-contained HTML report and the findings as JSON.")
    rp.add_argument("name", nargs="?", help="the investigation: " + ", ".join(registry.INVESTIGATIONS))
    rp.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                    help="a notebook parameter, as papermill's -p (repeatable)")
    rp.add_argument("--source", help="shorthand for -p source URI")
    rp.add_argument("--out", default="reports", help="where to write the report (default reports/)")
    rp.add_argument("--redact", action="store_true",
                    help="replace account IDs, access keys, IP and e-mail addresses with consistent pseudonyms")
    rp.add_argument("--with-code", action="store_true", help="keep the code cells in the HTML")
    rp.add_argument("--list", action="store_true", help="list the investigations and their parameters")
    rp.set_defaults(func=cmd_report)

    vf = sub.add_parser("verify", help="check a trail's log files against CloudTrail's signed digest files",
                        description="Verify a local copy of a trail bucket (or s3://BUCKET/PREFIX): every log file's "
                                    "SHA-256 against the digests, the digest chain and signatures, gaps. Exit code "
                                    "0: verified; 1: something failed; 3: incomplete (gaps, unsigned or "
                                    "unverifiable digests); 2: a usage error. See docs/integrity.md.")
    vf.add_argument("source", help="a folder holding AWSLogs/... (aws s3 sync of the trail bucket), "
                    "s3://BUCKET/PREFIX, or demo (the demo account, signed with its own key)")
    vf.add_argument("--start", help="check digests from this time (ISO date or time, UTC)")
    vf.add_argument("--end", help="check digests up to this time (a date alone means its whole day)")
    vf.add_argument("--public-keys", action="append", default=[], metavar="FILE",
                    help="`aws cloudtrail list-public-keys --output json` output (repeatable, one per region); "
                         "without it an s3:// source asks ListPublicKeys")
    vf.add_argument("--save-signatures", metavar="DIR", help="with an s3:// source: also save each digest's "
                    "signature as a sidecar under DIR, so a copy synced there verifies offline")
    vf.add_argument("--json", action="store_true", help="print the result as JSON instead of the summary")
    vf.set_defaults(func=cmd_verify)

    cp = sub.add_parser("collect", help="copy the evidence of an incident into a case folder, with a manifest",
                        description="Copy into CASE_DIR, in the layout the investigations read, the trail of the "
                                    "window (from its bucket with digests, signatures and public keys, or from "
                                    "LookupEvents), EC2 instances, status and scheduled events, console output and "
                                    "screenshots, CloudWatch status checks and AWS Health, with manifest.json (every "
                                    "file's SHA-256, origin, time, identity). Rerunning adds; it never changes a "
                                    "file. See docs/collect.md.")
    cp.add_argument("case_dir", metavar="CASE_DIR", help="the case folder (new, or made by an earlier collect)")
    cp.add_argument("--profile", help="the AWS profile (default: the standard credential chain)")
    cp.add_argument("--region", action="append", default=[], help="a region to collect from (repeat or "
                    "comma-separate; default the profile's region)")
    cp.add_argument("--instance", action="append", default=[], help="an instance ID (repeatable; default every "
                    "instance of the regions)")
    cp.add_argument("--principal", action="append", default=[], help="a principal of interest (with --lookup: "
                    "the user name searched for)")
    cp.add_argument("--start", help="window start, ISO date or time in UTC (default 7 days before the end)")
    cp.add_argument("--end", help="window end (a date alone means its whole day; default now)")
    where = cp.add_mutually_exclusive_group()
    where.add_argument("--trail", metavar="s3://BUCKET[/PREFIX]", help="the trail's bucket: its log files, digests "
                       "and signatures are copied")
    where.add_argument("--lookup", action="store_true", help="no bucket: read the trail from LookupEvents (90 days, "
                       "management events; the default without --trail)")
    cp.add_argument("--cost", action="store_true", help="also Cost Explorer: the daily cost of the window by service, "
                    "region, usage type and account, the resource-level cost of EC2 (last 14 days) and the anomalies")
    cp.add_argument("--cur", metavar="s3://BUCKET/PREFIX", help="also the Cost and Usage Report's manifests and data "
                    "files of the window's billing periods (legacy CUR, CUR 2.0 or FOCUS; implies --cost)")
    cp.add_argument("--no-progress", action="store_true", help="no progress bar")
    cp.set_defaults(func=cmd_collect)

    demo = sub.add_parser("demo", help="write the bundled demo account's data into a folder you can browse")
    demo.add_argument("dir", nargs="?", default="demo-account", help="where to write it (default ./demo-account)")
    demo.set_defaults(func=cmd_demo)
    return p


def cmd_events(args: argparse.Namespace) -> int:
    from trailtools.events.by_day import streamable
    from trailtools.events.load import load_events
    from trailtools.events.result import LoadOptions

    query = build_query(args)
    parts = None
    if args.format in STREAMED and (args.output or args.format != "parquet"):
        # an export: day by day with bounded memory where the source allows it (a local trail of several days)
        parts = streamable(args.source, query, LoadOptions(cache=not args.no_cache))
    if args.partition and parts is None:
        if args.format != "parquet" or not args.output:
            raise TrailtoolsError("--partition day writes Parquet into a folder: add --format parquet -o FOLDER.")
    if parts is not None:
        stats = _export_parts(args, parts)
    else:
        result = load_events(args.source, query, cache=not args.no_cache)
        stats = result.stats
        shown = select_columns(result.frame, args.columns, args.format)
        if args.partition:
            writer = PartWriter("parquet", args.output, partition="day")
            for day, rows in shown.groupby(shown["eventTime"].dt.date, sort=True):
                writer.write(rows, day.isoformat())
            writer.close()
        elif args.format == "timesketch":
            write_frame(result.frame, args.format, args.output, args.limit, fields=list(shown.columns))
        elif args.format == "jsonl" and not args.columns:  # CloudTrail's own records
            _fallback(write_frame(result.frame, args.format, args.output, args.limit, fields=[]))
        else:
            write_frame(shown, args.format, args.output, args.limit)
    if args.stats_json:
        with open(args.stats_json, "w", encoding="utf-8") as fh:
            json.dump(stats.to_dict(), fh, indent=2)
    echo(stats.summary(), file=sys.stderr)
    return 0


def _export_parts(args: argparse.Namespace, parts):
    from trailtools.events.by_day import export_by_day
    from trailtools.events.frame import empty_frame

    every = empty_frame()  # the columns every part has
    columns = list(select_columns(every, args.columns, args.format).columns) if args.columns else None
    fields = columns
    if args.format == "timesketch":  # the message and times are made from the whole frame
        columns, fields = None, fields or list(every.columns)
    elif args.format == "jsonl" and columns is None:  # CloudTrail's own records, read again from their files
        fields = []
    writer = PartWriter(args.format, args.output, fields=fields, partition=args.partition)
    try:
        return export_by_day(parts, writer, columns=columns)
    finally:
        writer.close()
        _fallback(writer.fallback)


def _fallback(rows: int) -> None:
    if rows:
        echo(f"{rows:,} events written from the frame's columns: their files could not be read again",
             file=sys.stderr)


def cmd_hunt(args: argparse.Namespace) -> int:
    from trailtools.rules.hunt import hunt

    result = hunt(args.source, args.start, args.end, args.rules, args.sigma, cache=not args.no_cache,
                  aws_ip_ranges=args.aws_ip_ranges)
    if args.json:  # first: the printed lines below may go to a pipe that closes early
        with open(args.json, "w", encoding="utf-8") as fh:
            fh.write(result.to_json() + "\n")
    if args.ocsf:
        with open(args.ocsf, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(detection_findings(result.to_dict()), indent=2, default=str) + "\n")
    for line in result.summary_lines():
        echo(line)
    echo(result.load_summary, file=sys.stderr)
    if result.aws_ranges:
        echo(result.aws_ranges, file=sys.stderr)
    return 0


def investigation_parser(sub, inv: registry.Investigation, *, full: bool) -> None:
    """``trailtools NAME``: an investigation's verb, its options its notebook's parameters (``os_logs`` ->
    ``--os-logs``), its report-naming parameter positional where the investigation says so, and ``--json FILE``."""
    sp = sub.add_parser(inv.name, help=inv.question, description=f"{inv.question[0].upper()}{inv.question[1:]} "
                        f"The options are the parameters of notebooks/{inv.notebook}.")
    sp.set_defaults(func=cmd_investigation, investigation=inv.name)
    if not full:
        return
    for p in inv.parameters():
        if p.name in registry.REPORT_ONLY:
            continue
        text = f"{p.help} (default {p.default})"
        if p.name == inv.argument:
            sp.add_argument(p.name, help=p.help)
        elif p.type_name == "bool":
            sp.add_argument(p.option, dest=p.name, action="store_true", default=None, help=p.help)
        elif "comma-separated" in p.help:  # repeatable too: --os-logs a --os-logs b
            sp.add_argument(p.option, dest=p.name, action="append", help=text + "; repeatable")
        else:
            kind = {"int": int, "float": float}.get(p.type_name.removeprefix("Optional[").rstrip("]"), str)
            sp.add_argument(p.option, dest=p.name, type=kind, metavar=p.name.upper(), help=text)
    sp.add_argument("--json", metavar="FILE", help="write the answer, sources and findings as JSON to FILE")


def cmd_investigation(args: argparse.Namespace) -> int:
    """Run an investigation with the parameters given (the others keep investigate()'s defaults) and print its
    answer; ``--json FILE`` writes the whole result."""
    inv = registry.get(args.investigation)
    given = {p.name: getattr(args, p.name) for p in inv.parameters() if getattr(args, p.name, None) is not None}
    given = {k: ",".join(v) if isinstance(v, list) else v for k, v in given.items()}
    result = inv.investigate()(**given)
    if args.json:  # first: the printed lines below may go to a pipe that closes early
        with open(args.json, "w", encoding="utf-8") as fh:
            fh.write(result.to_json())
    for line in result.summary_lines():
        echo(line)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from pathlib import Path

    from trailtools.report import run as report

    if args.list:
        echo(report.list_notebooks(), keep_newlines=True)
        return 0
    if not args.name:
        raise TrailtoolsError("Name the investigation to report on, e.g. trailtools report reboot -p instance "
                              "i-04c2a9e71d3b58f06 (trailtools report --list shows them all).")
    params = dict(args.parameter)
    if args.source:
        params["source"] = args.source
    paths = report.run(args.name, params, out_dir=Path(args.out), redact=args.redact, with_code=args.with_code)
    echo(report.answer_line(json.loads(paths.findings.read_text(encoding="utf-8"))))
    for path in (paths.html, paths.findings, paths.notebook):
        echo(path)
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from trailtools.integrity.verify import verify

    res = verify(args.source, start=args.start, end=args.end, public_keys=args.public_keys,
                 save_signatures=args.save_signatures)
    # the summary's lines each come out of visible() (verify.py); the JSON escapes control characters itself
    echo(json_visible(res.to_json()) if args.json else res.summary(), keep_newlines=True)
    return res.exit_code


def cmd_collect(args: argparse.Namespace) -> int:
    from trailtools.collect.run import collect

    result = collect(args.case_dir, start=args.start, end=args.end, regions=args.region, instances=args.instance,
                     principals=args.principal, trail=args.trail, lookup=args.lookup, cost=args.cost,
                     profile=args.profile, cur=args.cur,
                     progress=False if args.no_progress else None)
    for line in result.summary_lines():
        echo(line)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from trailtools import demo

    manifest = demo.generate(args.dir)
    echo(f"The demo account is in {args.dir} ({manifest.get('summary', '')}); "
         f"try: trailtools events {args.dir} --event-name RebootInstances", file=sys.stderr)
    return 0


def _visible_excepthook(kind, value, tb) -> None:
    """An unexpected error's traceback, made visible (its message may quote evidence)."""
    import traceback

    sys.__stderr__.write(visible("".join(traceback.format_exception(kind, value, tb)), keep_newlines=True))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parser(next((a for a in argv if not a.startswith("-")), None)).parse_args(argv)
    if isatty(sys.stderr):
        sys.excepthook = _visible_excepthook
    with guard():  # whatever else writes to a terminal (warnings, logging, libraries) is made visible too
        try:
            return args.func(args)
        except TrailtoolsError as exc:
            echo(f"trailtools: {exc}", file=sys.stderr)
            return 2
        except OSError as exc:
            if isinstance(exc, BrokenPipeError):
                return 0
            echo(f"trailtools: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": ") + ".", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            echo("trailtools: interrupted.", file=sys.stderr)
            return 130


if __name__ == "__main__":
    sys.exit(main())
