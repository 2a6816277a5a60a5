"""Adversarial inputs for issue 17 items 1 and 8, built at test time: S3 keys that try to leave the download cache
(or a --save-signatures folder) or to write on the terminal, and an HTTP endpoint that answers like a proxy with an
HTML page instead of AWS.

    keys = hostile_keys("AWSLogs/111122223333/CloudTrail/us-east-1/2026/10/02/", "x.json.gz", up=12)
    with html_endpoint(status=502) as url: ...          # AWS_ENDPOINT_URL=url
    assert files_outside(tmp_path, allowed=[cache]) == []
"""
from __future__ import annotations

import contextlib
import http.server
import os
import threading
from pathlib import Path

#: A proxy's error page as squid sends it: HTML 4 with unclosed tags and an entity XML does not know, so an XML
#: parser fails on it (botocore's ResponseParserError) and a JSON or CBOR one finds nothing in it.
PROXY_PAGE = (b'<!DOCTYPE html PUBLIC "-//W3C//DTD HTML 4.01//EN" "http://www.w3.org/TR/html4/strict.dtd">\n'
              b'<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">\n'
              b"<title>ERROR: The requested URL could not be retrieved</title></head>\n"
              b'<body id="ERR_ACCESS_DENIED"><h1>ERROR</h1><h2>The requested URL could not be retrieved</h2>\n'
              b"<p>Access control configuration prevents your request from being allowed at this time.&nbsp;"
              b'Please contact your service provider.<br>\n<p>Your cache administrator is <a href="mailto:root">'
              b"root</a>.<br>\n</body></html>\n")


def hostile_keys(folder: str, name: str, *, up: int, absolute_dir: str | Path | None = None) -> dict[str, str]:
    """Keys under ``folder`` (a listed prefix, ending in ``/``) that a naive ``cache / key`` would turn into paths
    elsewhere, by label. ``up``: how many ``..`` segments (enough to leave the cache, few enough to stay in the
    test's temporary folder); ``absolute_dir``: where the absolute key points (a folder of the test's own)."""
    back = "..\\" * up
    keys = {
        "dotdot": f"{folder}{'../' * up}evil/{name}",
        "dotdot-backslash": f"{folder}{back}evil\\{name}",
        "nul": f"{folder}{name[:-8]}\x00{name[-8:]}",
        "osc52": f"{folder}{name[:-8]}\x1b]52;c;ZWNobyBwd25lZA==\x07{name[-8:]}",  # writes the clipboard
        "cr-rewrite": f"{folder}{name[:-8]}\r\x1b[2KVERIFIED: nothing to see{name[-8:]}",
        "c1-csi": f"{folder}{name[:-8]}\x9b31m{name[-8:]}",
        "del": f"{folder}{name[:-8]}\x7f{name[-8:]}",
    }
    if absolute_dir is not None:
        keys["absolute"] = f"{Path(absolute_dir).as_posix().rstrip('/')}/{name}"
    else:
        keys["absolute"] = f"/abs/{name}"
    return keys


def files_outside(root: Path, allowed: list[Path]) -> list[Path]:
    """Every file (or symbolic link) under ``root`` that is not under one of ``allowed``."""
    allowed = [a.resolve() for a in allowed]
    out = []
    for folder, dirs, files in os.walk(root):
        for f in files + [d for d in dirs if os.path.islink(os.path.join(folder, d))]:
            p = Path(folder, f).resolve()
            if not any(p.is_relative_to(a) for a in allowed):
                out.append(Path(folder, f))
    return sorted(out)


@contextlib.contextmanager
def html_endpoint(status: int = 200, body: bytes = PROXY_PAGE, content_type: str = "text/html; charset=utf-8"):
    """A tiny HTTP server on 127.0.0.1 answering every request with ``body`` (a proxy's page), as an AWS endpoint
    URL; the number of requests it got is in ``.requests``."""

    class Answer(http.server.BaseHTTPRequestHandler):
        def _answer(self):
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            served.requests += 1
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _answer

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answer)

    class Served(str):
        requests = 0

    served = Served(f"http://127.0.0.1:{server.server_port}")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield served
    finally:
        server.shutdown()
        server.server_close()
