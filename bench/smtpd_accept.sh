#!/bin/sh
# smtpd_accept.sh - how many messages per second Tern's smtpd and cleanup
# accept into the queue (each one written and fsync'd before its 250).
#
# Starts its own Tern (from $TERN_PREFIX) in a temporary directory with smtpd
# on a free 127.0.0.1 port, cleanup and auth, and one local user, then runs
# Postfix's smtp-source against it: by default 2000 messages of 4 KiB over 20
# concurrent sessions, one message per connection (smtp-source -s 20 -l 4096
# -m 2000). Prints the wall time, the rate, and checks that every message is
# in $queue_directory/incoming. Arguments after -- go to smtp-source (e.g. -d to
# send all of a session's messages over one connection).
#
#   TERN_PREFIX=/path/to/inst bench/smtpd_accept.sh [-s 20] [-l 4096] [-m 2000] [-- args...]
#
# Run it as an ordinary user (as root the instance runs as root too); it
# needs smtp-source (Debian package postfix; never start that Postfix).
set -eu

SESSIONS=20
LENGTH=4096
COUNT=2000
while getopts s:l:m: opt; do
	case $opt in
	s) SESSIONS=$OPTARG ;;
	l) LENGTH=$OPTARG ;;
	m) COUNT=$OPTARG ;;
	*) echo "usage: $0 [-s sessions] [-l length] [-m messages] [-- smtp-source args...]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))

: "${TERN_PREFIX:?set TERN_PREFIX to an installed Tern tree}"
SMTP_SOURCE=$(command -v smtp-source || echo /usr/sbin/smtp-source)
[ -x "$SMTP_SOURCE" ] || { echo "$0: smtp-source not found (Debian package postfix)" >&2; exit 1; }

BASE=$(mktemp -d /tmp/tern-bench.XXXXXX)
MASTER_PID=
cleanup() {
	if [ -n "$MASTER_PID" ] && kill -0 "$MASTER_PID" 2>/dev/null; then
		kill -TERM "$MASTER_PID"
		wait "$MASTER_PID" 2>/dev/null || true
	fi
	rm -rf "$BASE"
}
trap cleanup EXIT INT TERM

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$BASE/etc"
cat > "$BASE/etc/main.cf" <<EOF
queue_directory = $BASE/queue
data_directory = $BASE/data
store_directory = $BASE/data/store
daemon_directory = $TERN_PREFIX/libexec/tern
meta_directory = $TERN_PREFIX/share/tern
log_to = $BASE/tern.log
inet_interfaces = 127.0.0.1
myhostname = mx.bench.example
mydomain = bench.example
mail_owner = $(id -un)
store_owner = $(id -un)
EOF
cat > "$BASE/etc/master.cf" <<EOF
127.0.0.1:$PORT inet n - n - $((SESSIONS + 10)) smtpd
  -o smtpd_tls_security_level=none
  -o smtpd_peername_lookup=no
cleanup unix - - n - 0 cleanup
auth unix - - n - 1 auth
EOF
ADMIN="$TERN_PREFIX/sbin/ternadmin -c $BASE/etc"
$ADMIN domain add bench.example >/dev/null
echo bench-pw | $ADMIN user add user@bench.example >/dev/null

"$TERN_PREFIX/libexec/tern/master" -f -c "$BASE/etc" 2>"$BASE/master.stderr" &
MASTER_PID=$!
i=0
until python3 - "$PORT" <<'EOF' 2>/dev/null
import socket, sys
with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2) as s:
    assert s.recv(100).startswith(b"220 ")
    s.sendall(b"QUIT\r\n")
EOF
do
	i=$((i + 1))
	[ $i -lt 100 ] || { echo "$0: smtpd did not start" >&2; cat "$BASE/master.stderr" >&2; exit 1; }
	sleep 0.1
done

echo "smtp-source -s $SESSIONS -l $LENGTH -m $COUNT $* against Tern on 127.0.0.1:$PORT"
START=$(date +%s.%N)
"$SMTP_SOURCE" -s "$SESSIONS" -l "$LENGTH" -m "$COUNT" -f sender@remote.example \
	-t user@bench.example "$@" "127.0.0.1:$PORT"
END=$(date +%s.%N)

QUEUED=$(find "$BASE/queue/incoming" -type f ! -name '.*' | wc -l)
python3 - "$START" "$END" "$COUNT" "$QUEUED" <<'EOF'
import sys
start, end, count, queued = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
print(f"{count} messages in {end - start:.2f}s: {count / (end - start):.0f} messages/s "
      f"({queued} queue files)")
if queued != count:
    sys.exit(f"expected {count} queue files, found {queued}")
EOF
