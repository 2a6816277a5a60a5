"""Redaction for reports that leave the analyst's laptop (``trailtools report --redact``).

A :class:`Redactor` replaces the values that identify an account or a person with consistent pseudonyms that keep
the shape of the original, so the report still reads (and still parses) the same way:

=====================  ===============================================  =========================================
value                  examples                                         pseudonym (in the order first seen)
=====================  ===============================================  =========================================
AWS account ID         ``314159265358``, in ARNs (``arn:aws:iam::...``)  ``000000000001``, ``000000000002``, ...
                       S3 paths (``AWSLogs/.../``), file names;         (``0000-0000-0001`` for the dashed form)
                       dashed as the console shows it (``3141-5926-5358``)
access key / unique    ``AKIAIOSFODNN7EXAMPLE``, ``AIDAR6SYJGSX...``,    ``AKIAREDACTED00000001`` (prefix kept,
ID                     ``AROA...:session``                              same length, at least 16 characters)
IPv4 address           ``203.0.113.201``, ``ip-10-0-1-23`` host names   ``198.18.0.1``, ``198.18.0.2``, ... (the
                                                                        benchmark range 198.18.0.0/15)
IPv6 address           ``2600:1f18::1``                                 ``2001:db8::1``, ``2001:db8::2``, ...
IPv4-mapped IPv6       ``::ffff:203.0.113.201``                         ``::ffff:198.18.0.1`` (the IPv4 pseudonym)
e-mail address         ``alice@example.com``                            ``user1@example.invalid``, ...
=====================  ===============================================  =========================================

The same value always gets the same pseudonym within one Redactor, whether it is met in text, JSON or HTML, so
correlation survives ("the same key was used from the same address"); the numbering follows the order values are
first seen, so redacting the same inputs in the same order gives the same bytes. Values issued as pseudonyms are
recognised and left alone, so redacting twice is harmless.

Encoded forms are redacted too: a value written with percent-encoding (``arn%3Aaws%3Aiam%3A%3A314159265358%3A``,
``alice%40example.com``, ``%2F203.0.113.201``, twice-encoded ``%253A``), JSON/JavaScript escapes (``\u0040``,
``\x3a``) or HTML character references (``&#64;``, ``&#x3a;``, ``&commat;``, and ``&amp;#64;`` for that text
shown in a page) is found in the decoded text (up to three layers of
encoding) and replaced in place, its encoded characters encoded the same way in the pseudonym
(``user1%40example.invalid``). Only escapes of ASCII characters are decoded: every value redacted is ASCII.

Left alone: instance and other resource IDs (``i-0abc...``), event and request IDs (UUIDs), timestamps
(``20261006T1422Z``), version strings (``1.08``, ``aws-cli/2.15.0``), numbers with more or fewer than 12 digits,
hex digests (a run of 12 digits inside a SHA-256 is not an account), user and role names (``dave.miller`` stays:
it is the finding), non-identifying addresses (``0.0.0.0``, ``127.0.0.1``, ``255.255.255.255``, ``::``, ``::1``:
``0.0.0.0/0`` in a security-group finding must keep its meaning) and JSON numbers (account IDs are strings in
every AWS API and log).

:meth:`Redactor.mapping` gives original -> pseudonym for the analyst to keep separately; it is never written into
a report.
"""
from __future__ import annotations

import ipaddress
import re
from array import array

__all__ = ["Redactor", "KEY_PREFIXES"]

#: The prefixes of AWS access key IDs and unique IDs (users, roles, groups, policies, certificates, ...).
KEY_PREFIXES = ("ABIA", "ACCA", "AEIA", "AGPA", "AIDA", "AIPA", "AKIA", "ANPA", "ANVA", "APKA", "AROA", "ASCA",
                "ASIA")

def _left(excluded: str = "") -> str:
    """Left of a value: no letter or digit (or one of ``excluded``), except the end of a JSON/JavaScript escape
    (``\n``, ``\t``, ``\u003c`` ...), which is how values look inside the JSON chart specs of a report."""
    return rf"(?:(?<![0-9A-Za-z{excluded}])|(?<=\\[nrtbf])|(?<=\\u[0-9a-fA-F]{{4}}))"


_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_HEX = r"[0-9A-Fa-f]"
_EMAIL_LEFT = _left(r"._%+\\-")

_PATTERN = re.compile(
    # kept as they are (matched first so nothing inside them is taken for a value)
    rf"(?P<uuid>{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}})"
    r"|(?P<b64>data:[\w.+/-]*;base64,[A-Za-z0-9+/=]+)"
    r"|(?P<resid>(?<![0-9A-Za-z-])(?:i|vol|snap|ami|sg|subnet|vpc|eni|igw|nat|rtb|acl|eipalloc|lt|r|fs|db)"
    r"-[0-9a-f]{8,17}(?![0-9A-Za-z]))"
    # e-mail addresses
    rf"|(?P<email>{_EMAIL_LEFT}[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}(?![A-Za-z0-9-]))"
    # access key IDs and unique IDs
    rf"|(?P<key>{_left()}(?:{'|'.join(KEY_PREFIXES)})(?:[A-Z0-9]{{12,17}}|[A-Z0-9]{{0,10}}EXAMPLE)(?![A-Za-z0-9]))"
    # EC2 host names: ip-10-0-1-23
    rf"|(?P<iphost>{_left('-')}ip-(?P<h1>{_OCTET})-(?P<h2>{_OCTET})-(?P<h3>{_OCTET})-(?P<h4>{_OCTET})"
    r"(?![0-9]))"
    # IPv6 (candidates; checked with ipaddress below)
    rf"|(?P<ipv6>{_left(':.')}(?:{_HEX}{{1,4}}|:)(?::{_HEX}{{0,4}}){{2,7}}"
    rf"(?::{_OCTET}(?:\.{_OCTET}){{3}})?(?![0-9A-Za-z:])(?!\.[0-9]))"
    # IPv4
    rf"|(?P<ipv4>{_left('.')}{_OCTET}(?:\.{_OCTET}){{3}}(?![0-9])(?!\.[0-9]))"
    # 12-digit account IDs (not the decimals of a number: 0.314159265358)
    rf"|(?P<account>{_left()}(?<![0-9]\.)[0-9]{{12}}(?![0-9A-Za-z])(?!\.[0-9]))"
    # account IDs as the console shows them: 3141-5926-5358 (not a part of a longer dashed number)
    rf"|(?P<dashed>{_left()}(?<![0-9][-.])[0-9]{{4}}-[0-9]{{4}}-[0-9]{{4}}(?![0-9A-Za-z])(?![-.][0-9]))"
)

# escapes of ASCII characters: percent-encoding, JSON/JavaScript \\uXXXX and \\xXX, HTML character references
_ENCODED = re.compile(r"%(?P<pct>[0-7][0-9A-Fa-f])|\\u(?P<u>00[0-7][0-9A-Fa-f])|\\x(?P<x>[0-7][0-9A-Fa-f])"
                      r"|&#(?:[xX](?P<hex>0*[0-7]?[0-9A-Fa-f]);|(?P<dec>0*(?:1[01][0-9]|12[0-7]|[0-9]{1,2}));)"
                      r"|&(?P<name>amp|quot|apos|lt|gt|commat|colon|period|sol|percnt|num|lowbar|hyphen|dash);")
_ENTITIES = {"amp": "&", "quot": '"', "apos": "'", "lt": "<", "gt": ">", "commat": "@", "colon": ":", "period": ".",
             "sol": "/", "percnt": "%", "num": "#", "lowbar": "_", "hyphen": "-", "dash": "-"}
# where an encoded value can end: whitespace, quotes and tag brackets are never inside one
_RUNS = re.compile(r"([\s<>\"'`]+)")
_DECODE_LAYERS = 3

_KEEP_IPV4 = {"0.0.0.0", "127.0.0.1", "255.255.255.255"}
_KEEP_IPV6 = {"::", "::1"}

_SCRIPT = re.compile(r"(<script\b)([^>]*)>(.*?)(</script\s*>)", re.IGNORECASE | re.DOTALL)
_JSON_TYPE = re.compile(r"""\btype\s*=\s*(?:"\s*application/json\s*"|'\s*application/json\s*'|application/json\b)""",
                        re.IGNORECASE)


class Redactor:
    """Consistent, shape-preserving pseudonyms for account IDs, key IDs, IP and e-mail addresses."""

    def __init__(self) -> None:
        self._map: dict[str, str] = {}          # original -> pseudonym, in the order first seen
        self._issued: set[str] = set()          # every pseudonym handed out (left alone when met again)
        self._counters = {"account": 0, "key": 0, "ipv4": 0, "ipv6": 0, "email": 0}

    # ---- public API ---------------------------------------------------------------------------------------------

    def redact_text(self, s: str) -> str:
        """``s`` with every account ID, key ID, IP and e-mail address replaced by its pseudonym, in its plain and
        its encoded forms (percent-encoding, ``\\u0040``, ``&#64;``)."""
        if not s:
            return s
        out = _PATTERN.sub(self._replace, s)
        if not _ENCODED.search(out):
            return out
        parts = _RUNS.split(out)  # odd items: separators
        return "".join(self._redact_encoded(p) if i % 2 == 0 and _ENCODED.search(p) else p
                       for i, p in enumerate(parts))

    def redact_json(self, obj):
        """A copy of a JSON-like value (dicts, lists, strings ...) with every string redacted, keys included.

        Numbers, booleans and None are returned as they are."""
        if isinstance(obj, str):
            return self.redact_text(obj)
        if isinstance(obj, dict):
            return {(self.redact_text(k) if isinstance(k, str) else k): self.redact_json(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [self.redact_json(v) for v in obj]
        if isinstance(obj, tuple):
            return tuple(self.redact_json(v) for v in obj)
        return obj

    def redact_html(self, html: str) -> str:
        """An HTML document with its text, attributes and JSON ``<script>`` blocks redacted.

        ``<script>`` elements without ``type="application/json"`` (the bundled JavaScript libraries) are copied
        byte for byte. The patterns never match tag syntax (``<``, ``>``, quotes, ``=``), so markup is not
        changed; inside JSON script blocks values next to ``\\u003c``-style escapes are still found."""
        out, pos = [], 0
        for m in _SCRIPT.finditer(html):
            out.append(self.redact_text(html[pos:m.start()]))
            if _JSON_TYPE.search(m.group(2)):
                out.append(m.group(1) + self.redact_text(m.group(2)) + ">" + self.redact_text(m.group(3))
                           + m.group(4))
            else:
                out.append(m.group(0))
            pos = m.end()
        out.append(self.redact_text(html[pos:]))
        return "".join(out)

    def mapping(self) -> dict[str, str]:
        """original -> pseudonym for everything redacted so far (keep it apart from the report)."""
        return dict(self._map)

    # ---- internals ----------------------------------------------------------------------------------------------

    def _redact_encoded(self, run: str) -> str:
        """``run`` (no whitespace) with the values its decoded forms hold replaced where they are encoded.

        Linear in the run's length per layer: the decoded characters come from consecutive pieces of the run, so
        one start offset per character (an array, 8 bytes each) maps them back."""
        edits: list[tuple[int, int, str]] = []      # (start, end, replacement) in ``run``
        taken = bytearray(len(run))                 # the characters of ``run`` an edit already replaces
        text, starts = run, array("q", range(len(run)))
        for _ in range(_DECODE_LAYERS):
            if not _ENCODED.search(text):
                break
            text, inner = _decode(text)
            starts = array("q", (starts[i] for i in inner))   # decoded character -> where it starts in ``run``
            starts.append(len(run))
            for m in _PATTERN.finditer(text):
                new = self._replace(m)
                if new == m.group(0):
                    continue
                start, end = starts[m.start()], starts[m.end()]
                if any(taken[start:end]):
                    continue
                taken[start:end] = b"\x01" * (end - start)
                # a separator (@ : .) that was encoded in the original is encoded the same way in the pseudonym
                encoded = {text[i]: run[starts[i]:starts[i + 1]] for i in range(m.start(), m.end())
                           if starts[i + 1] - starts[i] > 1 and not text[i].isalnum()}
                edits.append((start, end, "".join(encoded.get(c, c) for c in new)))
            starts.pop()
        for start, end, new in sorted(edits, reverse=True):
            run = run[:start] + new + run[end:]
        return run

    def _replace(self, m: re.Match) -> str:
        kind = m.lastgroup
        text = m.group(0)
        if kind in ("uuid", "b64", "resid"):
            return text
        if kind == "dashed":
            fake = self._pseudonym("account", text.replace("-", ""))
            return f"{fake[:4]}-{fake[4:8]}-{fake[8:]}"
        if kind == "iphost":
            ip = ".".join(m.group(g) for g in ("h1", "h2", "h3", "h4"))
            if ip in _KEEP_IPV4:
                return text
            return "ip-" + self._pseudonym("ipv4", ip).replace(".", "-")
        if kind == "ipv6":
            try:
                ipaddress.IPv6Address(text)
            except ValueError:
                # "a:b:c:" with a colon of the sentence after it: try without it
                if text.endswith(":") and not text.endswith("::"):
                    try:
                        ipaddress.IPv6Address(text[:-1])
                    except ValueError:
                        return text
                    return self._replace_ipv6(text[:-1]) + ":"
                return text
            return self._replace_ipv6(text)
        if kind == "ipv4" and text in _KEEP_IPV4:
            return text
        return self._pseudonym(kind, text)

    def _replace_ipv6(self, text: str) -> str:
        addr = ipaddress.IPv6Address(text)
        if text in _KEEP_IPV6 or addr.is_unspecified or addr.is_loopback:
            return text
        if addr.ipv4_mapped is not None:  # ::ffff:203.0.113.201 is that IPv4 address: its pseudonym, same form
            v4 = str(addr.ipv4_mapped)
            fake = v4 if v4 in _KEEP_IPV4 else self._pseudonym("ipv4", v4)
            if "." in text:
                return text[:text.rindex(":") + 1] + fake
            n = int(ipaddress.IPv4Address(fake))
            return text[:text.rindex(":", 0, text.rindex(":")) + 1] + f"{n >> 16:x}:{n & 0xffff:x}"
        return self._pseudonym("ipv6", text)

    def _pseudonym(self, kind: str, value: str) -> str:
        if value in self._map:
            return self._map[value]
        if value in self._issued:  # already a pseudonym (redacting twice)
            return value
        while True:
            self._counters[kind] += 1
            fake = self._make(kind, self._counters[kind], value)
            # never hand out a value that was itself met as an original
            if fake not in self._map and fake not in self._issued:
                break
        self._map[value] = fake
        self._issued.add(fake)
        return fake

    @staticmethod
    def _make(kind: str, n: int, value: str) -> str:
        if kind == "account":
            return f"{n:012d}"
        if kind == "key":
            width = max(len(value), 16) - 12
            return f"{value[:4]}REDACTED{n:0{width}d}"
        if kind == "ipv4":
            # 198.18.0.1, 198.18.0.2 ... skipping .0 and .255 so no pseudonym looks like a network or broadcast
            block, offset = divmod(n - 1, 254)
            return str(ipaddress.IPv4Address(int(ipaddress.IPv4Address("198.18.0.0")) + block * 256 + offset + 1))
        if kind == "ipv6":
            return f"2001:db8::{n:x}"
        if kind == "email":
            return f"user{n}@example.invalid"
        raise ValueError(kind)


def _decode(text: str) -> tuple[str, array]:
    """``text`` with its ASCII escapes decoded, and for each decoded character where it starts in ``text`` (it ends
    where the next one starts)."""
    out: list[str] = []
    starts = array("q")
    pos = 0
    for m in _ENCODED.finditer(text):
        out.append(text[pos:m.start()])
        starts.extend(range(pos, m.start()))
        pct, u, x, hx, dec, name = m.group("pct", "u", "x", "hex", "dec", "name")
        out.append(_ENTITIES[name] if name else chr(int(dec)) if dec else chr(int(pct or u or x or hx, 16)))
        starts.append(m.start())
        pos = m.end()
    out.append(text[pos:])
    starts.extend(range(pos, len(text)))
    return "".join(out), starts
