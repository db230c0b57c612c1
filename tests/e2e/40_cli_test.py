"""The command line and the process lifecycle (SPEC §1)."""
import re
import signal
import socket
import threading
import time

import pytest

from support.client import port_accepts, wait_until
from support.gateway import free_port, render, run_cli
from support.upstream import by_path, echo, respond

GOOD = """
server:
  listeners: [{name: public, address: "127.0.0.1:18080"}]
  limits: {max_body_bytes: 10MiB, header_timeout: 5s}
upstreams:
  users:
    targets: ["127.0.0.1:9001"]
    timeouts: {connect: 1s, response_header: 30s}
routes:
  - {name: users, paths: ["/api/users/**"], upstream: users, strip_prefix: true}
  - {name: echo, path: "/echo", upstream: "builtin:echo"}
"""

# Errors in different sections: an unknown key, two bad durations, unknown upstreams, and a
# route whose unknown upstream must not hide its bad path pattern and regex.
BAD = """
server:
  listeners: [{name: public, address: "$listen"}]
  limits: {header_timeout: 10 parsecs, max_header_byte: 1}
routes:
  - {name: a, path: "/**", upstream: nope}
  - {name: b, path: "/x", upstream: "builtin:echo", timeout: soon}
  - {name: c, paths: ["/api/{id"], regex: "(a", upstream: userz}
"""
BAD_PATHS = {"server.limits.max_header_byte", "server.limits.header_timeout",
             "routes[0].upstream", "routes[1].timeout", "routes[2].paths[0]", "routes[2].regex",
             "routes[2].upstream"}

ERROR_LINE = re.compile(r"^(\S+): (.+)$")


def error_paths(stderr: str) -> set[str]:
    lines = [line for line in stderr.splitlines() if line.strip()]
    for line in lines:
        assert ERROR_LINE.match(line), f"not a 'PATH: message' line: {line!r}"
    return {ERROR_LINE.match(line)[1] for line in lines}


def test_validate_good_config(tmp_path):
    path = tmp_path / "good.yaml"
    path.write_text(render(GOOD))
    r = run_cli("validate", "--config", str(path))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "config OK"
    assert r.stderr == ""


def test_validate_bad_config_lists_every_error(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(render(BAD, listen="127.0.0.1:18080"))
    r = run_cli("validate", "--config", str(path))
    assert r.returncode == 1
    assert "config OK" not in r.stdout
    paths = error_paths(r.stderr)
    assert BAD_PATHS <= paths, f"missing errors for {BAD_PATHS - paths}:\n{r.stderr}"
    assert len(r.stderr.strip().splitlines()) == len(BAD_PATHS), r.stderr


def test_validate_reports_a_missing_environment_variable(tmp_path):
    path = tmp_path / "env.yaml"
    path.write_text(render("""
        server:
          listeners: [{name: public, address: "127.0.0.1:$${TP_E2E_PORT_UNSET}"}]
        routes:
          - {path: "/**", upstream: "builtin:echo"}
    """))
    r = run_cli("validate", "--config", str(path))
    assert r.returncode == 1
    assert "server.listeners[0].address" in error_paths(r.stderr), r.stderr


def test_validate_unreadable_file(tmp_path):
    r = run_cli("validate", "--config", str(tmp_path / "missing.yaml"))
    assert r.returncode == 1
    assert error_paths(r.stderr), r.stderr


def test_version():
    r = run_cli("version")
    assert r.returncode == 0, r.stderr
    assert re.match(r"^turnpike \S+", r.stdout), r.stdout


def test_bad_config_at_startup_exits_1_and_binds_nothing(gateway):
    port = free_port()
    gw = gateway(BAD, start=False)
    gw.launch(port=port)
    seen_listening = False
    deadline = time.monotonic() + 10
    while gw.proc.poll() is None and time.monotonic() < deadline:
        seen_listening = seen_listening or port_accepts(port, timeout=0.05)
        time.sleep(0.005)
    assert gw.wait(timeout=1) == 1, gw.logs()
    assert not seen_listening, "the port accepted connections with a bad config"
    paths = error_paths(gw.stderr_path.read_text())
    assert BAD_PATHS <= paths, gw.logs()
    with socket.socket() as s:  # the port is free
        s.bind(("127.0.0.1", port))


def test_port_already_in_use_exits_1(gateway):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(8)
        port = holder.getsockname()[1]
        gw = gateway("""
            routes:
              - {path: "/**", upstream: "builtin:echo"}
        """, start=False)
        gw.launch(port=port)
        assert gw.wait(timeout=10) == 1, gw.logs()
        assert str(port) in gw.logs(), "the error does not name the address"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_stops_with_exit_0(gateway, sig):
    gw = gateway("""
        routes:
          - {path: "/**", upstream: "builtin:echo"}
    """, workers=2)
    assert gw.request("GET", "/x").status == 200
    gw.send_signal(sig)
    assert gw.wait(timeout=5) == 0, gw.logs()
    assert not port_accepts(gw.port)


def test_sigterm_closes_idle_keepalive_connections_and_exits(gateway):
    gw = gateway("""
        routes:
          - {path: "/**", upstream: "builtin:echo"}
    """)
    with gw.conn() as c:
        assert c.request("GET", "/x").status == 200
        gw.send_signal(signal.SIGTERM)
        assert c.wait_closed(timeout=3), "idle keep-alive connection kept open while draining"
        # drain_timeout is the default 30s: an idle connection must not hold the exit.
        assert gw.wait(timeout=5) == 0, gw.logs()


def test_sigterm_lets_the_request_in_flight_finish(gateway, upstream):
    up = upstream(by_path({"/slow": respond(200, b"finished", delay=1.0)}, default=echo))
    gw = gateway("""
        routes:
          - {path: "/**", upstream: "$up"}
    """, up=up.url)
    result = {}

    def call():
        try:
            result["resp"] = gw.request("GET", "/slow", timeout=5)
        except Exception as e:  # reported below
            result["error"] = e

    t = threading.Thread(target=call)
    t.start()
    up.wait_requests(1)
    gw.send_signal(signal.SIGTERM)
    wait_until(lambda: not port_accepts(gw.port, timeout=0.05), timeout=1,
               what="the listener to close after SIGTERM")
    assert gw.alive(), "exited with a request in flight"
    t.join(timeout=5)
    assert "error" not in result, result.get("error")
    assert result["resp"].status == 200 and result["resp"].body == b"finished"
    assert gw.wait(timeout=5) == 0, gw.logs()
