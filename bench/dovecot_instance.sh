# dovecot_instance.sh - sourced by the benchmarks: a Dovecot of its own in a
# directory, with only an LMTP listener on 127.0.0.1, never the system's
# Dovecot (its base_dir, state_dir and logs are all in the directory).
#
#   dovecot_start DIR PORT USERS...   users are full addresses (user@domain)
#   dovecot_stop DIR
#   dovecot_index_bytes DIR USER      bytes of the dovecot.index* files of the user
#   dovecot_uidlist_bytes DIR USER    bytes of the user's dovecot-uidlist
#
# Mail goes to maildir:DIR/mail/USER/Maildir with mail_fsync = always; the
# users come from a passwd-file userdb (DIR/users) and their mail is owned by
# nobody:nogroup. Dovecot's master starts as root (its internal processes
# run as the users dovecot and dovenull of the Debian package). Must run as
# root.

dovecot_start() {
	_dd=$1
	_dport=$2
	shift 2
	mkdir -p "$_dd/run" "$_dd/state" "$_dd/mail"
	chmod 755 "$_dd" "$_dd/run"
	chown nobody:nogroup "$_dd/mail"
	_duid=$(id -u nobody)
	_dgid=$(getent group nogroup | cut -d: -f3)
	: > "$_dd/users"
	for _du in "$@"; do
		echo "$_du::$_duid:$_dgid::$_dd/mail/$_du::" >> "$_dd/users"
	done
	chmod 644 "$_dd/users"
	cat > "$_dd/dovecot.conf" <<EOC
# A private benchmark instance: LMTP only, on 127.0.0.1:$_dport.
protocols = lmtp
listen = 127.0.0.1
base_dir = $_dd/run
state_dir = $_dd/state
instance_name = bench-$_dport
log_path = $_dd/dovecot.log
info_log_path = $_dd/dovecot.log
ssl = no
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = $_duid
last_valid_uid = $_duid
mail_location = maildir:$_dd/mail/%u/Maildir
mail_fsync = always
passdb {
  driver = passwd-file
  args = $_dd/users
}
userdb {
  driver = passwd-file
  args = $_dd/users
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $_dport
  }
  unix_listener lmtp {
    mode = 0600
  }
  process_limit = 100
}
EOC
	/usr/sbin/dovecot -c "$_dd/dovecot.conf" || return 1
	# Ready when the listener answers (dovecot forks lmtp on the first connection).
	_dn=0
	until /usr/bin/python3 -c "import socket, sys; socket.create_connection(('127.0.0.1', $_dport), 1).close()" \
		2>/dev/null; do
		_dn=$((_dn + 1))
		[ $_dn -lt 100 ] || return 1
		sleep 0.1
	done
}

dovecot_stop() {
	[ -f "$1/run/master.pid" ] || return 0
	_dpid=$(tr -d ' ' < "$1/run/master.pid")
	kill "$_dpid" 2>/dev/null || return 0
	_dn=0
	while kill -0 "$_dpid" 2>/dev/null && [ $_dn -lt 50 ]; do
		_dn=$((_dn + 1))
		sleep 0.1
	done
}

dovecot_index_bytes() {
	find "$1/mail/$2/Maildir" -maxdepth 1 -type f -name 'dovecot.index*' -printf '%s\n' 2>/dev/null |
		awk '{ s += $1 } END { print s + 0 }'
}

dovecot_uidlist_bytes() {
	find "$1/mail/$2/Maildir" -maxdepth 1 -type f -name 'dovecot-uidlist' -printf '%s\n' 2>/dev/null |
		awk '{ s += $1 } END { print s + 0 }'
}
