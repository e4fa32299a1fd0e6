"""smtpd and cleanup: the durability promise under load, with cleanup killed at random.

Many concurrent smtplib sessions (a bounded number, for a bounded time) send
messages of various sizes, each carrying the SHA-256 of its body in a
header, while cleanup processes are killed with SIGKILL at random moments,
many of them in the middle of DATA. Afterwards every message that got 250
must be in the queue, complete and byte for byte intact; a message that did
not get 250 may be there (complete and intact) or not at all; nothing
partial may carry a queue ID as its name; and smtpd must have answered the
failures with 4xx.
"""
import os
import random
import signal
import smtplib
import threading
import time

import pytest

from smtp_helpers import (
    MailServer,
    body_intact,
    make_message,
    no_crashes,  # noqa: F401 (autouse fixture)
    queue_id_of,
    read_queue_file,
)

WORKERS = 12
LOAD_SECONDS = 12
MAX_PER_WORKER = 80


def worker(server, wid, deadline, results):
    rnd = random.Random(wid)
    n = 0
    while time.monotonic() < deadline and n < MAX_PER_WORKER:
        try:
            with smtplib.SMTP("127.0.0.1", server.port, timeout=60) as s:
                s.ehlo("load.example")
                for _ in range(rnd.randint(1, 4)):
                    if time.monotonic() >= deadline or n >= MAX_PER_WORKER:
                        break
                    tag = f"w{wid}-m{n}"
                    n += 1
                    msg = make_message(tag, rnd.choice([500, 4000, 30000, 150000, 400000]))
                    code, text = s.mail("load@remote.example")
                    if code != 250:
                        results.append((tag, "fail", code))
                        continue
                    s.rcpt("alice@example.org")
                    code, text = s.data(msg)
                    if code == 250:
                        results.append((tag, "ok", queue_id_of(text.decode())))
                    else:
                        results.append((tag, "fail", code))
                        s.rset()
        except (smtplib.SMTPException, OSError) as e:
            results.append((f"w{wid}-m{n}", "lost", str(e)))
            time.sleep(0.05)


def killer(server, stop, kills):
    rnd = random.Random(4242)
    while not stop.is_set():
        time.sleep(rnd.uniform(0.005, 0.08))
        pids = server.pids("cleanup")
        if not pids:
            continue
        pid = rnd.choice(pids)
        try:
            os.kill(pid, signal.SIGKILL)
            kills.append(pid)
        except ProcessLookupError:
            pass


def test_kill_cleanup_under_load(tern):
    server = MailServer(tern, maxproc=WORKERS + 5, main={"service_throttle_time": "1s",
                                                         "message_size_limit": "10m"})
    results, kills = [], []
    stop = threading.Event()
    deadline = time.monotonic() + LOAD_SECONDS
    threads = [threading.Thread(target=worker, args=(server, i, deadline, results))
               for i in range(WORKERS)]
    k = threading.Thread(target=killer, args=(server, stop, kills))
    k.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join(LOAD_SECONDS + 120)
    stop.set()
    k.join(10)
    assert not any(t.is_alive() for t in threads), "a client hung"

    ok = {tag: qid for tag, kind, qid in results if kind == "ok"}
    failed = [(tag, code) for tag, kind, code in results if kind == "fail"]
    assert len(kills) >= 5, f"only {len(kills)} kills"
    assert len(ok) >= 50, f"only {len(ok)} messages accepted"
    # every failure was a temporary one
    assert all(400 <= code < 500 for _, code in failed), failed

    files = server.queue_files()
    subjects = {}
    for name, path in files.items():
        q = read_queue_file(path)  # fails unless complete
        assert body_intact(q.content), f"{name} is damaged"
        subjects[name] = q.header("Subject")
    for tag, qid in ok.items():
        assert qid in files, f"{tag} got 250 (queued as {qid}) but is not in the queue"
        assert subjects[qid] == tag, (qid, subjects[qid], tag)
    # a queued message is one we sent, at most once per 250
    sent = {tag for tag, _, _ in results}
    assert set(subjects.values()) <= sent
    print(f"{len(ok)} accepted, {len(failed)} refused, {len(results) - len(ok) - len(failed)} "
          f"lost, {len(kills)} cleanup processes killed, {len(files)} queue files")


@pytest.mark.parametrize("when", ["envelope", "content"])
def test_cleanup_gone_gives_451(tern, when):
    """With no cleanup service at all, DATA gets 451 and nothing is queued."""
    server = MailServer(tern)
    # take cleanup out of master.cf and reload: its socket goes away
    lines = [line for line in (tern.config_dir / "master.cf").read_text().split("\n")
             if line and not line.startswith("cleanup ")]
    tern.write_master_cf(lines)
    tern.reload()
    with smtplib.SMTP("127.0.0.1", server.port, timeout=30) as s:
        s.ehlo()
        s.mail("a@remote.example")
        s.rcpt("alice@example.org")
        if when == "envelope":
            assert s.docmd("DATA") == (451, b"4.3.0 Error: queue file write error")
        else:
            s.send(b"BDAT 5\r\nabcde")
            assert s.getreply() == (451, b"4.3.0 Error: queue file write error")
    assert server.queue_files() == {}
