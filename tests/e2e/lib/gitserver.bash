# Git servers on loopback for the git source tests (t6xxx), each started on
# a free port by the test and stopped in its teardown. A server whose
# program is missing makes the test SKIP (never pass): setup.sh installs
# them (git, lighttpd and lighttpd-mod-openssl, openssh-server).
#
#   load lib/gitserver
#   setup()    { gitsrv_setup; }        # HOME, identity, the repo "infra"
#   teardown() { gitsrv_teardown; }     # every server this test started
#
# gitsrv_setup             cd $BATS_TEST_TMPDIR, HOME=$BATS_TEST_TMPDIR/home
#                          (no user git or ssh config leaks in), a bare
#                          repository $GITSRV_ROOT/infra.git and its work
#                          clone $GITSRV_WORK (branch main, nothing yet)
# gsbx NAME [IMAGE]        write $GITSRV_WORK/deploy/NAME.yaml (a sandbox)
# gpush MSG [ARGS...]      commit everything in the work clone (extra
#                          "git commit" ARGS, e.g. -S) and push main and tags
# gtag NAME [ARGS...]      tag HEAD (ARGS: -a -m msg, -s ...) and push it
# ghead                    the work clone's HEAD commit id
# gitd_start               git daemon: GITD_URL=git://127.0.0.1:PORT/infra.git
# https_start              lighttpd + git-http-backend over TLS with basic
#                          auth: HTTPS_URL, HTTPS_CA (the test CA's PEM),
#                          HTTPS_LOG (one line per request that reached
#                          git: "METHOD PATH?QUERY"), token in
#                          $GITSRV_TOKEN (user x-access-token)
# sshd_start               sshd: SSH_URL=ssh://USER@127.0.0.1:PORT/PATH,
#                          SSH_KEY (the user's private key), SSH_KNOWN
#                          (a known_hosts with the server's key), SSH_FP
#                          (its SHA256 fingerprint)
# gitsrv_stop_all          stop them (gitsrv_teardown does)
# git_free_port            a free loopback TCP port

git_free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# _gitsrv_wait_port PORT PID LOG: until something listens on PORT.
_gitsrv_wait_port() {
	local port=$1 pid=$2 log=$3 i
	for ((i = 0; i < 200; i++)); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			return 0
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "server exited early:" >&2
			cat "$log" >&2
			return 1
		fi
		sleep 0.05
	done
	echo "server did not listen on port $port:" >&2
	cat "$log" >&2
	return 1
}

gitsrv_setup() {
	cd "$BATS_TEST_TMPDIR" || return 1
	export HOME=$BATS_TEST_TMPDIR/home
	mkdir -p "$HOME/.ssh"
	export GIT_AUTHOR_NAME=Tester GIT_AUTHOR_EMAIL=tester@example.com
	export GIT_COMMITTER_NAME=Tester GIT_COMMITTER_EMAIL=tester@example.com
	export GIT_CONFIG_NOSYSTEM=1
	unset SANDFORM_STATE NO_COLOR SSL_CERT_FILE SSH_AUTH_SOCK
	LSAN_OPTIONS="suppressions=${BASH_SOURCE[0]%/*}/lsan-libgit2.supp:print_suppressions=0:fast_unwind_on_malloc=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
	export LSAN_OPTIONS
	GITSRV_ROOT=$BATS_TEST_TMPDIR/srv
	GITSRV_WORK=$BATS_TEST_TMPDIR/work
	GITSRV_PIDS=()
	mkdir -p "$GITSRV_ROOT"
	git init -q --bare -b main "$GITSRV_ROOT/infra.git"
	git init -q -b main "$GITSRV_WORK"
	git -C "$GITSRV_WORK" remote add origin "$GITSRV_ROOT/infra.git"
	mkdir -p "$GITSRV_WORK/deploy"
}

gsbx() {
	local name=$1 image=${2:-nginx:1}
	printf 'apiVersion: sandform.dev/v1\nkind: Sandbox\nmetadata:\n  name: %s\nspec:\n  image: %s\n' \
		"$name" "$image" >"$GITSRV_WORK/deploy/$name.yaml"
}

gpush() {
	local msg=$1
	shift
	git -C "$GITSRV_WORK" add -A
	git -C "$GITSRV_WORK" commit -q "$@" -m "$msg"
	git -C "$GITSRV_WORK" push -q -f origin main --tags 2>/dev/null
}

gtag() {
	local name=$1
	shift
	git -C "$GITSRV_WORK" tag "$@" "$name"
	git -C "$GITSRV_WORK" push -q -f origin "refs/tags/$name" 2>/dev/null
}

ghead() {
	git -C "$GITSRV_WORK" rev-parse HEAD
}

gitd_start() {
	command -v git >/dev/null || skip "git is not installed"
	[ -x "$(git --exec-path)/git-daemon" ] || skip "git daemon is not installed"
	local port log=$BATS_TEST_TMPDIR/gitd.log
	port=$(git_free_port)
	git daemon --reuseaddr --export-all --base-path="$GITSRV_ROOT" \
		--listen=127.0.0.1 --port="$port" "$GITSRV_ROOT" >"$log" 2>&1 &
	GITSRV_PIDS+=($!)
	_gitsrv_wait_port "$port" "$!" "$log" || return 1
	GITD_URL=git://127.0.0.1:$port/infra.git
}

# _gitsrv_certs DIR: a test CA and a server certificate for 127.0.0.1
# (an IP SAN, and the same as a DNS SAN for TLS libraries that compare
# names as strings).
_gitsrv_certs() {
	local d=$1
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$d/ca.key" -out "$d/ca.pem" -days 2 -subj '/CN=sandform test CA' \
		>/dev/null 2>&1 || return 1
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$d/server.key" -out "$d/server.csr" -subj '/CN=127.0.0.1' \
		>/dev/null 2>&1 || return 1
	printf 'subjectAltName=IP:127.0.0.1,DNS:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n' >"$d/ext.cnf"
	openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
		-CAcreateserial -out "$d/server.pem" -days 2 -extfile "$d/ext.cnf" \
		>/dev/null 2>&1 || return 1
}

https_start() {
	local lighttpd backend d=$BATS_TEST_TMPDIR/https port
	lighttpd=$(command -v lighttpd || echo /usr/sbin/lighttpd)
	[ -x "$lighttpd" ] || skip "lighttpd is not installed"
	[ -e /usr/lib/lighttpd/mod_openssl.so ] || skip "lighttpd-mod-openssl is not installed"
	command -v openssl >/dev/null || skip "openssl is not installed"
	backend="$(git --exec-path)/git-http-backend"
	[ -x "$backend" ] || skip "git-http-backend is not installed"
	mkdir -p "$d/www"
	_gitsrv_certs "$d" || return 1
	GITSRV_TOKEN=tok-$RANDOM$RANDOM-secret
	printf 'x-access-token:%s\n' "$GITSRV_TOKEN" >"$d/users"
	# the CGI logs every request that reaches git, at once (lighttpd's
	# access log is written in batches)
	printf '#!/bin/sh\nprintf "%%s %%s?%%s\\n" "$REQUEST_METHOD" "$PATH_INFO" "$QUERY_STRING" >>"%s"\nexec "%s"\n' \
		"$d/requests.log" "$backend" >"$d/backend.sh"
	chmod +x "$d/backend.sh"
	: >"$d/requests.log"
	port=$(git_free_port)
	cat >"$d/lighttpd.conf" <<EOF
server.modules = ("mod_alias", "mod_setenv", "mod_cgi", "mod_auth",
                  "mod_authn_file", "mod_openssl", "mod_accesslog")
server.document-root = "$d/www"
server.bind = "127.0.0.1"
server.port = $port
server.errorlog = "$d/error.log"
accesslog.filename = "$d/access.log"
ssl.engine = "enable"
ssl.pemfile = "$d/server.pem"
ssl.privkey = "$d/server.key"
alias.url = ("/git" => "$d/backend.sh")
\$HTTP["url"] =~ "^/git" {
	cgi.assign = ("" => "")
	setenv.add-environment = ("GIT_PROJECT_ROOT" => "$GITSRV_ROOT",
	                          "GIT_HTTP_EXPORT_ALL" => "1")
	auth.backend = "plain"
	auth.backend.plain.userfile = "$d/users"
	auth.require = ("/git" => ("method" => "basic", "realm" => "git",
	                           "require" => "valid-user"))
}
EOF
	"$lighttpd" -D -f "$d/lighttpd.conf" >"$d/stderr.log" 2>&1 &
	GITSRV_PIDS+=($!)
	_gitsrv_wait_port "$port" "$!" "$d/stderr.log" || return 1
	HTTPS_URL=https://127.0.0.1:$port/git/infra.git
	HTTPS_CA=$d/ca.pem
	HTTPS_LOG=$d/requests.log
	export GITSRV_TOKEN
}

sshd_start() {
	local sshd=/usr/sbin/sshd d=$BATS_TEST_TMPDIR/sshd port user
	[ -x "$sshd" ] || skip "openssh-server is not installed"
	command -v ssh-keygen >/dev/null || skip "ssh-keygen is not installed"
	user=$(id -un)
	mkdir -p "$d"
	# Debian's sshd wants its privilege separation directory when run
	# as root (it then drops to sshd's own unprivileged user)
	if [ "$(id -u)" = 0 ]; then mkdir -p /run/sshd; fi
	ssh-keygen -q -t ed25519 -N '' -f "$d/host_key" -C host >/dev/null || return 1
	ssh-keygen -q -t ed25519 -N '' -f "$d/user_key" -C user >/dev/null || return 1
	cp "$d/user_key.pub" "$d/authorized_keys"
	chmod 600 "$d/authorized_keys"
	port=$(git_free_port)
	cat >"$d/sshd_config" <<EOF
Port $port
ListenAddress 127.0.0.1
HostKey $d/host_key
PidFile $d/sshd.pid
AuthorizedKeysFile $d/authorized_keys
AllowUsers $user
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
LogLevel VERBOSE
EOF
	"$sshd" -D -e -f "$d/sshd_config" >"$d/sshd.log" 2>&1 &
	GITSRV_PIDS+=($!)
	_gitsrv_wait_port "$port" "$!" "$d/sshd.log" || return 1
	SSH_URL=ssh://$user@127.0.0.1:$port$GITSRV_ROOT/infra.git
	SSH_KEY=$d/user_key
	SSH_KNOWN=$d/known_hosts
	printf '[127.0.0.1]:%s %s\n' "$port" "$(cut -d' ' -f1,2 "$d/host_key.pub")" >"$SSH_KNOWN"
	SSH_FP=$(ssh-keygen -l -f "$d/host_key.pub" | cut -d' ' -f2)
	SSH_PORT=$port
}

gitsrv_stop_all() {
	local pid i
	for pid in "${GITSRV_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${GITSRV_PIDS[@]}"; do
		for ((i = 0; i < 100; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.05
		done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	GITSRV_PIDS=()
}

gitsrv_teardown() {
	gitsrv_stop_all
}
