"""qmgr and the smtp agent under SIGKILL: exactly once when nothing fails, at
least once when anything fails, never zero times.

2,000 messages (1 to 3 recipients each) are queued through cleanup and
delivered by the real smtp agent, through relayhost, to Postfix's
smtp-sink, which writes each transaction to a file of its own. Meanwhile
qmgr and smtp agent processes are killed with SIGKILL at random moments, at
least 20 times. Afterwards every (message, recipient) must have arrived at
least once and the queue must be empty; duplicates are counted and reported
as duplicates per kill. A run without kills must have no duplicate at all.

The Postfix package provides smtp-sink (/usr/sbin/smtp-sink); Postfix itself
is never started. The tests are skipped when it, or the smtp agent, is missing.
"""
import os
import random
import re
import shutil
import signal
import subprocess
import threading
import time

import pytest

from conftest import TEST_USER, free_port, wait_for
from qmgr_helpers import CRASH, STARTED, Submit, queue_empty, qmgr_pids, start_qmgr

MESSAGES = 2000
SUBMITTERS = 4
MIN_KILLS = 20
MAX_KILLS = 40
TIME_LIMIT = 150  # seconds for the whole run, kills and delivery
INJECT_SECONDS = 12  # the messages are queued at a steady pace over this long


def smtp_sink():
    path = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"
    if not os.path.exists(path):
        pytest.skip("smtp-sink (Debian package postfix) is not installed")
    return path


class Sink:
    """smtp-sink on a loopback port, one dump file per transaction."""

    def __init__(self, tern):
        self.dir = tern.base / "sink"
        self.dir.mkdir()
        os.chmod(self.dir, 0o777)
        self.port = free_port()
        # about one DATA in ten is answered a second late or more: deliveries in flight
        args = [smtp_sink(), "-d", str(self.dir / "%Y%m%d%H%M%S."), "-m", "1000", "-t", "30",
                "-W", "data:1:10"]
        if os.geteuid() == 0:
            args += ["-u", TEST_USER]
        args += [f"127.0.0.1:{self.port}", "512"]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        wait_for(self._listening, what="smtp-sink to listen")

    def _listening(self):
        import socket

        assert self.proc.poll() is None, self.proc.stderr.read().decode()
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
                return s.recv(100).startswith(b"220")
        except OSError:
            return False

    def arrivals(self):
        """How often each (message tag, recipient) arrived."""
        counts = {}
        for path in self.dir.iterdir():
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                continue
            tag = re.search(rb"^X-Crash-Id: (\S+)\r?$", data, re.M)
            if tag is None:
                continue  # a transaction still being written
            for rcpt in re.findall(rb"^X-Rcpt-Args: <([^>\r\n]*)>", data, re.M):
                key = (tag.group(1).decode(), rcpt.decode())
                counts[key] = counts.get(key, 0) + 1
        return counts

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(autouse=True)
def no_sanitizer_reports():
    """Under ASan/UBSan builds a report (on master's stderr, which children share) fails."""
    STARTED.clear()
    yield
    for t in STARTED:
        err = t.stderr_path.read_text(errors="replace") if t.stderr_path.exists() else ""
        assert "Sanitizer" not in err and "runtime error" not in err, err[:3000]


@pytest.fixture
def sink(tern):
    s = Sink(tern)
    yield s
    s.close()


def agent_pids(tern):
    result = []
    for pid in tern.children():
        try:
            if os.readlink(f"/proc/{pid}/exe") == str(tern.daemon_dir / "smtp"):
                result.append(pid)
        except OSError:
            pass
    return result


def start(tern, sink):
    if not (tern.daemon_dir / "smtp").exists():
        pytest.skip("the smtp delivery agent is not installed")
    start_qmgr(tern, {
        "relayhost": f"[127.0.0.1]:{sink.port}",
        "smtp_tls_security_level": "none",
        "minimal_backoff_time": "1s",
        "maximal_backoff_time": "2s",
        "queue_run_delay": "1s",
        "service_throttle_time": "1s",
        "default_destination_concurrency_limit": "20",
    }, extra_lines=["smtp unix - - n - 10 smtp"])


def expected_rcpts(i):
    return [f"m{i}-r{k}@r{k}.example" for k in range(1 + i % 3)]


def inject(tern, errors):
    """Queue MESSAGES messages from SUBMITTERS threads over INJECT_SECONDS; returns them."""
    start = time.monotonic()

    def work(w):
        try:
            with Submit(tern, timeout=60) as s:
                for i in range(w, MESSAGES, SUBMITTERS):
                    pause = start + INJECT_SECONDS * i / MESSAGES - time.monotonic()
                    if pause > 0:
                        time.sleep(pause)
                    s.message("sender@origin.example", expected_rcpts(i),
                              body=f"X-Crash-Id: c{i}\r\nbody {i}\r\n".encode(),
                              subject=f"crash {i}")
        except Exception as e:  # noqa: BLE001 - reported by the test
            errors.append(repr(e))

    threads = [threading.Thread(target=work, args=(w,)) for w in range(SUBMITTERS)]
    for t in threads:
        t.start()
    return threads


def expected():
    return {(f"c{i}", r) for i in range(MESSAGES) for r in expected_rcpts(i)}


def no_crash_reports(tern):
    m = CRASH.search(tern.log())
    assert m is None, tern.log()[max(0, m.start() - 500):m.end() + 500]


def run(tern, sink, kills):
    """Inject, kill as told (kills: how many at least), wait; returns (counts, kill log)."""
    rnd = random.Random(int(time.time()))
    errors = []
    deadline = time.monotonic() + TIME_LIMIT
    threads = inject(tern, errors)
    killed = []
    want = expected()
    while kills and time.monotonic() < deadline and len(killed) < MAX_KILLS:
        time.sleep(rnd.uniform(0.1, 0.6))
        injecting = any(t.is_alive() for t in threads)
        if len(killed) >= kills and not injecting:
            break
        if not injecting and len(sink.arrivals()) >= len(want):
            break  # all delivered: kills now would test nothing
        victims = [("qmgr", p) for p in qmgr_pids(tern)]
        victims += [("smtp", p) for p in agent_pids(tern)]
        if not victims:
            continue
        # qmgr is one process against up to ten agents: give it a fair share of the kills
        pool = [v for v in victims if v[0] == "qmgr"] if rnd.random() < 0.4 else victims
        what, pid = rnd.choice(pool or victims)
        try:
            os.kill(pid, signal.SIGKILL)
            killed.append((round(time.monotonic(), 3), what, pid))
        except ProcessLookupError:
            pass
    for t in threads:
        t.join(max(1, deadline - time.monotonic()))
    assert not errors, errors
    wait_for(lambda: want <= set(sink.arrivals()) and queue_empty(tern),
             timeout=max(5, deadline - time.monotonic()),
             what="every recipient delivered and the queue empty")
    return sink.arrivals(), killed


def report(capsys, title, counts, killed):
    dups = sum(n - 1 for n in counts.values())
    qmgr_kills = sum(1 for k in killed if k[1] == "qmgr")
    per_kill = dups / len(killed) if killed else 0.0
    with capsys.disabled():
        print(f"\n{title}: {len(counts)} recipients delivered, {len(killed)} kills "
              f"({qmgr_kills} qmgr, {len(killed) - qmgr_kills} smtp), {dups} duplicates, "
              f"{per_kill:.2f} duplicates per kill")
    return dups


def test_no_kills_exactly_once(tern, sink, capsys):
    start(tern, sink)
    counts, killed = run(tern, sink, kills=0)
    assert set(counts) == expected()
    dups = report(capsys, "qmgr crash test, no kills", counts, killed)
    assert dups == 0, [k for k, n in counts.items() if n > 1][:20]
    no_crash_reports(tern)


def test_sigkill_at_least_once(tern, sink, capsys):
    start(tern, sink)
    counts, killed = run(tern, sink, kills=MIN_KILLS)
    assert len(killed) >= MIN_KILLS, f"only {len(killed)} kills happened"
    assert {k[1] for k in killed} == {"qmgr", "smtp"}
    # at least once: every recipient of every message arrived
    assert expected() <= set(counts)
    assert set(counts) == expected(), "something arrived that was never sent"
    report(capsys, "qmgr crash test, SIGKILL", counts, killed)
    log = tern.log()
    assert "recovery:" in log  # a restarted qmgr took back what its predecessor held
    no_crash_reports(tern)
