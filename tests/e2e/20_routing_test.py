"""Route matching (SPEC §2.1): hosts, methods, path patterns, header conditions, regex routes,
their precedence, strip_prefix, inline URL upstreams and builtin:echo.

The routes are listed least specific first on purpose: precedence must not depend on the order
of the file. builtin:echo names the route that answered."""
import pytest

from support.client import assert_error
from support.upstream import echo

CONFIG = r"""
routes:
  - {name: host-any, paths: ["/h/**"], upstream: "builtin:echo"}
  - {name: host-any-exact-path, paths: ["/h/exact"], upstream: "builtin:echo"}
  - {name: host-wild, hosts: ["*.example.com"], paths: ["/h/**"], upstream: "builtin:echo"}
  - {name: host-wild-deep, hosts: ["*.deep.example.com"], paths: ["/h/**"], upstream: "builtin:echo"}
  - {name: host-exact, hosts: [api.example.com], paths: ["/h/**"], upstream: "builtin:echo"}

  - {name: get-only, methods: [GET], paths: ["/m"], upstream: "builtin:echo"}
  - {name: post-put, methods: [POST, PUT], paths: ["/m"], upstream: "builtin:echo"}

  - {name: doublestar, paths: ["/a/**"], upstream: "builtin:echo"}
  - {name: star, paths: ["/a/*"], upstream: "builtin:echo"}
  - {name: star-middle, paths: ["/files/*/meta"], upstream: "builtin:echo"}
  - {name: named, paths: ["/users/{id}"], upstream: "builtin:echo"}
  - {name: named-deep, paths: ["/users/{id}/posts"], upstream: "builtin:echo"}
  - {name: static, paths: ["/users/me"], upstream: "builtin:echo"}
  - {name: short-prefix, paths: ["/p/**"], upstream: "builtin:echo"}
  - {name: long-prefix, paths: ["/p/q/**"], upstream: "builtin:echo"}
  - {name: n-star, paths: ["/n/*"], upstream: "builtin:echo"}
  - {name: n-named, paths: ["/n/{id}"], upstream: "builtin:echo"}
  - {name: mm-any, paths: ["/mm/**"], upstream: "builtin:echo"}
  - {name: mm-post, methods: [POST], paths: ["/mm/specific"], upstream: "builtin:echo"}

  - {name: hdr-none, paths: ["/versioned"], upstream: "builtin:echo"}
  - {name: hdr-v2, paths: ["/versioned"], headers: {X-Version: "2"}, upstream: "builtin:echo"}

  - {name: regex, regex: '^/v2/(users|orders)/\d+$', upstream: "builtin:echo"}
  - {name: v2-path, paths: ["/v2/users/1"], upstream: "builtin:echo"}

  - {name: strip, paths: ["/api/v1/**"], strip_prefix: true, upstream: "$up"}
  - {name: keep, paths: ["/keep/**"], upstream: "$up"}
  - {name: base-strip, paths: ["/svc/**"], strip_prefix: true, upstream: "$up/base"}
  - {name: base-keep, paths: ["/svc2/**"], upstream: "$up/base/"}

  - {name: echo, paths: ["/echo/**"], upstream: "builtin:echo"}
"""


@pytest.fixture(scope="module")
def env(module_stack):
    up = module_stack.upstream(echo)
    gw = module_stack.gateway(CONFIG, up=up.url)
    return gw, up


def route_of(gw, method="GET", path="/", host="test.local", headers=()):
    resp = gw.request(method, path, host=host, headers=headers)
    assert resp.status == 200, resp
    return resp.json()["route"]


@pytest.mark.parametrize("host,route", [
    ("api.example.com", "host-exact"),
    ("API.Example.COM", "host-exact"),
    ("api.example.com:8080", "host-exact"),
    ("Api.Example.Com:443", "host-exact"),
    ("a.example.com", "host-wild"),
    ("a.b.example.com", "host-wild"),
    ("A.EXAMPLE.COM:9000", "host-wild"),
    ("x.deep.example.com", "host-wild-deep"),   # the longest wildcard suffix wins
    ("deep.example.com", "host-wild"),
    ("example.com", "host-any"),                 # *.example.com is not example.com itself
    ("notexample.com", "host-any"),
    ("other.org", "host-any"),
])
def test_host_matching(env, host, route):
    gw, _ = env
    assert route_of(gw, path="/h/x", host=host) == route


@pytest.mark.parametrize("host,route", [
    ("api.example.com", "host-exact"),      # host precedence comes before path precedence
    ("a.example.com", "host-wild"),
    ("other.org", "host-any-exact-path"),
])
def test_host_precedence_beats_path_precedence(env, host, route):
    gw, _ = env
    assert route_of(gw, path="/h/exact", host=host) == route


@pytest.mark.parametrize("method,route", [("POST", "mm-post"), ("GET", "mm-any"),
                                          ("DELETE", "mm-any")])
def test_method_mismatch_falls_back_to_the_next_best_route(env, method, route):
    gw, _ = env
    assert route_of(gw, method, "/mm/specific") == route


@pytest.mark.parametrize("method,route", [("GET", "get-only"), ("POST", "post-put"),
                                          ("PUT", "post-put")])
def test_method_matching(env, method, route):
    gw, _ = env
    assert route_of(gw, method, "/m") == route


def test_method_mismatch_is_405_listing_the_methods(env):
    gw, _ = env
    resp = gw.request("DELETE", "/m")
    assert_error(resp, 405, "method_not_allowed")
    allow = {m.strip() for m in (resp.header("Allow") or "").split(",")}
    assert allow == {"GET", "POST", "PUT"}, f"Allow: {resp.header('Allow')!r}"


@pytest.mark.parametrize("path,route", [
    ("/users/me", "static"),          # static beats a named segment
    ("/users/42", "named"),
    ("/users/42/posts", "named-deep"),
    ("/users/me/posts", "named-deep"),
    ("/files/abc/meta", "star-middle"),
    ("/a/x", "star"),                 # * beats **
    ("/a/x/y/z", "doublestar"),
    ("/a", "doublestar"),             # ** includes nothing
    ("/p/q/r", "long-prefix"),        # the longer static prefix first
    ("/p/q", "long-prefix"),
    ("/p/x/r", "short-prefix"),
    ("/n/7", "n-named"),              # a named segment beats *
])
def test_path_patterns_and_precedence(env, path, route):
    gw, _ = env
    assert route_of(gw, path=path) == route


@pytest.mark.parametrize("path", ["/users", "/users/42/comments", "/files/abc/def/meta",
                                  "/files/abc", "/nothing/here"])
def test_paths_matching_no_pattern_are_404(env, path):
    gw, _ = env
    assert_error(gw.request("GET", path), 404, "no_route")


@pytest.mark.parametrize("raw,route,normalized", [
    ("/users/./42/../me", "static", "/users/me"),
    ("//users//me", "static", "/users/me"),
    ("/users/%6De", "static", "/users/me"),           # unreserved characters decoded
    ("/users/%7Ebob", "named", "/users/~bob"),
    ("/a/x/..", "doublestar", "/a/"),                 # RFC 3986 §5.2.4
])
def test_path_is_matched_after_normalization(env, raw, route, normalized):
    gw, _ = env
    resp = gw.request("GET", raw)
    assert resp.status == 200, resp
    assert resp.json()["route"] == route
    assert resp.json()["path"] == normalized


@pytest.mark.parametrize("headers,route", [
    ([("X-Version", "2")], "hdr-v2"),
    ([("x-version", "2")], "hdr-v2"),
    ([("X-Version", "3")], "hdr-none"),
    ([], "hdr-none"),
])
def test_header_conditions(env, headers, route):
    gw, _ = env
    assert route_of(gw, path="/versioned", headers=headers) == route


@pytest.mark.parametrize("path,route", [
    ("/v2/orders/77", "regex"),
    ("/v2/users/2", "regex"),
    ("/v2/users/1", "v2-path"),   # a paths route beats a regex route
])
def test_regex_routes(env, path, route):
    gw, _ = env
    assert route_of(gw, path=path) == route


@pytest.mark.parametrize("path", ["/v2/users/abc", "/v2/users/12/x", "/x/v2/users/12"])
def test_regex_is_anchored(env, path):
    gw, _ = env
    assert_error(gw.request("GET", path), 404, "no_route")


@pytest.mark.parametrize("path,upstream_target", [
    ("/api/v1/users/7?x=1", "/users/7?x=1"),
    ("/api/v1/", "/"),
    ("/api/v1", "/"),
    ("/keep/a/b", "/keep/a/b"),
    ("/keep/a/./b/../c//d", "/keep/a/c/d"),     # the normalized path is forwarded
    ("/keep/%7Euser?q=%2F", "/keep/~user?q=%2F"),
    ("/svc/x/y?q=1", "/base/x/y?q=1"),          # inline URL base path prepended
    ("/svc2/x", "/base/svc2/x"),
])
def test_upstream_sees_the_forwarded_path(env, path, upstream_target):
    gw, up = env
    resp = gw.request("GET", path)
    assert resp.status == 200, resp
    assert up.last().target == upstream_target


def test_builtin_echo_answers_json(env):
    gw, _ = env
    resp = gw.request("POST", "/echo/x/y?a=1&b=two", body=b"hello echo",
                      headers=[("X-Test", "yes"), ("Content-Type", "text/plain")])
    assert resp.status == 200, resp
    assert resp.header("Content-Type") == "application/json"
    doc = resp.json()
    assert doc["method"] == "POST"
    assert doc["path"] == "/echo/x/y"
    assert doc["query"] == "a=1&b=two"
    assert doc["body"] == "hello echo"
    headers = {k.lower(): v for k, v in doc["headers"].items()}
    assert headers["x-test"] == "yes"
    assert headers["content-type"] == "text/plain"
    assert doc["request_id"] == resp.header("X-Request-Id")
