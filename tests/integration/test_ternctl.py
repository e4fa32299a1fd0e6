"""ternctl: the start/status/reload/stop cycle with its exit codes, check
creating and repairing the directories of the manifest, and configuration
errors reported with file and line.
"""
import os
import pwd
import re
import signal
import socket
import stat

import pytest

from conftest import TEST_USER, health_hello, pid_alive, wait_for


def manifest_dirs(tern):
    """(path, mode, owner) of the directories the installed manifest lists, expanded."""
    values = {
        "queue_directory": str(tern.queue_dir),
        "data_directory": str(tern.data_dir),
        "store_directory": str(tern.store_dir),
        "config_directory": str(tern.config_dir),
        "mail_owner": TEST_USER,
        "store_owner": TEST_USER,
    }
    result = []
    for line in (tern.meta_dir / "tern.manifest").read_text().splitlines():
        fields = line.split()
        if not fields or fields[0].startswith("#") or fields[0] != "d":
            continue
        path = re.sub(r"\$\{?(\w+)\}?", lambda m: values[m.group(1)], fields[1])
        owner = re.sub(r"\$\{?(\w+)\}?", lambda m: values[m.group(1)], fields[2])
        result.append((path, int(fields[3], 8), owner))
    return result


@pytest.fixture
def ctl(tern):
    """tern with a health service; stops a master that ternctl started, at teardown."""
    port = tern.port()
    tern.write_master_cf([f"127.0.0.1:{port} inet n - n - 2 health"])
    tern.health_port = port
    yield tern
    pid = tern.pid_file_pid()
    if pid and pid_alive(pid):
        os.kill(pid, signal.SIGTERM)
        wait_for(lambda: not pid_alive(pid), timeout=30, what="master to stop")


def test_start_status_reload_stop(ctl):
    r = ctl.run("ternctl", "status")
    assert (r.returncode, r.stdout.strip()) == (3, "tern is not running")

    r = ctl.run("ternctl", "start")
    assert r.returncode == 0, r.stderr
    pid = ctl.pid_file_pid()
    assert pid and pid_alive(pid)
    assert f"tern started (pid {pid}): services 127.0.0.1:{ctl.health_port}" in r.stdout
    health_hello(ctl.health_port)

    r = ctl.run("ternctl", "status")
    assert (r.returncode, r.stdout.strip()) == (0, f"tern is running (pid {pid})")
    r = ctl.run("ternctl", "start")
    assert r.returncode == 0
    assert f"already running (pid {pid})" in r.stdout

    # reload: a new service appears.
    port2 = ctl.port()
    (ctl.config_dir / "master.cf").write_text(
        f"127.0.0.1:{ctl.health_port} inet n - n - 2 health\n"
        f"127.0.0.1:{port2} inet n - n - 2 health\n"
    )
    r = ctl.run("ternctl", "reload")
    assert r.returncode == 0, r.stderr
    ctl.wait_log(r"reloaded the configuration: 2 services")
    _, service = wait_for(lambda: _hello(port2), what="the new service")
    assert service == f"127.0.0.1:{port2}"

    r = ctl.run("ternctl", "stop")
    assert r.returncode == 0, r.stderr
    assert f"tern stopped (pid {pid})" in r.stdout
    assert not pid_alive(pid)
    assert not ctl.pid_file.exists()
    r = ctl.run("ternctl", "status")
    assert r.returncode == 3
    r = ctl.run("ternctl", "stop")
    assert (r.returncode, r.stdout.strip()) == (0, "tern is not running")
    r = ctl.run("ternctl", "reload")
    assert r.returncode == 1
    assert "not running" in r.stderr


def _hello(port):
    try:
        return health_hello(port, timeout=2)
    except OSError:
        return None


def test_reload_refuses_bad_configuration(ctl):
    assert ctl.run("ternctl", "start").returncode == 0
    pid = ctl.pid_file_pid()
    offset = ctl.log_size()
    (ctl.config_dir / "master.cf").write_text("x inet n - n - bogus health\n")
    r = ctl.run("ternctl", "reload")
    assert r.returncode == 1
    assert "master.cf:1" in r.stderr
    assert "reload" not in ctl.log(offset)
    assert pid_alive(pid)


def test_start_reports_master_errors(ctl):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        (ctl.config_dir / "master.cf").write_text(f"127.0.0.1:{port} inet n - n - 2 health\n")
        r = ctl.run("ternctl", "start")
    assert r.returncode == 1
    assert "Address already in use" in r.stderr
    assert "master did not start" in r.stderr
    assert ctl.run("ternctl", "status").returncode == 3


def test_check_creates_tree_with_manifest_modes(ctl):
    r = ctl.run("ternctl", "check")
    assert r.returncode == 0, r.stderr
    dirs = manifest_dirs(ctl)
    queue = [d for d in dirs if d[0].startswith(str(ctl.queue_dir) + "/")]
    names = {os.path.basename(d[0]) for d in queue}
    assert {"incoming", "active", "deferred", "hold", "corrupt", "maildrop", "pid",
            "private", "public", "bounce"} <= names
    for path, mode, _ in dirs:
        st = os.lstat(path)
        assert stat.S_ISDIR(st.st_mode), path
        assert stat.S_IMODE(st.st_mode) == mode, (path, oct(st.st_mode))
        if path != str(ctl.config_dir):
            assert f"created directory {path} " in r.stdout
    # Nothing to do the second time.
    r = ctl.run("ternctl", "check")
    assert (r.returncode, r.stdout) == (0, "")


def test_check_repairs_modes(ctl):
    assert ctl.run("ternctl", "check").returncode == 0
    incoming = ctl.queue_dir / "incoming"
    maildrop = ctl.queue_dir / "maildrop"
    incoming.chmod(0o755)
    maildrop.chmod(0o700)
    r = ctl.run("ternctl", "check")
    assert r.returncode == 0, r.stderr
    assert f"repaired mode of {incoming}: 0755 -> 0700" in r.stdout
    assert f"repaired mode of {maildrop}: 0700 -> 1733" in r.stdout
    assert stat.S_IMODE(incoming.stat().st_mode) == 0o700
    assert stat.S_IMODE(maildrop.stat().st_mode) == 0o1733


def test_check_refuses_symlinks(ctl, tmp_path):
    assert ctl.run("ternctl", "check").returncode == 0
    hold = ctl.queue_dir / "hold"
    hold.rmdir()
    target = tmp_path / "elsewhere"
    target.mkdir(mode=0o755)
    hold.symlink_to(target)
    r = ctl.run("ternctl", "check")
    assert r.returncode == 1
    assert f"{hold} is a symbolic link" in r.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o755


def test_check_makes_tls_certificate(ctl):
    r = ctl.run("ternctl", "check")
    assert r.returncode == 0, r.stderr
    cert = ctl.config_dir / "tls" / "cert.pem"
    key = ctl.config_dir / "tls" / "key.pem"
    assert cert.read_text().startswith("-----BEGIN CERTIFICATE-----")
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    cert.unlink()
    r = ctl.run("ternctl", "check")
    assert r.returncode == 1
    assert "tls_key_file" in r.stderr and "does not" in r.stderr


@pytest.mark.parametrize(
    "file, text, where",
    [
        ("main.cf", "max_use = -3\n", "main.cf:"),
        ("master.cf", "127.0.0.1:1 inet n - n - 2 health\nsmtp inet\n", "master.cf:2"),
    ],
)
def test_check_reports_configuration_errors(ctl, file, text, where):
    if file == "main.cf":
        ctl.write_main_cf(text=text)
    else:
        (ctl.config_dir / file).write_text(text)
    r = ctl.run("ternctl", "check")
    assert r.returncode == 1
    assert f"{ctl.config_dir}/{where}" in r.stderr
    r = ctl.run("ternctl", "start")
    assert r.returncode == 1
    assert ctl.run("ternctl", "status").returncode in (3, 4)


def test_check_reports_missing_program(ctl):
    (ctl.config_dir / "master.cf").write_text("127.0.0.1:1 inet n - n - 2 no-such-daemon\n")
    r = ctl.run("ternctl", "check")
    assert r.returncode == 1
    assert "master.cf:1: service 127.0.0.1:1" in r.stderr
    assert "no-such-daemon" in r.stderr


@pytest.mark.root
def test_check_sets_owners_as_root(ctl):
    r = ctl.run("ternctl", "check")
    assert r.returncode == 0, r.stderr
    user = pwd.getpwnam(TEST_USER)
    for path, _, owner in manifest_dirs(ctl):
        expected = 0 if owner in ("root", "-") else pwd.getpwnam(owner).pw_uid
        assert os.lstat(path).st_uid == expected, path
    incoming = ctl.queue_dir / "incoming"
    os.chown(incoming, 0, 0)
    r = ctl.run("ternctl", "check")
    assert r.returncode == 0
    assert f"repaired owner of {incoming}: uid 0 -> {TEST_USER}" in r.stdout
    assert incoming.stat().st_uid == user.pw_uid
