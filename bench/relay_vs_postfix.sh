#!/bin/sh
# relay_vs_postfix.sh - messages per second relayed from smtp-source through
# the MTA to smtp-sink, Tern against Postfix, side by side in one run.
#
# 10 destinations (d0..d9.bench.example), each an smtp-sink on its own
# 127.0.0.1 port, reached through transport_maps; smtp-source sends 4 KiB
# messages over 20 sessions in all (2 per destination domain). A round ends
# when every message has left the queue. Both MTAs fsync as they do by
# default; client host name lookups are off in both.
#
#   TERN_PREFIX=/path/to/inst bench/relay_vs_postfix.sh [rounds] [messages]
#
# Run as root (Postfix's master starts as root; Tern runs as nobody). Needs
# the Debian package postfix, installed but not configured; the system's
# Postfix is never started.
set -eu
. "$(cd "$(dirname "$0")" && pwd)/postfix_instance.sh"
ROUNDS=${1:-3}
COUNT=${2:-2000}
: "${TERN_PREFIX:?set TERN_PREFIX to an installed Tern tree}"
[ "$(id -u)" = 0 ] || { echo "$0: run as root (for Postfix)" >&2; exit 1; }
BASE=$(mktemp -d /tmp/relay-bench.XXXXXX)
chmod 755 "$BASE"
PIDS=""
finish() {
	[ -n "${BENCH_DEBUG:-}" ] && tail -n 12 "$BASE/tern/tern.log" >&2
	for p in $PIDS; do kill "$p" 2>/dev/null || true; done
	[ -f "$BASE/tern/queue/pid/master.pid" ] &&
		kill "$(tr -d ' ' < "$BASE/tern/queue/pid/master.pid")" 2>/dev/null
	postfix_stop "$BASE/pf"
	rm -rf "$BASE"
}
trap finish EXIT INT TERM
freeport() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Ten sinks, and the transport table both MTAs use.
: > "$BASE/transport"
DOMAINS=""
i=0
while [ $i -lt 10 ]; do
	port=$(freeport)
	/usr/sbin/smtp-sink -u nobody -c 127.0.0.1:"$port" 256 > "$BASE/sink$i.out" 2>&1 &
	PIDS="$PIDS $!"
	echo "d$i.bench.example smtp:[127.0.0.1]:$port" >> "$BASE/transport"
	DOMAINS="$DOMAINS d$i.bench.example"
	i=$((i + 1))
done
RELAY=$(echo $DOMAINS | tr ' ' ',')

# Tern, as nobody.
T="$BASE/tern"
T_PORT=$(freeport)
mkdir -p "$T/etc"
cat > "$T/etc/main.cf" <<EOC
queue_directory = $T/queue
data_directory = $T/data
store_directory = $T/data/store
daemon_directory = $TERN_PREFIX/libexec/tern
meta_directory = $TERN_PREFIX/share/tern
log_to = $T/tern.log
myhostname = tern.bench.example
mydomain = bench.example
mail_owner = nobody
store_owner = nobody
mynetworks = 127.0.0.0/8
relay_domains = $RELAY
transport_maps = texthash:$BASE/transport
smtpd_peername_lookup = no
EOC
cat > "$T/etc/master.cf" <<EOC
127.0.0.1:$T_PORT inet n - n - 40 smtpd
  -o smtpd_tls_security_level=none
cleanup unix - - n - 0 cleanup
qmgr unix n - n 300 1 qmgr -o max_idle=1d -o max_use=10000000
smtp unix - - n - - smtp -o smtp_tls_security_level=none
auth unix - - n - 1 auth -o max_idle=1d -o max_use=1000000
EOC
chown -R nobody "$T"
setpriv --reuid=nobody --regid=nogroup --clear-groups "$TERN_PREFIX/sbin/ternctl" -c "$T/etc" start >/dev/null

# Postfix, from a configuration of its own.
P="$BASE/pf"
P_PORT=$(freeport)
postfix_start "$P" "$P_PORT" "mydestination =
relay_domains = $RELAY
transport_maps = texthash:$BASE/transport
smtp_tls_security_level = none" "qmgr      unix n - n 300 1 qmgr
smtp      unix - - n - - smtp
scache    unix - - n - 1 scache" || { echo "$0: Postfix did not start" >&2; exit 1; }
sleep 1

queue_empty() { # queue_empty DIR: no message file left in the queue
	[ "$(find "$1/incoming" "$1/active" "$1/deferred" -type f ! -name '.*' 2>/dev/null | wc -l)" -eq 0 ]
}
round() { # round PORT QUEUEDIR: prints messages per second
	start=$(date +%s.%N)
	srcs=""
	for d in $DOMAINS; do
		/usr/sbin/smtp-source -s 2 -l 4096 -m $((COUNT / 10)) -f sender@remote.example \
			-t "user@$d" "127.0.0.1:$1" &
		srcs="$srcs $!"
	done
	for p in $srcs; do wait "$p" || true; done
	n=0
	until queue_empty "$2"; do
		n=$((n + 1))
		[ $n -lt 6000 ] || { echo "warning: queue in $2 did not drain" >&2; break; }
		sleep 0.05
	done
	end=$(date +%s.%N)
	python3 -c "print(f'{$COUNT / ($end - $start):.0f}')"
}

TERN=""
POSTFIX=""
r=1
while [ "$r" -le "$ROUNDS" ]; do
	t=$(round "$T_PORT" "$T/queue")
	p=$(round "$P_PORT" "$P/queue")
	echo "round $r: Tern $t msg/s, Postfix $p msg/s"
	TERN="$TERN $t"
	POSTFIX="$POSTFIX $p"
	r=$((r + 1))
done
python3 - "$TERN" "$POSTFIX" <<'EOP'
import statistics, sys
t = [float(x) for x in sys.argv[1].split()]
p = [float(x) for x in sys.argv[2].split()]
mt, mp = statistics.median(t), statistics.median(p)
print(f"relayed, 4 KiB, 20 sessions, 10 destinations (median msg/s)")
print(f"{'Tern':12}{mt:>10.0f}")
print(f"{'Postfix':12}{mp:>10.0f}")
print(f"Tern/Postfix: {mt / mp:.2f}")
EOP
