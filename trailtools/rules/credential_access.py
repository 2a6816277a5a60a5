"""Credential access: a workload's temporary credentials used from outside the workload.

AWS hands a role session to every workload that runs with a role: an EC2 instance (the session is named after the
instance, ``i-...``), a Lambda function (named after the function, issued by ``lambda.amazonaws.com``), an ECS task
(named after the task ID, issued by ``ecs-tasks.amazonaws.com``), an EKS pod (``AssumeRoleWithWebIdentity`` with the
cluster's OIDC token, or EKS Pod Identity), Glue, SageMaker, CodeBuild ... Anyone who reads those credentials (SSRF
to the instance metadata service, a Lambda's environment, an ECS task's credentials endpoint, a shell in a pod) can
use them from anywhere until they expire. This rule learns, per role session, the addresses and user agents of the
workload's own compute, and reports the same credentials used:

- from outside AWS's published IP ranges: **critical** (a workload runs inside AWS);
- from another network than the workload's own, from an address people use, with a person's tool (the AWS CLI,
  the console, an SDK on a laptop, an attack tool) or, for a Lambda function or ECS task whose own calls carry
  the runtime's ``exec-env/AWS_Lambda_...`` / ``exec-env/AWS_ECS_...``, without it: **high**.

The workload's own calls from its own compute, calls through a VPC endpoint (an internal address) and calls AWS
services make on the session's behalf (a service name as the source, ``invokedBy``) are never reported. Which AWS
ranges were used (AWS's ``ip-ranges.json`` given with ``--aws-ip-ranges``, or the bundled dated snapshot) and their
date are on every finding (:mod:`trailtools.evidence.aws_ranges`).
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from trailtools.evidence import aws_ranges
from trailtools.evidence.geoip import GeoIP, public_ip
from trailtools.findings.model import SEVERITIES, Finding, iso_time
from trailtools.rules.model import ANY_EVENT, MAX_EVIDENCE, Rule, by_value, evidence, text

STS = "sts.amazonaws.com"
INSTANCE_ID = re.compile(r"^i-(?:[0-9a-fA-F]{17}|[0-9a-fA-F]{8})$")
TASK_ID = re.compile(r"^[0-9a-f]{32}$")
EXEC_ENV = re.compile(r"exec-env/(AWS_Lambda_|AWS_ECS_)", re.IGNORECASE)
#: The services that hand role sessions to workloads (the issuing AssumeRole's invokedBy): what the workload is.
SERVICES = {"ec2.amazonaws.com": "EC2 instance", "lambda.amazonaws.com": "Lambda function",
            "ecs-tasks.amazonaws.com": "ECS task", "pods.eks.amazonaws.com": "EKS pod",
            "glue.amazonaws.com": "Glue job", "sagemaker.amazonaws.com": "SageMaker job",
            "codebuild.amazonaws.com": "CodeBuild build", "batch.amazonaws.com": "Batch job",
            "states.amazonaws.com": "Step Functions state machine", "apprunner.amazonaws.com": "App Runner service",
            "build.apprunner.amazonaws.com": "App Runner build", "tasks.apprunner.amazonaws.com": "App Runner service",
            "elasticmapreduce.amazonaws.com": "EMR cluster", "datasync.amazonaws.com": "DataSync task",
            "scheduler.amazonaws.com": "EventBridge schedule", "bedrock.amazonaws.com": "Bedrock agent"}
#: The runtime mark a kind's own SDK calls carry in their user agent (AWS_EXECUTION_ENV).
RUNTIME = {"Lambda function": "exec-env/AWS_Lambda_", "ECS task": "exec-env/AWS_ECS_"}
#: Addresses of these kinds change from call to call (Lambda outside a VPC): only their AWS region is compared.
ROAMING = ("Lambda function",)
#: A user agent that says "a person, or an attacker's tool": (lowercase marker, what it is).
PERSON_TOOLS = (("aws-cli/", "the AWS CLI"), ("console.amazonaws.com", "the AWS console"),
                ("signin.amazonaws.com", "the AWS console"),
                ("mozilla/", "a web browser"), ("pacu", "Pacu (an AWS attack framework)"),
                ("stratus-red-team", "Stratus Red Team (an attack simulation tool)"), ("kali", "Kali Linux"),
                ("parrot", "Parrot OS"), ("cloudfox", "CloudFox"), ("scoutsuite", "ScoutSuite"),
                ("trufflehog", "TruffleHog"), ("curl/", "curl"), ("python-requests", "python-requests"),
                ("postmanruntime", "Postman"), ("os/macos", "an SDK on a Mac"), ("darwin", "an SDK on a Mac"),
                ("os/windows", "an SDK on Windows"), ("windows_nt", "an SDK on Windows"),
                ("microsoft-standard-wsl", "a Windows laptop (WSL)"))
#: Marks of a call made on an EC2 instance itself: an Amazon Linux or cloud kernel, the SSM agent.
INSTANCE_HINTS = ("amzn2", "amzn2023", "-aws ", "-aws)", "-aws#", "cloud-amd64", "amazon-ssm-agent", "ec2-instance")
PEOPLE_TYPES = ("IAMUser", "Root", "FederatedUser")
#: The columns read (taking only these keeps a million-event frame cheap to slice).
ISSUE_COLUMNS = ["eventTime", "eventName", "errorCode", "responseElements", "userIdentity.type",
                 "userIdentity.invokedBy", "userIdentity.principalId", "userIdentity.userName", "sourceIPAddress"]
CALL_COLUMNS = ["eventTime", "eventName", "eventID", "errorCode", "sourceIPAddress", "userAgent", "actor",
                "userIdentity.arn", "userIdentity.accessKeyId"]
#: What judging a workload's calls reads of each (its own compute, the addresses and agents of the others).
JUDGED_COLUMNS = ["eventTime", "sourceIPAddress", "userAgent"]


@dataclass
class Workload:
    """A role session handed to a workload: what it is, how it was recognised, its issuing event."""

    session: str                       # role/session, as the frame's actor
    kind: str                          # "EC2 instance", "Lambda function" ...
    how: str                           # how it was recognised
    issuer: object = None              # row label of the issuing event, if in the frame
    seeds: set = field(default_factory=set)     # addresses known to be the workload's own (the pod's own STS call)
    #: row labels of the calls that issued the session's credentials (their keys read where a finding names one)
    issuing: list = field(default_factory=list)

    @property
    def role(self) -> str:
        return self.session.split("/", 1)[0]

    @property
    def name(self) -> str:
        return self.session.split("/", 1)[-1]


def person_tool(agent: str) -> str | None:
    """What a user agent says about who made the call: a person's tool or an attack tool, else None."""
    low = agent.lower()
    if low.startswith("aws-cli/") and any(h in low + " " for h in INSTANCE_HINTS):
        return None     # the CLI on an instance (user data, cron): the instance's own
    found = list(dict.fromkeys(what for marker, what in PERSON_TOOLS if marker in low))
    return f"{found[0]} ({', '.join(found[1:])})" if len(found) > 1 else (found[0] if found else None)


def on_instance(agent: str) -> bool:
    low = agent.lower() + " "
    return any(h in low for h in INSTANCE_HINTS)


def _session(arn: str) -> str | None:
    """``role/session`` of an assumed-role ARN."""
    _, sep, rest = arn.partition(":assumed-role/")
    return rest if sep and "/" in rest else None


#: The calls that hand a role session to a workload.
ISSUING = ["AssumeRole", "AssumeRoleWithWebIdentity", "AssumeRoleForPodIdentity"]
_ASSUMED_ARN = r'"assumedRoleUser"\s*:\s*\{[^{}]*?"arn"\s*:\s*"([^"]{1,2048})"'
_ISSUED_KEY = r'"accessKeyId"\s*:\s*"([A-Z0-9]{16,128})"'


def _issued(rows: pd.DataFrame, responses: pd.Series) -> dict[str, Workload]:
    """Sessions issued to workloads by the AssumeRole* calls ``rows`` (their :data:`ISSUE_COLUMNS` but the
    response; ``responses``: the frame's ``responseElements``, read at the rows' labels a few thousand at a time,
    with two patterns), then judged once per session: a fleet's instances are issued credentials every few hours."""
    out: dict[str, Workload] = {}
    ok = rows["errorCode"].isna() & rows["eventName"].isin(ISSUING)
    rows = rows if bool(ok.all()) else rows[ok]     # (a copy only when some are not)
    if rows.empty:
        return out
    at = responses.index.get_indexer(rows.index)
    (arns,) = _extract(responses, (_ASSUMED_ARN,), at)
    # each distinct ARN's session read once, each call's by a code (a map over the texts made an object a call: 46 MB)
    codes, uniques = pd.factorize(arns, use_na_sentinel=True)
    names = np.array([_session(str(a)) for a in uniques] + [None], dtype=object)
    codes = np.where(codes < 0, len(names) - 1, codes)
    # each session judged on its last issuing call (thousands of sessions: columns read as arrays, no group made
    # for each); sessions in the order they first appear
    by_session = names[codes]
    last: dict = {}
    for i, session in enumerate(by_session):
        if isinstance(session, str):
            last[session] = i
    # the columns read as objects only at each session's last call (an object for each of 400,000 calls: 10 MB of the
    # analysis's peak on the 10M-event trail)
    picks = np.fromiter(last.values(), dtype=np.int64, count=len(last))
    col = {c: rows[c].iloc[picks].astype(object).to_numpy() for c in (
        "eventName", "userIdentity.type", "userIdentity.invokedBy", "sourceIPAddress", "userIdentity.principalId",
        "userIdentity.userName")}
    for j, (session, i) in enumerate(last.items()):
        label, name = rows.index[i], text(col["eventName"][j])
        if name == "AssumeRole" and text(col["userIdentity.type"][j]) == "AWSService":
            service = text(col["userIdentity.invokedBy"][j]) or text(col["sourceIPAddress"][j])
            kind = SERVICES.get(service, f"{service.split('.')[0]} workload")
            w = Workload(session, kind, f"issued by {service} (AssumeRole)", label)
        elif name == "AssumeRoleWithWebIdentity" and "system:serviceaccount:" in (
                text(col["userIdentity.principalId"][j]) + text(col["userIdentity.userName"][j])):
            account = text(col["userIdentity.userName"][j]).replace("system:serviceaccount:", "") \
                or "a service account"
            addresses = rows["sourceIPAddress"][by_session == session].astype(object)
            seeds = {str(a) for a in addresses if not pd.isna(a) and public_ip(str(a))}
            w = Workload(session, "EKS pod", f"an EKS pod's service account {account} (AssumeRoleWithWebIdentity)",
                         label, seeds)
        elif name == "AssumeRoleForPodIdentity":
            w = Workload(session, "EKS pod", "EKS Pod Identity (AssumeRoleForPodIdentity)", label)
        else:
            continue
        out[session] = w
    if not out:
        return out
    # the calls that issued each workload's session its keys: a key is read from them only where a finding names it
    # (a busy account's 400,000 issued keys, as texts in a dict, were 70 MB of the analysis's peak)
    mine = np.array([name in out for name in names], dtype=bool)[codes]
    for label, session in zip(rows.index[mine], by_session[mine]):
        out[session].issuing.append(label)
    return out


def issuing_call(w: Workload, keys: list[str], responses: pd.Series):
    """The row label of the call that issued one of ``keys`` to the workload's session (the first key found; of
    several calls that issued one key, the last), else the session's issuing call (:attr:`Workload.issuer`)."""
    if not keys or not w.issuing:
        return w.issuer
    (found,) = _extract(responses, (_ISSUED_KEY,), responses.index.get_indexer(w.issuing))
    by_key = {key: label for label, key in zip(found.index, found.to_numpy(dtype=object)) if isinstance(key, str)}
    return next((by_key[k] for k in keys if k in by_key), w.issuer)


def workloads(frame: pd.DataFrame) -> dict[str, Workload]:
    """Every role session in the frame handed to a workload: by its issuing call, its session name (an instance
    ID, an ECS task ID) or its own calls' runtime (``exec-env/AWS_Lambda_...``, ``exec-env/AWS_ECS_...``)."""
    issuing = ((frame["eventSource"] == STS).fillna(False).astype(bool)
               | (frame["eventSource"] == "eks-auth.amazonaws.com").fillna(False).astype(bool))
    issuing &= frame["errorCode"].isna() & frame["eventName"].isin(ISSUING)   # as _issued keeps them
    sts = frame.loc[issuing, [c for c in ISSUE_COLUMNS if c != "responseElements"]]    # (the texts read apart)
    found = _issued(sts, frame["responseElements"]) if len(sts) else {}
    roles = frame.loc[(frame["userIdentity.type"] == "AssumedRole").fillna(False).astype(bool),
                      ["userIdentity.arn", "userAgent"]]
    sessions = {a: _session(a) for a in dict.fromkeys(map(str, pd.unique(roles["userIdentity.arn"].dropna())))}
    for session in filter(None, sessions.values()):
        if session in found:
            continue
        name = session.split("/", 1)[1]
        if INSTANCE_ID.match(name):
            found[session] = Workload(session, "EC2 instance", f"its session name is the instance ID {name}")
        elif TASK_ID.match(name):
            found[session] = Workload(session, "ECS task", f"its session name is an ECS task ID ({name})")
    agents = roles[["userIdentity.arn", "userAgent"]].dropna().drop_duplicates().astype(object)
    for arn, agent in zip(agents["userIdentity.arn"], agents["userAgent"]):
        session, m = sessions.get(str(arn)), EXEC_ENV.search(str(agent))
        if session and m and session not in found:
            kind = "Lambda function" if m.group(1).lower().startswith("aws_lambda") else "ECS task"
            found[session] = Workload(session, kind, f"its own calls carry the {kind}'s runtime "
                                                     f"({m.group(0)}...)")
    return found


def people_addresses(frame: pd.DataFrame) -> dict[str, set[str]]:
    """Public address -> the people (IAM users, root, federated users, IAM Identity Center sessions) calling from
    it."""
    typ = frame["userIdentity.type"].astype(object)
    sso = by_value(frame["userIdentity.arn"],
                   lambda arn: arn.astype(object).fillna("").astype(str).str.contains("/AWSReservedSSO_", regex=False))
    pairs = frame.loc[typ.isin(PEOPLE_TYPES) | sso, ["sourceIPAddress", "actor"]].astype(object).dropna()
    pairs = pairs.drop_duplicates()
    out: dict[str, set[str]] = {}
    for addr, who in zip(pairs["sourceIPAddress"], pairs["actor"]):
        if public_ip(addr):
            out.setdefault(str(addr), set()).add(str(who))
    return out


def _net(addr: str) -> str:
    ip = ipaddress.ip_address(addr)
    return str(ipaddress.ip_network(f"{ip}/{24 if ip.version == 4 else 48}", strict=False))


@dataclass
class _Judge:
    """What is known about the account: AWS's ranges, the ASN database (optional), who calls from where."""

    ranges: aws_ranges.AwsRanges
    geo: GeoIP | None
    people: dict

    def place(self, addr: str) -> str:
        where = self.ranges.locate(addr)
        if where is not None:
            return f"AWS {where.service} {where.region}".rstrip()
        if self.geo is not None and self.geo.has_asn:
            loc = self.geo.locate(addr)
            if loc.asn:
                return f"AS{loc.asn} {loc.org or ''}".strip()
        return ""


def _home(w: Workload, rows: pd.DataFrame, start, judge: _Judge) -> tuple[set, pd.Series]:
    """The workload's own addresses and which of its calls are its own (the signature of its compute)."""
    agents = rows["userAgent"].astype(object).fillna("").astype(str)
    addrs = rows["sourceIPAddress"].astype(object).fillna("").astype(str)
    tool = agents.map({a: person_tool(a) for a in agents.unique()})
    inside = addrs.map({a: judge.ranges.is_aws(a) is not False for a in addrs.unique()}).astype(bool)
    shared = addrs.isin(list(judge.people))
    marker = RUNTIME.get(w.kind)
    if marker:
        own = agents.str.contains(marker, case=False, regex=False) & inside
    else:
        before = rows["eventTime"] < start if start is not None else pd.Series(False, index=rows.index)
        hinted = agents.map({a: on_instance(a) for a in agents.unique()}).astype(bool)
        own = (hinted | (before & tool.isna() & ~shared)) & inside
    home = {a for a in addrs[own] if public_ip(a)} | set(w.seeds)
    return home, own


def _signals(w: Workload, addr: str, agent: str, own: bool, home: set, has_runtime: bool,
             judge: _Judge) -> tuple[list[str], bool]:
    """Why a call (from ``addr`` with ``agent``) is not the workload's own, and whether it came from outside AWS."""
    outside = judge.ranges.is_aws(addr) is False
    why = [f"{addr} is outside AWS's published IP ranges"] if outside else []
    if own:
        return why, outside
    tool = person_tool(agent)
    fixed = w.kind not in RUNTIME and w.kind not in ROAMING
    if tool and not (fixed and addr in home):
        why.append(f"the user agent is {tool}, not the {w.kind}'s own SDK")
    elif w.kind in RUNTIME and has_runtime and RUNTIME[w.kind].lower() not in agent.lower():
        why.append(f"the user agent lacks the runtime mark ({RUNTIME[w.kind]}...) every own call of the {w.kind} "
                   f"carries")
    if addr in judge.people and addr not in home:
        who = sorted(judge.people[addr])
        why.append(f"{', '.join(who[:3])} also call{'s' if len(who) == 1 else ''} AWS from {addr}")
    if home and addr not in home:
        if w.kind in ROAMING:
            here = judge.ranges.locate(addr)
            regions = {p.region for p in map(judge.ranges.locate, home) if p is not None}
            if here is not None and regions and here.region not in regions:
                why.append(f"another AWS region ({here.region}) than the {w.kind}'s own calls "
                           f"({', '.join(sorted(regions))})")
        elif _net(addr) not in {_net(a) for a in home}:
            shown = ", ".join(sorted(home)[:3]) + (" ..." if len(home) > 3 else "")
            why.append(f"another network than the {w.kind}'s own ({shown})")
    return why, outside


def _session_of(arns: pd.Series) -> pd.Series:
    """:func:`_sessions` of every call as a category whose categories are in text order (groups by it come in the
    order groups by the texts would): one code a call, not a text object (millions of calls, thousands of role
    sessions), each distinct ARN read once."""
    if isinstance(arns.dtype, pd.CategoricalDtype):
        of = _sessions(pd.Series(arns.cat.categories.astype(object)))
        names = sorted(set(of.dropna()))
        where = {name: i for i, name in enumerate(names)}
        mapping = np.array([where.get(v, -1) if isinstance(v, str) else -1 for v in of] + [-1], dtype=np.int32)
        codes = arns.cat.codes.to_numpy()
        return pd.Series(pd.Categorical.from_codes(mapping[np.where(codes < 0, len(of), codes)], categories=names),
                         index=arns.index)
    values = _sessions(arns)
    return pd.Series(pd.Categorical(values, categories=sorted(set(values.dropna()))), index=arns.index)


def _sessions(arns: pd.Series) -> pd.Series:
    """``role/session`` of each assumed-role ARN (computed once per distinct ARN)."""
    arns = arns.astype(object)
    return arns.map({a: _session(str(a)) for a in pd.unique(arns.dropna())})


#: Rows whose response texts are read at once: the text copies a pattern makes stay this small.
EXTRACT_CHUNK = 4096


def _extract(response: pd.Series, patterns: tuple[str, ...], positions: np.ndarray | None = None) -> list[pd.Series]:
    """For each of ``patterns``, its first group in each response text (missing: none), of every row or of the rows
    at ``positions``, as texts (Arrow's, not an object a value: 401,144 ARNs as objects were 47 MB more), read in
    chunks of :data:`EXTRACT_CHUNK` rows (each chunk's texts taken once for every pattern) so that the copies stay
    small on a frame of many STS calls. The compiled patterns search the texts in a loop of their own: pandas'
    ``str.extract`` did the same searches with 0.1-0.3 s more around them on 401,144 responses."""
    at = np.arange(len(response)) if positions is None else np.asarray(positions)
    searches = [re.compile(pattern).search for pattern in patterns]
    found: list[list[pa.Array]] = [[] for _ in patterns]
    for i in range(0, len(at), EXTRACT_CHUNK):
        texts = response.iloc[at[i:i + EXTRACT_CHUNK]].to_numpy(dtype=object)
        texts = [v if isinstance(v, str) else "" if v is None or v is pd.NA or v != v else str(v) for v in texts]
        for out, search in zip(found, searches):
            out.append(pa.array([m.group(1) if (m := search(v)) else None for v in texts], pa.large_string()))
    index = response.index[at]
    return [pd.Series(pd.array(pa.chunked_array(out, pa.large_string()), dtype=TEXT), index=index) for out in found]


#: The frame's text type (what ``astype(str)`` makes; missing values are NaN).
TEXT = pd.StringDtype("pyarrow", na_value=np.nan)


def _utc(when) -> pd.Timestamp | None:
    if when is None:
        return None
    t = pd.Timestamp(when)
    return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")


def judge_workloads(events: pd.DataFrame, start=None, end=None, *, ranges: aws_ranges.AwsRanges | None = None,
                    geo: GeoIP | None = None, rule: Rule | None = None) -> list[Finding]:
    """Workload credentials used in [start, end) from outside the workload (all of ``events`` when no window),
    learning each workload's own compute from every call of its session in ``events``: one finding per role
    session and address. ``ranges``: AWS's ranges (default: the rule's ``aws_ip_ranges`` parameter, else the bundled
    snapshot); ``geo``: an optional ASN database, to name the network owner."""
    rule = rule or RULES[0]
    if ranges is None:
        path = rule.parameters.get("aws_ip_ranges")
        ranges = aws_ranges.ranges(None if path in (None, "", "bundled") else path)
    if events.empty:
        return []
    found = workloads(events)
    if not found:
        return []
    start, end = _utc(start), _utc(end)
    judge = _Judge(ranges, geo, people_addresses(events))
    session = _session_of(events["userIdentity.arn"])
    # the workloads' calls with what judging them reads (the columns of the evidence only for the calls found)
    mine = events.loc[session.isin(list(found)) & events["userIdentity.invokedBy"].isna(), JUDGED_COLUMNS]
    out = []
    for name, rows in mine.groupby(session[mine.index], sort=True, observed=True):
        w = found[name]
        rows = rows.sort_values("eventTime", kind="stable")
        home, own = _home(w, rows, start, judge)
        marker = RUNTIME.get(w.kind)
        has_runtime = bool(marker) and bool(own.any())
        win = rows
        if start is not None:
            win = win[win["eventTime"] >= start]
        if end is not None:
            win = win[win["eventTime"] < end]
        for addr, calls in win.groupby(win["sourceIPAddress"].astype(object), sort=True):
            if public_ip(addr) is None:     # a service acting for the session, or a VPC endpoint
                continue
            why, outside = [], False
            agents = calls["userAgent"].astype(object).fillna("").astype(str)
            mine = own[calls.index]
            hit = pd.Series(False, index=calls.index)
            # judged once per distinct (user agent, own) pair: a workload makes many calls alike
            for (agent, is_own), same in calls.groupby([agents, mine], sort=False).groups.items():
                reasons, out_aws = _signals(w, str(addr), agent, bool(is_own), home, has_runtime, judge)
                if reasons:
                    hit[same] = True
                    why += [r for r in reasons if r not in why]
                    outside = outside or out_aws
            if hit.any():
                found_calls = events.loc[calls.index[hit.to_numpy(dtype=bool)], CALL_COLUMNS]
                out.append(_finding(rule, w, str(addr), events, found_calls, why, outside, home, judge))
    return sorted(out, key=lambda f: (SEVERITIES.index(f.severity), f.evidence[0].time or ""))


def _finding(rule: Rule, w: Workload, addr: str, events: pd.DataFrame, calls: pd.DataFrame, why: list[str],
             outside: bool, home: set, judge: _Judge) -> Finding:
    severity = "critical" if outside else rule.severity
    place = judge.place(addr)
    tools = list(dict.fromkeys(filter(None, map(person_tool, calls["userAgent"].astype(object).fillna("")))))
    with_tool = f", with {tools[0]}" if tools else ""
    where = ", outside AWS" if outside else (f" ({place})" if place else "")
    title = f"Credentials of {w.kind} {w.name} (role {w.role}) used from {addr}{where}{with_tool}"
    names = calls["eventName"].astype(object).value_counts()
    first, last = iso_time(calls["eventTime"].iloc[0]), iso_time(calls["eventTime"].iloc[-1])
    keys = sorted({text(k) for k in calls["userIdentity.accessKeyId"].astype(object)} - {""})
    facts = (f" The role session {w.session} belongs to {_a(w.kind)}: {w.how}. {len(calls)} call"
             f"{'s' if len(calls) > 1 else ''} from {addr}{f' ({place})' if place else ''}, {first}"
             + (f" to {last}" if len(calls) > 1 else "")
             + (f", with access key {', '.join(keys[:3])}" if keys else "") + ": "
             + ", ".join(f"{n} x{c}" for n, c in names.head(8).items())
             + f". Not the workload's own: {'; '.join(why)}."
             + (f" Its own calls came from {', '.join(sorted(home)[:5])}." if home else
                " None of its calls in the events shows its own compute's address.")
             + f" {judge.ranges.describe()}.")
    what = "used outside AWS" if outside else "used from outside the workload"
    refs = [evidence(r, f"{w.kind} {w.name}'s credentials {what}") for _, r in calls.head(MAX_EVIDENCE).iterrows()]
    issuer = issuing_call(w, keys, events["responseElements"])     # the call that issued the stolen key
    if issuer is not None and issuer in events.index:
        refs.insert(0, evidence(events.loc[issuer], f"issued the session {w.session} to the {w.kind}"))
    shared = sorted(judge.people.get(addr, ()))
    if shared:
        theirs = events[(events["sourceIPAddress"].astype(object) == addr)
                        & events["actor"].astype(object).isin(shared)].head(3)
        refs += [evidence(r, "a person's call from the same address") for _, r in theirs.iterrows()]
    extra = {"rule": rule.id, "actor": w.session, "principal": w.session, "credential": keys[0] if keys else w.session,
             "access_keys": keys, "events": len(calls), "workload": w.name, "workload_kind": w.kind,
             "recognised_by": w.how, "address": addr, "home_addresses": sorted(home), "signals": why,
             "outside_aws": outside, "shared_with": shared, "aws_ranges": judge.ranges.to_dict(),
             "score": 10 if outside else 7, "tactic": rule.tactic, "technique": rule.technique,
             "resources": [w.session]}
    if w.kind == "EC2 instance":
        extra["instance"] = w.name
    if len(calls) > MAX_EVIDENCE:
        extra["evidence_not_listed"] = len(calls) - MAX_EVIDENCE
    return Finding(check=rule.id, severity=severity, title=title, explanation=rule.explanation + facts,
                   resource=w.session, remediation=rule.next_steps, evidence=tuple(refs), extra=extra)


def _a(noun: str) -> str:
    return f"{'an' if noun[:1].upper() in 'AEIOU' else 'a'} {noun}"


def _rule_logic(rows: pd.DataFrame, rule: Rule) -> list[Finding]:
    return judge_workloads(rows, rule=rule)


RULES = (
    Rule("credential-access.workload-credentials-stolen",
         "Workload credentials used outside the workload", "high",
         "TA0006 Credential Access", "T1552.005 Unsecured Credentials: Cloud Instance Metadata API",
         (ANY_EVENT,), _rule_logic,
         "An EC2 instance, a Lambda function, an ECS task or an EKS pod gets temporary credentials for its role; "
         "whoever reads them (SSRF to the instance metadata service, a Lambda's environment, an ECS task's "
         "credentials endpoint, a shell in a pod) can use them from anywhere until they expire. This is the most "
         "common way AWS accounts are breached. The workload's own calls come from its compute with its SDK; the "
         "same role session from another network, from an address people use or with a person's tool (the AWS "
         "CLI, the console, an SDK on a laptop) is someone else holding its credentials (high), and from outside "
         "AWS's published IP ranges certainly so (critical).",
         "Revoke the role's active sessions (IAM: Revoke active sessions), find how the credentials left the "
         "workload (SSRF to the metadata service: require IMDSv2 and hop limit 1; the function's or task's code and "
         "environment; SSM commands and shells on the host), and review everything the session did from that "
         "address (the evidence lists the calls).",
         parameters={"aws_ip_ranges": "bundled"}),
)

