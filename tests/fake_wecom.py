"""A fake WeCom group-robot webhook over real HTTP on 127.0.0.1.

    with FakeWeCom() as fake:
        settings = ... api_base_url = fake.base_url ...
        fake.fail(errcode=45009)            # the next request answers "api freq out of limit"
        fake.fail(status=500, times=2)      # then two HTTP 500s
        ...
        fake.posts                          # every POST: Post(key, body)

Requests go to ``/cgi-bin/webhook/send?key=KEY`` with a JSON body. Like WeCom, a
markdown message over 4096 UTF-8 bytes, an image over 2 MB or with a wrong md5, and an
unknown key (when ``keys`` is given) are refused with WeCom's errcodes. The server runs
in a daemon thread, so it serves sync tests and any event loop alike.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

MARKDOWN_LIMIT = 4096
IMAGE_LIMIT = 2 * 1024 * 1024
ERRMSG = {
    0: "ok",
    40008: "invalid message type",
    40009: "invalid image size",
    40058: "markdown.content exceed max length 4096",
    45009: "api freq out of limit",
    93000: "invalid webhook url",
    301019: "media md5 not match",
}


@dataclass(frozen=True)
class Post:
    key: str
    body: dict[str, Any]

    @property
    def msgtype(self) -> str:
        return str(self.body.get("msgtype", ""))


@dataclass(frozen=True)
class _Fault:
    status: int
    errcode: int


class FakeWeCom:
    """Records every webhook POST and answers as scripted, else like WeCom."""

    def __init__(self, keys: set[str] | None = None) -> None:
        self.keys = keys  # None: any key is valid
        self.posts: list[Post] = []  # every POST received, faults included
        self.delivered: list[Post] = []  # the POSTs answered errcode 0
        self._faults: list[_Fault] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- scripting ------------------------------------------------------------------

    def fail(self, *, errcode: int = 0, status: int = 200, times: int = 1) -> None:
        """Answer the next ``times`` requests with ``status`` and (for 200) ``errcode``."""
        with self._lock:
            self._faults += [_Fault(status, errcode)] * times

    @property
    def base_url(self) -> str:
        assert self._server is not None, "server not started"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # -- lifecycle ------------------------------------------------------------------

    def start(self) -> FakeWeCom:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                fake._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # request lines carry the key: keep them out of test output

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeWeCom:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the endpoint ---------------------------------------------------------------

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        url = urlsplit(request.path)
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length)
        if url.path != "/cgi-bin/webhook/send":
            self._answer(request, 404, None)
            return
        key = parse_qs(url.query).get("key", [""])[0]
        try:
            body = json.loads(raw)
        except ValueError:
            self._answer(request, 200, 40008)  # WeCom: "invalid message type" / bad JSON
            return
        post = Post(key, body if isinstance(body, dict) else {})
        with self._lock:
            self.posts.append(post)
            fault = self._faults.pop(0) if self._faults else None
        if fault is not None:
            self._answer(request, fault.status, fault.errcode)
            return
        errcode = self._validate(post)
        if errcode == 0:
            with self._lock:
                self.delivered.append(post)
        self._answer(request, 200, errcode)

    def _validate(self, post: Post) -> int:
        if not post.key or (self.keys is not None and post.key not in self.keys):
            return 93000
        if post.msgtype == "markdown":
            content = post.body.get("markdown", {}).get("content", "")
            if not isinstance(content, str) or not content:
                return 40008
            return 40058 if len(content.encode("utf-8")) > MARKDOWN_LIMIT else 0
        if post.msgtype == "image":
            image = post.body.get("image", {})
            try:
                data = base64.b64decode(image.get("base64", ""), validate=True)
            except ValueError:
                return 40009
            if not data or len(data) > IMAGE_LIMIT:
                return 40009
            return 0 if hashlib.md5(data).hexdigest() == image.get("md5") else 301019
        return 40008

    @staticmethod
    def _answer(request: BaseHTTPRequestHandler, status: int, errcode: int | None) -> None:
        if status == 200 and errcode is not None:
            payload = json.dumps({"errcode": errcode, "errmsg": ERRMSG.get(errcode, "error")})
            ctype = "application/json; charset=utf-8"
        else:
            payload = "<html><body>server error</body></html>"
            ctype = "text/html"
        data = payload.encode("utf-8")
        request.send_response(status)
        request.send_header("Content-Type", ctype)
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)
