"""Local submission: sendmail(1) with its common flags, postdrop writing into
maildrop/, and pickup handing the files to cleanup, end to end into incoming/;
a malformed or foreign maildrop file goes to corrupt/ and does not hold up the
next one; the queue listing (-bp, mailq), the flush request (-q), an SMTP
session (-bs), and mutt as a real mail user agent posting through sendmail.
"""
import os
import pwd
import shutil
import socket
import struct
import subprocess
import time

import pytest

from conftest import wait_for

ORIGIN = "example.com"
LOGIN = pwd.getpwuid(os.getuid()).pw_name

# sysexits.h
EX_USAGE, EX_DATAERR, EX_NOUSER, EX_OSFILE, EX_NOPERM = 64, 65, 67, 72, 77


# ---------------------------------------------------------------- queue files


class QueueFile:
    """What a queue file holds (mail/queue_file.h): envelope, attributes, content lines."""

    def __init__(self, path):
        self.name = path.name
        self.sender = None
        self.rcpts = []
        self.notify = []
        self.envid = self.ret = self.flags = None
        self.attrs = {}
        self.lines = []
        data = path.read_bytes()
        i, section, piece = 0, "envelope", b""
        while i < len(data):
            kind = chr(data[i])
            i += 1
            n, shift = 0, 0
            while True:
                b = data[i]
                i += 1
                n |= (b & 0x7F) << shift
                shift += 7
                if not b & 0x80:
                    break
            value = data[i : i + n]
            i += n
            if kind == "M":
                section = "content"
            elif kind == "X":
                section = "extracted"
            elif section == "content" and kind == "C":
                piece += value
            elif section == "content" and kind == "L":
                self.lines.append((piece + value).decode("utf-8", "replace"))
                piece = b""
            elif kind == "S":
                self.sender = value.decode()
            elif kind in "RD":
                notify, _, address = value.split(b"\0")
                self.rcpts.append(address.decode())
                self.notify.append(int(notify))
            elif kind == "I":
                self.envid = value.decode()
            elif kind == "P":
                self.ret = value.decode()
            elif kind == "F" and section == "envelope":
                self.flags = int(value)
            elif kind == "A" and section == "envelope":
                name, _, val = value.decode().partition("=")
                self.attrs[name] = val

    def header(self):
        """The header lines (up to the empty line)."""
        return self.lines[: self.lines.index("")] if "" in self.lines else self.lines

    def body(self):
        return self.lines[self.lines.index("") + 1 :] if "" in self.lines else []

    def field(self, name):
        """The first header field of that name, unfolded, or None."""
        head = self.header()
        for k, line in enumerate(head):
            if line.lower().startswith(name.lower() + ":"):
                value = line[len(name) + 1 :]
                for cont in head[k + 1 :]:
                    if not cont[:1] in (" ", "\t"):
                        break
                    value += cont
                return value.strip()
        return None


def queued(tern):
    d = tern.queue_dir / "incoming"
    return sorted(p.name for p in d.iterdir() if not p.name.startswith(".")) if d.exists() else []


def wait_queued(tern, count, timeout=10.0):
    """Wait for count queue files in incoming/; return them parsed, oldest first."""
    names = wait_for(
        lambda: (lambda q: q if len(q) >= count else None)(queued(tern)),
        timeout=timeout,
        what=f"{count} message(s) in incoming/",
    )
    assert len(names) == count, names
    return [QueueFile(tern.queue_dir / "incoming" / n) for n in names]


def maildrop(tern):
    return sorted(p.name for p in (tern.queue_dir / "maildrop").iterdir())


def corrupt(tern):
    return sorted(p.name for p in (tern.queue_dir / "corrupt").iterdir())


# ---------------------------------------------------------------- maildrop files


def md_record(kind, value):
    if isinstance(value, str):
        value = value.encode()
    return kind.encode() + struct.pack(">I", len(value)) + value


def maildrop_file(uid, sender, rcpts, content, full_name=None):
    """A maildrop file (mail/maildrop.h) as postdrop writes it."""
    out = b"TERNDROP 1\n" + md_record("U", str(uid)) + md_record("T", str(int(time.time())))
    out += md_record("S", sender)
    if full_name:
        out += md_record("N", full_name)
    out += md_record("F", "0")
    for r in rcpts:
        out += md_record("R", r)
    out += md_record("M", b"") + md_record("C", content) + md_record("E", str(len(content)))
    return out


def drop_name(n):
    """A valid final maildrop name that sorts before anything postdrop makes now."""
    return "00000001%05X%012X" % (n, n)


# ---------------------------------------------------------------- fixtures


def configure(tern, services=("pickup", "cleanup"), **params):
    base = {"myorigin": ORIGIN, "myhostname": "mail.example.com"}
    base.update(params)
    tern.write_main_cf(base)
    lines = {
        "pickup": "pickup unix n - n 60 1 pickup",
        "cleanup": "cleanup unix n - n - 0 cleanup",
        "auth": "auth unix - - n - 1 auth",
    }
    tern.write_master_cf([lines[s] for s in services])
    r = tern.run("ternctl", "check")
    assert r.returncode == 0, r.stderr


@pytest.fixture
def mail(tern):
    """A started instance with pickup and cleanup."""
    configure(tern)
    tern.start()
    return tern


def sendmail(tern, *args, input="", **kw):
    return tern.run("sendmail", *args, input=input, **kw)


def post(tern, *args, input):
    r = sendmail(tern, *args, input=input)
    assert r.returncode == 0, r.stderr
    return r


# ---------------------------------------------------------------- posting


def test_recipients_from_arguments(mail):
    offset = mail.log_size()
    post(mail, "-i", "bob@example.org", '"Carol Q" <carol@example.net>, dave',
         input="Subject: args\n\nhello\n")
    (qf,) = wait_queued(mail, 1)
    assert qf.sender == f"{LOGIN}@{ORIGIN}"
    assert qf.rcpts == ["bob@example.org", "carol@example.net", f"dave@{ORIGIN}"]
    assert qf.field("Subject") == "args"
    assert qf.body() == ["hello"]
    assert qf.attrs.get("local_user") == LOGIN
    # pickup logs as Postfix does, and only then the maildrop file is gone
    mail.wait_log(rf"pickup\[\d+\]: {qf.name}: uid={os.getuid()} from=<{LOGIN}@{ORIGIN}>", offset)
    assert maildrop(mail) == []


def test_extract_recipients_and_remove_bcc(mail):
    message = (
        "From: Me <me@example.org>\n"
        "To: Ann <ann@example.org>,\n"
        "  \"Lee, Bo\" <bo@example.org>\n"
        "Cc: team: cy@example.org, dee@example.org;\n"
        "Bcc: hidden@example.org\n"
        "Subject: extracted\n"
        "\n"
        "Bcc: this is body text\n"
    )
    post(mail, "-t", "extra@example.net", input=message)
    (qf,) = wait_queued(mail, 1)
    assert sorted(qf.rcpts) == sorted(
        ["ann@example.org", "bo@example.org", "cy@example.org", "dee@example.org",
         "hidden@example.org", "extra@example.net"]
    )
    assert qf.field("Bcc") is None
    assert "hidden@example.org" not in "\n".join(qf.header())
    assert qf.field("To").startswith("Ann <ann@example.org>")
    assert qf.field("Cc") == "team: cy@example.org, dee@example.org;"
    assert qf.body() == ["Bcc: this is body text"]


def test_extract_prefers_resent_fields(mail):
    message = (
        "To: original@example.org\n"
        "Resent-To: forward@example.org\n"
        "Resent-Bcc: secret@example.org\n"
        "Subject: resent\n\nbody\n"
    )
    post(mail, "-t", input=message)
    (qf,) = wait_queued(mail, 1)
    assert sorted(qf.rcpts) == ["forward@example.org", "secret@example.org"]
    assert qf.field("Resent-Bcc") is None
    assert qf.field("To") == "original@example.org"


def test_sender_and_full_name(mail):
    post(mail, "-f", "alice@example.net", "-F", "Alice Example", "bob@example.org",
         input="Subject: no from field\n\nbody\n")
    (qf,) = wait_queued(mail, 1)
    assert qf.sender == "alice@example.net"
    # cleanup made a From: field with the full name
    assert "Alice Example" in qf.field("From")


def test_null_and_unqualified_senders(mail):
    post(mail, "-f", "<>", "bob", input="Subject: null\n\nx\n")
    post(mail, "-r", "postmaster", "bob", input="Subject: local\n\nx\n")
    first, second = wait_queued(mail, 2)
    assert first.sender == ""
    assert first.rcpts == [f"bob@{ORIGIN}"]
    assert second.sender == f"postmaster@{ORIGIN}"


def test_dot_handling(mail):
    text = "Subject: dots\n\nline one\n..two dots\n.\nafter the dot\n"
    post(mail, "bob@example.org", input=text)
    post(mail, "-i", "bob@example.org", input=text)
    post(mail, "-oi", "bob@example.org", input=text.replace("\n", "\r\n"))
    plain, with_i, with_oi = wait_queued(mail, 3)
    # without -i a lone dot ends the message; a leading dot is never unstuffed
    assert plain.body() == ["line one", "..two dots"]
    assert with_i.body() == ["line one", "..two dots", ".", "after the dot"]
    assert with_oi.body() == with_i.body()


def test_from_line_and_missing_blank_line(mail):
    post(mail, "-i", "bob@example.org",
         input="From someone Mon Nov 23 10:00:00 2026\nSubject: mbox\nthis is the body\n")
    (qf,) = wait_queued(mail, 1)
    assert qf.field("Subject") == "mbox"
    assert not any(line.startswith("From someone") for line in qf.lines)
    assert qf.body() == ["this is the body"]


def test_usage_errors_post_nothing(tern):
    configure(tern)
    r = sendmail(tern, input="Subject: x\n\nno recipients\n")
    assert r.returncode == EX_USAGE and "no recipients" in r.stderr
    r = sendmail(tern, "-t", input="Subject: x\n\nnone in the header\n")
    assert r.returncode == EX_USAGE and "no recipient addresses" in r.stderr
    r = sendmail(tern, "bob@@example.org", input="Subject: x\n\n")
    assert r.returncode == EX_NOUSER, r.stderr
    r = sendmail(tern, "-t", input="To: Bob Smith\n\n")
    assert r.returncode == EX_NOUSER, r.stderr
    r = sendmail(tern, "-f", "a@@b", "bob", input="\n")
    assert r.returncode == EX_USAGE, r.stderr
    r = sendmail(tern, "-N", "sometimes", "bob", input="\n")
    assert r.returncode == EX_USAGE
    r = sendmail(tern, "-bd")
    assert r.returncode == EX_USAGE
    assert maildrop(tern) == []


def test_size_limit(tern):
    configure(tern, message_size_limit="2k")
    r = sendmail(tern, "-i", "bob@example.org", input="Subject: big\n\n" + "x" * 3000 + "\n")
    assert r.returncode == EX_DATAERR, r.stderr
    assert "too big" in r.stderr
    # postdrop left no temporary file behind
    assert maildrop(tern) == []
    r = sendmail(tern, "-i", "bob@example.org", input="Subject: small\n\n" + "x" * 1000 + "\n")
    assert r.returncode == 0, r.stderr
    assert len(maildrop(tern)) == 1


def test_postdrop_failures_are_reported(tern):
    configure(tern)
    drop = tern.queue_dir / "maildrop"
    if os.geteuid() != 0:  # root may write anyway
        drop.chmod(0o500)
        try:
            # postdrop fails before sendmail has written it all: its status is sendmail's
            r = sendmail(tern, "-i", "bob@example.org",
                         input="Subject: big\n\n" + ("y" * 999 + "\n") * 2000)
            assert r.returncode == EX_NOPERM, r.stderr
            assert "Permission denied" in r.stderr
        finally:
            drop.chmod(0o1733)
        assert maildrop(tern) == []
    configure(tern, command_directory=str(tern.base / "nowhere"))
    r = sendmail(tern, "bob@example.org", input="Subject: x\n\nbody\n")
    assert r.returncode == EX_OSFILE, r.stderr
    assert "postdrop" in r.stderr


def test_dsn_options(mail):
    post(mail, "-N", "success,delay", "-R", "hdrs", "-V", "ENV-42", "-B", "8BITMIME",
         "bob@example.org", input="Subject: dsn\n\nbody\n")
    (qf,) = wait_queued(mail, 1)
    assert qf.rcpts == ["bob@example.org"]
    assert qf.envid == "ENV-42"
    assert qf.ret == "HDRS"
    # CLEANUP_NOTIFY_SUCCESS | CLEANUP_NOTIFY_DELAY; CLEANUP_FLAG_8BITMIME | CLEANUP_FLAG_LOCAL
    assert qf.notify == [2 | 8]
    assert qf.flags == 2 | 8


def test_ignored_options(mail):
    post(mail, "-oem", "-odi", "-odb", "-oee", "-v", "-m", "-U", "-L", "label", "-h", "5",
         "--", "bob@example.org", input="Subject: ignored options\n\nbody\n")
    (qf,) = wait_queued(mail, 1)
    assert qf.field("Subject") == "ignored options"


# ---------------------------------------------------------------- the maildrop and pickup


def test_posted_while_down_is_picked_up_at_start(tern):
    configure(tern)
    post(tern, "bob@example.org", input="Subject: early\n\nbody\n")
    assert len(maildrop(tern)) == 1
    tern.start()
    (qf,) = wait_queued(tern, 1)
    assert qf.field("Subject") == "early"
    # pickup removes the maildrop file only after cleanup has committed the queue file
    wait_for(lambda: maildrop(tern) == [], what="an empty maildrop/")


def test_corrupt_files_do_not_block_the_queue(tern):
    configure(tern)
    drop = tern.queue_dir / "maildrop"
    (drop / drop_name(1)).write_bytes(b"TERNDROP 1\nQ\0\0\0\0garbage")
    (drop / "not-a-maildrop-name").write_bytes(b"whatever")
    wrong_uid = maildrop_file(os.getuid() + 1, "x@example.org", ["bob@example.org"], b"\n")
    (drop / drop_name(2)).write_bytes(wrong_uid)
    bad_rcpt = maildrop_file(os.getuid(), "x@example.org", ["bob@@example.org"], b"\n")
    (drop / drop_name(3)).write_bytes(bad_rcpt)
    unreadable = maildrop_file(os.getuid(), "x@example.org", ["bob@example.org"], b"\n")
    (drop / drop_name(4)).write_bytes(unreadable)
    (drop / drop_name(4)).chmod(0)
    # (pickup runs as mail_owner, which is not root even when the tests are)
    expected = [drop_name(1), drop_name(2), drop_name(3), drop_name(4), "not-a-maildrop-name"]
    post(tern, "bob@example.org", input="Subject: good\n\nbody\n")
    offset = tern.log_size()
    tern.start()
    (qf,) = wait_queued(tern, 1)
    assert qf.field("Subject") == "good"
    wait_for(lambda: len(corrupt(tern)) == len(expected), what="the files in corrupt/")
    assert corrupt(tern) == sorted(expected)
    wait_for(lambda: maildrop(tern) == [], what="an empty maildrop/")
    log = tern.log(offset)
    assert f"maildrop file {drop_name(1)}: unknown record type" in log
    assert "maildrop file not-a-maildrop-name: not a maildrop file name: moved to" in log
    assert f"maildrop file {drop_name(2)}: records uid" in log
    assert f"maildrop file {drop_name(3)}: bad recipient address" in log
    assert f"maildrop file {drop_name(4)}: not readable" in log


def test_file_still_being_written_is_not_taken(mail):
    whole = maildrop_file(os.getuid(), "w@example.org", ["bob@example.org"],
                          b"Subject: written slowly\n\nbody\n", full_name="Writer")
    path = mail.queue_dir / "maildrop" / drop_name(7)
    path.write_bytes(whole[: len(whole) - 9])
    # a wake-up makes pickup look now: it leaves the file alone
    offset = mail.log_size()
    post(mail, "bob@example.org", input="Subject: other\n\nx\n")
    (other,) = wait_queued(mail, 1)
    assert other.field("Subject") == "other"
    assert path.exists() and corrupt(mail) == []
    assert "moved to" not in mail.log(offset)
    # complete it; the next look takes it
    path.write_bytes(whole)
    post(mail, "carol@example.org", input="Subject: third\n\nx\n")
    subjects = sorted(q.field("Subject") for q in wait_queued(mail, 3))
    assert subjects == ["other", "third", "written slowly"]
    assert corrupt(mail) == []


def test_postdrop_refuses_bad_input(tern):
    configure(tern)
    for data in (b"garbage", b"TERNDROP 1\n", b"", maildrop_file(0, "a@b", ["c@d"], b"x")):
        r = subprocess.run([tern.program("postdrop"), "-c", str(tern.config_dir)], input=data,
                           capture_output=True, timeout=30)
        assert r.returncode == EX_DATAERR, (data, r.stderr)
    assert maildrop(tern) == []


def test_many_messages(mail):
    for i in range(20):
        post(mail, "-i", f"user{i}@example.org", input=f"Subject: number {i}\n\nbody {i}\n")
    files = wait_queued(mail, 20, timeout=30)
    assert sorted(f.field("Subject") for f in files) == sorted(f"number {i}" for i in range(20))
    # pickup removes each maildrop file only after cleanup has committed its queue file
    wait_for(lambda: maildrop(mail) == [], what="an empty maildrop/")


# ---------------------------------------------------------------- -bp, -q, -bs


def test_queue_listing(tern):
    configure(tern)
    r = sendmail(tern, "-bp")
    assert r.returncode == 0 and r.stdout.strip() == "Mail queue is empty"
    # without pickup the message waits in maildrop/, and is listed from there
    post(tern, "-f", "lister@example.org", "bob@example.org", "carol@example.org",
         input="Subject: listed\n\nbody\n")
    r = sendmail(tern, "-bp")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("-Queue ID-")
    assert "lister@example.org" in lines[1]
    assert lines[2].strip() == "bob@example.org" and lines[3].strip() == "carol@example.org"
    assert lines[-1] == "-- 1 Kbytes in 1 Request."
    # queued by cleanup: listed from incoming/ with its queue ID
    tern.start()
    (qf,) = wait_queued(tern, 1)
    link = tern.base / "mailq"
    link.symlink_to(tern.program("sendmail"))
    r = subprocess.run([str(link), "-c", str(tern.config_dir)], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[1].startswith(qf.name)
    assert "bob@example.org" in r.stdout


def test_flush_request(tern):
    configure(tern)
    r = sendmail(tern, "-q")
    assert r.returncode == 0
    assert "not running" in r.stderr
    # a queue manager listening on public/qmgr gets an F
    path = tern.queue_dir / "public" / "qmgr"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.bind(str(path))
        s.listen(1)
        s.settimeout(10)
        r = sendmail(tern, "-q")
        assert r.returncode == 0, r.stderr
        conn, _ = s.accept()
        with conn:
            conn.settimeout(10)
            assert conn.recv(16) == b"F"


def test_smtp_session_on_stdio(tern):
    for daemon in ("smtpd", "auth"):
        if not (tern.daemon_dir / daemon).exists():
            pytest.skip(f"{daemon} is not installed")
    # smtpd asks auth whether a domain is local; example.org is one to relay to
    configure(tern, services=("pickup", "cleanup", "auth"), relay_domains="example.org")
    tern.start()
    mail = tern
    p = subprocess.Popen([mail.program("sendmail"), "-c", str(mail.config_dir), "-bs"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def reply():
        lines = []
        while True:
            line = p.stdout.readline().decode()
            assert line, "smtpd closed the session"
            lines.append(line.rstrip("\r\n"))
            if line[3:4] != "-":
                return lines

    def cmd(text):
        p.stdin.write(text.encode() + b"\r\n")
        p.stdin.flush()
        return reply()

    try:
        assert reply()[0].startswith("220")
        assert cmd("EHLO client.example.org")[-1].startswith("250")
        assert cmd("MAIL FROM:<smtp@example.org>")[0].startswith("250")
        assert cmd("RCPT TO:<bob@example.org>")[0].startswith("250")
        assert cmd("DATA")[0].startswith("354")
        done = cmd("Subject: over stdio\r\n\r\nbody\r\n.")
        assert done[0].startswith("250"), done
        assert cmd("QUIT")[0].startswith("221")
        assert p.wait(30) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    (qf,) = wait_queued(mail, 1)
    assert qf.sender == "smtp@example.org"
    assert qf.rcpts == ["bob@example.org"]
    assert qf.field("Subject") == "over stdio"


# ---------------------------------------------------------------- a real MUA


def test_mutt_posts_through_sendmail(mail, tmp_path):
    mutt = shutil.which("mutt")
    if mutt is None:
        pytest.skip("mutt is not installed (Debian package mutt)")
    home = tmp_path / "home"
    home.mkdir()
    body = tmp_path / "body.txt"
    body.write_text("Hello from mutt.\n")
    sendmail_cmd = f"{mail.program('sendmail')} -c {mail.config_dir} -oem -oi"
    env = dict(os.environ, HOME=str(home), TMPDIR=str(tmp_path), EMAIL="")
    with open(body) as stdin:
        r = subprocess.run(
            [mutt, "-n", "-F", "/dev/null",
             "-e", f"set sendmail=\"{sendmail_cmd}\"",
             "-e", "set from=\"Mutt User <mutt.user@example.org>\"",
             "-e", "set record=\"\" copy=no",
             "-s", "sent by mutt", "-c", "cc@example.org", "-b", "blind@example.org",
             "bob@example.org"],
            stdin=stdin, capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    (qf,) = wait_queued(mail, 1)
    assert sorted(qf.rcpts) == sorted(["bob@example.org", "blind@example.org", "cc@example.org"])
    assert qf.field("Subject") == "sent by mutt"
    assert "mutt.user@example.org" in qf.field("From")
    assert qf.field("Bcc") is None
    assert "Hello from mutt." in qf.body()
