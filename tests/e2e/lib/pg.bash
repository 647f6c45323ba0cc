# A real PostgreSQL server for the tests: Debian's 'postgresql' package
# (initdb, pg_ctl, postgres under /usr/lib/postgresql/VERSION/bin), one
# server per caller in its own temporary directory, on a free loopback
# port, running as an unprivileged user (when run as root, as CI is: the
# system user 'postgres' the package creates, else 'nobody').
#
#   load lib/pg
#   setup_file()    { pg_skip_unless_available; pg_start; }   # one per file
#   teardown_file() { pg_stop; }
#
# pg_available             true when the server programs are installed
# pg_skip_unless_available bats: skip the test (never pass) without them
# pg_start                 initdb (a cached template, see below), start;
#                          exports PG_DIR, PG_PORT, PG_USER (the role
#                          tests connect as, 'sandform', with only CONNECT
#                          and CREATE on database 'sfdb'), PGPASSWORD (its
#                          password: libpq reads it), PG_URL (no password
#                          in it) and PG_ADMIN_URL (a superuser, with its
#                          password, for pg_sql). With PG_SSL=1 the server
#                          also speaks TLS with a certificate for
#                          127.0.0.1 and localhost signed by a new CA:
#                          $PG_DIR/ca.crt (and $PG_DIR/other-ca.crt, a
#                          CA that signed nothing).
# pg_stop                  stop the server at once, remove PG_DIR
# pg_halt                  stop the server (fast shutdown), keep its data
# pg_resume                start it again on the same port
# pg_sql SQL               run SQL as the superuser (psql), print the rows
#                          unaligned
# pg_url SCHEMA            $PG_URL with ?schema=SCHEMA
#
# The template: initdb is the slow part (seconds on a busy machine), so
# the first pg_start of a build initdb's into $SF_BUILDDIR/tests/
# pg-template-VERSION (under a lock, with the role and the database
# made) and every server starts from a copy of it. Without SF_BUILDDIR
# (a benchmark run by hand) each server is initdb'd afresh.

PG_ROLE_PW=sf-test-pw
PG_ADMIN_PW=sf-admin-pw

_pg_bindir() {
	local d
	if [ -n "${SF_PG_BINDIR:-}" ]; then
		echo "$SF_PG_BINDIR"
		return
	fi
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ]; then
			echo "$d"
			return
		fi
	done
}

pg_available() {
	[ -n "$(_pg_bindir)" ] && command -v psql >/dev/null 2>&1
}

pg_skip_unless_available() {
	if ! pg_available; then
		skip "PostgreSQL is not installed (Debian package 'postgresql'; ./setup.sh installs it)"
	fi
}

# _pg_as CMD...: run CMD as the server's user (itself when not root).
_pg_as() {
	if [ "$(id -u)" -ne 0 ]; then
		"$@"
	else
		setpriv --reuid="$_PG_OWNER" --regid="$(id -g "$_PG_OWNER")" \
			--init-groups -- "$@"
	fi
}

_pg_owner() {
	if [ "$(id -u)" -ne 0 ]; then
		id -un
	elif id postgres >/dev/null 2>&1; then
		echo postgres
	else
		echo nobody
	fi
}

_pg_free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# _pg_ctl_start: start the server of $PG_DIR/data on $PG_PORT, waiting
# until it accepts connections.
_pg_ctl_start() {
	local opts="-c listen_addresses=127.0.0.1 -p $PG_PORT"
	opts="$opts -c unix_socket_directories=$PG_DIR -c fsync=off"
	opts="$opts -c full_page_writes=off -c shared_buffers=16MB"
	opts="$opts -c max_connections=120 -c log_min_messages=warning"
	if [ "${PG_SSL:-0}" = 1 ]; then
		opts="$opts -c ssl=on -c ssl_cert_file=$PG_DIR/server.crt"
		opts="$opts -c ssl_key_file=$PG_DIR/server.key"
	fi
	_pg_as "$_PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" \
		-o "$opts" -w -t 60 start >/dev/null
}

# _pg_initdb DIR: a new cluster in DIR/data with the test role and
# database, as the server's user; DIR must be writable by that user.
_pg_initdb() {
	local dir=$1 port
	echo "$PG_ADMIN_PW" >"$dir/admin.pw"
	chown "$_PG_OWNER" "$dir/admin.pw" 2>/dev/null || true
	_pg_as "$_PG_BIN/initdb" -D "$dir/data" -U pgadmin -E UTF8 --no-sync \
		--auth-local=trust --auth-host=scram-sha-256 \
		--pwfile="$dir/admin.pw" >"$dir/initdb.log" 2>&1 || {
		cat "$dir/initdb.log" >&2
		return 1
	}
	rm -f "$dir/admin.pw"
	port=$(_pg_free_port)
	_pg_as "$_PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/init-server.log" \
		-o "-c listen_addresses='' -c unix_socket_directories=$dir -p $port" \
		-w -t 60 start >/dev/null || {
		cat "$dir/init-server.log" >&2
		return 1
	}
	_pg_as psql -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U pgadmin \
		-d postgres >/dev/null <<EOF || return 1
CREATE ROLE sandform LOGIN PASSWORD '$PG_ROLE_PW';
CREATE DATABASE sfdb;
REVOKE ALL ON DATABASE sfdb FROM PUBLIC;
GRANT CONNECT, CREATE, TEMPORARY ON DATABASE sfdb TO sandform;
EOF
	_pg_as "$_PG_BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
	rm -f "$dir/init-server.log"
}

# _pg_template: the cached template's path, made once per build.
_pg_template() {
	local ver tpl tmp
	[ -n "${SF_BUILDDIR:-}" ] || return 1
	ver=$(basename "$(dirname "$_PG_BIN")")
	tpl="$SF_BUILDDIR/tests/pg-template-$ver"
	mkdir -p "$SF_BUILDDIR/tests"
	(
		flock 9
		if [ ! -f "$tpl/ready" ]; then
			tmp=$(mktemp -d "${TMPDIR:-/tmp}/sf-pg-tpl.XXXXXX")
			chmod 755 "$tmp"
			chown "$_PG_OWNER" "$tmp"
			_pg_initdb "$tmp" || { rm -rf "$tmp"; exit 1; }
			rm -rf "$tpl"
			mkdir -p "$tpl"
			cp -a "$tmp/data" "$tpl/data"
			rm -rf "$tmp"
			touch "$tpl/ready"
		fi
	) 9>"$SF_BUILDDIR/tests/pg-template.lock" || return 1
	echo "$tpl"
}

# _pg_certs: a CA, a server certificate for 127.0.0.1 and localhost, and
# another CA, in $PG_DIR.
_pg_certs() {
	(
		cd "$PG_DIR" || exit 1
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
			-nodes -keyout ca.key -out ca.crt -days 2 \
			-subj "/CN=sandform test CA" 2>/dev/null &&
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
			-nodes -keyout other-ca.key -out other-ca.crt -days 2 \
			-subj "/CN=another CA" 2>/dev/null &&
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-keyout server.key -out server.csr -subj "/CN=127.0.0.1" \
			2>/dev/null &&
		printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >san.ext &&
		openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key \
			-CAcreateserial -out server.crt -days 2 -extfile san.ext \
			2>/dev/null &&
		chmod 600 server.key &&
		chown "$_PG_OWNER" server.key server.crt
	)
}

pg_start() {
	local tpl tries
	_PG_BIN=$(_pg_bindir)
	_PG_OWNER=$(_pg_owner)
	[ -n "$_PG_BIN" ] || { echo "pg_start: PostgreSQL is not installed" >&2; return 1; }
	PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/sf-pg.XXXXXX")
	chmod 711 "$PG_DIR"
	chown "$_PG_OWNER" "$PG_DIR"
	if tpl=$(_pg_template); then
		cp -a "$tpl/data" "$PG_DIR/data"
	else
		_pg_initdb "$PG_DIR" || return 1
	fi
	if [ "${PG_SSL:-0}" = 1 ]; then
		_pg_certs || { echo "pg_start: cannot make certificates" >&2; return 1; }
	fi
	for tries in 1 2 3 4 5; do
		PG_PORT=$(_pg_free_port)
		_pg_ctl_start && break
		PG_PORT=
	done
	if [ -z "$PG_PORT" ]; then
		echo "pg_start: the server did not start:" >&2
		cat "$PG_DIR/server.log" >&2
		return 1
	fi
	PG_USER=sandform
	PGPASSWORD=$PG_ROLE_PW
	PG_URL="postgresql://$PG_USER@127.0.0.1:$PG_PORT/sfdb"
	PG_ADMIN_URL="postgresql://pgadmin:$PG_ADMIN_PW@127.0.0.1:$PG_PORT/sfdb"
	export PG_DIR PG_PORT PG_USER PGPASSWORD PG_URL PG_ADMIN_URL _PG_BIN _PG_OWNER
}

pg_halt() {
	[ -n "${PG_DIR:-}" ] && [ -d "$PG_DIR/data" ] || return 0
	_pg_as "$_PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 60 stop >/dev/null 2>&1 || true
}

pg_resume() {
	_pg_ctl_start
}

pg_stop() {
	[ -n "${PG_DIR:-}" ] || return 0
	if [ -d "$PG_DIR/data" ]; then
		_pg_as "$_PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w -t 60 \
			stop >/dev/null 2>&1 || true
	fi
	rm -rf "$PG_DIR"
	PG_DIR=
}

pg_sql() {
	psql -X -q -A -t -v ON_ERROR_STOP=1 "$PG_ADMIN_URL" -c "$1"
}

pg_url() {
	echo "$PG_URL?schema=$1"
}
