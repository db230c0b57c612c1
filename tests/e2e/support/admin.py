"""The admin API client (SPEC §6) and the Prometheus text format (SPEC §7) as tests read them.

    api = gw.admin(token="t0k")
    api.get("/config").json()["generation"]
    m = api.metrics()                      # parsed, with the raw text in m.text
    m.value("turnpike_config_generation")
    m.value("turnpike_http_requests_total", route="a", method="GET", status="200")
    promtool_check(m.text)                 # (ok, output)
"""
from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from typing import Optional

from . import client

PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"


class Admin:
    def __init__(self, port: int, token: Optional[str] = None):
        self.port = port
        self.token = token

    _DEFAULT = object()

    def request(self, method: str, path: str, body: bytes | str = b"", token=_DEFAULT,
                headers=(), content_type: Optional[str] = None,
                timeout: float = client.DEFAULT_TIMEOUT) -> client.Response:
        """One request on a fresh connection. `token` defaults to the client's; None sends no
        Authorization; a string sends `Bearer <string>`."""
        token = self.token if token is Admin._DEFAULT else token
        hdrs = list(headers)
        if token is not None:
            hdrs.append(("Authorization", f"Bearer {token}"))
        if isinstance(body, str):
            body = body.encode()
        if body and content_type:
            hdrs.append(("Content-Type", content_type))
        if method in ("POST", "PUT") and not body:
            hdrs.append(("Content-Length", "0"))
        return client.request(self.port, method, path, headers=hdrs, body=body,
                              host=f"127.0.0.1:{self.port}", timeout=timeout)

    def get(self, path: str, **kwargs) -> client.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: bytes | str, content_type: str = "application/yaml",
             **kwargs) -> client.Response:
        return self.request("POST", path, body=body, content_type=content_type, **kwargs)

    def get_json(self, path: str, **kwargs):
        """GET that must answer 200 with a JSON body."""
        resp = self.get(path, **kwargs)
        assert resp.status == 200, f"GET {path}: {resp!r}"
        ctype = (resp.header("Content-Type") or "").split(";")[0].strip()
        assert ctype == "application/json", f"GET {path}: Content-Type {ctype!r}"
        return resp.json()

    def metrics(self) -> "Metrics":
        resp = self.get("/metrics")
        assert resp.status == 200, f"GET /metrics: {resp!r}"
        return parse_metrics(resp.body.decode())

    def generation(self) -> int:
        return int(self.get_json("/config")["generation"])

    def reloads(self) -> tuple[int, int]:
        """(success, failure) of turnpike_config_reloads_total."""
        m = self.metrics()
        return (int(m.value("turnpike_config_reloads_total", result="success")),
                int(m.value("turnpike_config_reloads_total", result="failure")))

    def wait_generation(self, n: int, timeout: float = 2.0) -> float:
        """Waits until the running generation is at least n; returns the seconds it took."""
        start = time.monotonic()
        client.wait_until(lambda: self.generation() >= n, timeout=timeout, interval=0.02,
                          what=f"config generation {n}")
        return time.monotonic() - start

    def wait_reloads(self, success: int, failure: int, timeout: float = 2.0) -> None:
        """Waits until the reload counters reach (success, failure); more than that fails."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.reloads()
            assert got[0] <= success and got[1] <= failure, (
                f"turnpike_config_reloads_total (success, failure) = {got}, "
                f"expected at most {(success, failure)}")
            if got == (success, failure):
                return
            if time.monotonic() >= deadline:
                raise AssertionError(f"turnpike_config_reloads_total (success, failure) = {got} "
                                     f"after {timeout}s, expected {(success, failure)}")
            time.sleep(0.02)


# -- Prometheus text format 0.0.4 ------------------------------------------------------------

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?[ \t]+(\S+)(?:[ \t]+(-?\d+))?$")
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,|$)')


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n"}.get(m[1], m[1]), value)


def _labels(text: str) -> dict[str, str]:
    out = {}
    pos = 0
    while pos < len(text):
        m = _LABEL.match(text, pos)
        assert m, f"malformed labels {text!r} at {pos}"
        assert m[1] not in out, f"label {m[1]} repeated in {text!r}"
        out[m[1]] = _unescape(m[2])
        pos = m.end()
    return out


def _number(text: str) -> float:
    return {"+Inf": math.inf, "-Inf": -math.inf, "NaN": math.nan}.get(text) or float(text)


@dataclass
class Metrics:
    text: str
    samples: list[tuple[str, dict, float]] = field(default_factory=list)
    types: dict[str, str] = field(default_factory=dict)
    helps: dict[str, str] = field(default_factory=dict)

    def select(self, name: str, **labels) -> list[tuple[dict, float]]:
        """Samples of `name` whose labels include `labels`."""
        return [(lab, v) for n, lab, v in self.samples
                if n == name and all(lab.get(k) == str(val) for k, val in labels.items())]

    def value(self, name: str, **labels) -> float:
        """The one sample of `name` with exactly these labels (an AssertionError otherwise)."""
        found = [v for lab, v in self.select(name, **labels) if set(lab) == set(labels)]
        assert len(found) == 1, (f"{len(found)} samples of {name}{labels}; samples of {name}: "
                                 f"{self.select(name)}")
        return found[0]

    def get(self, name: str, default=None, **labels):
        found = [v for lab, v in self.select(name, **labels) if set(lab) == set(labels)]
        return found[0] if found else default

    def total(self, name: str, **labels) -> float:
        return sum(v for _, v in self.select(name, **labels))

    def histogram(self, name: str, **labels) -> tuple[list[tuple[float, float]], float, float]:
        """(buckets as [(le, cumulative count)] in file order, _sum, _count) of one series."""
        buckets = []
        for lab, v in self.select(name + "_bucket", **labels):
            if set(lab) == set(labels) | {"le"}:
                buckets.append((_number(lab["le"]), v))
        return buckets, self.value(name + "_sum", **labels), self.value(name + "_count", **labels)


def parse_metrics(text: str) -> Metrics:
    m = Metrics(text=text)
    for line in text.splitlines():
        if not line.strip():
            continue
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) >= 3 and parts[1] == "TYPE":
                m.types[parts[2]] = parts[3].strip() if len(parts) > 3 else ""
            elif len(parts) >= 3 and parts[1] == "HELP":
                m.helps[parts[2]] = parts[3] if len(parts) > 3 else ""
            continue
        s = _SAMPLE.match(line)
        assert s, f"not a Prometheus sample line: {line!r}"
        m.samples.append((s[1], _labels(s[2] or ""), _number(s[3])))
    return m


def promtool_check(text: str) -> tuple[bool, str]:
    """`promtool check metrics` on the text: (passed, what it said)."""
    r = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=20)
    return r.returncode == 0, (r.stdout + r.stderr).strip()


def dumps(doc) -> str:
    return json.dumps(doc, indent=1, sort_keys=True)
