"""smtpd: real mail clients on loopback.

swaks (plain, --pipeline, STARTTLS with -tls, --auth PLAIN and LOGIN,
implicit TLS), curl (smtp:// with and without STARTTLS and login), msmtp
(STARTTLS and AUTH, as a mail user agent submits), openssl s_client on the
submissions port, and Postfix's smtp-source for a small load. Each message
must end up in the queue.
"""
import re
import subprocess

import pytest

from smtp_helpers import (
    make_message,
    module_server,
    no_crashes,  # noqa: F401 (autouse fixture)
    stop_server,
    tool,
)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = module_server(tmp_path_factory, "clients", main={"smtpd_sasl_auth_enable": "yes"},
                      submission=True, submissions=True, maxproc=30)
    yield s
    stop_server(s)


def run(args, **kw):
    kw.setdefault("timeout", 60)
    return subprocess.run(args, capture_output=True, text=True, **kw)


def queued_ids(output):
    return re.findall(r"queued as (\w+)", output)


def assert_queued(server, output, count=1):
    ids = queued_ids(output)
    assert len(ids) == count, output
    for queue_id in ids:
        assert server.queued(queue_id).complete


# ---------------------------------------------------------------- swaks


def swaks(server, *args, port=None):
    return run([tool("swaks"), "--server", "127.0.0.1", "--port", str(port or server.port),
                "--helo", "swaks.example", "--from", "sender@remote.example",
                "--to", "alice@example.org", "--hide-informational", *args])


def test_swaks_plain(server):
    r = swaks(server)
    assert r.returncode == 0, r.stdout + r.stderr
    assert_queued(server, r.stdout)


def test_swaks_pipeline(server):
    r = swaks(server, "--pipeline", "--to", "alice@example.org,bob@example.org,nobody@example.org")
    # one recipient refused: swaks reports it and still sends to the others
    assert "<** 550 5.1.1 <nobody@example.org>" in r.stdout, r.stdout
    assert_queued(server, r.stdout)
    assert re.search(r"-> MAIL FROM:<sender@remote.example>\n -> RCPT TO:<alice@example.org>\n",
                     r.stdout), r.stdout  # the commands went out together


def test_swaks_starttls_auth_plain(server):
    r = swaks(server, "-tls", "--auth", "PLAIN", "--auth-user", "alice@example.org",
              "--auth-password", "alice-pw", "--from", "alice@example.org",
              "--to", "victim@remote.example")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "235 2.7.0 Authentication successful" in r.stdout
    assert_queued(server, r.stdout)


def test_swaks_auth_login_on_submission(server):
    r = swaks(server, "-tls", "--auth", "LOGIN", "--auth-user", "bob@example.org",
              "--auth-password", "bob-pw", "--from", "bob@example.org",
              "--to", "victim@remote.example", port=server.submission_port)
    assert r.returncode == 0, r.stdout + r.stderr
    assert_queued(server, r.stdout)


def test_swaks_wrong_password(server):
    r = swaks(server, "-tls", "--auth", "PLAIN", "--auth-user", "alice@example.org",
              "--auth-password", "wrong", port=server.submission_port)
    assert r.returncode != 0
    assert "535 5.7.8" in r.stdout


def test_swaks_implicit_tls(server):
    r = swaks(server, "--tls-on-connect", "--auth", "PLAIN", "--auth-user", "alice@example.org",
              "--auth-password", "alice-pw", "--from", "alice@example.org",
              port=server.submissions_port)
    assert r.returncode == 0, r.stdout + r.stderr
    assert_queued(server, r.stdout)


# ---------------------------------------------------------------- curl


def curl(server, tmp_path, *args, url=None):
    msg = tmp_path / "message.eml"
    msg.write_bytes(make_message("curl"))
    return run([tool("curl"), "-sS", "-v", url or f"smtp://127.0.0.1:{server.port}/curl.example",
                "--mail-from", "sender@remote.example", "--mail-rcpt", "alice@example.org",
                "-T", str(msg), *args])


def test_curl(server, tmp_path):
    r = curl(server, tmp_path)
    assert r.returncode == 0, r.stderr
    assert_queued(server, r.stderr)


def test_curl_starttls_login(server, tmp_path):
    r = curl(server, tmp_path, "--ssl-reqd", "-k", "--user", "alice@example.org:alice-pw",
             "--mail-from", "alice@example.org", "--mail-rcpt", "victim@remote.example",
             url=f"smtp://127.0.0.1:{server.submission_port}/curl.example")
    assert r.returncode == 0, r.stderr
    assert "235 2.7.0" in r.stderr
    assert_queued(server, r.stderr)


def test_curl_smtps(server, tmp_path):
    r = curl(server, tmp_path, "-k", "--user", "alice@example.org:alice-pw",
             "--mail-from", "alice@example.org",
             url=f"smtps://127.0.0.1:{server.submissions_port}/curl.example")
    assert r.returncode == 0, r.stderr
    assert_queued(server, r.stderr)


# ---------------------------------------------------------------- msmtp


def test_msmtp_submission(server, tmp_path):
    offset = server.tern.log_size()
    msg = make_message("msmtp")
    r = run([tool("msmtp"), "--host=127.0.0.1", f"--port={server.submission_port}",
             "--tls=on", "--tls-starttls=on", "--tls-certcheck=off", "--auth=plain",
             "--user=bob@example.org", "--passwordeval=echo bob-pw", "--from=bob@example.org",
             "--domain=msmtp.example", "alice@example.org", "victim@remote.example"],
            input=msg.decode())
    assert r.returncode == 0, r.stdout + r.stderr
    m = server.tern.wait_log(r"smtpd\[\d+\]: (\w+): client=localhost\[127\.0\.0\.1\], "
                             r"sasl_method=PLAIN, sasl_username=bob@example\.org", offset)
    q = server.queued(m.group(1))
    assert [r[0] for r in q.rcpts] == ["alice@example.org", "victim@remote.example"]
    assert q.attrs["helo"] == "msmtp.example"


def test_msmtp_refused_sender(server):
    r = run([tool("msmtp"), "--host=127.0.0.1", f"--port={server.submission_port}",
             "--tls=on", "--tls-starttls=on", "--tls-certcheck=off", "--auth=login",
             "--user=bob@example.org", "--passwordeval=echo bob-pw",
             "--from=alice@example.org", "alice@example.org"],
            input="Subject: spoof\n\nx\n")
    assert r.returncode != 0
    assert "not owned by user bob@example.org" in r.stderr


# ---------------------------------------------------------------- openssl, smtp-source


def test_openssl_s_client_submissions(server):
    r = run([tool("openssl"), "s_client", "-connect", f"127.0.0.1:{server.submissions_port}",
             "-quiet", "-verify_quiet", "-ign_eof", "-crlf"],
            input="EHLO s-client.example\nQUIT\n")
    assert "220 mx.example.org ESMTP Tern" in r.stdout, r.stdout + r.stderr
    assert "250-AUTH PLAIN LOGIN" in r.stdout
    assert "221 2.0.0 Bye" in r.stdout


def test_smtp_source_load(server):
    before = set(server.queue_files())
    r = run([tool("smtp-source"), "-s", "5", "-m", "100", "-l", "2048", "-f",
             "load@remote.example", "-t", "bob@example.org", f"127.0.0.1:{server.port}"],
            timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    new = set(server.queue_files()) - before
    assert len(new) == 100
    for queue_id in new:
        q = server.queued(queue_id)
        assert q.sender == "load@remote.example"
        assert [x[0] for x in q.rcpts] == ["bob@example.org"]
