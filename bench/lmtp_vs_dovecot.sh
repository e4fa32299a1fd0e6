#!/bin/sh
# lmtp_vs_dovecot.sh - LMTP deliveries per second into the mailbox store,
# Tern's lmtp against Dovecot's lmtp (into Maildir), side by side in one run,
# and the bytes of index that each keeps per message.
#
# Postfix's smtp-source speaks LMTP (-L) to each server on 127.0.0.1: 4 KiB
# messages, one recipient each, 20 sessions at once, one message per
# connection. Two loads:
#   1 user     all messages to one@bench.example (one smtp-source -s 20);
#   100 users  u0..u99@bench.example, the same number of messages to each:
#              20 smtp-source processes (-s 1) at once, process i sending
#              to the users i, i+20, ..., i+80 one after another, so that 20
#              different users receive at any moment.
# Before the rounds, one message to each user, not timed (the rounds deliver
# into existing mailboxes). Rounds alternate between the two servers; every
# round checks that each message is on disk (Maildir files, store blobs) and
# the script fails if one is missing. Both servers sync to disk before they answer 250: Dovecot with
# mail_fsync = always, Tern as it always does (blob and its directory
# fsync'd, SQLite index in WAL mode with synchronous=FULL).
#
# Index bytes per message, measured once both servers are stopped: Tern's
# from "ternadmin store info" (index.db and its WAL, after a checkpoint; it
# holds the messages' cached IMAP data and an FTS5 full-text index of their
# headers and text, whose share is printed), Dovecot's dovecot.index* files
# (no full-text index configured; its dovecot-uidlist is printed beside
# them). With 100 users the per-user fixed size weighs more.
#
#   TERN_PREFIX=/path/to/inst bench/lmtp_vs_dovecot.sh [rounds] [messages]
#
# messages is per load and round, a multiple of 100 (default 1000). Run as
# root: Dovecot's master starts as root (mail owned by nobody), Tern runs as
# nobody. Needs the Debian packages dovecot-core, dovecot-lmtpd (installed,
# the system's Dovecot is never used) and postfix (for smtp-source).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/dovecot_instance.sh"
ROUNDS=${1:-5}
COUNT=${2:-1000}
SESSIONS=20
: "${TERN_PREFIX:?set TERN_PREFIX to an installed Tern tree}"
[ "$(id -u)" = 0 ] || { echo "$0: run as root (for Dovecot)" >&2; exit 1; }
[ -x /usr/sbin/dovecot ] && [ -x /usr/lib/dovecot/lmtp ] ||
	{ echo "$0: Dovecot (dovecot-core, dovecot-lmtpd) not installed" >&2; exit 1; }
[ -x /usr/sbin/smtp-source ] || { echo "$0: smtp-source (postfix) not installed" >&2; exit 1; }
[ -x "$TERN_PREFIX/libexec/tern/lmtp" ] ||
	{ echo "$0: $TERN_PREFIX/libexec/tern/lmtp is not installed" >&2; exit 1; }
case $COUNT in
*[!0-9]*) echo "$0: messages must be a number" >&2; exit 1 ;;
esac
[ "$COUNT" -ge 100 ] && [ $((COUNT % 100)) -eq 0 ] ||
	{ echo "$0: messages must be a multiple of 100" >&2; exit 1; }
PER_USER=$((COUNT / 100))
DOMAIN=bench.example

BASE=$(mktemp -d /tmp/lmtp-bench.XXXXXX)
chmod 755 "$BASE"
T="$BASE/tern"
D="$BASE/dovecot"
tern_stop() {
	[ -f "$T/queue/pid/master.pid" ] || return 0
	tpid=$(tr -d ' ' < "$T/queue/pid/master.pid")
	kill "$tpid" 2>/dev/null || return 0
	n=0
	while kill -0 "$tpid" 2>/dev/null && [ $n -lt 100 ]; do
		n=$((n + 1))
		sleep 0.1
	done
}
finish() {
	[ -z "${BENCH_DEBUG:-}" ] || tail -n 12 "$T/tern.log" "$D/dovecot.log" >&2 || true
	tern_stop
	dovecot_stop "$D"
	rm -rf "$BASE"
}
trap finish EXIT
trap 'exit 1' INT TERM
freeport() { /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
listening() { /usr/bin/python3 -c "import socket; socket.create_connection(('127.0.0.1', $1), 1).close()" 2>/dev/null; }

USERS="one@$DOMAIN"
i=0
while [ $i -lt 100 ]; do
	USERS="$USERS u$i@$DOMAIN"
	i=$((i + 1))
done

# Dovecot.
D_PORT=$(freeport)
dovecot_start "$D" "$D_PORT" $USERS || { echo "$0: Dovecot did not start" >&2; exit 1; }

# Tern, as nobody: auth and lmtp only; the users are in its directory.
T_PORT=$(freeport)
mkdir -p "$T/etc"
cat > "$T/etc/main.cf" <<EOC
queue_directory = $T/queue
data_directory = $T/data
store_directory = $T/data/store
daemon_directory = $TERN_PREFIX/libexec/tern
meta_directory = $TERN_PREFIX/share/tern
log_to = $T/tern.log
myhostname = tern.$DOMAIN
mydomain = $DOMAIN
mail_owner = nobody
store_owner = nobody
inet_interfaces = 127.0.0.1
EOC
cat > "$T/etc/master.cf" <<EOC
127.0.0.1:$T_PORT inet n - n - 100 lmtp
auth unix - - n - 1 auth -o max_idle=1d -o max_use=1000000
EOC
chown -R nobody "$T"
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
as_nobody "$TERN_PREFIX/sbin/ternadmin" -c "$T/etc" domain add "$DOMAIN" >/dev/null
for u in $USERS; do
	echo "bench password" | as_nobody "$TERN_PREFIX/sbin/ternadmin" -c "$T/etc" user add "$u" >/dev/null
done
as_nobody "$TERN_PREFIX/sbin/ternctl" -c "$T/etc" start >/dev/null
n=0
until listening "$T_PORT"; do
	n=$((n + 1))
	[ $n -lt 100 ] || { echo "$0: Tern's lmtp did not start" >&2; exit 1; }
	sleep 0.1
done

elapsed_rate() { /usr/bin/python3 -c "print(f'{$1 / ($3 - $2):.0f}')"; }
one_user() { # one_user PORT MESSAGES: prints deliveries per second
	start=$(date +%s.%N)
	/usr/sbin/smtp-source -L -s "$SESSIONS" -m "$2" -l 4096 -f sender@remote.example \
		-t "one@$DOMAIN" "127.0.0.1:$1" >&2 || true
	elapsed_rate "$2" "$start" "$(date +%s.%N)"
}
many_users() { # many_users PORT MESSAGES_PER_USER: prints deliveries per second
	start=$(date +%s.%N)
	srcs=""
	s=0
	while [ $s -lt "$SESSIONS" ]; do
		(
			u=$s
			while [ $u -lt 100 ]; do
				/usr/sbin/smtp-source -L -m "$2" -l 4096 -f sender@remote.example \
					-t "u$u@$DOMAIN" "127.0.0.1:$1" >&2 || true
				u=$((u + SESSIONS))
			done
		) &
		srcs="$srcs $!"
		s=$((s + 1))
	done
	for p in $srcs; do wait "$p" || true; done
	elapsed_rate "$(($2 * 100))" "$start" "$(date +%s.%N)"
}
# Messages on disk: Maildir files of every user; Tern's blobs.
dovecot_count() { find "$D/mail" -type f \( -path '*/Maildir/new/*' -o -path '*/Maildir/cur/*' \) | wc -l; }
tern_count() { find "$T/data/store" -type f -path '*/blobs/*' | wc -l; }
check() { # check SYSTEM GOT EXPECTED
	[ "$2" -eq "$3" ] && return 0
	echo "$0: $1 has $2 messages on disk, expected $3" >&2
	BENCH_DEBUG=1
	exit 1
}

# Warm-up, not timed: one message to each user, so that the rounds measure
# deliveries into existing mailboxes (and both servers have their processes).
expected=101
for port in "$T_PORT" "$D_PORT"; do
	one_user "$port" 1 >/dev/null
	many_users "$port" 1 >/dev/null
done
check Tern "$(tern_count)" "$expected"
check Dovecot "$(dovecot_count)" "$expected"

T1=""
T100=""
D1=""
D100=""
r=1
while [ "$r" -le "$ROUNDS" ]; do
	expected=$((expected + COUNT))
	t1=$(one_user "$T_PORT" "$COUNT")
	d1=$(one_user "$D_PORT" "$COUNT")
	check Tern "$(tern_count)" "$expected"
	check Dovecot "$(dovecot_count)" "$expected"
	expected=$((expected + COUNT))
	t100=$(many_users "$T_PORT" "$PER_USER")
	d100=$(many_users "$D_PORT" "$PER_USER")
	check Tern "$(tern_count)" "$expected"
	check Dovecot "$(dovecot_count)" "$expected"
	echo "round $r: 1 user: Tern $t1/s, Dovecot $d1/s; 100 users: Tern $t100/s, Dovecot $d100/s"
	T1="$T1 $t1"
	T100="$T100 $t100"
	D1="$D1 $d1"
	D100="$D100 $d100"
	r=$((r + 1))
done

# Index sizes, with both servers stopped: Tern's from "ternadmin store info"
# (store_index_size: index.db and its WAL) after a checkpoint of the WAL. As
# nobody, who owns both servers' mail.
tern_stop
dovecot_stop "$D"
as_nobody /usr/bin/python3 - "$T/data/store/$DOMAIN" "$D/mail" "$DOMAIN" "$ROUNDS" "$COUNT" \
	"$TERN_PREFIX/sbin/ternadmin" "$T/etc" "$T1" "$D1" "$T100" "$D100" <<'EOP'
import json, os, sqlite3, statistics, subprocess, sys
store, maildirs, domain = sys.argv[1:4]
rounds, count = int(sys.argv[4]), int(sys.argv[5])
ternadmin, tern_conf = sys.argv[6:8]
med = [statistics.median(float(x) for x in s.split()) for s in sys.argv[8:12]]
n1 = rounds * count + 1      # with the warm-up message
n100 = rounds * count + 100  # with the warm-up message of each user

def size(path):
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return 0

def tern_index(users, messages):
    """Bytes of the index and of its FTS5 tables (None: no dbstat), over users."""
    total = fts = msgs = 0
    for u in users:
        db = os.path.join(store, u, "index.db")
        if not os.path.isfile(db):
            sys.exit(f"lmtp_vs_dovecot: no {db}")
        c = sqlite3.connect(db)
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        try:
            part = c.execute("SELECT coalesce(sum(pgsize), 0) FROM dbstat "
                             "WHERE name LIKE 'fts%'").fetchone()[0]
            fts = None if fts is None else fts + part
        except sqlite3.OperationalError:  # an SQLite without dbstat
            fts = None
        c.close()
        r = subprocess.run([ternadmin, "-c", tern_conf, "--json", "store", "info",
                            f"{u}@{domain}"], capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"lmtp_vs_dovecot: ternadmin store info {u}@{domain}: {r.stderr}")
        info = json.loads(r.stdout)
        total += info["index_bytes"]
        msgs += info["quota"]["messages"]
    if msgs != messages:
        sys.exit(f"lmtp_vs_dovecot: Tern's index counts {msgs} messages, expected {messages}")
    return total, fts

def dovecot_index(users):
    """Bytes of the dovecot.index* files and of dovecot-uidlist, over users."""
    index = uidlist = 0
    for u in users:
        d = os.path.join(maildirs, f"{u}@{domain}", "Maildir")
        for name in os.listdir(d):
            if name.startswith("dovecot.index"):
                index += size(os.path.join(d, name))
        uidlist += size(os.path.join(d, "dovecot-uidlist"))
    return index, uidlist

many = [f"u{i}" for i in range(100)]
ti1, tf1 = tern_index(["one"], n1)
ti100, tf100 = tern_index(many, n100)
di1, du1 = dovecot_index(["one"])
di100, du100 = dovecot_index(many)

print("LMTP deliveries, 4 KiB, 1 recipient each, 20 sessions; both fsync "
      "(Dovecot: Maildir, mail_fsync = always)")
print(f"{'':36}{'Tern':>9}{'Dovecot':>9}{'Tern/Dovecot':>14}")
print(f"{'1 user (median msg/s)':36}{med[0]:>9.0f}{med[1]:>9.0f}{med[0] / med[1]:>14.2f}")
print(f"{'100 users (median msg/s)':36}{med[2]:>9.0f}{med[3]:>9.0f}{med[2] / med[3]:>14.2f}")
print(f"{f'index bytes/msg, 1 user, {n1} msgs':36}{ti1 / n1:>9.0f}{di1 / n1:>9.0f}"
      f"{ti1 / di1:>14.2f}")
print(f"{f'index bytes/msg, 100 users, {n100} msgs':36}{ti100 / n100:>9.0f}{di100 / n100:>9.0f}"
      f"{ti100 / di100:>14.2f}")
if tf1 is not None and tf100 is not None:
    print(f"Tern's index has FTS5 full text: {tf1 / n1:.0f} of its bytes/msg (1 user), "
          f"{tf100 / n100:.0f} (100 users)")
print(f"Dovecot's dovecot-uidlist besides: {du1 / n1:.0f} bytes/msg (1 user), "
      f"{du100 / n100:.0f} (100 users)")
EOP
