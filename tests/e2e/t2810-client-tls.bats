#!/usr/bin/env bats
# The Daytona client over TLS and off loopback (issue 9): a real web server
# (lighttpd with mod_openssl and mod_proxy, from Debian) serves the
# emulator over HTTPS with a certificate from a test CA. Without that CA a
# plan fails at once, naming the certificate problem (never retried, never
# sent in the clear); with --ca-file, SSL_CERT_FILE or SSL_CERT_DIR it
# plans. Addresses that are not loopback and names that need DNS are tried
# only inside a network namespace with nothing but loopback (unshare -n).

bats_require_minimum_version 1.5.0

load lib/emulator
load lib/gitserver

setup() {
	cd "$BATS_TEST_TMPDIR"
	unset SANDFORM_STATE SSL_CERT_FILE SSL_CERT_DIR
	GITSRV_PIDS=()
	mkdir -p m
	printf 'apiVersion: sandform.dev/v1\nkind: Sandbox\nmetadata:\n  name: web\nspec:\n  image: nginx:1\n' >m/web.yaml
}

teardown() {
	gitsrv_stop_all
	emu_stop
}

# tls_proxy_start: lighttpd on a free port proxying HTTPS to the emulator:
# TLS_URL (.../api), TLS_CA (the test CA), TLS_DIR.
tls_proxy_start() {
	local lighttpd d=$BATS_TEST_TMPDIR/tls port
	lighttpd=$(command -v lighttpd || echo /usr/sbin/lighttpd)
	[ -x "$lighttpd" ] || skip "lighttpd is not installed"
	[ -e /usr/lib/lighttpd/mod_openssl.so ] || skip "lighttpd-mod-openssl is not installed"
	[ -e /usr/lib/lighttpd/mod_proxy.so ] || skip "lighttpd's mod_proxy is not installed"
	command -v openssl >/dev/null || skip "openssl is not installed"
	mkdir -p "$d/www"
	_gitsrv_certs "$d" || return 1
	port=$(git_free_port)
	cat >"$d/lighttpd.conf" <<CONF
server.modules = ("mod_proxy", "mod_openssl")
server.document-root = "$d/www"
server.bind = "127.0.0.1"
server.port = $port
server.errorlog = "$d/error.log"
ssl.engine = "enable"
ssl.pemfile = "$d/server.pem"
ssl.privkey = "$d/server.key"
proxy.server = ("" => (("host" => "127.0.0.1", "port" => $EMU_PORT)))
CONF
	"$lighttpd" -D -f "$d/lighttpd.conf" >"$d/stderr.log" 2>&1 &
	GITSRV_PIDS+=($!)
	_gitsrv_wait_port "$port" "$!" "$d/stderr.log" || return 1
	TLS_URL=https://127.0.0.1:$port/api
	TLS_CA=$d/ca.pem
	TLS_DIR=$d
}

# api_requests: how many requests reached the emulator's API
api_requests() {
	emu_requests | grep -c '"/api/' || true
}

@test "a private CA: refused at once without it; trusted with --ca-file, SSL_CERT_FILE or SSL_CERT_DIR" {
	emu_start
	tls_proxy_start
	export DAYTONA_API_URL=$TLS_URL
	run --separate-stderr "$SANDFORM" plan m
	echo "$stderr"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"TLS failed: SSL certificate problem"* ]]
	[[ "$stderr" == *"for a private CA give --ca-file FILE or set SSL_CERT_FILE"* ]]
	[[ "$stderr" != *attempts* ]] # not retried
	[ "$(api_requests)" -eq 0 ]
	[[ "$stderr" != *test-key* ]]

	run --separate-stderr "$SANDFORM" plan m --ca-file "$TLS_CA"
	echo "$stderr"
	[ "$status" -eq 0 ]
	[[ "$output" == *"+ web"* ]] || [[ "$output" == *"create"* ]]
	[ "$(api_requests)" -gt 0 ]

	SSL_CERT_FILE=$TLS_CA run --separate-stderr "$SANDFORM" plan m
	[ "$status" -eq 0 ]

	# a hashed directory, as openssl rehash makes it
	mkdir cadir
	cp "$TLS_CA" cadir/test-ca.pem
	openssl rehash cadir 2>/dev/null || c_rehash cadir >/dev/null
	SSL_CERT_DIR=$PWD/cadir run --separate-stderr "$SANDFORM" plan m
	echo "$stderr"
	[ "$status" -eq 0 ]

	# the option wins over the variable; a CA file that is not there
	SSL_CERT_FILE=/nonexistent run --separate-stderr "$SANDFORM" plan m --ca-file "$TLS_CA"
	[ "$status" -eq 0 ]
	run --separate-stderr "$SANDFORM" plan m --ca-file nope.pem
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"--ca-file: nope.pem: No such file or directory"* ]]
	# a CA that did not sign the server's certificate
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout other.key -out other.pem -days 2 -subj '/CN=other CA' >/dev/null 2>&1
	run --separate-stderr "$SANDFORM" plan m --ca-file other.pem
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"TLS failed"* ]]
}

# in_netns CMD...: run CMD in a new network namespace with only loopback
# (as root, or through a user namespace); skip where neither is allowed
in_netns() {
	if unshare -n true 2>/dev/null; then
		unshare -n "$@"
	elif unshare -rn true 2>/dev/null; then
		unshare -rn "$@"
	else
		skip "no network namespace can be made here (unshare -n)"
	fi
}

@test "off loopback (inside unshare -n): a name that needs DNS and a remote address fail clearly; plain http warns" {
	in_netns true
	export DAYTONA_API_KEY=test-key
	# DNS: nothing resolves in the namespace
	DAYTONA_API_URL=https://daytona.invalid/api run --separate-stderr \
		in_netns "$SANDFORM" plan m --timeout 20s
	echo "$stderr"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"GET /sandbox"*"cannot connect"* ]]
	[[ "$stderr" != *test-key* ]]
	# a remote address over plain http: warned before the key leaves
	DAYTONA_API_URL=http://10.255.255.1:3000/api run --separate-stderr \
		in_netns "$SANDFORM" plan m --timeout 20s
	echo "$stderr"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"plain http"*"10.255.255.1"* ]]
	[[ "$stderr" == *"cannot connect"* ]]
	# loopback spelled as 127.1: no warning
	emu_start
	DAYTONA_API_URL=http://127.1:$EMU_PORT/api run --separate-stderr \
		"$SANDFORM" plan m
	[ "$status" -eq 0 ]
	[[ "$stderr" != *"plain http"* ]]
}
