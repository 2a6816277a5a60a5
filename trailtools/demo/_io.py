"""Writing files the way the tools that make them do (the AWS CLI's JSON, text logs, Parquet)."""
from __future__ import annotations

import json
import random
import uuid
from pathlib import Path
from typing import Any


def cli_json(obj: Any) -> bytes:
    """What ``aws ... --output json`` prints: 4-space indent, non-ASCII kept, a final newline."""
    return (json.dumps(obj, indent=4, ensure_ascii=False) + "\n").encode("utf-8")


def write_files(out_dir: Path, files: dict[str, Any]) -> list[str]:
    """Write ``{relative path: content}``; dicts/lists become CLI JSON, str is UTF-8 text, bytes as is.
    Returns the relative paths written, sorted."""
    out_dir = Path(out_dir)
    for rel, content in sorted(files.items()):
        path = out_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, (bytes, bytearray)):
            data = bytes(content)
        elif isinstance(content, str):
            data = content.encode("utf-8")
        else:
            data = cli_json(content)
        path.write_bytes(data)
    return sorted(files)


def rng_for(seed: int, name: str) -> random.Random:
    """An independent, deterministic random stream per builder (str seeds are hashed with SHA-512)."""
    return random.Random(f"{seed}:{name}")


def uuid4(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def stable_uuid(text: str) -> str:
    return str(uuid.UUID(int=random.Random(text).getrandbits(128), version=4))


def hexid(text: str, n: int) -> str:
    """``n`` stable lowercase hex characters derived from a text."""
    out = ""
    r = random.Random(text)
    while len(out) < n:
        out += format(r.getrandbits(64), "016x")
    return out[:n]
