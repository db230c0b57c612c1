"""Reading turnpike's JSON-lines logs (SPEC §8) from the files the tests capture them in.

Access log lines are told from error-log lines by their keys: an access line has `request_id`
and no `level`. The access log is written by a background thread, so every read that expects a
line waits for it, with a deadline.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Iterable

WAIT = 3.0

# SPEC §8, in the order the spec lists them.
ACCESS_FIELDS = ("time", "request_id", "trace_id", "span_id", "client_ip", "method", "host",
                 "path", "route", "upstream", "target", "status", "bytes_in", "bytes_out",
                 "duration_ms", "upstream_ms", "consumer", "user_agent", "error")


def json_lines(path) -> list[dict]:
    """Every complete line of `path` parsed as JSON; a line that is not JSON fails the test
    (every log line must be one JSON object). A missing file has no lines."""
    path = Path(path)
    if not path.exists():
        return []
    data = path.read_bytes()
    out = []
    for raw in data.split(b"\n")[:-1]:  # the last piece is empty or a line still being written
        if not raw.strip():
            continue
        try:
            doc = json.loads(raw)
        except ValueError:
            raise AssertionError(f"{path}: log line is not JSON: {raw[:300]!r}") from None
        assert isinstance(doc, dict), f"{path}: log line is not an object: {raw[:300]!r}"
        out.append(doc)
    return out


def access_lines(path) -> list[dict]:
    return [d for d in json_lines(path) if "request_id" in d and "level" not in d]


def error_lines(path) -> list[dict]:
    return [d for d in json_lines(path) if "level" in d]


def wait_for_ids(path, request_ids: Iterable[str], timeout: float = WAIT) -> dict[str, dict]:
    """The access lines for every id in `request_ids` (waiting for the writer thread); an id
    logged more than once fails."""
    wanted = set(request_ids)
    deadline = time.monotonic() + timeout
    while True:
        lines = access_lines(path)
        found: dict[str, dict] = {}
        for line in lines:
            rid = line.get("request_id")
            if rid in wanted:
                assert rid not in found, f"request {rid} logged twice:\n{found[rid]}\n{line}"
                found[rid] = line
        if len(found) == len(wanted):
            return found
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"no access log line within {timeout}s for {sorted(wanted - set(found))} in "
                f"{path}; last lines: {lines[-5:]}")
        time.sleep(0.02)


def wait_count(path, n: int, timeout: float = WAIT) -> list[dict]:
    """Waits until `path` holds at least n access lines; returns them."""
    deadline = time.monotonic() + timeout
    while True:
        lines = access_lines(path)
        if len(lines) >= n:
            return lines
        if time.monotonic() >= deadline:
            raise AssertionError(f"{path}: {len(lines)} access lines after {timeout}s, "
                                 f"expected {n}: {lines[-5:]}")
        time.sleep(0.02)
