# scripts/lib.sh - shell helpers shared by ./quickstart and tests/run.
# Sourced, not run. Expects $TOP to be the source tree.

# Debian packages Tern needs to build and run.
TERN_BUILD_PACKAGES="gcc make autoconf automake pkg-config libc6-dev
	libssl-dev libdb5.3-dev libsqlite3-dev libmilter-dev libopendkim-dev
	libspf2-dev libopendmarc-dev libcmocka-dev libcrypt-dev libargon2-dev libidn2-dev
	openssl"
# ...and what the test command needs on top of that.
TERN_TEST_PACKAGES="clang libclang-rt-14-dev clang-format python3 python3-pytest mutt
	python3-pytest-timeout mandoc groff-base procps util-linux passwd
	swaks curl msmtp postfix dnsmasq-base dovecot-core dovecot-lmtpd"

say() { printf '%s\n' "$*" >&2; }
die() { say "$(basename "$0"): $*"; exit 1; }

# ensure_packages PKG... - install the packages that are missing, with apt-get.
ensure_packages() {
	local missing="" p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	if [ "$(id -u)" != 0 ]; then
		die "missing Debian packages:$missing (run as root, or: sudo apt-get install$missing)"
	fi
	say "installing Debian packages:$missing"
	export DEBIAN_FRONTEND=noninteractive
	# Peers used by the tests (postfix for smtp-source/smtp-sink, dovecot) are
	# installed unconfigured and never started: the tests run their own copies
	# on loopback.
	echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
	local policy=/usr/sbin/policy-rc.d own_policy=""
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod 755 "$policy" && own_policy=1
	fi
	local rc=0
	if ! apt-get install -y -q --no-install-recommends $missing </dev/null >/dev/null; then
		apt-get update -q </dev/null >/dev/null &&
			apt-get install -y -q --no-install-recommends $missing </dev/null >/dev/null || rc=1
	fi
	[ -n "$own_policy" ] && rm -f "$policy"
	[ $rc -eq 0 ] || die "apt-get install$missing failed"
}

# bootstrap - generate ./configure when missing or older than its sources.
bootstrap() {
	if [ ! -x "$TOP/configure" ] || [ -n "$(find "$TOP" -maxdepth 3 \
		\( -name configure.ac -o -name '*.am' -o -name '*.mk' \) \
		-newer "$TOP/configure" -not -path '*/build/*' 2>/dev/null | head -n 1)" ]; then
		(cd "$TOP" && autoreconf -fi) || die "autoreconf failed"
	fi
}

# build DIR PREFIX [configure args...] - configure (once) and build out of tree.
build() {
	local dir=$1 prefix=$2
	shift 2
	mkdir -p "$dir"
	if [ ! -f "$dir/Makefile" ] || [ "$TOP/configure" -nt "$dir/Makefile" ]; then
		(cd "$dir" && "$TOP/configure" -q --prefix="$prefix" "$@") ||
			die "configure failed in $dir (see $dir/config.log)"
	fi
	make -C "$dir" -s -j"$(nproc)" >/dev/null || make -C "$dir" -j1 || die "build failed in $dir"
}
