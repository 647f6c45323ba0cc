#!/usr/bin/env bats
# Git sources over HTTPS: git's smart HTTP (git http-backend) behind
# lighttpd with TLS from a test CA and basic-auth tokens. Tokens from an
# environment variable or a file, a wrong or missing token, an untrusted
# certificate, SSL_CERT_FILE, a token in the URL, credentials never in
# output (-vv), plans, the state or the cache, and a no-op refresh that
# costs only the ref advertisement.

bats_require_minimum_version 1.5.0

load lib/emulator
load lib/sandbox
load lib/gitserver

setup() {
	gitsrv_setup
	gsbx web
	gpush one
	https_start
	export GIT_TOKEN=$GITSRV_TOKEN
}

teardown() {
	gitsrv_teardown
	emu_stop
}

@test "a token from an environment variable or a file; TLS from the test CA" {
	run --separate-stderr "$SANDFORM" validate --git "$HTTPS_URL" \
		--git-token-env GIT_TOKEN --git-ca-file "$HTTPS_CA"
	[ "$status" -eq 0 ]
	[ "$output" = "1 sandbox in 1 file at main@sha1:$(ghead)" ]
	printf '%s\n' "$GITSRV_TOKEN" >token
	run --separate-stderr "$SANDFORM" validate --git "$HTTPS_URL" --ref main \
		--git-token-file token --git-ca-file "$HTTPS_CA"
	[ "$status" -eq 0 ]
	# SSL_CERT_FILE names the trust store when caFile does not
	SSL_CERT_FILE=$HTTPS_CA run --separate-stderr "$SANDFORM" validate \
		--git "$HTTPS_URL" --git-token-env GIT_TOKEN
	[ "$status" -eq 0 ]
}

@test "a wrong or missing token, an untrusted certificate: exit 1, said, nothing secret" {
	GIT_TOKEN=wrong-token-value run --separate-stderr "$SANDFORM" validate \
		--git "$HTTPS_URL" --git-token-env GIT_TOKEN --git-ca-file "$HTTPS_CA"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"refused the token from \$GIT_TOKEN (user 'x-access-token'): authentication failed"* ]]
	[[ "$stderr" != *wrong-token-value* ]]
	run --separate-stderr "$SANDFORM" validate --git "$HTTPS_URL" \
		--git-token-env GIT_TOKEN --git-user someone --git-ca-file "$HTTPS_CA"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"(user 'someone'): authentication failed"* ]]
	run --separate-stderr "$SANDFORM" validate --git "$HTTPS_URL" --git-ca-file "$HTTPS_CA"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"asks for credentials: give a token"* ]]
	run --separate-stderr "$SANDFORM" validate --git "$HTTPS_URL" \
		--git-token-env UNSET_VARIABLE --git-ca-file "$HTTPS_CA"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"the environment variable UNSET_VARIABLE is not set"* ]]
	# the system CAs do not know the test CA: never accepted
	run --separate-stderr "$SANDFORM" validate --git "$HTTPS_URL" --git-token-env GIT_TOKEN
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"the TLS certificate of 127.0.0.1 is not trusted"* ]]
	[[ "$stderr" != *"$GITSRV_TOKEN"* ]]
	# nothing was cached from a refused source
	[ -z "$(ls .sandform/git/*.git/refs/heads 2>/dev/null)" ]
}

@test "credentials never reach output, plans, the state or the cache (-vv)" {
	local url
	emu_start --transition-ms 20
	# a token in the URL is used, and never shown or stored
	url=${HTTPS_URL/https:\/\//https://x-access-token:$GITSRV_TOKEN@}
	run "$SANDFORM" plan --git "$url" --git-ca-file "$HTTPS_CA" -vv --out p.json
	[ "$status" -eq 0 ]
	[[ "$output" == *"+ web (create)  main@sha1:$(ghead):deploy/web.yaml:1"* ]]
	[[ "$output" == *"$HTTPS_URL"* ]]
	run "$SANDFORM" apply --git "$HTTPS_URL" --git-token-env GIT_TOKEN \
		--git-ca-file "$HTTPS_CA" -vv --auto-approve --json
	[ "$status" -eq 0 ]
	run "$SANDFORM" state history --json
	[ "$(echo "$output" | json 'sorted(set(r["source"] for r in d["runs"]))')" = "['$HTTPS_URL']" ]
	[[ "$output" == *"$(ghead)"* ]]
	# nowhere: not in what was printed, the saved plan, the state, the
	# cache (its config, refs, logs)
	run grep -r -l -F -- "$GITSRV_TOKEN" p.json .sandform
	[ "$status" -eq 1 ]
	run "$SANDFORM" plan --git "$url" --git-ca-file "$HTTPS_CA" -vv
	[[ "$output" != *"$GITSRV_TOKEN"* ]]
	GIT_TOKEN=wrong-token-value run "$SANDFORM" plan --git "$HTTPS_URL" \
		--git-token-env GIT_TOKEN --git-ca-file "$HTTPS_CA" -vv
	[ "$status" -eq 1 ]
	[[ "$output" != *wrong-token-value* ]]
}

@test "a no-op refresh asks only for the ref advertisement" {
	run "$SANDFORM" validate --git "$HTTPS_URL" --git-token-env GIT_TOKEN --git-ca-file "$HTTPS_CA"
	[ "$status" -eq 0 ]
	[ "$(grep -c 'POST /infra.git/git-upload-pack' "$HTTPS_LOG")" = 1 ]
	: >"$HTTPS_LOG"
	run "$SANDFORM" validate --git "$HTTPS_URL" --git-token-env GIT_TOKEN --git-ca-file "$HTTPS_CA"
	[ "$status" -eq 0 ]
	# the ref advertisement, nothing else
	[ "$(cat "$HTTPS_LOG")" = "GET /infra.git/info/refs?service=git-upload-pack" ]
	# a push: one fetch of what is new
	gsbx api
	gpush two
	: >"$HTTPS_LOG"
	run --separate-stderr "$SANDFORM" validate --git "$HTTPS_URL" --git-token-env GIT_TOKEN --git-ca-file "$HTTPS_CA"
	[ "$output" = "2 sandboxes in 2 files at main@sha1:$(ghead)" ]
	[ "$(grep -c 'POST /infra.git/git-upload-pack' "$HTTPS_LOG")" = 1 ]
}
