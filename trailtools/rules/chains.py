"""Findings grouped the way an intruder works: by the credential that made their calls, and by attack chain.

A rule's finding names the credential of its calls (``extra.credential``: the access key ID, else the acting
principal; :func:`trailtools.rules.model.credential`). Findings sharing a credential are one group. An **attack chain**
is wider: the credentials linked because one was issued to the other in the window, by ``AssumeRole``,
``GetSessionToken`` and the other STS calls that return ``responseElements.credentials.accessKeyId`` (a stolen user
key that assumes an admin role and then shares a snapshot is one chain, whichever key each call used). Two findings
are in one chain when their credentials share an ancestor through such issuing calls.

Every group names the eventIDs of its evidence: its findings' evidence, and for a chain the issuing calls that link
its credentials. Groups are ranked most severe first, then by how many findings they hold, then by time.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from trailtools.findings.model import SEVERITIES, Finding, iso_time
from trailtools.rules.model import text

STS = "sts.amazonaws.com"
#: The STS calls that hand out a new access key (``responseElements.credentials.accessKeyId``).
ISSUERS = ("AssumeRole", "AssumeRoleWithSAML", "AssumeRoleWithWebIdentity", "GetSessionToken", "GetFederationToken")
#: How far up the issuing calls a chain is followed (role chaining is at most a few hops; a loop stops here too).
MAX_DEPTH = 20
_ISSUED = r'"credentials"\s*:\s*\{[^{}]*?"accessKeyId"\s*:\s*"([A-Za-z0-9]{1,128})"'


@dataclass(frozen=True)
class Link:
    """One issuing call: ``parent`` (the credential that called) was given ``child`` (a new access key ID)."""

    parent: str
    child: str
    event_name: str
    event_id: str
    time: str | None

    def to_dict(self) -> dict:
        return {"from": self.parent, "to": self.child, "eventName": self.event_name, "eventID": self.event_id,
                "time": self.time}


@dataclass
class Group:
    """Findings that belong together: one credential's (``kind`` "credential") or one chain's (``kind`` "chain")."""

    kind: str
    name: str                        # the credential, or "chain 1", "chain 2" ... by rank
    findings: list[Finding]
    credentials: list[str]
    links: list[Link] = field(default_factory=list)

    @property
    def severity(self) -> str:
        return min((f.severity for f in self.findings), key=SEVERITIES.index)

    @property
    def first(self) -> str:
        return min((e.time for f in self.findings for e in f.evidence if e.time), default="")

    @property
    def last(self) -> str:
        return max((e.time for f in self.findings for e in f.evidence if e.time), default="")

    @property
    def actors(self) -> list[str]:
        return sorted({str(f.extra.get("actor")) for f in self.findings if f.extra.get("actor")})

    def event_ids(self) -> list[str]:
        """The eventIDs of the evidence: every finding's, then the issuing calls that link the chain."""
        ids = [e.ref for f in self.findings for e in f.evidence] + [k.event_id for k in self.links]
        return list(dict.fromkeys(i for i in ids if i))

    def to_dict(self) -> dict:
        return {"kind": self.kind, "name": self.name, "severity": self.severity, "credentials": self.credentials,
                "actors": self.actors, "first": self.first or None, "last": self.last or None,
                "findings": [{"check": f.check, "severity": f.severity, "title": f.title,
                              "credential": credential_of(f)} for f in self.findings],
                "links": [k.to_dict() for k in self.links], "eventIDs": self.event_ids()}


def credential_of(finding: Finding) -> str | None:
    """The credential a finding's calls were made with (None for a finding not about calls, e.g. tampering)."""
    value = (finding.extra or {}).get("credential")
    return str(value) if value else None


def issued(frame: pd.DataFrame, wanted=None) -> list[Link]:
    """The issuing calls of a frame that succeeded: who was given which access key. With ``wanted`` (credentials),
    only the calls on the way up from those credentials to their ancestors (what :func:`by_chain` needs: a month of
    instance roles holds a hundred thousand AssumeRole calls, a handful of which link findings)."""
    if frame.empty or "responseElements" not in frame.columns:
        return []
    rows = frame[(frame["eventSource"] == STS).fillna(False).astype(bool) & frame["eventName"].isin(ISSUERS)
                 & frame["errorCode"].isna()]
    if rows.empty:
        return []
    child = rows["responseElements"].astype(str).str.extract(_ISSUED, expand=False)
    rows, child = rows[child.notna()], child[child.notna()]
    keys = rows["userIdentity.accessKeyId"].astype(object)
    keys = keys.where(keys.notna() & (keys.astype(str) != ""), rows["actor"].astype(object))
    parents = keys.where(keys.notna(), "unknown").astype(str)
    if wanted is not None:
        position = {c: i for i, c in enumerate(child)}          # an access key is issued once: the last call wins
        keep, frontier, seen = [], set(wanted), set()
        for _ in range(MAX_DEPTH):
            nxt = set()
            for cred in frontier - seen:
                seen.add(cred)
                if cred in position:
                    keep.append(position[cred])
                    nxt.add(parents.iloc[position[cred]])
            if not nxt:
                break
            frontier = nxt
        keep.sort()
        rows, child, parents = rows.iloc[keep], child.iloc[keep], parents.iloc[keep]
    return [Link(p, c, text(n), text(i), iso_time(t)) for p, c, n, i, t in
            zip(parents, child, rows["eventName"], rows["eventID"], rows["eventTime"]) if p != c]


def _rank(groups: list[Group]) -> list[Group]:
    return sorted(groups, key=lambda g: (SEVERITIES.index(g.severity), -len(g.findings), g.first, g.name))


def by_credential(findings: list[Finding]) -> list[Group]:
    """One group per credential, ranked (findings not made with a credential are left out)."""
    groups: dict[str, list[Finding]] = {}
    for f in findings:
        if (cred := credential_of(f)) is not None:
            groups.setdefault(cred, []).append(f)
    return _rank([Group("credential", cred, fs, [cred]) for cred, fs in groups.items()])


def by_chain(findings: list[Finding], links: list[Link]) -> list[Group]:
    """The attack chains: findings whose credentials share an ancestor through issuing calls, ranked and named
    "chain 1", "chain 2" ... Each chain holds the issuing calls on the way from its credentials to their
    ancestors."""
    parent = {k.child: k for k in links}     # an access key is issued once
    root: dict[str, str] = {}

    def find(c: str) -> str:
        while root.get(c, c) != c:
            c = root[c]
        return c

    paths: dict[str, list[Link]] = {}
    for cred in {c for f in findings if (c := credential_of(f)) is not None}:
        path, node, seen = [], cred, {cred}
        while node in parent and len(path) < MAX_DEPTH:
            link = parent[node]
            path.append(link)
            if link.parent in seen:
                break
            seen.add(link.parent)
            node = link.parent
        paths[cred] = path
        for link in path:                    # union along the path: every ancestor has the same root
            a, b = find(link.child), find(link.parent)
            if a != b:
                root[a] = b
    members: dict[str, list[Finding]] = {}
    for f in findings:
        if (cred := credential_of(f)) is not None:
            members.setdefault(find(cred), []).append(f)
    groups = []
    for fs in members.values():
        creds = list(dict.fromkeys(credential_of(f) for f in fs))
        chain_links = list(dict.fromkeys(k for c in creds for k in paths.get(c, [])))
        chain_links.sort(key=lambda k: (k.time or "", k.event_id))
        ordered = list(dict.fromkeys([*(c for k in chain_links for c in (k.parent, k.child)), *creds]))
        groups.append(Group("chain", "", fs, ordered, chain_links))
    ranked = _rank(groups)
    for n, g in enumerate(ranked, 1):
        g.name = f"chain {n}"
    return ranked


def label_findings(chains: list[Group]) -> None:
    """Write each finding's chain into its ``extra`` (``chain``, ``chain_credentials``): the findings document of a
    report carries the grouping with every finding."""
    for g in chains:
        for f in g.findings:
            f.extra["chain"] = g.name
            f.extra["chain_credentials"] = g.credentials
