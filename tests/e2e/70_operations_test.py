"""Day-one operations (issue 15): one owner per address, GET /config reporting what runs,
the dump -> POST round trip, debug logging, the open-file limit and the first error messages a
new user meets, each through the real binary."""
import json
import resource
import signal
import time

import pytest

from support.client import port_accepts, wait_until
from support.gateway import free_port, run_cli
from support.logs import error_lines

ECHO = """
server:
  listeners: [{name: public, address: "$listen"}]
admin: {address: "$admin"}
routes:
  - {name: $name, path: "/**", upstream: "builtin:echo"}
"""


def route_of(resp) -> str:
    return resp.json()["route"]


def warnings(gw, text: str) -> list[dict]:
    return [d for d in error_lines(gw.stderr_path) if d["level"] == "warn" and text in d["msg"]]


# -- one owner per address ----------------------------------------------------------------

@pytest.mark.parametrize("which", ["listener", "admin"])
def test_second_instance_on_a_held_address_exits_1_and_the_first_serves_alone(gateway, which):
    first = gateway(ECHO, workers=2, name="first")
    held = first.port if which == "listener" else first.admin_port
    if which == "listener":
        second = gateway("routes: [{name: second, path: '/**', upstream: 'builtin:echo'}]",
                         start=False)
        second.launch(port=held)
    else:
        second = gateway(f"""
            admin: {{address: "127.0.0.1:{held}"}}
            routes: [{{name: second, path: '/**', upstream: 'builtin:echo'}}]
        """, start=False)
        second.launch()
    assert second.wait(timeout=10) == 1, second.logs()
    text = second.stderr_path.read_text()
    assert f"127.0.0.1:{held}" in text, text
    assert f"in use by another turnpike process (pid {first.pid})" in text, text
    # Every new connection still reaches the first gateway (its two workers share the port).
    assert {route_of(first.request("GET", f"/{i}")) for i in range(40)} == {"first"}
    assert first.admin().get_json("/config")["config"]["routes"][0]["name"] == "first"


def test_public_listener_on_another_gateways_admin_address_is_refused(gateway):
    first = gateway(ECHO, name="first")
    second = gateway("routes: [{path: '/**', upstream: 'builtin:echo'}]", start=False)
    second.launch(port=first.admin_port)
    assert second.wait(timeout=10) == 1, second.logs()
    assert f"127.0.0.1:{first.admin_port}" in second.stderr_path.read_text()
    assert first.admin().get("/health").status == 200


def test_address_held_by_another_program_says_so(gateway):
    import socket
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        holder.bind(("127.0.0.1", 0))
        holder.listen(4)
        port = holder.getsockname()[1]
        gw = gateway("routes: [{path: '/**', upstream: 'builtin:echo'}]", start=False)
        gw.launch(port=port)
        assert gw.wait(timeout=10) == 1, gw.logs()
        assert (f"cannot listen on 127.0.0.1:{port}: Address already in use (another program "
                f"listens on it)") in gw.stderr_path.read_text()


# -- GET /config reports what runs --------------------------------------------------------

def test_listener_change_shows_running_and_pending_and_every_reload_path_warns(gateway):
    gw = gateway(ECHO, name="r")
    api = gw.admin()
    new_port = free_port()
    changed = ECHO.replace("$listen", f"127.0.0.1:{new_port}").replace("$name", "r2")
    gw.write_config(changed)
    api.wait_generation(2)
    doc = api.get_json("/config")
    assert doc["config"]["server"]["listeners"] == [
        {"name": "public", "address": f"127.0.0.1:{gw.port}"}]
    assert doc["restart_required"] == ["server.listeners"]
    assert doc["pending"] == {
        "server.listeners": [{"name": "public", "address": f"127.0.0.1:{new_port}"}]}
    assert doc["config"]["routes"][0]["name"] == "r2"  # the rest was applied
    assert route_of(gw.request("GET", "/")) == "r2"
    assert not port_accepts(new_port)

    gw.send_signal(signal.SIGHUP)
    api.wait_generation(3)
    posted = api.post("/config", gw.config_path.read_text())
    assert posted.status == 200, posted
    wait_until(lambda: len(warnings(gw, "wait for a restart")) >= 3, timeout=2,
               what="a warning per reload")
    lines = warnings(gw, "wait for a restart")
    assert [d["cause"] for d in lines] == ["file changed", "SIGHUP", "admin API"]
    for d in lines:
        assert d["restart_required"] == "server.listeners"
        assert f"127.0.0.1:{new_port}" in d["pending"] and f"127.0.0.1:{gw.port}" in d["pending"]

    # Back to the running address: nothing is pending any more.
    gw.write_config(ECHO, name="r3")
    api.wait_generation(5)
    doc = api.get_json("/config")
    assert (doc["restart_required"], doc["pending"]) == ([], {})


def test_listener_renamed_to_text_that_is_not_utf8_is_refused_and_the_gateway_lives(gateway):
    # Found by fuzzing the loader: a restart-only setting changed to bytes that are not UTF-8
    # once threw while the reload's pending-restart warning was formatted, ending the process.
    gw = gateway(ECHO, name="r")
    api = gw.admin()
    text = gw.config_path.read_bytes().replace(b"name: public", b"name: p\xff\xfeq")
    posted = api.post("/config", text)
    assert posted.status == 400, posted
    assert posted.json()["errors"] == [
        {"path": "server.listeners[0].name", "message": "not valid UTF-8 text"}]
    api.wait_reloads(0, 1)
    assert gw.alive()
    assert route_of(gw.request("GET", "/")) == "r"


# -- round trip ---------------------------------------------------------------------------

ROUND_TRIP = """
server:
  listeners: [{name: public, address: "$listen"}]
  limits: {max_body_bytes: 1MiB, idle_timeout: 1m30s}
  trusted_proxies: [10.0.0.0/8]
admin: {address: "$admin", token: "s3cret"}
upstreams:
  users:
    targets: [{address: "127.0.0.1:9", weight: 2}, "127.0.0.1:10"]
    retries: {attempts: 1, on: [connect_failure, 503]}
consumers: [{name: app, keys: [key-one, key-two], groups: [premium]}]
plugins: {access_log: {enabled: true}}
routes:
  - {name: users, hosts: ["*.example.com"], methods: [GET], paths: ["/users/{id}"],
     headers: {X-Version: "2"}, upstream: users, timeout: 5s}
  - {name: legacy, path: "/v1/**", upstream: "http://127.0.0.1:9/api", strip_prefix: true}
  - {name: rx, regex: '^/v2/\\d+$', upstream: "builtin:echo"}
"""


def test_dump_post_back_gives_the_same_hash(gateway):
    gw = gateway(ROUND_TRIP)
    api = gw.admin("s3cret")
    before = api.get_json("/config")
    assert before["config"]["admin"]["token"] == "***"
    dump = json.dumps(before["config"])
    valid = api.post("/config/validate", dump, content_type="application/json")
    assert valid.status == 200, valid.body
    posted = api.post("/config", dump, content_type="application/json")
    assert posted.status == 200, posted.body
    after = api.get_json("/config")
    assert after["generation"] == before["generation"] + 1
    assert after["hash"] == before["hash"]
    assert after["config"] == before["config"]
    assert api.get("/config").status == 200  # the token was kept, not replaced by "***"
    assert gw.admin("***").get("/config").status == 401


# -- logging ------------------------------------------------------------------------------

DEBUG = """
server:
  listeners: [{name: public, address: "$listen"}]
admin: {address: "$admin"}
logging: {level: $level}
upstreams:
  svc:
    targets: ["127.0.0.1:$dead", "$up"]
    keepalive: {max_idle_per_worker: 0}
    retries: {attempts: 1, on: [connect_failure]}
routes:
  - {name: svc, path: "/**", upstream: svc}
"""


def debug_messages(gw) -> list[str]:
    return [d["msg"] for d in error_lines(gw.stderr_path) if d["level"] == "debug"]


@pytest.mark.parametrize("how", ["flag", "file"])
def test_debug_level_logs_connections_retries_and_config_changes(gateway, upstream, how):
    up = upstream()
    args = ["--log-level", "debug"] if how == "flag" else []
    gw = gateway(DEBUG, up=up.address, dead=free_port(), extra_args=args,
                 level="info" if how == "flag" else "debug")
    api = gw.admin()
    assert api.get_json("/config")["config"]["logging"]["level"] == "debug"
    for i in range(4):
        assert gw.request("GET", f"/{i}").status == 200
    gw.write_config(DEBUG.replace("/**", "/x/**"), up=up.address, dead=free_port(),
                    level="info" if how == "flag" else "debug")
    api.wait_generation(2)
    wait_until(lambda: "configuration change" in debug_messages(gw), timeout=2,
               what="a debug line for the change")
    messages = debug_messages(gw)
    for expected in ("upstream connection opened", "upstream connection closed",
                     "upstream attempt retried", "configuration change"):
        assert expected in messages, messages
    lines = error_lines(gw.stderr_path)
    retried = next(d for d in lines if d["msg"] == "upstream attempt retried")
    assert retried["why"] == "connect_failed" and retried["upstream"] == "svc"
    change = next(d for d in lines if d["msg"] == "configuration change")
    assert change["change"].startswith("routes[svc].paths:"), change
    # The flag wins over the file's level, and /config says so.
    if how == "flag":
        assert api.get_json("/config")["config"]["logging"]["level"] == "debug"


def test_info_level_writes_no_debug_line(gateway, upstream):
    up = upstream()
    gw = gateway(DEBUG, up=up.address, dead=free_port(), level="info")
    for i in range(4):
        assert gw.request("GET", f"/{i}").status == 200
    time.sleep(0.1)
    assert debug_messages(gw) == []


# -- open files ---------------------------------------------------------------------------

def lower_soft_nofile(soft: int):
    def lower():
        _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return lower


def soft_nofile(pid: int) -> int:
    with open(f"/proc/{pid}/limits") as f:
        for line in f:
            if line.startswith("Max open files"):
                return int(line.split()[3])
    raise AssertionError("no open files line")


def test_soft_open_file_limit_is_raised_to_the_hard_one(gateway):
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    gw = gateway("""
        server:
          listeners: [{name: public, address: "$listen"}]
          limits: {max_connections: 50}
        routes: [{path: "/**", upstream: "builtin:echo"}]
    """, preexec_fn=lower_soft_nofile(256))
    assert soft_nofile(gw.pid) == hard
    raised = [d for d in error_lines(gw.stderr_path) if d["msg"] == "open file limit raised"]
    assert raised and raised[0]["from"] == "256" and raised[0]["to"] == str(hard), gw.logs()
    assert warnings(gw, "open file limit") == []


def test_too_many_connections_for_the_limit_is_a_warning(gateway):
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    gw = gateway(f"""
        server:
          listeners: [{{name: public, address: "$listen"}}]
          limits: {{max_connections: {hard}}}
        routes: [{{path: "/**", upstream: "builtin:echo"}}]
    """)
    [warn] = warnings(gw, "open file limit is lower than this configuration may need")
    assert warn["limit"] == str(hard) and int(warn["needed"]) > hard, warn
    assert warn["max_connections"] == str(hard)


# -- error messages -----------------------------------------------------------------------

@pytest.mark.parametrize("text,expected", [
    pytest.param("routes:\n  - path: /a\n    methods: [GET, POST\n    upstream: builtin:echo\n",
                 ':3:14: "[" opened here is never closed (add "]")', id="unclosed-bracket"),
    pytest.param("routes:\n  - path: \"/a\n    upstream: builtin:echo\n",
                 ':2:11: "\\"" opened here is never closed (add "\\"")', id="unclosed-quote"),
    pytest.param("routes: [{path: /a, upstream: 'https://api.example.com'}]\n",
                 "routes[0].upstream: https upstreams are not supported yet", id="https"),
    pytest.param("routes: [{path: /a, upstream: '127.0.0.1:19001'}]\n",
                 'routes[0].upstream: unknown upstream "127.0.0.1:19001" (to forward to an '
                 'address, write a URL: "http://127.0.0.1:19001")', id="no-scheme"),
    pytest.param("_format_version: '3.0'\nservices:\n  - {name: a, url: 'http://a:1'}\n",
                 "config: this looks like a Kong declarative configuration", id="kong"),
    pytest.param('{"api_id": "1", "proxy": {"listen_path": "/a/", "target_url": "http://a:1"}}',
                 "config: this looks like a Tyk API definition", id="tyk"),
    pytest.param("plugins: {rate-limiting: {limit: 5}}\n",
                 'plugins.rate-limiting: unknown plugin "rate-limiting" (did you mean '
                 '"rate_limit"?', id="kong-plugin-name"),
])
def test_validate_error_messages(tmp_path, text, expected):
    path = tmp_path / "gateway.yaml"
    path.write_text(text)
    result = run_cli("validate", "--config", str(path))
    assert result.returncode == 1, result
    assert expected in result.stderr, result.stderr
    if expected.startswith(":"):
        assert result.stderr.startswith(str(path) + expected), result.stderr
