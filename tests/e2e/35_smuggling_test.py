"""Request smuggling (SPEC §4): ambiguous framing and malformed header lines are answered 400,
the connection is closed, and nothing reaches the upstream - in particular not the request
hidden behind the ambiguous one."""
import time

import pytest

from support.client import assert_error

SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n"

CASES = {
    # Framing conflicts.
    "cl-and-te": b"POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
                 b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + SMUGGLED,
    "te-and-cl": b"POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
                 b"Content-Length: 40\r\n\r\n0\r\n\r\n" + SMUGGLED,
    "two-cl-differing": b"POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n"
                        b"Content-Length: 36\r\n\r\n" + SMUGGLED,
    "two-cl-identical": b"POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
                        b"Content-Length: 5\r\n\r\nhello" + SMUGGLED,
    "cl-list-differing": b"POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 0, 36\r\n\r\n" + SMUGGLED,
    "cl-plus-sign": b"POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: +5\r\n\r\nhello" + SMUGGLED,
    "cl-negative": b"POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n" + SMUGGLED,
    "cl-hex": b"POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 0x24\r\n\r\n" + SMUGGLED,
    # Obfuscated Transfer-Encoding.
    "te-xchunked": b"POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: xchunked\r\n\r\n"
                   b"0\r\n\r\n" + SMUGGLED,
    "te-chunked-identity": b"POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, "
                           b"identity\r\n\r\n0\r\n\r\n" + SMUGGLED,
    "te-twice": b"POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + SMUGGLED,
    "te-vertical-tab": b"POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: \x0bchunked\r\n\r\n"
                       b"0\r\n\r\n" + SMUGGLED,
    "te-in-http10": b"POST /x HTTP/1.0\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                    b"0\r\n\r\n" + SMUGGLED,
    # Bare CR / LF.
    "bare-cr-in-value": b"GET /x HTTP/1.1\r\nHost: t\r\nX-A: a\rb\r\n\r\n" + SMUGGLED,
    "bare-cr-line-end": b"GET /x HTTP/1.1\r\nHost: t\rX-A: b\r\n\r\n" + SMUGGLED,
    "bare-lf-everywhere": b"GET /x HTTP/1.1\nHost: t\n\n" + SMUGGLED,
    "bare-lf-one-line": b"GET /x HTTP/1.1\r\nHost: t\nX-A: b\r\n\r\n" + SMUGGLED,
    "bare-lf-before-te": b"POST /x HTTP/1.1\r\nHost: t\r\nX-A: b\nTransfer-Encoding: chunked"
                         b"\r\nContent-Length: 5\r\n\r\n0\r\n\r\n" + SMUGGLED,
    "nul-in-value": b"GET /x HTTP/1.1\r\nHost: t\r\nX-A: a\x00b\r\n\r\n" + SMUGGLED,
    # Header line syntax.
    "space-before-colon": b"GET /x HTTP/1.1\r\nHost: t\r\nX-A : b\r\n\r\n" + SMUGGLED,
    "space-before-colon-te": b"POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding : chunked\r\n"
                             b"Content-Length: 5\r\n\r\n0\r\n\r\n" + SMUGGLED,
    "tab-before-colon-cl": b"POST /x HTTP/1.1\r\nHost: t\r\nContent-Length\t: 36\r\n\r\n" + SMUGGLED,
    "space-in-name": b"GET /x HTTP/1.1\r\nHost: t\r\nX A: b\r\n\r\n" + SMUGGLED,
    "obs-fold": b"GET /x HTTP/1.1\r\nHost: t\r\nX-A: a\r\n b\r\n\r\n" + SMUGGLED,
    "obs-fold-tab": b"GET /x HTTP/1.1\r\nHost: t\r\nX-A: a\r\n\tb\r\n\r\n" + SMUGGLED,
    "obs-fold-hiding-te": b"POST /x HTTP/1.1\r\nHost: t\r\nX-A: a\r\n Transfer-Encoding: chunked"
                          b"\r\nContent-Length: 5\r\n\r\n0\r\n\r\n" + SMUGGLED,
    "leading-whitespace-first-header": b"GET /x HTTP/1.1\r\n Host: t\r\n\r\n" + SMUGGLED,
    # Malformed chunked bodies, arriving with the head.
    "chunk-size-junk": b"POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                       b"5x\r\nhello\r\n0\r\n\r\n" + SMUGGLED,
    "chunk-size-overflow": b"POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                           b"10000000000000005\r\nhello\r\n0\r\n\r\n" + SMUGGLED,
    "chunk-longer-than-size": b"POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                              b"3\r\nhello\r\n0\r\n\r\n" + SMUGGLED,
    "chunk-bare-lf": b"POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                     b"5\nhello\n0\n\n" + SMUGGLED,
}


@pytest.fixture(scope="module")
def env(module_stack):
    up = module_stack.upstream()
    gw = module_stack.gateway("""
        routes:
          - {path: "/**", upstream: "$up"}
    """, up=up.url)
    return gw, up


@pytest.mark.parametrize("raw", list(CASES.values()), ids=list(CASES))
def test_smuggling_attempt_is_400_and_never_forwarded(env, raw):
    gw, up = env
    up.clear()
    with gw.conn() as c:
        c.send(raw)
        resp = c.read_response()
        assert_error(resp, 400, "bad_request")
        assert c.wait_closed(timeout=2), "connection left open after a smuggling attempt"
    time.sleep(0.05)  # anything forwarded would have arrived by now
    assert up.requests == [], f"forwarded: {[r.target for r in up.requests]}"
    assert up.accepted == 0, "the gateway opened an upstream connection for a rejected request"


def test_gateway_still_serves_after_the_attempts(env):
    gw, up = env
    up.clear()
    resp = gw.request("POST", "/fine", body=b"hello")
    assert resp.status == 200, resp
    assert up.last().body == b"hello"
