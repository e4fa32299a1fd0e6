"""The lmtp server and the store under load, crashes and bad messages.

Ten parallel sessions delivering to one account (UIDs unique, without gaps,
increasing in each session, each UID holding the message its reply named);
kill -9 of lmtp processes in the middle of deliveries (every recipient that
got 250 is in the index with its blob; orphans are collected afterwards);
broken and torture MIME messages (delivered, with a BODYSTRUCTURE that
parses).
"""
import os
import random
import re
import threading
import time

from conftest import wait_for
from lmtp_helpers import (
    RawLmtp,
    StoreServer,
    blob_path,
    dot_stuff,
    message_text,
    no_crashes,  # noqa: F401 (autouse fixture)
    simple_message,
    store_blob_files,
    store_messages,
)

SENDER = "sender@example.net"
UID = re.compile(r"uid (\d+)$")


def run_threads(targets):
    """Run the functions in threads; re-raise the first exception any of them raised."""
    errors = []

    def wrap(fn):
        def inner():
            try:
                fn()
            except BaseException as e:  # noqa: B902 (reported to the test)
                errors.append(e)
        return inner

    threads = [threading.Thread(target=wrap(fn)) for fn in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    if errors:
        raise errors[0]


def test_ten_parallel_sessions_one_user(tern):
    srv = StoreServer(tern, maxproc=10)
    sessions, per_session = 10, 25
    results = [[] for _ in range(sessions)]

    def session(n):
        def go():
            with RawLmtp(srv.socket, timeout=60) as c:
                c.lhlo()
                for i in range(per_session):
                    token = f"S{n:02d}M{i:03d}"
                    _, data = c.transaction(SENDER, ["alice@example.org"],
                                            simple_message(subject=token), lhlo=False)
                    ((code, text),) = data
                    assert code == 250, text
                    results[n].append((token, int(UID.search(text).group(1))))
        return go

    run_threads([session(n) for n in range(sessions)])
    total = sessions * per_session
    uids = [uid for r in results for _, uid in r]
    assert len(set(uids)) == total
    assert sorted(uids) == list(range(1, total + 1))
    for r in results:
        mine = [uid for _, uid in r]
        assert all(a < b for a, b in zip(mine, mine[1:])), mine
    msgs = srv.messages("alice@example.org")
    assert [m["uid"] for m in msgs] == list(range(1, total + 1))
    by_uid = {m["uid"]: m for m in msgs}
    for r in results:
        for token, uid in r:
            assert f"\r\nSubject: {token}\r\n".encode() in message_text(by_uid[uid])


def lmtp_pids(srv):
    pids = []
    for pid in srv.tern.children():
        try:
            if os.readlink(f"/proc/{pid}/exe") == str(srv.tern.daemon_dir / "lmtp"):
                pids.append(pid)
        except OSError:
            pass
    return pids


def test_kill_9_during_deliveries(tern):
    srv = StoreServer(tern, maxproc=4, main={"lmtp_memory_limit": "4k"})
    rcpts = ["alice@example.org", "bob@example.org", "dave@example.net"]
    accepted = []  # (recipient, token, uid) for every 250 after the data
    stop = threading.Event()
    killed = []

    def client(n):
        def go():
            i = 0
            while not stop.is_set():
                token = f"C{n}N{i}"
                i += 1
                body = (f"{token} " + "k" * 70 + "\r\n") * random.randint(1, 200)
                try:
                    with RawLmtp(srv.socket, timeout=20) as c:
                        c.lhlo()
                        assert c.cmd(f"MAIL FROM:<{SENDER}>")[0] == 250
                        for r in rcpts:
                            assert c.cmd(f"RCPT TO:<{r}>")[0] == 250
                        assert c.cmd("DATA")[0] == 354
                        c.send(dot_stuff(simple_message(subject=token, body=body)) + b".\r\n")
                        for r in rcpts:
                            code, text = c.reply()
                            if code == 250:
                                accepted.append((r, token, int(UID.search(text).group(1))))
                            else:
                                assert code == 451, text
                except (EOFError, ConnectionError):
                    continue  # killed under us: try again with a new message
        return go

    def killer():
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:
            time.sleep(random.uniform(0.05, 0.2))
            pids = lmtp_pids(srv)
            if pids:
                pid = random.choice(pids)
                try:
                    os.kill(pid, 9)
                    killed.append(pid)
                except ProcessLookupError:
                    pass
        stop.set()

    run_threads([client(n) for n in range(4)] + [killer])
    assert len(killed) >= 5 and len(accepted) >= 20, (len(killed), len(accepted))
    # every 250 is in the index, with its blob and its content
    for who in rcpts:
        msgs = {m["uid"]: m for m in srv.messages(who)}
        mine = [(token, uid) for r, token, uid in accepted if r == who]
        assert len({uid for _, uid in mine}) == len(mine)
        for token, uid in mine:
            assert uid in msgs, (who, token, uid)
            assert f"\r\nSubject: {token}\r\n".encode() in message_text(msgs[uid])

    # orphans: what the kills left, and one of each kind planted here, are collected
    planted = []
    for who in rcpts:
        path = srv.store_path(who)
        msgs = store_messages(path)
        orphan = blob_path(path, max(m["blob"] for m in msgs) + 4242)
        orphan.write_bytes(b"Subject: orphan\r\n\r\nno row refers to me\r\n")
        tmp = path / "tmp" / "left-by-a-crash"
        tmp.write_bytes(b"half a message")
        planted += [orphan, tmp]
        r = srv.admin("store", "gc", who, "--min-age", "0")
        m = re.search(r"store collected: address=\S+, orphans=(\d+), temp_files=(\d+)", r.stdout)
        assert m and int(m.group(1)) >= 1 and int(m.group(2)) >= 1, r.stdout
    for p in planted:
        assert not p.exists(), p
    for who in rcpts:
        path = srv.store_path(who)
        msgs = store_messages(path)
        assert store_blob_files(path) == {m["path"] for m in msgs}
        assert os.listdir(path / "tmp") == []
    # and the stores work on
    with RawLmtp(srv.socket) as c:
        _, data = c.transaction(SENDER, rcpts, simple_message(subject="after"))
        assert [code for code, _ in data] == [250] * 3


# ---------------------------------------------------------------- MIME


BROKEN = {
    "no_blank_line": b"Subject: no blank line\r\nFrom: a@example.net\r\nthis is no header\r\n",
    "header_only": b"Subject: only a header\r\n",
    "empty": b"",
    "missing_boundary": (b"Content-Type: multipart/mixed; boundary=\"never\"\r\n\r\n"
                         b"no boundary line at all\r\n"),
    "unterminated": (b"MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b1\r\n"
                     b"\r\n--b1\r\nContent-Type: text/plain\r\n\r\none\r\n--b1\r\n"
                     b"Content-Type: text/html\r\n\r\n<p>two, no closing boundary\r\n"),
    "no_boundary_param": b"Content-Type: multipart/mixed\r\n\r\n--x\r\n\r\nbody\r\n--x--\r\n",
    "bad_base64": (b"Content-Type: text/plain; charset=utf-8\r\n"
                   b"Content-Transfer-Encoding: base64\r\n\r\n!!!not*base64===\r\nQUJD\r\n"),
    "bad_qp": (b"Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
               b"=ZZ=\r\n=4\r\nend=\r\n"),
    "unknown_charset": (b"Subject: =?x-no-such-charset?Q?caf=E9?= =?utf-8?B?broken?=\r\n"
                        b"Content-Type: text/plain; charset=x-no-such-charset\r\n\r\n"
                        b"caf\xe9 \xff\xfe\r\n"),
    "eight_bit_garbage": b"Subject: \xff\xc3\x28\r\nX-Null: a\x00b\r\n\r\n\x00\x01\x02\xff\r\n",
    "long_line": b"Subject: long\r\n\r\n" + b"L" * 200000 + b"\r\n",
    "bad_content_type": b"Content-Type: ;;;===\"\r\nContent-Disposition: (\r\n\r\nx\r\n",
    "rfc822_part": (b"Content-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\n"
                    b"Content-Type: message/rfc822\r\n\r\nSubject: inner\r\n"
                    b"Content-Type: multipart/mixed; boundary=i\r\n\r\n--i\r\n\r\ninner text\r\n"
                    b"--o--\r\n"),
    "deep_nesting": (b"".join(b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n"
                              % (i, i) for i in range(60))
                     + b"Content-Type: text/plain\r\n\r\ndeep\r\n"
                     + b"".join(b"--b%d--\r\n" % i for i in reversed(range(60)))),
    "many_parts": (b"Content-Type: multipart/mixed; boundary=m\r\n\r\n"
                   + b"--m\r\n\r\npart\r\n" * 1500 + b"--m--\r\n"),
}


def imap_list(text, i=0):
    """Parse the IMAP parenthesized list at text[i]; returns the index after it. Raises
    ValueError on anything that is not an IMAP list of strings, numbers, NIL and lists."""
    if text[i] != "(":
        raise ValueError(f"no list at {i}: {text[i:i + 20]!r}")
    i += 1
    while True:
        if i >= len(text):
            raise ValueError("unterminated list")
        c = text[i]
        if c == ")":
            return i + 1
        if c == " " and text[i - 1] != "(":
            i += 1
            continue
        nested = c == "("
        if nested:
            i = imap_list(text, i)
        elif c == '"':
            i += 1
            while text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            i += 1
        elif c == "{":
            m = re.compile(r"\{(\d+)\}\r\n").match(text, i)
            if not m:
                raise ValueError(f"bad literal at {i}")
            i = m.end() + int(m.group(1))
        else:
            m = re.compile(r"NIL|\d+").match(text, i)
            if not m:
                raise ValueError(f"unexpected {text[i:i + 20]!r} at {i}")
            i = m.end()
        # the parts of a multipart follow one another without a space (RFC 9051 body-type-mpart)
        if text[i] not in " )" and not (nested and text[i] == "("):
            raise ValueError(f"no separator at {i}: {text[i:i + 20]!r}")


def torture_messages():
    """The MIME engineer's test messages (tests/data/mime/), when they are there."""
    d = os.path.join(os.path.dirname(__file__), "..", "data", "mime")
    if not os.path.isdir(d):
        return {}
    out = {}
    for name in sorted(os.listdir(d)):
        path = os.path.join(d, name)
        if os.path.isfile(path):
            with open(path, "rb") as f:
                data = f.read()
            out[name] = re.sub(rb"\r?\n", b"\r\n", data)
    return out


def test_broken_and_torture_messages(tern):
    srv = StoreServer(tern)
    cases = dict(BROKEN)
    cases.update(torture_messages())
    with RawLmtp(srv.socket, timeout=60) as c:
        c.lhlo()
        for name, msg in cases.items():
            _, data = c.transaction(SENDER, ["alice@example.org"], msg, lhlo=False)
            assert [code for code, _ in data] == [250], (name, data)
    msgs = srv.messages("alice@example.org")
    assert len(msgs) == len(cases)
    for (name, msg), m in zip(cases.items(), msgs):
        stored = message_text(m)
        assert stored.endswith(msg if msg.endswith(b"\r\n") or not msg else msg + b"\r\n"), name
        bs = m["bodystructure"]
        assert bs, name
        try:
            end = imap_list(bs)
        except (ValueError, IndexError) as e:
            raise AssertionError(f"{name}: BODYSTRUCTURE does not parse ({e}): {bs[:300]}")
        assert end == len(bs), (name, bs[end:end + 50])
    wait_for(lambda: tern.log().count("status=sent") >= len(cases), what="the delivery lines")
