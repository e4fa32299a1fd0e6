"""Shared fixtures for Tern's integration tests.

The tests drive the tree installed under $TERN_PREFIX (tests/run installs one).
Each test gets its own Tern instance in tmp_path: a configuration directory
(main.cf + master.cf), a queue, data and store directory, and a log file. The
instance's master runs in the foreground as a child of the test, listening on
free loopback ports only.

    def test_something(tern):
        port = tern.port()
        tern.write_master_cf([f"127.0.0.1:{port} inet n - n - 2 health"])
        tern.start()
        pid, service = health_hello(port)

When the tests run as root, mail_owner and store_owner are the user
"terntest" (tests/run creates it). Tests that need root are marked
@pytest.mark.root; they are skipped otherwise.
"""
import os
import pathlib
import re
import signal
import socket
import subprocess
import time

import pytest

TEST_USER = "terntest"


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "root: needs root (privilege drop to mail_owner); skipped otherwise"
    )


def pytest_collection_modifyitems(config, items):
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason="needs root")
    for item in items:
        if "root" in item.keywords:
            item.add_marker(skip)


# ---------------------------------------------------------------- helpers


def wait_for(predicate, timeout=10.0, interval=0.05, what="condition"):
    """Poll predicate() until it returns a true value; fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


_used_ports = set()


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now (not handed out twice)."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _used_ports:
            _used_ports.add(port)
            return port
    raise RuntimeError("no free port found")


def pid_alive(pid):
    """Whether a process with this pid exists (zombies count as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def children_of(ppid):
    """Pids of the live processes whose parent is ppid."""
    result = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[1]) == ppid and fields[0] != "Z":
            result.append(int(entry))
    return sorted(result)


def proc_uid(pid):
    """The effective uid of a process."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Uid:"):
                return int(line.split()[2])
    raise RuntimeError(f"no Uid line for {pid}")


class LineClient:
    """A line-oriented client: connect, read CRLF lines, send commands."""

    def __init__(self, host, port=None, timeout=10.0, sock=None):
        if sock is None:
            if port is None:  # a UNIX-domain socket path
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.settimeout(timeout)
                sock.connect(str(host))
            else:
                sock = socket.create_connection((host, port), timeout=timeout)
        sock.settimeout(timeout)
        self.sock = sock
        self.file = sock.makefile("rb")

    def readline(self):
        line = self.file.readline()
        return line.decode("utf-8", "replace").rstrip("\r\n") if line else None

    def send(self, line):
        self.sock.sendall(line.encode() + b"\r\n")

    def command(self, line):
        self.send(line)
        return self.readline()

    def close(self):
        try:
            self.file.close()
        finally:
            self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


GREETING = re.compile(r"^220 .* pid=(\d+) service=(\S+)$")


def parse_greeting(line):
    """(pid, service) from a health greeting; fails the test on anything else."""
    m = GREETING.match(line or "")
    assert m, f"not a health greeting: {line!r}"
    return int(m.group(1)), m.group(2)


def health_hello(port, host="127.0.0.1", timeout=10.0):
    """Connect to a health service, read its greeting, QUIT; returns (pid, service)."""
    with LineClient(host, port, timeout=timeout) as c:
        pid, service = parse_greeting(c.readline())
        assert c.command("QUIT") == "221 bye"
        return pid, service


# ---------------------------------------------------------------- the instance


class Tern:
    """One Tern instance in a temporary directory."""

    def __init__(self, prefix, base):
        self.prefix = pathlib.Path(prefix)
        self.base = base
        self.config_dir = base / "etc"
        self.queue_dir = base / "queue"
        self.data_dir = base / "data"
        self.store_dir = base / "data" / "store"
        self.log_path = base / "tern.log"
        self.daemon_dir = self.prefix / "libexec" / "tern"
        self.meta_dir = self.prefix / "share" / "tern"
        self.sbin_dir = self.prefix / "sbin"
        self.proc = None
        self.stderr_path = base / "master.stderr"
        self.config_dir.mkdir(parents=True, exist_ok=True)
        self.write_main_cf()
        self.write_master_cf([])

    # -- configuration

    def base_params(self):
        params = {
            "queue_directory": str(self.queue_dir),
            "data_directory": str(self.data_dir),
            "store_directory": str(self.store_dir),
            "daemon_directory": str(self.daemon_dir),
            "meta_directory": str(self.meta_dir),
            "log_to": str(self.log_path),
            "inet_interfaces": "127.0.0.1",
            "master_drain_timeout": "10s",
        }
        if os.geteuid() == 0:
            params["mail_owner"] = TEST_USER
            params["store_owner"] = TEST_USER
        return params

    def write_main_cf(self, extra=None, text=None):
        """main.cf: the instance's directories and log, plus extra parameters (or raw text)."""
        params = self.base_params()
        params.update(extra or {})
        body = "".join(f"{k} = {v}\n" for k, v in params.items())
        (self.config_dir / "main.cf").write_text(body + (text or ""))

    def write_master_cf(self, lines):
        """master.cf from a list of service lines."""
        (self.config_dir / "master.cf").write_text("".join(line + "\n" for line in lines))

    def port(self):
        return free_port()

    # -- programs

    def program(self, name):
        for d in (self.daemon_dir, self.sbin_dir):
            if (d / name).exists():
                return str(d / name)
        pytest.fail(f"{name} is not installed under {self.prefix}")

    def run(self, name, *args, timeout=60, **kw):
        """Run an installed program with -c config_dir; returns the CompletedProcess."""
        return subprocess.run(
            [self.program(name), "-c", str(self.config_dir), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            **kw,
        )

    # -- master

    @property
    def pid_file(self):
        return self.queue_dir / "pid" / "master.pid"

    def pid_file_pid(self):
        try:
            text = self.pid_file.read_text().strip()
        except FileNotFoundError:
            return None
        return int(text) if text.isdigit() else None

    def start(self, wait=True):
        """Start master -f; wait until it holds the pid file and has opened its sockets."""
        assert self.proc is None, "already started"
        offset = self.log_size()
        with open(self.stderr_path, "ab") as err:
            self.proc = subprocess.Popen(
                [self.program("master"), "-f", "-c", str(self.config_dir)],
                stdin=subprocess.DEVNULL,
                stdout=err,
                stderr=err,
            )
        if wait:
            pid = self.proc.pid
            wait_for(
                lambda: self.proc.poll() is not None
                or (
                    self.pid_file_pid() == pid
                    and f"master[{pid}]: daemon started" in self.log(offset)
                ),
                what="master to start",
            )
            assert self.proc.poll() is None, (
                f"master exited with {self.proc.returncode}: "
                f"{self.stderr_path.read_text()}{self.log(offset)}"
            )
        return self.proc

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def children(self):
        return children_of(self.pid)

    def reload(self, timeout=10):
        """SIGHUP; wait until master logged the outcome (success or failure)."""
        offset = self.log_size()
        self.proc.send_signal(signal.SIGHUP)
        wait_for(
            lambda: re.search(r"reloaded the configuration|reload failed", self.log(offset)),
            timeout=timeout,
            what="the reload to finish",
        )
        return self.log(offset)

    def stop(self, timeout=30):
        """SIGTERM; returns master's exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail(f"master did not stop within {timeout}s")
        return rc

    # -- log

    def log_size(self):
        try:
            return self.log_path.stat().st_size
        except FileNotFoundError:
            return 0

    def log(self, offset=0):
        """The log text from byte offset on."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(offset)
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def wait_log(self, pattern, offset=0, timeout=10.0):
        """Wait until the log (from offset) matches the regular expression; returns the match."""
        return wait_for(
            lambda: re.search(pattern, self.log(offset)),
            timeout=timeout,
            what=f"log line matching {pattern!r}",
        )


def _open_ancestors(path):
    """As root, let the unprivileged test user reach path (pytest makes 0700 directories)."""
    for p in [path, *path.parents]:
        if str(p) in ("/", "/tmp"):
            break
        mode = p.stat().st_mode & 0o777
        if mode & 0o011 != 0o011:
            p.chmod(mode | 0o011)


@pytest.fixture(scope="session")
def tern_prefix():
    prefix = os.environ.get("TERN_PREFIX")
    if not prefix:
        pytest.fail("TERN_PREFIX is not set: point it at an installed Tern tree (tests/run does)")
    if not (pathlib.Path(prefix) / "libexec" / "tern" / "master").exists():
        pytest.fail(f"TERN_PREFIX={prefix}: no libexec/tern/master there; run make install")
    if os.geteuid() == 0:
        import pwd

        try:
            pwd.getpwnam(TEST_USER)
        except KeyError:
            pytest.fail(f"running as root needs the user {TEST_USER} (tests/run creates it)")
    return prefix


@pytest.fixture
def tern_factory(tern_prefix, tmp_path):
    """Make Tern instances (tern_factory("name")); each is stopped and checked at teardown."""
    instances = []

    def make(name="tern"):
        base = tmp_path / name
        base.mkdir()
        if os.geteuid() == 0:
            _open_ancestors(base)
        t = Tern(tern_prefix, base)
        instances.append(t)
        return t

    yield make
    problems = []
    for t in instances:
        if t.proc is None:
            continue
        kids = children_of(t.proc.pid) if t.proc.poll() is None else []
        rc = t.stop()
        if rc != 0:
            problems.append(f"master exited with {rc}: {t.stderr_path.read_text()}")
        left = [pid for pid in kids if pid_alive(pid)]
        if left:
            problems.append(f"children left behind: {left}")
    if problems:
        pytest.fail("; ".join(problems))


@pytest.fixture
def tern(tern_factory):
    """One Tern instance (not started)."""
    return tern_factory()
