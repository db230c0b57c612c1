"""Packaging: `make install DESTDIR=...` stages the binary, the configuration, a systemd unit
and a logrotate snippet; the unit passes `systemd-analyze verify`, and what was installed runs."""
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from support.gateway import REPO

UNIT = "usr/local/lib/systemd/system/turnpike.service"


@pytest.fixture(scope="module")
def staged(tmp_path_factory) -> Path:
    dest = tmp_path_factory.mktemp("destdir")
    result = subprocess.run(["make", "-C", str(REPO), "install", f"DESTDIR={dest}"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return dest


def test_install_stages_every_file(staged):
    for path in ("usr/local/bin/turnpike", UNIT, "etc/turnpike/turnpike.yaml",
                 "etc/logrotate.d/turnpike", "usr/local/share/doc/turnpike/operations.md",
                 "usr/local/share/doc/turnpike/turnpike.yaml.example"):
        assert (staged / path).is_file(), path
    assert os.access(staged / "usr/local/bin/turnpike", os.X_OK)
    version = subprocess.run([str(staged / "usr/local/bin/turnpike"), "version"],
                             capture_output=True, text=True, timeout=10)
    assert version.returncode == 0 and version.stdout.startswith("turnpike ")


def test_reinstall_keeps_an_edited_configuration(staged):
    config = staged / "etc/turnpike/turnpike.yaml"
    original = config.read_text()
    config.write_text(original + "# edited by the operator\n")
    result = subprocess.run(["make", "-C", str(REPO), "install", f"DESTDIR={staged}"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert config.read_text().endswith("# edited by the operator\n")
    config.write_text(original)


def test_unit_is_sandboxed_and_reloads_with_sighup(staged):
    unit = (staged / UNIT).read_text()
    for line in ("DynamicUser=yes", "AmbientCapabilities=CAP_NET_BIND_SERVICE",
                 "CapabilityBoundingSet=CAP_NET_BIND_SERVICE", "NoNewPrivileges=yes",
                 "LimitNOFILE=1048576", "ExecReload=/bin/kill -HUP $MAINPID",
                 "ProtectSystem=strict", "LogsDirectory=turnpike",
                 "ExecStart=/usr/local/bin/turnpike --config /etc/turnpike/turnpike.yaml"):
        assert re.search(rf"^{re.escape(line)}$", unit, re.M), line


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze missing")
def test_unit_passes_systemd_analyze_verify(staged, tmp_path):
    # The unit names /usr/local/bin/turnpike, which verify checks for; staged, the binary is
    # under DESTDIR, so only that path is pointed there. Every other line is verified as is.
    unit = (staged / UNIT).read_text().replace(
        "/usr/local/bin/turnpike", str(staged / "usr/local/bin/turnpike"))
    path = tmp_path / "turnpike.service"
    path.write_text(unit)
    result = subprocess.run(["systemd-analyze", "verify", "--man=no", str(path)],
                            capture_output=True, text=True, timeout=60)
    # verify exits 0 on mere warnings ("Unknown key", "ignoring"): the output must be empty too.
    assert result.returncode == 0 and not (result.stdout + result.stderr).strip(), (
        result.stdout + result.stderr)


def test_logrotate_snippet_reopens_with_sigusr1(staged):
    text = (staged / "etc/logrotate.d/turnpike").read_text()
    assert text.startswith("# ") and "/var/log/turnpike/*.log {" in text
    assert "systemctl kill --signal=SIGUSR1 --kill-whom=main turnpike.service" in text
    assert text.count("{") == text.count("}")


def test_installed_configuration_is_valid(staged, tmp_path):
    # As installed, but with the access log in a directory this test can write
    # (/var/log/turnpike is made by systemd's LogsDirectory=).
    text = (staged / "etc/turnpike/turnpike.yaml").read_text()
    assert "/var/log/turnpike/access.log" in text
    config = tmp_path / "turnpike.yaml"
    config.write_text(text.replace("/var/log/turnpike/access.log", str(tmp_path / "access.log")))
    result = subprocess.run([str(staged / "usr/local/bin/turnpike"), "validate", "--config",
                             str(config)], capture_output=True, text=True, timeout=10)
    assert result.returncode == 0 and result.stdout == "config OK\n", result.stderr
