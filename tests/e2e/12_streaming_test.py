"""Bodies are streamed, never buffered whole (SPEC §4): 100 MiB each way through the gateway
with its resident memory sampled the whole time. The far end starts slowly (the upstream waits
before reading, the client before reading), so a gateway without backpressure would have to hold
the body."""
import hashlib
import os
import threading
import time

import pytest

from support.upstream import by_path, echo, pattern_blocks, pattern_sha256, respond, stream

MiB = 1024 * 1024
SIZE = 100 * MiB
RSS_LIMIT = 40 * MiB
if os.environ.get("TURNPIKE_SANITIZED"):
    # Under AddressSanitizer (make test-asan) RSS also holds shadow memory and the quarantine of
    # freed blocks, which grow with traffic, not with buffering: the release run asserts the 40 MiB
    # bound; here the bound still tells a streamed body (tens of MiB) from a buffered one (100+).
    RSS_LIMIT = 80 * MiB

CONFIG = """
server:
  listeners: [{name: public, address: "$listen"}]
  limits: {max_body_bytes: 200MiB}
routes:
  - {path: "/**", upstream: "$up"}
"""


class RssSampler:
    """Samples the gateway's VmRSS every few milliseconds in a thread."""

    def __init__(self, gw, interval: float = 0.005):
        self.gw = gw
        self.interval = interval
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            try:
                self.samples.append(self.gw.rss_bytes())
            except (OSError, AssertionError):
                return
            time.sleep(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=2)

    def check(self, limit: int, min_samples: int = 20):
        assert len(self.samples) >= min_samples, f"only {len(self.samples)} RSS samples"
        peak = max(self.samples)
        print(f"RSS samples={len(self.samples)} min={min(self.samples)/MiB:.1f} peak={peak/MiB:.1f} MiB")
        assert peak < limit, (f"gateway RSS peaked at {peak / MiB:.1f} MiB during a "
                              f"{SIZE // MiB} MiB transfer (limit {limit / MiB:.0f} MiB)")
        return peak


@pytest.mark.parametrize("framing", ["length", "chunked"])
def test_100MiB_upload_streams_with_flat_memory(gateway, upstream, framing):
    up = upstream(echo, store_limit=0, body_delay=0.5)
    gw = gateway(CONFIG, up=up.url)
    expected = pattern_sha256(SIZE)
    baseline = gw.rss_bytes()

    with gw.conn(timeout=60) as c, RssSampler(gw) as rss:
        framing_header = (f"Content-Length: {SIZE}" if framing == "length"
                          else "Transfer-Encoding: chunked")
        c.send(f"PUT /upload HTTP/1.1\r\nHost: t\r\n{framing_header}\r\n"
               f"Content-Type: application/octet-stream\r\n\r\n".encode())
        sent = hashlib.sha256()
        for piece in pattern_blocks(SIZE):
            sent.update(piece)
            if framing == "length":
                c.send(piece)
            else:
                c.send(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        if framing == "chunked":
            c.send(b"0\r\n\r\n")
        resp = c.read_response(timeout=60)

    assert resp.status == 200, resp
    doc = resp.json()
    assert sent.hexdigest() == expected
    assert doc["chunked"] == (framing == "chunked")
    assert doc["body_len"] == SIZE
    assert doc["body_sha256"] == expected, "upload arrived corrupted at the upstream"
    assert doc["method"] == "PUT"
    peak = rss.check(RSS_LIMIT)
    assert peak - baseline < 32 * MiB, (
        f"RSS grew by {(peak - baseline) / MiB:.1f} MiB (baseline {baseline / MiB:.1f} MiB)")


@pytest.mark.parametrize("framing", ["length", "chunked"])
def test_100MiB_download_streams_with_flat_memory(gateway, upstream, framing):
    up = upstream(by_path({"/download": stream(SIZE, mode=framing)},
                          default=respond(200, b"small")))
    gw = gateway(CONFIG, up=up.url)
    expected = pattern_sha256(SIZE)
    baseline = gw.rss_bytes()

    got = hashlib.sha256()
    received = 0

    def sink(data: bytes):
        nonlocal received
        received += len(data)
        got.update(data)

    with gw.conn(timeout=60) as c, RssSampler(gw) as rss:
        c.send(b"GET /download HTTP/1.1\r\nHost: t\r\n\r\n")
        resp = c.read_head(timeout=10)
        assert resp.status == 200, resp
        if framing == "length":
            assert resp.header("Content-Length") == str(SIZE)
        else:
            assert resp.header("Transfer-Encoding") == "chunked"
        time.sleep(0.5)  # the upstream can write far faster than this client reads
        c.read_body(resp, timeout=60, sink=sink)
        assert resp.framing == framing
        # The connection is still good for another request.
        again = c.request("GET", "/small")
        assert (again.status, again.body) == (200, b"small")

    assert received == SIZE
    assert got.hexdigest() == expected, "download arrived corrupted at the client"
    peak = rss.check(RSS_LIMIT)
    assert peak - baseline < 32 * MiB, (
        f"RSS grew by {(peak - baseline) / MiB:.1f} MiB (baseline {baseline / MiB:.1f} MiB)")
