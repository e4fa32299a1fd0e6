"""ternconf: showing, editing and checking main.cf, showing master.cf, and
the man page main.cf(5) generated from the parameter table.

Each test uses its own configuration directory (tmp_path) through -c.
The installed ternconf is found through $TERN_PREFIX.
"""
import os
import pathlib
import stat
import subprocess

import pytest

SOURCE_TREE = pathlib.Path(__file__).resolve().parent.parent.parent


@pytest.fixture(scope="module")
def ternconf_bin():
    prefix = os.environ.get("TERN_PREFIX")
    if not prefix:
        pytest.skip("TERN_PREFIX is not set")
    path = pathlib.Path(prefix) / "sbin" / "ternconf"
    assert path.is_file(), f"{path} is not installed"
    return str(path)


@pytest.fixture
def tern(ternconf_bin, tmp_path):
    """Run ternconf -c tmp_path with the given arguments."""

    def run(*args, config_dir=None):
        return subprocess.run(
            [ternconf_bin, "-c", str(config_dir or tmp_path), *args],
            capture_output=True,
            text=True,
            timeout=60,
        )

    return run


def write(path, text):
    path.write_text(text)
    return path


def test_show_all_parameters(tern, tmp_path):
    write(tmp_path / "main.cf", "max_use = 7\n")
    r = tern()
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    lines = r.stdout.splitlines()
    names = [line.split(" =")[0] for line in lines]
    assert names == sorted(names)
    assert len(names) == len(set(names)) >= 32
    assert "max_use = 7" in lines
    assert "myorigin = $myhostname" in lines
    assert f"config_directory = {tmp_path}" in lines
    assert "relayhost =" in lines
    assert "tls_cert_file = $config_directory/tls/cert.pem" in lines


def test_show_named_parameters(tern, tmp_path):
    write(tmp_path / "main.cf", "max_use = 7\nmyhostname = mx.example.com\n")
    r = tern("max_use", "myorigin")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "max_use = 7\nmyorigin = $myhostname\n"
    r = tern("-h", "max_use")
    assert r.stdout == "7\n"
    r = tern("-x", "myorigin", "mydomain", "tls_key_file")
    assert r.returncode == 0, r.stderr
    assert r.stdout == (
        "myorigin = mx.example.com\n"
        "mydomain = example.com\n"
        f"tls_key_file = {tmp_path}/tls/key.pem\n"
    )


def test_unknown_name_is_an_error(tern, tmp_path):
    write(tmp_path / "main.cf", "")
    r = tern("max_use", "no_such_parameter")
    assert r.returncode == 1
    assert r.stdout == "max_use = 100\n"
    assert 'ternconf: unknown parameter "no_such_parameter"' in r.stderr


def test_non_default_only(tern, tmp_path):
    write(
        tmp_path / "main.cf",
        "# comment\nmyhostname = mx.example.com\n\nmax_use = 7\n"
        "mynetworks = 10.0.0.0/8,\n  192.0.2.0/24\n",
    )
    r = tern("-n")
    assert r.returncode == 0, r.stderr
    assert r.stdout == (
        "max_use = 7\n"
        "myhostname = mx.example.com\n"
        "mynetworks = 10.0.0.0/8, 192.0.2.0/24\n"
    )
    r = tern("-n", "max_use", "max_idle")
    assert r.stdout == "max_use = 7\n"


def test_defaults(tern, tmp_path):
    write(tmp_path / "main.cf", "max_use = 7\n")
    r = tern("-d", "max_use", "max_idle", "message_size_limit", "mydestination")
    assert r.returncode == 0, r.stderr
    assert r.stdout == (
        "max_use = 100\n"
        "max_idle = 100s\n"
        "message_size_limit = 52428800\n"
        "mydestination = $myhostname, localhost.$mydomain, localhost\n"
    )
    # Defaults need no main.cf at all.
    empty = tmp_path / "empty"
    empty.mkdir()
    r = tern("-d", config_dir=empty)
    assert r.returncode == 0, r.stderr
    assert "mail_owner = tern" in r.stdout.splitlines()
    host = tern("-d", "-h", "myhostname", config_dir=empty).stdout.strip()
    assert host


def test_missing_main_cf(tern, tmp_path):
    r = tern("max_use")
    assert r.returncode == 1
    assert f"ternconf: open {tmp_path}/main.cf: No such file or directory" in r.stderr


def test_errors_name_file_and_line(tern, tmp_path):
    main_cf = write(tmp_path / "main.cf", "# x\n\nmax_use = 0\n")
    r = tern()
    assert r.returncode == 1
    assert r.stdout == ""
    assert (
        f"ternconf: {main_cf}:3: max_use = 0: must be an integer from 1 to 10000000"
        in r.stderr
    )
    write(main_cf, "a = 1\nthis is wrong\n")
    r = tern()
    assert r.returncode == 1
    assert f"ternconf: {main_cf}:2: missing '='" in r.stderr
    write(main_cf, "max_idle = 2d\n")
    r = tern("max_idle")
    assert r.returncode == 1
    assert f"{main_cf}:1: max_idle = 2d: must be a time from 1s to 1d" in r.stderr
    write(main_cf, "a = $b\nb = $a\nrelayhost = $a\n")
    r = tern()
    assert r.returncode == 1
    assert f"{main_cf}:3: relayhost = $a: parameter cycle: a -> b -> a" in r.stderr


def test_unknown_parameter_warns(tern, tmp_path):
    main_cf = write(tmp_path / "main.cf", "max_use = 5\nbogus = 1\n")
    r = tern("max_use")
    assert r.returncode == 0
    assert r.stdout == "max_use = 5\n"
    assert f'ternconf: warning: {main_cf}:2: unknown parameter "bogus"' in r.stderr


LAYOUT = (
    "# Tern main.cf\n"
    "\n"
    "myhostname = old.example.com\n"
    "# networks that may relay\n"
    "mynetworks = 127.0.0.0/8,\n"
    "    10.0.0.0/8\n"
    "    # a comment inside the entry\n"
    "    192.0.2.0/24\n"
    "\n"
    "max_use = 5\n"
    "# trailing comment\n"
)


def test_edit_keeps_comments_and_order(tern, tmp_path):
    main_cf = write(tmp_path / "main.cf", LAYOUT)
    r = tern(
        "-e",
        "mynetworks = 127.0.0.0/8",
        "myhostname=new.example.com",
        "max_idle=5m",
        "relayhost=",
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    assert main_cf.read_text() == (
        "# Tern main.cf\n"
        "\n"
        "myhostname = new.example.com\n"
        "# networks that may relay\n"
        "mynetworks = 127.0.0.0/8\n"
        "    # a comment inside the entry\n"
        "\n"
        "max_use = 5\n"
        "# trailing comment\n"
        "max_idle = 5m\n"
        "relayhost =\n"
    )
    assert tern("-n").stdout == (
        "max_idle = 5m\n"
        "max_use = 5\n"
        "myhostname = new.example.com\n"
        "mynetworks = 127.0.0.0/8\n"
        "relayhost =\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["main.cf"]


def test_edit_without_final_newline(tern, tmp_path):
    main_cf = write(tmp_path / "main.cf", "# c\nmax_use = 5")
    r = tern("-e", "max_idle=10s")
    assert r.returncode == 0, r.stderr
    assert main_cf.read_text() == "# c\nmax_use = 5\nmax_idle = 10s\n"


def test_edit_later_assignment_wins(tern, tmp_path):
    main_cf = write(tmp_path / "main.cf", "max_use = 5\n")
    r = tern("-e", "max_use=6", "max_use=8")
    assert r.returncode == 0, r.stderr
    assert main_cf.read_text() == "max_use = 8\n"


@pytest.mark.parametrize(
    "assignment,message",
    [
        ("max_use=0", ":10: max_use = 0: must be an integer from 1 to 10000000"),
        ("max_idle=3x", ": max_idle = 3x: must be a time from 1s to 1d"),
        ("message_size_limit=12", ": message_size_limit = 12: must be a size of at least 1k"),
        ("log_to=somewhere", ": log_to = somewhere: must be syslog, stderr or an absolute"),
        ("relayhost=$relayhost", ": relayhost = $relayhost: parameter cycle"),
        ("no_such_parameter=1", 'ternconf: unknown parameter "no_such_parameter"'),
        ("max_use", 'ternconf: "max_use": expected name=value'),
        ("config_directory=/x", "config_directory cannot be set in main.cf"),
    ],
)
def test_edit_rejects_bad_values(tern, tmp_path, assignment, message):
    main_cf = write(tmp_path / "main.cf", LAYOUT)
    os.chmod(main_cf, 0o640)
    before = os.stat(main_cf)
    r = tern("-e", "myhostname=changed.example.com", assignment)
    assert r.returncode == 1
    assert message in r.stderr
    after = os.stat(main_cf)
    assert main_cf.read_text() == LAYOUT
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["main.cf"]


def test_edit_rejects_broken_file(tern, tmp_path):
    text = "max_use = 5\nbroken line\n"
    main_cf = write(tmp_path / "main.cf", text)
    r = tern("-e", "max_use=6")
    assert r.returncode == 1
    assert f"{main_cf}:2: missing '='" in r.stderr
    assert main_cf.read_text() == text


def test_edit_keeps_mode_and_creates_file(tern, tmp_path):
    main_cf = write(tmp_path / "main.cf", "max_use = 5\n")
    os.chmod(main_cf, 0o600)
    assert tern("-e", "max_use=6").returncode == 0
    assert stat.S_IMODE(os.stat(main_cf).st_mode) == 0o600
    assert main_cf.read_text() == "max_use = 6\n"
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    r = tern("-e", "max_use=9", config_dir=fresh)
    assert r.returncode == 0, r.stderr
    assert (fresh / "main.cf").read_text() == "max_use = 9\n"


def test_edit_through_symlink(tern, tmp_path):
    real = write(tmp_path / "real.cf", "max_use = 5\n")
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "main.cf").symlink_to(real)
    assert tern("-e", "max_use=6", config_dir=conf).returncode == 0
    assert (conf / "main.cf").is_symlink()
    assert real.read_text() == "max_use = 6\n"


def test_usage_errors(tern):
    assert tern("-d", "-n").returncode == 1
    assert tern("-e").returncode == 1
    r = tern("-Q")
    assert r.returncode == 1
    assert "usage:" in r.stderr


MASTER_CF = (
    "# service type private unpriv chroot wakeup maxproc command\n"
    "smtp      inet  n  -  n  -  -  smtpd\n"
    "  -o max_use=10\n"
    "[::1]:2525 inet n  n  y  -  4  smtpd -v\n"
    "cleanup   unix  n  -  n  -  0  cleanup\n"
    "qmgr      unix  -  -  -  300 1 qmgr\n"
    "health    unix  -  -  -  -  -  health -o { health_banner = hi there }\n"
)


def row(*cols, rest):
    return "%-10s %-5s %-7s %-7s %-7s %-7s %-7s %s" % (*cols, rest)


def test_master_services(tern, tmp_path):
    write(tmp_path / "main.cf", "queue_directory = /var/q\ndefault_process_limit = 33\n")
    write(tmp_path / "master.cf", MASTER_CF)
    r = tern("-M")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        row("smtp", "inet", "n", "y", "n", 0, 33, rest="smtpd -o max_use=10"),
        row("[::1]:2525", "inet", "n", "n", "y", 0, 4, rest="smtpd -v"),
        row("cleanup", "unix", "n", "y", "n", 0, 0, rest="cleanup"),
        row("qmgr", "unix", "y", "y", "n", 300, 1, rest="qmgr"),
        row("health", "unix", "y", "y", "n", 0, 33,
            rest="health -o { health_banner=hi there }"),
    ]
    r = tern("-M", "qmgr", "smtp/inet")
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.splitlines()) == 2
    assert r.stdout.startswith("qmgr ")
    r = tern("-M", "smtp/unix")
    assert r.returncode == 1
    assert 'no service "smtp/unix"' in r.stderr
    # The normalised output is itself a valid master.cf that reads the same.
    write(tmp_path / "master.cf", tern("-M").stdout)
    assert tern("-M").stdout.splitlines()[4].endswith("health -o { health_banner=hi there }")


def test_master_errors(tern, tmp_path):
    write(tmp_path / "main.cf", "")
    master_cf = write(
        tmp_path / "master.cf",
        "smtp inet n - n - - smtpd\n\nbad inet n - n - - smtpd\n",
    )
    r = tern("-M")
    assert r.returncode == 1
    assert f'ternconf: {master_cf}:3: service: unknown port name "bad"' in r.stderr
    write(master_cf, "x unix n - n - - a\n  -o max_use=0\n")
    r = tern("-M")
    assert r.returncode == 1
    assert f"{master_cf}:1: max_use = 0: must be an integer from 1 to 10000000" in r.stderr
    write(master_cf, "x unix n - n - - a\nx unix n - n - - b\n")
    r = tern("-M")
    assert f'{master_cf}:2: service: "x" (unix) is already defined at line 1' in r.stderr
    write(master_cf, "x tcp n - n - - a\n")
    assert f"{master_cf}:1: type: unknown service type" in tern("-M").stderr


def test_man_page_is_generated_from_table(ternconf_bin):
    r = subprocess.run([ternconf_bin, "-m"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    checked_in = (SOURCE_TREE / "man" / "main.cf.5").read_text()
    assert r.stdout == checked_in, (
        "man/main.cf.5 is out of date: run 'ternconf -m > man/main.cf.5'"
    )
    # Every parameter of the table has an entry.
    shown = subprocess.run(
        [ternconf_bin, "-d"], capture_output=True, text=True, timeout=60
    ).stdout
    for line in shown.splitlines():
        name = line.split(" =")[0]
        assert f"\n.B {name}\n" in r.stdout, name
