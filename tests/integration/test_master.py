"""master: supervision of children (respawn, crash throttling, prefork, on-demand
starts up to maxproc, max_use), reload on SIGHUP without dropping sessions,
draining on SIGTERM, the pid file lock, configuration errors, and the
privilege drop when started as root.

Every service here is the health daemon (or /bin/false for a crash loop) on
127.0.0.1 and free ports.
"""
import os
import pwd
import re
import select
import signal
import socket
import subprocess
import time

import pytest

from conftest import (
    TEST_USER,
    LineClient,
    health_hello,
    parse_greeting,
    pid_alive,
    proc_uid,
    wait_for,
)


def health_line(port, maxproc="-", extra=""):
    return f"127.0.0.1:{port} inet n - n - {maxproc} health {extra}".rstrip()


def refused(port):
    """Whether nothing listens on the port any more."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def wait_health(port, timeout=10):
    """Wait until the service answers; returns (pid, service)."""
    return wait_for(lambda: _try_hello(port), timeout=timeout, what=f"health on port {port}")


def _try_hello(port):
    try:
        return health_hello(port, timeout=2)
    except (OSError, AssertionError):
        return None


def test_health_dialogue(tern):
    port = tern.port()
    tern.write_master_cf([health_line(port)])
    tern.start()
    with LineClient("127.0.0.1", port) as c:
        pid, service = parse_greeting(c.readline())
        assert service == f"127.0.0.1:{port}"
        assert pid in tern.children()
        assert c.command("PING") == "250 PONG"
        assert c.command("ping") == "250 PONG"
        assert c.command("HELO x") == "500 unknown command"
        assert c.command("QUIT") == "221 bye"
        assert c.readline() is None


def test_health_idle_timeout_and_long_line(tern):
    port = tern.port()
    tern.write_master_cf([health_line(port, 2, "-T 1")])
    tern.start()
    with LineClient("127.0.0.1", port) as c:
        parse_greeting(c.readline())
        started = time.monotonic()
        assert c.readline() == "421 idle timeout"
        assert 0.5 < time.monotonic() - started < 5
        assert c.readline() is None
    with LineClient("127.0.0.1", port) as c:
        parse_greeting(c.readline())
        c.sock.sendall(b"x" * 5000)
        assert c.readline() == "500 line too long"
        assert c.readline() is None
    # Pipelined commands are answered in order.
    with LineClient("127.0.0.1", port) as c:
        parse_greeting(c.readline())
        c.sock.sendall(b"PING\r\nNOOP\r\nPING\nQUIT\r\nPING\r\n")
        assert [c.readline() for _ in range(5)] == [
            "250 PONG", "500 unknown command", "250 PONG", "221 bye", None]


def test_health_standalone(tern):
    health = tern.program("health")
    cmd = [health, "-S", "-c", str(tern.config_dir), "-n", "solo"]
    # Standard input a pipe: a helper relays it.
    r = subprocess.run(cmd, input=b"PING\r\nQUIT\r\n", capture_output=True, timeout=20)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.decode().splitlines()
    assert parse_greeting(lines[0])[1] == "solo"
    assert lines[1:] == ["250 PONG", "221 bye"]
    # Standard input a socket: served directly.
    ours, theirs = socket.socketpair()
    proc = subprocess.Popen(cmd, stdin=theirs, stdout=theirs)
    theirs.close()
    with LineClient(None, sock=ours) as c:
        pid, _ = parse_greeting(c.readline())
        assert pid == proc.pid
        assert c.command("QUIT") == "221 bye"
    assert proc.wait(20) == 0
    # A bad option is a clear error.
    r = subprocess.run([health, "-S", "-c", str(tern.config_dir), "-T", "0"],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 1
    assert "-T 0: must be a number of seconds" in r.stderr
    r = subprocess.run([health, "-c", str(tern.config_dir)], capture_output=True, text=True,
                       timeout=20)
    assert r.returncode == 1
    assert "not started by master" in r.stderr


def test_sigkill_child_is_respawned(tern):
    port = tern.port()
    tern.write_master_cf([health_line(port, 2)])
    tern.start()
    pid1, _ = health_hello(port)
    offset = tern.log_size()
    os.kill(pid1, signal.SIGKILL)
    # Logged as a crash if the kill came before the child reported its session done.
    tern.wait_log(
        rf"service 127\.0\.0\.1:{port}: process ({pid1}|crashed \(pid {pid1},) killed by signal 9",
        offset,
    )
    pid2, _ = wait_health(port)
    assert pid2 != pid1
    assert not pid_alive(pid1)
    assert pid2 in tern.children()


def test_crash_loop_is_throttled(tern):
    port = tern.port()
    tern.write_main_cf({"service_throttle_time": "4s"})
    tern.write_master_cf([f"127.0.0.1:{port} inet n - n - 1 /bin/false"])
    start = time.monotonic()
    tern.start()
    time.sleep(max(0.0, 6.0 - (time.monotonic() - start)))
    crashes = re.findall(
        rf"warning: service 127\.0\.0\.1:{port}: process crashed \(pid \d+, exit status 1\) "
        r"before serving; throttling for (\d+)s",
        tern.log(),
    )
    delays = [int(d) for d in crashes]
    # Crashes at about 0s, 1s and 3s (the next one would be at 7s): no fork storm.
    assert 2 <= len(delays) <= 5, delays
    assert delays[:3] == [1, 2, 4][: len(delays[:3])], delays
    assert max(delays) <= 4
    assert len(tern.children()) <= 1


def test_reload_adds_and_removes_services(tern):
    keep, remove, add = tern.port(), tern.port(), tern.port()
    tern.write_master_cf([health_line(keep, 3), health_line(remove, 3)])
    tern.start()
    c_keep = LineClient("127.0.0.1", keep)
    c_gone = LineClient("127.0.0.1", remove)
    pid_keep, _ = parse_greeting(c_keep.readline())
    pid_gone, _ = parse_greeting(c_gone.readline())

    tern.write_master_cf([health_line(keep, 3), health_line(add, 3)])
    log = tern.reload()
    assert "reloaded the configuration: 2 services" in log

    # The new service answers; the removed one no longer accepts connections.
    _, service = wait_health(add)
    assert service == f"127.0.0.1:{add}"
    wait_for(lambda: refused(remove), what=f"port {remove} to close")
    # Both sessions opened before the reload go on until their clients quit.
    for c in (c_keep, c_gone):
        assert c.command("PING") == "250 PONG"
    assert c_gone.command("QUIT") == "221 bye"
    assert c_keep.command("PING") == "250 PONG"
    assert c_keep.command("QUIT") == "221 bye"
    c_keep.close()
    c_gone.close()
    # Their children were retired: they exit once their session is over.
    wait_for(lambda: not pid_alive(pid_keep) and not pid_alive(pid_gone), what="old children to exit")
    pid_new, _ = health_hello(keep)
    assert pid_new != pid_keep


def test_reload_with_bad_config_keeps_old(tern):
    port, other = tern.port(), tern.port()
    tern.write_master_cf([health_line(port)])
    tern.start()
    wait_health(port)
    tern.write_master_cf([health_line(port), f"127.0.0.1:{other} inet n - n - bogus health"])
    log = tern.reload()
    assert re.search(r"reload failed: .*master\.cf:2: .*keeping the current configuration", log)
    wait_health(port)
    assert refused(other)


def test_sigterm_drains_and_leaves_no_child(tern):
    a, b = tern.port(), tern.port()
    tern.write_master_cf([health_line(a, 3), health_line(b, 3)])
    tern.start()
    client = LineClient("127.0.0.1", a)
    busy_pid, _ = parse_greeting(client.readline())
    wait_for(lambda: len(tern.children()) >= 3, what="prefork children")
    kids = tern.children()
    assert busy_pid in kids
    tern.proc.send_signal(signal.SIGTERM)
    # The session in progress is not cut: it ends when its client quits.
    tern.wait_log(r"stopping: waiting up to 10s")
    assert client.command("PING") == "250 PONG"
    assert client.command("QUIT") == "221 bye"
    client.close()
    assert tern.proc.wait(15) == 0
    assert [pid for pid in kids if pid_alive(pid)] == []
    assert not tern.pid_file.exists()
    assert refused(a)


def test_drain_timeout_kills_stuck_sessions(tern):
    port = tern.port()
    tern.write_main_cf({"master_drain_timeout": "1s"})
    tern.write_master_cf([health_line(port, 2)])
    tern.start()
    client = LineClient("127.0.0.1", port)
    pid, _ = parse_greeting(client.readline())
    started = time.monotonic()
    tern.proc.send_signal(signal.SIGTERM)
    assert tern.proc.wait(15) == 0
    assert time.monotonic() - started < 8
    assert "drain timeout: killing" in tern.log()
    assert not pid_alive(pid)
    assert client.readline() is None
    client.close()


def test_max_use_recycles_children(tern):
    port = tern.port()
    tern.write_master_cf([health_line(port, 1, "-o max_use=2")])
    tern.start()
    p1, _ = health_hello(port)
    p2, _ = health_hello(port)
    p3, _ = wait_health(port)
    assert p1 == p2
    assert p3 != p1
    wait_for(lambda: not pid_alive(p1), what="the used-up child to exit")


def test_max_idle_ends_idle_children(tern):
    port = tern.port()
    tern.write_main_cf({"max_idle": "1s", "service_prefork": "0"})
    tern.write_master_cf([health_line(port, 2)])
    tern.start()
    pid, _ = health_hello(port)
    wait_for(lambda: not pid_alive(pid), timeout=5, what="the idle child to exit")
    assert tern.children() == []
    assert "crashed" not in tern.log()


def test_second_master_is_refused(tern):
    port = tern.port()
    tern.write_master_cf([health_line(port)])
    assert tern.run("master", "-t").returncode == 0
    tern.start()
    r = tern.run("master", "-f")
    assert r.returncode == 1
    assert f"the Tern master is already running (pid {tern.pid})" in r.stderr
    r = tern.run("master", "-t")
    assert r.returncode == 1
    assert f"running (pid {tern.pid})" in r.stderr
    # The running master is unharmed.
    wait_health(port)
    assert tern.pid_file_pid() == tern.pid


@pytest.mark.parametrize("prefork", [0, 1, 2])
def test_prefork_keeps_idle_children(tern, prefork):
    port = tern.port()
    tern.write_main_cf({"service_prefork": str(prefork)})
    tern.write_master_cf([health_line(port, 4)])
    tern.start()
    if prefork:
        wait_for(lambda: len(tern.children()) == prefork, what=f"{prefork} idle children")
    time.sleep(0.5)
    assert len(tern.children()) == prefork
    # Taking one keeps the number of idle ones.
    client = LineClient("127.0.0.1", port)
    busy, _ = parse_greeting(client.readline())
    wait_for(lambda: len(tern.children()) == prefork + 1 if prefork else len(tern.children()) == 1,
             what="a replacement idle child")
    assert busy in tern.children()
    client.command("QUIT")
    client.close()


def test_prefork_is_capped_by_maxproc(tern):
    port = tern.port()
    tern.write_main_cf({"service_prefork": "5"})
    tern.write_master_cf([health_line(port, 2)])
    tern.start()
    wait_for(lambda: len(tern.children()) == 2, what="two children")
    time.sleep(0.5)
    assert len(tern.children()) == 2


def test_on_demand_up_to_maxproc(tern):
    port = tern.port()
    tern.write_main_cf({"service_prefork": "0"})
    tern.write_master_cf([health_line(port, 3)])
    tern.start()
    assert tern.children() == []
    clients = [LineClient("127.0.0.1", port) for _ in range(3)]
    pids = [parse_greeting(c.readline())[0] for c in clients]
    assert len(set(pids)) == 3
    assert sorted(pids) == tern.children()
    # A fourth client waits: maxproc is reached.
    extra = LineClient("127.0.0.1", port)
    assert select.select([extra.sock], [], [], 1.0)[0] == []
    assert len(tern.children()) == 3
    assert clients[0].command("QUIT") == "221 bye"
    pid4, _ = parse_greeting(extra.readline())
    assert pid4 == pids[0]
    for c in clients[1:] + [extra]:
        assert c.command("QUIT") == "221 bye"
        c.close()
    clients[0].close()


def test_unix_and_pass_services(tern):
    tern.write_master_cf(["hu unix - - n - 2 health", "hp pass - - n - 2 health"])
    tern.start()
    private = tern.queue_dir / "private"
    assert oct(private.stat().st_mode & 0o777) == "0o700"
    with LineClient(private / "hu") as c:
        _, service = parse_greeting(c.readline())
        assert service == "hu"
        assert c.command("PING") == "250 PONG"
    # pass: the connection carries a descriptor; health serves that descriptor.
    ours, theirs = socket.socketpair()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as chan:
        chan.settimeout(10)
        chan.connect(str(private / "hp"))
        socket.send_fds(chan, [b"F"], [theirs.fileno()])
    theirs.close()
    with LineClient(None, sock=ours) as c:
        pid, service = parse_greeting(c.readline())
        assert service == "hp"
        assert c.command("QUIT") == "221 bye"


def test_wakeup_connects_to_unix_service(tern):
    tern.write_main_cf({"service_prefork": "0"})
    tern.write_master_cf(["wake unix - - n 1 1 health"])
    tern.start()
    # Each wake-up starts a child on demand, which reads "W" and answers it.
    wait_for(lambda: tern.children(), timeout=5, what="a child started by a wake-up")


@pytest.mark.parametrize(
    "main_cf, master_cf, where",
    [
        ("max_use = 0\n", None, "main.cf:"),
        ("no_such_parameter = 1\nmax_idle = x\n", None, "main.cf:"),
        (None, "127.0.0.1:1 inet n - n - x health\n", "master.cf:1"),
        (None, "# comment\n127.0.0.1:1 bogus n - n - 1 health\n", "master.cf:2"),
    ],
)
def test_configuration_errors(tern, main_cf, master_cf, where):
    if main_cf is not None:
        tern.write_main_cf(text=main_cf)
    if master_cf is not None:
        (tern.config_dir / "master.cf").write_text(master_cf)
    r = tern.run("master", "-f", timeout=20)
    assert r.returncode == 1
    assert re.search(re.escape(str(tern.config_dir)) + "/" + re.escape(where), r.stderr), r.stderr
    assert not tern.pid_file.exists() or tern.pid_file_pid() is None


def test_port_in_use_is_an_error(tern):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        tern.write_master_cf([health_line(port)])
        r = tern.run("master", "-f", timeout=20)
    assert r.returncode == 1
    assert "Address already in use" in r.stderr
    assert "master.cf:1" in r.stderr


def test_detached_master(tern):
    port = tern.port()
    tern.write_master_cf([health_line(port)])
    r = tern.run("master")
    assert r.returncode == 0, r.stderr
    pid = tern.pid_file_pid()
    try:
        assert pid and pid_alive(pid)
        wait_health(port)
    finally:
        os.kill(pid, signal.SIGTERM)
    wait_for(lambda: not pid_alive(pid), what="the detached master to stop")
    assert not tern.pid_file.exists()


@pytest.mark.root
def test_children_drop_privileges(tern):
    unpriv, priv, jailed = tern.port(), tern.port(), tern.port()
    tern.write_master_cf(
        [
            health_line(unpriv),
            f"127.0.0.1:{priv} inet n n n - - health",
            f"127.0.0.1:{jailed} inet n - y - - health",
        ]
    )
    tern.start()
    user = pwd.getpwnam(TEST_USER)
    pid_u, _ = wait_health(unpriv)
    pid_p, _ = wait_health(priv)
    pid_j, _ = wait_health(jailed)
    assert proc_uid(tern.pid) == 0
    assert proc_uid(pid_u) == user.pw_uid
    assert proc_uid(pid_p) == 0
    assert proc_uid(pid_j) == user.pw_uid
    assert os.readlink(f"/proc/{pid_j}/root") == str(tern.queue_dir)
    assert os.readlink(f"/proc/{pid_u}/root") == "/"
    private = tern.queue_dir / "private"
    assert private.stat().st_uid == user.pw_uid


@pytest.mark.root
def test_unknown_owner_is_fatal(tern):
    port = tern.port()
    tern.write_main_cf({"mail_owner": "no-such-user-tern"})
    tern.write_master_cf([health_line(port)])
    r = tern.run("master", "-f", timeout=20)
    assert r.returncode == 1
    assert 'mail_owner: unknown user "no-such-user-tern"' in r.stderr
