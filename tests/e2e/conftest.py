"""Fixtures of the e2e suite: the real turnpike binary with inline YAML, and real upstream
servers in threads. See support/ for the pieces.

    def test_x(gateway, upstream):
        up = upstream(respond(body=b"hi"))
        gw = gateway('''
            routes:
              - {path: "/**", upstream: "http://$up"}
        ''', up=up.address)
        assert gw.request("GET", "/").body == b"hi"

`$listen` in a config is the gateway's own 127.0.0.1:PORT; without a `server:` section one
listener on it is added. A gateway that dies during a test, or does not exit 0 on SIGTERM at
teardown, fails the test.
"""
from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from support import gateway as gw_mod
from support.gateway import Gateway
from support.otlp import OtlpReceiver
from support.upstream import UpstreamServer


def pytest_sessionstart(session):
    path = gw_mod.binary()
    if not os.access(path, os.X_OK):
        raise pytest.UsageError(
            f"turnpike binary not found at {path}: build it (cmake --build --preset release "
            f"--target turnpike) or set TURNPIKE_BIN")


class Stack:
    """Gateways and upstreams started for one test (or one module), torn down together."""

    def __init__(self, workdir: Path):
        self.workdir = Path(workdir)
        self.gateways: list[Gateway] = []
        self.upstreams: list[UpstreamServer] = []
        self.receivers: list[OtlpReceiver] = []

    def gateway(self, config: str, workers: int = 1, start: bool = True, **kwargs) -> Gateway:
        g = Gateway(self.workdir / f"gw{len(self.gateways)}", config, workers=workers, **kwargs)
        self.gateways.append(g)
        if start:
            g.start()
        return g

    def upstream(self, handler=None, **kwargs) -> UpstreamServer:
        u = UpstreamServer(handler, **kwargs)
        self.upstreams.append(u)
        return u

    def otlp(self, **kwargs) -> OtlpReceiver:
        r = OtlpReceiver(**kwargs)
        self.receivers.append(r)
        return r

    def close(self) -> list[str]:
        """Stops everything; returns what went wrong with the gateways."""
        problems = []
        for g in self.gateways:
            if g.proc is None:
                continue
            if g.returncode is None and g.proc.poll() is not None:
                problems.append(f"turnpike exited by itself during the test "
                                f"(code {g.proc.returncode})\n{g.logs()}")
                g.stop()
                continue
            if g.returncode is not None:
                continue  # the test stopped it and checked the exit itself
            code = g.stop(signal.SIGTERM)
            if code != 0:
                problems.append(f"turnpike exited {code} on SIGTERM at teardown\n{g.logs()}")
        for u in self.upstreams:
            u.stop()
        for r in self.receivers:
            r.stop()
        return problems


@pytest.fixture
def stack(tmp_path):
    s = Stack(tmp_path)
    yield s
    problems = s.close()
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)


@pytest.fixture
def gateway(stack):
    """gateway(config, workers=1, start=True, env=None, extra_args=(), preexec_fn=None,
    **placeholders)."""
    return stack.gateway


@pytest.fixture
def upstream(stack):
    """upstream(handler=echo, store_limit=1MiB, body_delay=0, read_body=True)."""
    return stack.upstream


@pytest.fixture
def otlp(stack):
    """otlp(status=200): an OTLP/HTTP JSON receiver; `.endpoint` is its /v1/traces URL."""
    return stack.otlp


@pytest.fixture(scope="module")
def module_stack(tmp_path_factory, request):
    s = Stack(tmp_path_factory.mktemp(Path(request.module.__file__).stem))
    yield s
    problems = s.close()
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)


@pytest.fixture
def fresh(env):
    """The module's gateway and upstream (its `env` fixture: `(gw, up)`), with the upstream's
    records cleared."""
    gw, up = env
    up.clear()
    return gw, up


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for g in list(Gateway.all_running):
            report.sections.append((f"turnpike (port {g.port}) logs", g.logs()))
