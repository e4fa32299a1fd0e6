"""qmgr: the queue manager against a fake delivery agent (qmgr_helpers.FakeAgent).

Messages are queued through cleanup; qmgr takes them (woken by cleanup),
groups recipients per destination within the recipient limit, keeps each
destination within its window (slow start), serves destinations fairly,
defers with backoff (files in deferred/ with the next attempt as mtime),
declares unreachable destinations dead, recovers active/ at start, skips
recipients marked done, quarantines corrupt files, leaves files locked by an
agent alone, expands virtual aliases (one to many into a new message, loops
returned), and routes by transport_maps, relayhost and relay_domains.
"""
import fcntl
import os
import re
import time

import pytest

from conftest import wait_for
from qmgr_helpers import (
    CRASH,
    STARTED,
    FakeAgent,
    Submit,
    chown_like_queue,
    close_agents,
    queue_empty,
    queue_ids,
    read_queue,
    restart_with_qmgr,
    start_qmgr,
    submit,
    wake,
)


@pytest.fixture(autouse=True)
def no_crashes():
    """A test fails when any Tern process of it crashed or a sanitizer spoke."""
    STARTED.clear()
    yield
    close_agents()
    for t in STARTED:
        text = t.log()
        m = CRASH.search(text)
        assert m is None, text[max(0, m.start() - 500):m.end() + 500]
        err = t.stderr_path.read_text(errors="replace") if t.stderr_path.exists() else ""
        assert "Sanitizer" not in err and "runtime error" not in err, err[:3000]


def wait_delivered(agent, n, timeout=20):
    return wait_for(lambda: len(agent.delivered()) >= n, timeout=timeout,
                    what=f"{n} deliveries (have {len(agent.delivered())})")


def test_delivery_and_removal(tern):
    start_qmgr(tern)
    agent = FakeAgent(tern)
    offset = tern.log_size()
    ids = []
    with Submit(tern) as s:
        for i in range(20):
            ids.append(s.message("alice@sender.example", [f"u{i}@d{i % 4}.example"]))
    wait_delivered(agent, 20)
    wait_for(lambda: queue_empty(tern), what="an empty queue")
    log = tern.log(offset)
    for qid in ids:
        assert re.search(rf"{qid}: from=<alice@sender.example>, size=\d+, nrcpt=1 \(queue active\)",
                         log), qid
        wait_for(lambda: f"{qid}: removed" in tern.log(offset), what=f"{qid} removed")
    # each recipient exactly once, to its domain's destination
    seen = agent.rcpts_seen()
    assert sorted(seen) == sorted((qid, f"u{i}@d{i % 4}.example") for i, qid in enumerate(ids))
    for req in agent.requests:
        assert req["transport"] == "smtp"
        assert req["queue_path"] == f"active/{req['queue_id']}"
        assert req["nexthop"] == req["rcpts"][0]["address"].split("@")[1]
        assert req["sender"] == "alice@sender.example"
        assert re.fullmatch(r"\d+\.\d{6}", req["arrival"])


def test_woken_by_cleanup(tern):
    # no periodic scan to speak of: the wake-up from cleanup must do it
    start_qmgr(tern, {"queue_run_delay": "300s"})
    agent = FakeAgent(tern)
    time.sleep(0.5)  # qmgr's first scan is over
    start = time.monotonic()
    submit(tern, "a@sender.example", ["b@fast.example"])
    wait_delivered(agent, 1, timeout=5)
    assert time.monotonic() - start < 2


def test_recipient_limit_and_grouping(tern):
    start_qmgr(tern, {"default_destination_recipient_limit": "5"})
    agent = FakeAgent(tern)
    rcpts = [f"r{i}@big.example" for i in range(23)] + [f"s{i}@small.example" for i in range(4)]
    qid = submit(tern, "a@sender.example", rcpts)
    wait_delivered(agent, 27)
    wait_for(lambda: queue_empty(tern), what="an empty queue")
    by_hop = {}
    for req in agent.requests:
        assert req["queue_id"] == qid
        assert 1 <= len(req["rcpts"]) <= 5
        by_hop.setdefault(req["nexthop"], []).append(len(req["rcpts"]))
        assert {rc["address"].split("@")[1] for rc in req["rcpts"]} == {req["nexthop"]}
    assert sorted(by_hop["big.example"]) == [3, 5, 5, 5, 5]
    assert by_hop["small.example"] == [4]
    assert sorted(a for _, a in agent.rcpts_seen()) == sorted(rcpts)
    # the offsets are those of the R records
    offsets = {rc["offset"] for req in agent.requests for rc in req["rcpts"]}
    assert len(offsets) == 27


def test_slow_start_and_window(tern):
    start_qmgr(tern, {"initial_destination_concurrency": "2",
                      "default_destination_concurrency_limit": "4"})
    agent = FakeAgent(tern, delay=lambda req: 0.4)
    with Submit(tern) as s:
        for i in range(24):
            s.message("a@sender.example", [f"u{i}@one.example"])
    wait_delivered(agent, 24, timeout=30)
    reqs = sorted(agent.requests, key=lambda r: r["start"])
    # the window opened from 2 to 4, never beyond
    assert agent.max_active["one.example"] == 4
    first_end = min(r["end"] for r in reqs[:2])
    assert reqs[2]["start"] >= first_end - 0.05, "a third delivery started before any ended"
    # with 4 in flight most of the time, 24 deliveries of 0.4s take about 2.6s, not 4.8s
    assert reqs[-1]["end"] - reqs[0]["start"] < 4.5


def test_fairness_between_destinations(tern):
    start_qmgr(tern, {"initial_destination_concurrency": "2",
                      "default_destination_concurrency_limit": "3"})
    agent = FakeAgent(tern, delay=lambda req: 1.0 if req["nexthop"] == "slow.example" else 0)
    start = time.monotonic()
    with Submit(tern) as s:
        for i in range(12):
            s.message("a@sender.example", [f"u{i}@slow.example"])
        for i in range(10):
            s.message("a@sender.example", [f"u{i}@fast{i}.example"])
    wait_for(lambda: len([1 for q, a in agent.delivered() if "fast" in a]) == 10, timeout=10,
             what="the fast deliveries")
    fast_done = time.monotonic() - start
    slow_done = len([1 for q, a in agent.delivered() if "slow" in a])
    # the slow destination held at most its window; the others went past it
    assert fast_done < 2.0, fast_done
    assert slow_done <= 6, slow_done
    wait_delivered(agent, 22, timeout=30)
    assert agent.max_active["slow.example"] <= 3


def defer_policy(domain, relay="mx.example[192.0.2.9]:25", text="451 4.3.2 try again later"):
    def policy(req, rcpt):
        if rcpt["address"].endswith("@" + domain):
            return 4, "4.3.2", text, relay
        return 2, "2.0.0", "250 ok", "mx.example[192.0.2.9]:25"
    return policy


def attempts(tern, qid, offset=0):
    return len(re.findall(rf"{qid}: from=<[^>]*>, size=\d+, nrcpt=\d+ \(queue active\)",
                          tern.log(offset)))


def test_defer_backoff_and_retry(tern):
    start_qmgr(tern, {"minimal_backoff_time": "2s", "maximal_backoff_time": "8s"})
    agent = FakeAgent(tern, policy=defer_policy("later.example"))
    offset = tern.log_size()
    qid = submit(tern, "a@sender.example", ["x@later.example", "y@now.example"])
    wait_for(lambda: qid in queue_ids(tern, "deferred"), what="the message in deferred/")
    deferred_at = time.time()
    mtime = os.stat(tern.queue_dir / "deferred" / qid).st_mtime
    # the next attempt: minimal_backoff_time (the message is young), jitter within 10%
    assert deferred_at + 2 * 0.9 - 1 <= mtime <= deferred_at + 2 * 1.1 + 0.5, mtime - deferred_at
    # the delivered recipient is done in the file, the other not
    qf = read_queue(tern, "deferred", qid)
    done = {r["address"]: r["done"] for r in qf.rcpts}
    assert done == {"x@later.example": False, "y@now.example": True}
    # it comes back by itself, and only the deferred recipient is tried again
    wait_for(lambda: attempts(tern, qid, offset) >= 2, timeout=6, what="a second attempt")
    wait_for(lambda: len(agent.requests) >= 3, what="the second delivery")
    assert [a for q, a in agent.rcpts_seen()].count("y@now.example") == 1
    agent.policy = defer_policy("nothing.example")
    wait_for(lambda: f"{qid}: removed" in tern.log(offset), timeout=15, what="removal")
    times = [r["start"] for r in agent.requests if r["nexthop"] == "later.example"]
    assert len(times) >= 3
    # waits of about 2s, 2s, then longer (the message's age)
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert all(g >= 1.5 for g in gaps), gaps
    assert queue_empty(tern)


def test_dead_destination(tern):
    start_qmgr(tern, {"initial_destination_concurrency": "2", "minimal_backoff_time": "30s",
                      "default_destination_concurrency_failed_cohort_limit": "1"})
    agent = FakeAgent(tern, policy=defer_policy(
        "dead.example", relay="none", text="connect to dead.example[192.0.2.66]:25: "
                                          "Connection refused"))
    offset = tern.log_size()
    with Submit(tern) as s:
        ids = [s.message("a@sender.example", [f"u{i}@dead.example"]) for i in range(10)]
        other = s.message("a@sender.example", ["v@alive.example"])
    wait_for(lambda: len(queue_ids(tern, "deferred")) == 10, what="10 deferred messages")
    log = tern.log(offset)
    # two deliveries at window 2 fail a whole cohort; the rest are not tried
    tried = [r for r in agent.requests if r["nexthop"] == "dead.example"]
    assert len(tried) == 2, len(tried)
    assert "smtp:dead.example: destination not reachable" in log
    suspended = re.findall(r"(\w+): to=<u\d+@dead.example>, relay=none, delay=[\d.]+, "
                           r"delays=[\d./]+, dsn=4.4.1, status=deferred \(delivery temporarily "
                           r"suspended: connect to dead.example\[192.0.2.66\]:25: "
                           r"Connection refused\)", log)
    assert len(suspended) == 8
    assert set(suspended) | {r["queue_id"] for r in tried} == set(ids)
    # other destinations are not affected
    wait_for(lambda: "v@alive.example" in [a for _, a in agent.delivered()],
             what="the other delivery")
    assert other not in queue_ids(tern, "deferred")


def test_recovery_from_active_and_done_marks(tern):
    start_qmgr(tern, qmgr_line=None)
    qid = submit(tern, "a@sender.example", ["one@r.example", "two@r.example", "three@r.example"])
    # as if qmgr had it in active/ and an agent had delivered "two" when all died
    incoming = tern.queue_dir / "incoming" / qid
    qf = read_queue(tern, "incoming", qid)
    two = [r for r in qf.rcpts if r["address"] == "two@r.example"][0]
    with open(incoming, "r+b") as f:
        f.seek(two["offset"])
        f.write(b"D")
    active = tern.queue_dir / "active"
    active.mkdir(exist_ok=True)
    chown_like_queue(tern, active)
    os.rename(incoming, active / qid)
    offset = tern.log_size()
    agent = FakeAgent(tern)
    restart_with_qmgr(tern)
    wait_for(lambda: f"{qid}: removed" in tern.log(offset), what="removal")
    assert "recovery: 1 messages moved from active/ back to incoming/" in tern.log(offset)
    assert sorted(a for _, a in agent.rcpts_seen()) == ["one@r.example", "three@r.example"]


def test_corrupt_file_quarantined(tern):
    start_qmgr(tern, qmgr_line=None)
    good = submit(tern, "a@sender.example", ["x@good.example"])
    data = (tern.queue_dir / "incoming" / good).read_bytes()
    # a truncated copy of a real queue file, and garbage, under queue IDs of their own
    bad = {good[:-1] + ("Z" if good[-1] != "Z" else "Y"): data[: len(data) // 2],
           good[:-2] + ("ZZ" if good[-2:] != "ZZ" else "YY"): b"not a queue file\n"}
    for name, content in bad.items():
        (tern.queue_dir / "incoming" / name).write_bytes(content)
        chown_like_queue(tern, tern.queue_dir / "incoming" / name)
    offset = tern.log_size()
    agent = FakeAgent(tern)
    restart_with_qmgr(tern)
    for name, content in bad.items():
        wait_for(lambda: name in queue_ids(tern, "corrupt"), what="the file in corrupt/")
        assert re.search(rf"{name}: corrupt queue file \(.*\): moved from incoming/ to corrupt/",
                         tern.log(offset))
        # kept as it was, never deleted
        assert (tern.queue_dir / "corrupt" / name).read_bytes() == content
    # the queue goes on
    wait_delivered(agent, 1)
    wait_for(lambda: queue_empty(tern), what="an empty queue")


def test_locked_file_left_alone(tern):
    start_qmgr(tern, qmgr_line=None)
    qid = submit(tern, "a@sender.example", ["x@locked.example"])
    path = tern.queue_dir / "incoming" / qid
    f = open(path, "rb")
    fcntl.flock(f.fileno(), fcntl.LOCK_SH)  # as a delivery agent of a dead qmgr would
    agent = FakeAgent(tern)
    try:
        restart_with_qmgr(tern)
        time.sleep(2.5)
        assert agent.rcpts_seen() == []
        assert qid in queue_ids(tern, "incoming")
    finally:
        fcntl.flock(f.fileno(), fcntl.LOCK_UN)
        f.close()
    wait_delivered(agent, 1, timeout=5)


def test_agent_crash_keeps_done_marks(tern):
    start_qmgr(tern, {"minimal_backoff_time": "1s", "maximal_backoff_time": "2s"})
    crashed = []

    def policy(req, rcpt):
        if not crashed and rcpt["address"] == "b@crash.example":
            crashed.append(1)
            return None  # dies after delivering (and marking) a@crash.example
        return 2, "2.0.0", "250 ok", "mx[192.0.2.1]:25"

    agent = FakeAgent(tern, policy=policy)
    offset = tern.log_size()
    qid = submit(tern, "s@sender.example", ["a@crash.example", "b@crash.example",
                                            "c@crash.example"])
    wait_for(lambda: f"{qid}: removed" in tern.log(offset), timeout=15, what="removal")
    log = tern.log(offset)
    assert re.search(rf"{qid}: to=<b@crash.example>, relay=none, .*dsn=4.3.0, status=deferred "
                     r"\(delivery agent smtp failed: connection closed\)", log)
    assert f"{qid}: to=<a@crash.example>" not in log  # it was done, not deferred
    seen = [a for _, a in agent.rcpts_seen()]
    assert seen.count("a@crash.example") == 1
    assert seen.count("b@crash.example") == 2
    assert seen.count("c@crash.example") == 2


def test_flush_request(tern):
    start_qmgr(tern, {"minimal_backoff_time": "60s", "maximal_backoff_time": "60s"})
    agent = FakeAgent(tern, policy=defer_policy("flush.example"))
    qid = submit(tern, "a@sender.example", ["x@flush.example"])
    wait_for(lambda: qid in queue_ids(tern, "deferred"), what="the deferred message")
    assert os.stat(tern.queue_dir / "deferred" / qid).st_mtime > time.time() + 40
    agent.policy = defer_policy("nothing.example")
    time.sleep(1.5)
    assert qid in queue_ids(tern, "deferred")  # not due
    wake(tern, b"F")
    wait_for(lambda: queue_empty(tern), timeout=5, what="the flushed message delivered")
    assert len(agent.delivered()) == 1


def test_active_queue_limit(tern):
    start_qmgr(tern, {"qmgr_message_active_limit": "3"})
    agent = FakeAgent(tern, delay=lambda req: 0.3)
    peak = []
    with Submit(tern) as s:
        for i in range(12):
            s.message("a@sender.example", [f"u@d{i}.example"])
    deadline = time.monotonic() + 20
    while len(agent.delivered()) < 12 and time.monotonic() < deadline:
        peak.append(len(queue_ids(tern, "active")))
        time.sleep(0.02)
    assert len(agent.delivered()) == 12
    assert max(peak) <= 3 and agent.max_total <= 3


def write_table(tern, name, text):
    path = tern.config_dir / name
    path.write_text(text)
    return f"texthash:{path}"


def test_virtual_aliases(tern):
    virtual = write_table(tern, "virtual", "list@v.example  a@x.example, b@y.example\n"
                                           "rw@v.example    new@z.example\n"
                                           "loop1@v.example loop2@v.example\n"
                                           "loop2@v.example loop1@v.example\n")
    start_qmgr(tern, {"virtual_alias_maps": virtual})
    agent = FakeAgent(tern, capture=True)
    offset = tern.log_size()
    qid = submit(tern, "s@sender.example", ["list@v.example", "rw@v.example",
                                            "loop1@v.example"], notify=0)
    wait_for(lambda: f"{qid}: removed" in tern.log(offset), what="removal of the original")
    log = tern.log(offset)
    m = re.search(rf"{qid}: alias expansion: 2 addresses queued as (\w+)", log)
    assert m, log
    child = m.group(1)
    assert re.search(rf"{qid}: to=<loop1@v.example>, relay=none, .*dsn=5.4.6, status=bounced "
                     r"\(virtual alias loop: loop1@v.example -> loop2@v.example -> "
                     r"loop1@v.example\)", log)
    # the failure notice goes to the sender, from <>
    wait_for(lambda: any(r["sender"] == "" for r in agent.requests), what="the notice")
    notice = [r for r in agent.requests if r["sender"] == ""][0]
    assert [rc["address"] for rc in notice["rcpts"]] == ["s@sender.example"]
    text = b"\n".join(notice["qf"].lines)
    assert b"loop1@v.example" in text and b"5.4.6" in text
    # the rewritten address keeps the original as ORCPT
    rw = [(r, rc) for r in agent.requests for rc in r["rcpts"] if rc["address"] == "new@z.example"]
    assert len(rw) == 1 and rw[0][0]["queue_id"] == qid
    assert rw[0][1]["orcpt"] == "rfc822;rw@v.example"
    # the expansion: a message of its own, marked, delivered, removed
    wait_for(lambda: f"{child}: removed" in tern.log(offset), what="removal of the copy")
    exp = [(r, rc) for r in agent.requests for rc in r["rcpts"] if r["queue_id"] == child]
    assert sorted(rc["address"] for _, rc in exp) == ["a@x.example", "b@y.example"]
    assert all(rc["orcpt"] == "rfc822;list@v.example" for _, rc in exp)
    assert exp[0][0]["qf"].attrs["expanded_from"] == qid
    assert exp[0][0]["qf"].sender == "s@sender.example"
    assert b"Subject: test" in b"\n".join(exp[0][0]["qf"].lines)
    assert queue_empty(tern)


def test_routing(tern):
    transport = write_table(tern, "transport", "special.example   other:unix:/run/other.sock\n"
                                               "refused.example   error:5.7.1 not here\n")
    start_qmgr(tern, {"transport_maps": transport, "relayhost": "[smart.example]:2525",
                      "relay_domains": "relayed.example", "relay_transport": "relay"})
    smtp = FakeAgent(tern)
    relay = FakeAgent(tern, transport="relay")
    other = FakeAgent(tern, transport="other")
    offset = tern.log_size()
    qid = submit(tern, "s@sender.example", ["a@remote.example", "b@relayed.example",
                                            "c@special.example", "d@refused.example"])
    wait_for(lambda: f"{qid}: removed" in tern.log(offset), what="removal")
    hops = {rc["address"]: (r["transport"], r["nexthop"])
            for a in (smtp, relay, other) for r in a.requests for rc in r["rcpts"]}
    assert hops["a@remote.example"] == ("smtp", "[smart.example]:2525")
    assert hops["b@relayed.example"] == ("relay", "relayed.example")
    assert hops["c@special.example"] == ("other", "unix:/run/other.sock")
    assert "d@refused.example" not in hops
    assert re.search(rf"{qid}: to=<d@refused.example>, .*dsn=5.7.1, status=bounced "
                     r"\(not here\)", tern.log(offset))


def test_transport_unavailable(tern):
    transport = write_table(tern, "transport", "nowhere.example  missing:\n")
    start_qmgr(tern, {"transport_maps": transport})
    agent = FakeAgent(tern)
    offset = tern.log_size()
    qid = submit(tern, "s@sender.example", ["a@nowhere.example", "b@fine.example"])
    wait_for(lambda: qid in queue_ids(tern, "deferred"), what="the deferred message")
    log = tern.log(offset)
    assert "transport missing: mail transport unavailable: connect to" in log
    assert re.search(rf"{qid}: to=<a@nowhere.example>, .*status=deferred \(delivery temporarily "
                     r"suspended: mail transport unavailable: ", log)
    assert [a for _, a in agent.delivered()] == ["b@fine.example"]


DIRECTORY = [
    ("domain", "add", "local.example"),
    ("user", "add", "alice@local.example"),
    ("user", "add", "bob@local.example"),
    ("alias", "add", "team@local.example", "alice@local.example", "bob@local.example"),
]


def test_local_delivery_through_the_directory(tern):
    start_qmgr(tern, {"recipient_delimiter": "+"}, directory=DIRECTORY)
    lmtp = FakeAgent(tern, transport="lmtp")
    smtp = FakeAgent(tern, capture=True)
    offset = tern.log_size()
    qid = submit(tern, "s@sender.example", ["alice+news@local.example", "team@local.example",
                                            "nobody@local.example"])
    wait_for(lambda: f"{qid}: removed" in tern.log(offset), what="removal")
    log = tern.log(offset)
    child = re.search(rf"{qid}: alias expansion: 2 addresses queued as (\w+)", log).group(1)
    wait_for(lambda: f"{child}: removed" in tern.log(offset), what="removal of the copy")
    store = str(tern.queue_dir / "private" / "lmtp-store")
    got = sorted((rc["address"], r["nexthop"]) for r in lmtp.requests for rc in r["rcpts"])
    assert got == [("alice+news@local.example", f"unix:{store}"),
                   ("alice@local.example", f"unix:{store}"),
                   ("bob@local.example", f"unix:{store}")]
    assert re.search(rf"{qid}: to=<nobody@local.example>, .*dsn=5.1.1, status=bounced "
                     r"\(nobody@local.example: user unknown\)", log)
    wait_for(lambda: any(r["sender"] == "" for r in smtp.requests), what="the notice")


def test_null_sender_gets_no_notice(tern):
    start_qmgr(tern, {"2bounce_notice_recipient": "postmaster@admin.example"},
               directory=DIRECTORY)
    agent = FakeAgent(tern, capture=True)
    offset = tern.log_size()
    qid = submit(tern, "", ["nobody@local.example"])
    wait_for(lambda: f"{qid}: removed" in tern.log(offset), what="removal")
    wait_for(lambda: agent.requests, what="the double bounce")
    assert [rc["address"] for r in agent.requests for rc in r["rcpts"]] == [
        "postmaster@admin.example"]
    assert agent.requests[0]["sender"] != ""


def test_expiry_returns_the_message(tern):
    start_qmgr(tern, {"maximal_queue_lifetime": "3s", "minimal_backoff_time": "1s",
                      "maximal_backoff_time": "1s"})
    agent = FakeAgent(tern, policy=defer_policy("slow.example"), capture=True)
    offset = tern.log_size()
    qid = submit(tern, "s@sender.example", ["x@slow.example"])
    wait_for(lambda: f"{qid}: removed" in tern.log(offset), timeout=15, what="expiry")
    log = tern.log(offset)
    assert re.search(rf"{qid}: message expired after \d+ seconds in the queue", log)
    assert attempts(tern, qid, offset) >= 2
    wait_for(lambda: any(r["sender"] == "" for r in agent.requests), what="the notice")
    notice = [r for r in agent.requests if r["sender"] == ""][0]
    assert [rc["address"] for rc in notice["rcpts"]] == ["s@sender.example"]
    assert b"4.4.7" in b"\n".join(notice["qf"].lines)


def test_bounce_lifetime_for_null_sender(tern):
    start_qmgr(tern, {"maximal_queue_lifetime": "1h", "bounce_queue_lifetime": "0",
                      "2bounce_notice_recipient": ""})
    agent = FakeAgent(tern, policy=defer_policy("slow.example"))
    offset = tern.log_size()
    qid = submit(tern, "", ["x@slow.example"])
    wait_for(lambda: f"{qid}: removed" in tern.log(offset), timeout=10, what="expiry")
    assert attempts(tern, qid, offset) == 1
    time.sleep(1)
    assert all(r["queue_id"] == qid for r in agent.requests)  # no notice at all


def test_delay_warning_once(tern):
    start_qmgr(tern, {"delay_warning_time": "2s", "minimal_backoff_time": "1s",
                      "maximal_backoff_time": "1s"})
    agent = FakeAgent(tern, policy=defer_policy("slow.example"), capture=True)
    offset = tern.log_size()
    qid = submit(tern, "s@sender.example", ["x@slow.example"])
    wait_for(lambda: any(r["sender"] == "" for r in agent.requests), timeout=10,
             what="the delay notice")
    wait_for(lambda: attempts(tern, qid, offset) >= 5, timeout=15, what="more attempts")
    notices = [r for r in agent.requests if r["sender"] == ""]
    assert len(notices) == 1
    assert [rc["address"] for rc in notices[0]["rcpts"]] == ["s@sender.example"]
    assert b"delayed" in b"\n".join(notices[0]["qf"].lines).lower()
    path = [tern.queue_dir / d / qid for d in ("deferred", "active", "incoming")
            if (tern.queue_dir / d / qid).exists()][0]
    assert os.stat(path).st_mode & 0o100


def test_stop_lets_deliveries_finish(tern):
    start_qmgr(tern)
    agent = FakeAgent(tern, delay=lambda req: 1.5)
    with Submit(tern) as s:
        ids = [s.message("a@sender.example", [f"u@d{i}.example"]) for i in range(3)]
    wait_for(lambda: agent.total_active == 3, what="three deliveries in progress")
    offset = tern.log_size()
    assert tern.stop() == 0
    log = tern.log(offset)
    assert "stopping: waiting up to 10s for 3 deliveries in progress" in log
    for qid in ids:
        assert f"{qid}: removed" in log
    assert queue_empty(tern)
