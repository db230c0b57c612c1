"""The origin and the three proxies: config rendering, start, readiness, versions.

Templates live in bench/conf/ and use {{NAME}} placeholders (nginx and HAProxy use
`$` themselves, so string.Template is not used).
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from . import http1
from .procs import Server, free_port

CONF_DIR = Path(__file__).resolve().parent.parent / "conf"

# The origin's answer: exactly 100 bytes.
_PREFIX = "turnpike bench origin: the same fixed body for every request "
ORIGIN_BODY = _PREFIX + "." * (99 - len(_PREFIX)) + "\n"
assert len(ORIGIN_BODY) == 100, len(ORIGIN_BODY)

PROXIES = ("nginx", "haproxy", "turnpike", "turnpike-log", "turnpike-ratelimit", "turnpike-auth")

# turnpike with one thing switched on, compared with plain turnpike in the same rounds: its
# config template, and for RESULTS.md a heading, what it adds, and a short label.
VARIANTS = {
    "turnpike-log": ("turnpike-log.yaml", "What the access log costs",
                     "its access log written to a file (one JSON line per request, through the "
                     "per-worker ring and the writer thread)", "access log cost"),
    "turnpike-ratelimit": ("turnpike-ratelimit.yaml", "What a rate limit costs",
                           "a local `rate_limit` on every request (`key: ip`, set high enough "
                           "that nothing is refused)", "rate limit cost"),
    "turnpike-auth": ("turnpike-auth.yaml", "What authentication costs",
                      "`key_auth` and `jwt` (RS256, one token repeated: a per-worker cache hit "
                      "after the first request) on every request", "jwt + key_auth cost"),
}


def auth_material(prefix: Path) -> tuple[Path, str]:
    """An RSA key pair for the auth variant: the public key's file, and the query that carries
    an API key and a token signed with the private key (valid for a day)."""
    import time

    import jwt
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(65537, 2048)
    pem = prefix / "jwt-public.pem"
    prefix.mkdir(parents=True, exist_ok=True)
    pem.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    now = int(time.time())
    token = jwt.encode({"iss": "https://bench.test", "sub": "bench", "iat": now,
                        "exp": now + 86400}, key, algorithm="RS256")
    return pem, f"apikey=bench-key-0123456789abcdef&access_token={token}"


def render(template: str, dest: Path, **values) -> Path:
    text = (CONF_DIR / template).read_text()
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", str(value))
    left = re.findall(r"\{\{\w+\}\}", text)
    if left:
        raise ValueError(f"{template}: unfilled placeholders {sorted(set(left))}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(text)
    return dest


def _nginx_argv(prefix: Path, conf: Path) -> list[str]:
    # -e: the startup error log (before the conf is read) also goes under our prefix.
    return ["nginx", "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log"),
            "-g", "daemon off; master_process on;"]


def origin_server(out: Path) -> Server:
    prefix = out / "origin"
    port = free_port()
    conf = render("origin-nginx.conf", prefix / "nginx.conf",
                  PREFIX=prefix, PORT=port, BODY=ORIGIN_BODY.replace("\n", "\\n"))
    return Server("origin", _nginx_argv(prefix, conf), prefix, port, has_workers=True)


def proxy_server(name: str, out: Path, origin_port: int, nofile: int, maxconn: int,
                 turnpike_bin: str) -> Server:
    """nofile: the fd limit the proxy inherits; maxconn: client connections it must accept."""
    prefix = out / name
    port = free_port()
    values = dict(PREFIX=prefix, PORT=port, ORIGIN_PORT=origin_port, NOFILE=nofile, MAXCONN=maxconn)
    if name == "nginx":
        conf = render("proxy-nginx.conf", prefix / "nginx.conf", **values)
        return Server(name, _nginx_argv(prefix, conf), prefix, port, has_workers=True)
    if name == "haproxy":
        conf = render("haproxy.cfg", prefix / "haproxy.cfg", **values)
        return Server(name, ["haproxy", "-f", str(conf), "-db"], prefix, port)
    if name == "turnpike":
        conf = render("turnpike.yaml", prefix / "turnpike.yaml", **values)
        return Server(name, [turnpike_bin, "--config", str(conf)], prefix, port)
    if name in VARIANTS:  # the same with one thing switched on
        query = ""
        if name == "turnpike-auth":
            values["PUBLIC_KEY"], query = auth_material(prefix)
        conf = render(VARIANTS[name][0], prefix / "turnpike.yaml", **values)
        return Server(name, [turnpike_bin, "--config", str(conf)], prefix, port, query=query)
    raise ValueError(name)


@dataclass
class StartOutcome:
    ok: bool
    reason: str = ""   # why it was not measured, for the output and RESULTS.md


def start_and_wait(server: Server, path: str, deadline_s: float) -> StartOutcome:
    """Start the server and poll TCP connect + GET until it answers 200."""
    exe = server.argv[0]
    if os.sep in exe:
        if not os.path.isfile(exe):
            return StartOutcome(False, f"binary {exe} does not exist")
        if not os.access(exe, os.X_OK):
            return StartOutcome(False, f"binary {exe} is not executable")
    elif shutil.which(exe) is None:
        return StartOutcome(False, f"`{exe}` is not on PATH")
    try:
        server.start()
    except OSError as e:
        return StartOutcome(False, f"could not start {exe}: {e}")
    if server.query:
        path += ("&" if "?" in path else "?") + server.query
    ok, why = http1.wait_ready(server.port, path, deadline_s, alive=server.alive)
    if not ok:
        detail = why if server.alive() else f"it {server.exit_description()} ({why})"
        tail = server.stderr_tail()
        if tail:
            detail += f"; its output ends with: {tail!r}"
        server.stop()
        return StartOutcome(False, f"did not answer on 127.0.0.1:{server.port}: {detail}")
    server.discover_workers()
    body_status = _check_body(server.port, path)
    if body_status:
        server.stop()
        return StartOutcome(False, body_status)
    return StartOutcome(True)


def _check_body(port: int, path: str) -> str:
    """The proxied answer must be the origin's 100 bytes (else we'd bench an error page)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            status, _, body = http1.get(s, port, path)
    except (OSError, http1.HttpError, ValueError) as e:
        return (f"answered the readiness GET on 127.0.0.1:{port} with 200, but a second GET "
                f"on a new connection failed: {e}")
    if status != 200 or body != ORIGIN_BODY.encode():
        return f"answers HTTP {status} with a {len(body)}-byte body, not the origin's 100 bytes"
    return ""


# ---------------------------------------------------------------------------
# Versions
# ---------------------------------------------------------------------------

def _first_line(argv: list[str]) -> str:
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"unknown ({type(e).__name__})"
    text = (r.stdout + r.stderr).strip()
    if not text:
        return f"(no output, exit code {r.returncode})"
    return text.splitlines()[0]


def versions(turnpike_bin: str) -> dict[str, str]:
    v = {
        "nginx": _first_line(["nginx", "-v"]),
        "haproxy": _first_line(["haproxy", "-v"]),
        "wrk": _first_line(["wrk", "-v"]),
    }
    if os.path.isfile(turnpike_bin) and os.access(turnpike_bin, os.X_OK):
        v["turnpike"] = _first_line([turnpike_bin, "version"])
    else:
        v["turnpike"] = f"(no binary at {turnpike_bin})"
    for name in VARIANTS:
        v[name] = v["turnpike"]
    return v
