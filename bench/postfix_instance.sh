# postfix_instance.sh - sourced by the benchmarks: a Postfix of its own in a
# directory, listening on 127.0.0.1 only, never the system's Postfix.
#
#   postfix_start DIR PORT "extra main.cf lines" "extra master.cf lines"
#   postfix_stop DIR
#
# The postfix(1) wrapper insists on /etc/postfix/main.cf, which an
# unconfigured package lacks: the queue tree is made with post-install and
# Postfix's master is started directly. Must run as root.

postfix_start() {
	mkdir -p "$1/etc" "$1/queue" "$1/data"
	chown postfix:postfix "$1/data"
	cat > "$1/etc/main.cf" <<EOC
compatibility_level = 3.6
queue_directory = $1/queue
data_directory = $1/data
meta_directory = /etc/postfix
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = pf.bench.example
mydomain = bench.example
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_peername_lookup = no
smtpd_client_connection_count_limit = 0
$3
EOC
	cat > "$1/etc/master.cf" <<EOC
127.0.0.1:$2 inet n - n - 40 smtpd
cleanup   unix n - n - 0 cleanup
rewrite   unix - - n - - trivial-rewrite
bounce    unix - - n - 0 bounce
defer     unix - - n - 0 bounce
trace     unix - - n - 0 bounce
anvil     unix - - n - 1 anvil
proxymap  unix - - n - - proxymap
$4
EOC
	/usr/lib/postfix/sbin/post-install config_directory="$1/etc" meta_directory=/etc/postfix \
		create-missing >/dev/null 2>&1 || true
	/usr/lib/postfix/sbin/master -c "$1/etc" -w
}

postfix_stop() {
	[ -f "$1/queue/pid/master.pid" ] && kill "$(tr -d ' ' < "$1/queue/pid/master.pid")" 2>/dev/null
	sleep 1
}
