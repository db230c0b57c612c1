"""An OTLP/HTTP JSON trace receiver in a thread (127.0.0.1:<free port>), for tracing tests.

It records every POST (path, Content-Type, decoded body) and flattens the spans:

    rx = stack.otlp()      # or the `otlp` fixture
    gw = gateway(... endpoint: "$otlp" ..., otlp=rx.endpoint)
    spans = rx.wait_spans(lambda s: s["traceId"] == tid, count=2)
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Post:
    path: str
    content_type: str
    doc: object
    received_at: float


def attributes(items) -> dict:
    """OTLP [{key, value: {stringValue|intValue|...}}] -> {key: python value}."""
    out = {}
    for a in items or []:
        v = a.get("value", {})
        if "stringValue" in v:
            out[a["key"]] = v["stringValue"]
        elif "intValue" in v:
            out[a["key"]] = int(v["intValue"])  # int64 is a JSON string in OTLP/JSON
        elif "doubleValue" in v:
            out[a["key"]] = float(v["doubleValue"])
        elif "boolValue" in v:
            out[a["key"]] = bool(v["boolValue"])
        else:
            out[a["key"]] = v
    return out


class OtlpReceiver:
    def __init__(self, status: int = 200):
        self.status = status
        self.lock = threading.Lock()
        self.posts: list[Post] = []
        self.errors: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                try:
                    doc = json.loads(body)
                except ValueError as e:
                    with receiver.lock:
                        receiver.errors.append(f"not JSON ({e}): {body[:200]!r}")
                    doc = None
                with receiver.lock:
                    receiver.posts.append(Post(self.path, self.headers.get("Content-Type", ""),
                                               doc, time.monotonic()))
                out = b"{}"
                self.send_response(receiver.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True,
                                       name=f"otlp-{self.port}")
        self.thread.start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/traces"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=2)

    def spans(self) -> list[dict]:
        """Every span received, each with `resource` (attributes dict), `scope`, `attrs`
        (attributes dict) and `received_at` added."""
        out = []
        with self.lock:
            posts = list(self.posts)
        for post in posts:
            doc = post.doc if isinstance(post.doc, dict) else {}
            for rs in doc.get("resourceSpans", []):
                resource = attributes(rs.get("resource", {}).get("attributes"))
                for ss in rs.get("scopeSpans", []):
                    for span in ss.get("spans", []):
                        s = dict(span)
                        s["resource"] = resource
                        s["scope"] = ss.get("scope", {})
                        s["attrs"] = attributes(span.get("attributes"))
                        s["received_at"] = post.received_at
                        out.append(s)
        return out

    def wait_spans(self, predicate, count: int, timeout: float = 3.0) -> list[dict]:
        """Waits until at least `count` received spans satisfy `predicate`; returns them."""
        deadline = time.monotonic() + timeout
        while True:
            found = [s for s in self.spans() if predicate(s)]
            if len(found) >= count:
                return found
            if time.monotonic() >= deadline:
                raise AssertionError(f"{len(found)} matching spans after {timeout}s, expected "
                                     f"{count}; {len(self.spans())} spans received in "
                                     f"{len(self.posts)} posts")
            time.sleep(0.02)
