"""ternmap: building lookup tables from text files, querying, dumping,
deleting and adding entries, error reports naming file:line, and atomic
rebuilds while readers query the table.

Each test works in its own directory (tmp_path). The installed ternmap is
found through $TERN_PREFIX.
"""
import os
import pathlib
import stat
import subprocess
import threading

import pytest


@pytest.fixture(scope="module")
def ternmap_bin():
    prefix = os.environ.get("TERN_PREFIX")
    if not prefix:
        pytest.skip("TERN_PREFIX is not set")
    path = pathlib.Path(prefix) / "sbin" / "ternmap"
    assert path.is_file(), f"{path} is not installed"
    return str(path)


@pytest.fixture
def ternmap(ternmap_bin):
    """Run ternmap with the given arguments (and standard input)."""

    def run(*args, stdin=None):
        return subprocess.run(
            [ternmap_bin, *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
        )

    return run


ALIASES = """\
# test aliases
Postmaster   root
root         admin@example.org
team         alice,
             bob,
  # a comment inside a continued entry
             carol
dup          first
dup          second
"""


def write(path, text):
    path.write_text(text)
    return path


def leftovers(directory):
    """Names in directory that look like temporary files."""
    return [p.name for p in directory.iterdir() if ".tmp." in p.name]


@pytest.mark.parametrize("kind", ["hash", "btree"])
def test_build_and_query(ternmap, tmp_path, kind):
    src = write(tmp_path / "aliases", ALIASES)
    r = ternmap(f"{kind}:{src}")
    assert r.returncode == 0, r.stderr
    assert "duplicate key" in r.stderr
    assert (tmp_path / "aliases.db").is_file()
    assert leftovers(tmp_path) == []

    r = ternmap("-q", "postmaster", f"{kind}:{src}")
    assert (r.returncode, r.stdout, r.stderr) == (0, "root\n", "")
    r = ternmap("-q", "TEAM", f"{kind}:{src}")
    assert (r.returncode, r.stdout) == (0, "alice, bob, carol\n"), r.stderr
    r = ternmap("-q", "nobody", f"{kind}:{src}")
    assert (r.returncode, r.stdout, r.stderr) == (1, "", "")


def test_default_type_is_hash(ternmap, tmp_path):
    src = write(tmp_path / "virtual", "a@example.com b\n")
    assert ternmap(str(src)).returncode == 0
    r = ternmap("-q", "a@example.com", f"hash:{src}")
    assert (r.returncode, r.stdout) == (0, "b\n")
    # The same file is not a btree.
    r = ternmap("-q", "a@example.com", f"btree:{src}")
    assert r.returncode == 2


def test_duplicate_key_warns_and_last_wins(ternmap, tmp_path):
    src = write(tmp_path / "aliases", ALIASES)
    r = ternmap(str(src))
    assert r.returncode == 0
    assert f"{src}:9: duplicate key \"dup\"" in r.stderr
    assert ternmap("-q", "dup", str(src)).stdout == "second\n"


def test_rebuild_replaces_contents(ternmap, tmp_path):
    src = write(tmp_path / "transport", "old.example smtp:[old]\nkeep.example local\n")
    assert ternmap(str(src)).returncode == 0
    os.chmod(tmp_path / "transport.db", 0o640)
    write(src, "new.example smtp:[new]\nkeep.example lmtp\n")
    r = ternmap(str(src))
    assert r.returncode == 0, r.stderr
    assert ternmap("-q", "old.example", str(src)).returncode == 1
    assert ternmap("-q", "new.example", str(src)).stdout == "smtp:[new]\n"
    assert ternmap("-q", "keep.example", str(src)).stdout == "lmtp\n"
    # The rebuilt file keeps the mode of the one it replaced.
    assert stat.S_IMODE((tmp_path / "transport.db").stat().st_mode) == 0o640
    assert leftovers(tmp_path) == []


def test_bad_line_names_file_and_line(ternmap, tmp_path):
    src = write(tmp_path / "access", "good OK\n")
    assert ternmap(str(src)).returncode == 0
    write(src, "# header\nfine OK\n\nbroken\nlater REJECT\n")
    r = ternmap(str(src))
    assert r.returncode == 2
    assert f'{src}:4: key "broken" has no value' in r.stderr
    # The old table is untouched, and no temporary file is left.
    assert ternmap("-q", "good", str(src)).stdout == "OK\n"
    assert ternmap("-q", "fine", str(src)).returncode == 1
    assert leftovers(tmp_path) == []

    write(src, "  indented first line\n")
    r = ternmap(str(src))
    assert r.returncode == 2
    assert f"{src}:1: continuation line" in r.stderr


def test_dump(ternmap, tmp_path):
    src = write(tmp_path / "aliases", ALIASES)
    assert ternmap(f"btree:{src}").returncode == 0
    r = ternmap("-s", f"btree:{src}")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "dup second",
        "postmaster root",
        "root admin@example.org",
        "team alice, bob, carol",
    ]
    assert ternmap(f"hash:{src}").returncode == 0
    r = ternmap("-s", f"hash:{src}")
    assert sorted(r.stdout.splitlines()) == [
        "dup second",
        "postmaster root",
        "root admin@example.org",
        "team alice, bob, carol",
    ]


def test_delete(ternmap, tmp_path):
    src = write(tmp_path / "aliases", ALIASES)
    assert ternmap(str(src)).returncode == 0
    r = ternmap("-d", "Root", str(src))
    assert r.returncode == 0, r.stderr
    assert ternmap("-q", "root", str(src)).returncode == 1
    assert ternmap("-d", "root", str(src)).returncode == 1
    assert ternmap("-q", "postmaster", str(src)).stdout == "root\n"
    r = ternmap("-d", "-", str(src), stdin="postmaster\nnobody\n")
    assert r.returncode == 0
    assert ternmap("-q", "postmaster", str(src)).returncode == 1


def test_insert_from_stdin(ternmap, tmp_path):
    src = write(tmp_path / "aliases", ALIASES)
    assert ternmap(str(src)).returncode == 0
    r = ternmap("-i", str(src), stdin="New value\nroot replaced\n")
    assert r.returncode == 0, r.stderr
    assert ternmap("-q", "new", str(src)).stdout == "value\n"
    assert ternmap("-q", "root", str(src)).stdout == "replaced\n"
    r = ternmap("-i", str(src), stdin="ok 1\nbad\n")
    assert r.returncode == 2
    assert 'stdin:2: key "bad" has no value' in r.stderr
    # -i creates a missing table.
    fresh = tmp_path / "fresh"
    assert ternmap("-i", f"btree:{fresh}", stdin="k v\n").returncode == 0
    assert ternmap("-q", "k", f"btree:{fresh}").stdout == "v\n"


def test_query_keys_from_stdin_and_several_tables(ternmap, tmp_path):
    first = write(tmp_path / "first", "a 1\n")
    second = write(tmp_path / "second", "a 2\nb 3\n")
    assert ternmap(str(first), str(second)).returncode == 0
    r = ternmap("-q", "-", str(first), str(second), stdin="a\nb\nc\n")
    assert r.returncode == 0
    assert r.stdout == "a 1\nb 3\n"
    r = ternmap("-q", "-", str(first), stdin="x\ny\n")
    assert (r.returncode, r.stdout) == (1, "")


def test_keep_case(ternmap, tmp_path):
    src = write(tmp_path / "sender", "User@Example.COM yes\n")
    assert ternmap("-f", str(src)).returncode == 0
    assert ternmap("-f", "-q", "User@Example.COM", str(src)).stdout == "yes\n"
    assert ternmap("-f", "-q", "user@example.com", str(src)).returncode == 1
    assert ternmap(str(src)).returncode == 0
    assert ternmap("-q", "USER@example.com", str(src)).stdout == "yes\n"


def test_nul_terminated(ternmap, tmp_path):
    src = write(tmp_path / "pf", "k v\n")
    assert ternmap("-N", str(src)).returncode == 0
    assert ternmap("-N", "-q", "k", str(src)).stdout == "v\n"
    assert ternmap("-q", "k", str(src)).returncode == 1


def test_texthash(ternmap, tmp_path):
    src = write(tmp_path / "th", ALIASES)
    r = ternmap(f"texthash:{src}")
    assert r.returncode == 0, r.stderr
    assert not (tmp_path / "th.db").exists()
    assert ternmap("-q", "team", f"texthash:{src}").stdout == "alice, bob, carol\n"
    assert ternmap("-d", "team", f"texthash:{src}").returncode == 2
    write(src, "a 1\nb\n")
    r = ternmap(f"texthash:{src}")
    assert r.returncode == 2
    assert f"{src}:2:" in r.stderr


def test_errors(ternmap, tmp_path):
    r = ternmap("-q", "k", f"nosuch:{tmp_path}/x")
    assert r.returncode == 2
    assert 'unknown table type "nosuch"' in r.stderr
    assert "btree, hash, texthash" in r.stderr
    r = ternmap("-q", "k", str(tmp_path / "missing"))
    assert r.returncode == 2
    assert f"{tmp_path}/missing.db" in r.stderr
    r = ternmap(str(tmp_path / "missing"))
    assert r.returncode == 2
    assert str(tmp_path / "missing") in r.stderr
    assert ternmap("-q", "a", "-s", str(tmp_path / "x")).returncode == 2
    assert ternmap().returncode == 2
    assert ternmap("-c", str(tmp_path / "nodir"), str(tmp_path / "x")).returncode == 2
    src = write(tmp_path / "ok", "a b\n")
    assert ternmap("-c", str(tmp_path), str(src)).returncode == 0


def test_readers_during_rebuilds(ternmap, tmp_path):
    """Queries while the table is rebuilt again and again always see a whole table."""
    src = tmp_path / "big"
    versions = []
    for v in range(2):
        lines = [f"key{i} v{v}-{i}" for i in range(2000)]
        versions.append("\n".join(lines) + "\n")
    write(src, versions[0])
    assert ternmap(str(src)).returncode == 0

    errors = []
    stop = threading.Event()

    def rebuild():
        n = 0
        while not stop.is_set():
            n += 1
            write(src, versions[n % 2])
            r = ternmap(str(src))
            if r.returncode != 0:
                errors.append(r.stderr)
                return

    t = threading.Thread(target=rebuild)
    t.start()
    try:
        for _ in range(60):
            r = ternmap("-q", "-", str(src), stdin="key0\nkey1999\n")
            if r.returncode != 0:
                errors.append(r.stderr)
                break
            got = r.stdout.splitlines()
            assert len(got) == 2
            assert got[0].split()[1][:2] == got[1].split()[1][:2], got
    finally:
        stop.set()
        t.join()
    assert errors == []
    assert leftovers(tmp_path) == []
