"""Trace context (SPEC §4) and OTLP export: what the upstream receives as `traceparent` and
`tracestate` for every kind of incoming header, and the spans an OTLP/HTTP JSON receiver gets."""
import re
import time
import uuid

import pytest

from support.upstream import echo

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"
STATE = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"
TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")

PROXY = """
routes:
  - {name: api, paths: ["/**"], upstream: "$up"}
"""


@pytest.fixture(scope="module")
def env(module_stack):
    up = module_stack.upstream(echo)
    gw = module_stack.gateway(PROXY, up=up.url, workers=2)
    return gw, up


def forwarded(gw, up, headers) -> tuple[dict, object]:
    """Sends a request with `headers`; (traceparent parts at the upstream, upstream request)."""
    marker = uuid.uuid4().hex
    resp = gw.request("GET", f"/t/{marker}", headers=headers)
    assert resp.status == 200, resp
    [req] = [r for r in up.requests if r.path == f"/t/{marker}"]
    values = req.header_all("traceparent")
    assert len(values) == 1, f"the upstream got {len(values)} traceparent fields: {values}"
    m = TRACEPARENT.match(values[0])
    assert m, f"invalid traceparent sent upstream: {values[0]!r}"
    trace, span, flags = m.groups()
    assert trace != "0" * 32 and span != "0" * 16, values[0]
    return {"trace": trace, "span": span, "flags": flags}, req


def test_absent_traceparent_starts_a_new_trace(env):
    gw, up = env
    a, req = forwarded(gw, up, [])
    b, _ = forwarded(gw, up, [])
    assert a["trace"] != b["trace"], "two requests got the same new trace id"
    assert req.header("tracestate") is None


@pytest.mark.parametrize("flags", ["01", "00"])
def test_valid_traceparent_keeps_the_trace_with_a_new_span(env, flags):
    gw, up = env
    got, req = forwarded(gw, up, [("traceparent", f"00-{TRACE}-{PARENT}-{flags}"),
                                  ("tracestate", STATE)])
    assert got["trace"] == TRACE
    assert got["span"] != PARENT, "the incoming parent id was forwarded as the span id"
    assert got["flags"] == flags, "the sampled flag was not kept"
    assert req.header_all("tracestate") == [STATE], "tracestate was not passed through"


def test_each_request_of_a_trace_gets_its_own_span(env):
    gw, up = env
    spans = {forwarded(gw, up, [("traceparent", f"00-{TRACE}-{PARENT}-01")])[0]["span"]
             for _ in range(5)}
    assert len(spans) == 5


MALFORMED = {
    "too-short": f"00-{TRACE[:-1]}-{PARENT}-01",
    "too-long-v00": f"00-{TRACE}-{PARENT}-01-extra",
    "upper-case-trace": f"00-{TRACE.upper()}-{PARENT}-01",
    "upper-case-parent": f"00-{TRACE}-{PARENT.upper()}-01",
    "version-ff": f"ff-{TRACE}-{PARENT}-01",
    "zero-trace": f"00-{'0' * 32}-{PARENT}-01",
    "zero-parent": f"00-{TRACE}-{'0' * 16}-01",
    "non-hex": f"00-{TRACE[:-1]}g-{PARENT}-01",
    "underscores": f"00_{TRACE}_{PARENT}_01",
    "bad-flags": f"00-{TRACE}-{PARENT}-0x",
    "empty": "",
    "garbage": "hello",
}


@pytest.mark.parametrize("value", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_traceparent_starts_a_new_trace_and_drops_tracestate(env, value):
    gw, up = env
    got, req = forwarded(gw, up, [("traceparent", value), ("tracestate", STATE)])
    assert got["trace"] != TRACE, f"trace id of an invalid traceparent {value!r} was kept"
    assert req.header("tracestate") is None, "tracestate of an invalid traceparent passed"


def test_tracestate_without_traceparent_is_dropped(env):
    gw, up = env
    _, req = forwarded(gw, up, [("tracestate", STATE)])
    assert req.header("tracestate") is None


def test_access_log_ids_are_the_ones_the_upstream_saw(env):
    gw, up = env
    got, req = forwarded(gw, up, [("traceparent", f"00-{TRACE}-{PARENT}-01")])
    rid = req.header("X-Request-Id")
    line = gw.wait_access_log([rid])[rid]
    assert line["trace_id"] == got["trace"] == TRACE
    new, req2 = forwarded(gw, up, [])
    rid2 = req2.header("X-Request-Id")
    assert gw.wait_access_log([rid2])[rid2]["trace_id"] == new["trace"]


# -- OTLP export -------------------------------------------------------------------------------

OTLP = """
tracing:
  otlp: {endpoint: "$otlp", sample_ratio: $ratio, service_name: e2e-gateway}
routes:
  - {name: api, paths: ["/api/**"], upstream: "$up"}
"""


def by_trace(spans, trace):
    return [s for s in spans if s.get("traceId") == trace]


def test_spans_are_exported_and_linked(gateway, upstream, otlp):
    rx = otlp()
    up = upstream(echo)
    gw = gateway(OTLP, otlp=rx.endpoint, ratio="1.0", up=up.url)

    incoming = uuid.uuid4().hex
    parent = uuid.uuid4().hex[:16]
    resp = gw.request("GET", "/api/one", headers=[("traceparent", f"00-{incoming}-{parent}-01")])
    sent = time.monotonic()
    assert resp.status == 200
    seen = TRACEPARENT.match(up.last().header("traceparent"))
    rid = resp.header("X-Request-Id")

    spans = rx.wait_spans(lambda s: s.get("traceId") == incoming, count=2)
    latency = max(s["received_at"] for s in spans) - sent
    assert latency <= 1.5, f"spans arrived {latency:.2f}s after the request"
    assert len(spans) == 2, spans
    [server] = [s for s in spans if s["kind"] == 2]
    [client] = [s for s in spans if s["kind"] == 3]
    for s in (server, client):
        assert re.fullmatch(r"[0-9a-f]{16}", s["spanId"]), s
        assert s["resource"].get("service.name") == "e2e-gateway", s["resource"]
        assert s.get("name"), s
        assert int(s["startTimeUnixNano"]) <= int(s["endTimeUnixNano"]), s
        assert abs(int(s["startTimeUnixNano"]) / 1e9 - time.time()) < 60, s
    assert server.get("parentSpanId") == parent, "server span is not a child of the caller"
    assert client.get("parentSpanId") == server["spanId"], "client span not under server span"
    assert seen[2] == client["spanId"], "the upstream's parent is not the client span"
    assert int(server["startTimeUnixNano"]) <= int(client["startTimeUnixNano"])
    assert int(client["endTimeUnixNano"]) <= int(server["endTimeUnixNano"])
    assert server["attrs"].get("http.route") == "api", server["attrs"]
    assert server["attrs"].get("http.response.status_code") == 200, server["attrs"]
    assert client["attrs"].get("server.address") == up.address, client["attrs"]
    assert client["attrs"].get("http.response.status_code") == 200, client["attrs"]
    # The access log line names the same trace and the server span.
    line = gw.wait_access_log([rid])[rid]
    assert (line["trace_id"], line["span_id"]) == (incoming, server["spanId"]), line
    # The receiver got JSON at the configured path.
    assert {(p.path, p.content_type.split(";")[0]) for p in rx.posts} == \
        {("/v1/traces", "application/json")}
    assert rx.errors == []


def test_new_traces_are_exported_under_the_trace_the_upstream_saw(gateway, upstream, otlp):
    rx = otlp()
    up = upstream(echo)
    gw = gateway(OTLP, otlp=rx.endpoint, ratio="1.0", up=up.url)
    traces = []
    for i in range(5):
        assert gw.request("GET", f"/api/{i}").status == 200
        m = TRACEPARENT.match(up.last().header("traceparent"))
        assert m[3] == "01", "a new trace sampled at ratio 1.0 must say so downstream"
        traces.append(m[1])
    assert gw.request("GET", "/unrouted").status == 404
    spans = rx.wait_spans(lambda s: s.get("traceId") in traces, count=10)
    for trace in traces:
        mine = by_trace(spans, trace)
        assert sorted(s["kind"] for s in mine) == [2, 3], mine
        server = [s for s in mine if s["kind"] == 2][0]
        assert not server.get("parentSpanId"), "a new trace's server span has a parent"


def test_unsampled_incoming_trace_is_not_exported(gateway, upstream, otlp):
    rx = otlp()
    up = upstream(echo)
    gw = gateway(OTLP, otlp=rx.endpoint, ratio="1.0", up=up.url)
    unsampled = [uuid.uuid4().hex for _ in range(3)]
    for trace in unsampled:
        assert gw.request("GET", "/api/u", headers=[
            ("traceparent", f"00-{trace}-{PARENT}-00")]).status == 200
        assert up.last().header("traceparent").endswith("-00")
    marker = uuid.uuid4().hex
    assert gw.request("GET", "/api/m", headers=[
        ("traceparent", f"00-{marker}-{PARENT}-01")]).status == 200
    rx.wait_spans(lambda s: s.get("traceId") == marker, count=2)
    time.sleep(0.3)
    exported = {s.get("traceId") for s in rx.spans()}
    assert not exported & set(unsampled), "a trace the caller did not sample was exported"


def test_ratio_zero_exports_no_new_traces(gateway, upstream, otlp):
    rx = otlp()
    up = upstream(echo)
    gw = gateway(OTLP, otlp=rx.endpoint, ratio="0", up=up.url)
    new = []
    for i in range(10):
        assert gw.request("GET", f"/api/{i}").status == 200
        m = TRACEPARENT.match(up.last().header("traceparent"))
        assert m[3] == "00", "an unsampled new trace told the upstream it was sampled"
        new.append(m[1])
    # A caller's sampled trace is still followed (parent-based), and marks the end.
    marker = uuid.uuid4().hex
    assert gw.request("GET", "/api/m", headers=[
        ("traceparent", f"00-{marker}-{PARENT}-01")]).status == 200
    rx.wait_spans(lambda s: s.get("traceId") == marker, count=2)
    time.sleep(0.3)
    exported = {s.get("traceId") for s in rx.spans()}
    assert not exported & set(new), "sample_ratio 0 exported new traces"


def test_export_to_a_dead_receiver_does_not_hurt_requests(gateway, upstream):
    from support.gateway import free_port
    up = upstream(echo)
    gw = gateway("""
        admin: {address: "$admin"}
        tracing:
          otlp: {endpoint: "http://127.0.0.1:$dead/v1/traces", sample_ratio: 1.0}
        routes:
          - {name: api, paths: ["/api/**"], upstream: "$up"}
    """, dead=free_port(), up=up.url)
    start = time.monotonic()
    for i in range(20):
        assert gw.request("GET", f"/api/{i}").status == 200
    assert time.monotonic() - start < 3
    api = gw.admin()
    from support.client import wait_until
    wait_until(lambda: api.metrics().value("turnpike_trace_spans_dropped_total") >= 40,
               timeout=4, what="the lost spans to be counted as dropped")


def test_tracing_follows_reloads(gateway, upstream, otlp):
    rx = otlp()
    up = upstream(echo)
    plain = """
        admin: {address: "$admin"}
        routes:
          - {name: api, paths: ["/api/**"], upstream: "$up"}
    """
    traced = plain + """
        tracing:
          otlp: {endpoint: "$otlp", sample_ratio: 1.0}
    """
    gw = gateway(plain, up=up.url, otlp=rx.endpoint)
    api = gw.admin()
    assert gw.request("GET", "/api/before").status == 200
    gw.write_config(traced)
    api.wait_generation(2)
    assert gw.request("GET", "/api/during").status == 200
    trace = TRACEPARENT.match(up.last().header("traceparent"))[1]
    spans = rx.wait_spans(lambda s: s.get("traceId") == trace, count=2)
    assert spans[0]["resource"].get("service.name") == "turnpike", spans[0]["resource"]
    gw.write_config(plain)
    api.wait_generation(3)
    assert gw.request("GET", "/api/after").status == 200
    assert up.last().header("traceparent").endswith("-00")
    time.sleep(0.5)
    paths = {s["attrs"].get("url.path") for s in rx.spans()}
    assert paths == {"/api/during"}, paths
