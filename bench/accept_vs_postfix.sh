#!/bin/sh
# accept_vs_postfix.sh - messages per second accepted into the queue, Tern
# against Postfix, side by side in one run (delivery stopped in both).
#
# Each round runs Postfix's smtp-source (4 KiB messages, 20 sessions, one
# message per connection) first against Tern (bench/smtpd_accept.sh) and then
# against a Postfix instance of its own (smtpd -> cleanup -> incoming/, no
# qmgr, so nothing is delivered), both on 127.0.0.1, both with their default
# fsync behaviour (client host name lookups off in both). Prints each round, the medians and the Tern/Postfix ratio,
#
#   TERN_PREFIX=/path/to/inst bench/accept_vs_postfix.sh [rounds] [messages]
#
# Must run as root (Postfix's master starts as root and drops to the postfix
# user); needs the Debian package postfix, installed but not configured
# ("No configuration"); this script never starts the system's Postfix.
set -eu
ROUNDS=${1:-3}
COUNT=${2:-2000}
HERE=$(cd "$(dirname "$0")" && pwd)
: "${TERN_PREFIX:?set TERN_PREFIX to an installed Tern tree}"
[ "$(id -u)" = 0 ] || { echo "$0: run as root (for Postfix)" >&2; exit 1; }
[ -x /usr/lib/postfix/sbin/master ] || { echo "$0: Postfix not installed" >&2; exit 1; }

PF=$(mktemp -d /tmp/pf-bench.XXXXXX)
chmod 755 "$PF"
PF_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
. "$HERE/postfix_instance.sh"
trap 'postfix_stop "$PF"; rm -rf "$PF"' EXIT INT TERM

# With delivery stopped no qmgr returns flow-control tokens: without
# in_flow_delay = 0 every message would wait 1s and only that would be measured.
postfix_start "$PF" "$PF_PORT" "mydestination = bench.example
local_recipient_maps =
in_flow_delay = 0
smtpd_client_connection_rate_limit = 0" "" || { echo "$0: Postfix did not start" >&2; exit 1; }

SMTP_SOURCE=/usr/sbin/smtp-source
pf_round() {
	rm -f "$PF"/queue/incoming/* 2>/dev/null || true
	start=$(date +%s.%N)
	"$SMTP_SOURCE" -s 20 -l 4096 -m "$COUNT" -f sender@remote.example \
		-t user@bench.example "127.0.0.1:$PF_PORT"
	end=$(date +%s.%N)
	queued=$(find "$PF/queue/incoming" -type f | wc -l)
	python3 -c "import sys; print(f'{$COUNT / ($end - $start):.0f}')"
	[ "$queued" -eq "$COUNT" ] || echo "warning: Postfix queued $queued of $COUNT" >&2
}
# Tern runs as an ordinary user (its master refuses mail_owner root).
tern_round() {
	setpriv --reuid=nobody --regid=nogroup --clear-groups env TERN_PREFIX="$TERN_PREFIX" \
		"$HERE/smtpd_accept.sh" -m "$COUNT" | sed -n 's/.*: \([0-9]*\) messages\/s.*/\1/p'
}

TERN=""
POSTFIX=""
r=1
while [ $r -le "$ROUNDS" ]; do
	t=$(tern_round)
	p=$(pf_round)
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
print(f"{'':12}{'median msg/s':>14}")
print(f"{'Tern':12}{mt:>14.0f}")
print(f"{'Postfix':12}{mp:>14.0f}")
print(f"Tern/Postfix: {mt / mp:.2f}")
EOP
