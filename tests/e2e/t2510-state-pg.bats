#!/usr/bin/env bats
# The PostgreSQL state backend against a real server (lib/pg.bash: one per
# file, TLS on) and daytona-emulator: plan and apply with --state
# postgresql://... and SANDFORM_STATE, the state commands reading it back,
# the password never shown, sslmode=verify-full with sslrootcert, and the
# database role's permissions docs/state-backends.md documents. Without
# PostgreSQL every test is skipped, never passed.

bats_require_minimum_version 1.5.0

load lib/emulator
load lib/apply
load lib/pg

setup_file() {
	pg_skip_unless_available
	PG_SSL=1 pg_start
}

teardown_file() { pg_stop; }

setup() {
	apply_setup --transition-ms 30
	URL=$(pg_url "t$BATS_TEST_NUMBER")
}

teardown() { emu_stop; }

@test "apply and plan with --state postgresql://: converge, the next plan is empty, the state reads back" {
	mk web
	mk api '  autoArchiveInterval: 120'
	run --separate-stderr "$SANDFORM" apply m --auto-approve --state "$URL"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Apply complete: 2 of 2 done, 0 failed"* ]]
	[ "$(live_names)" = "$(declared_names)" ]
	run "$SANDFORM" plan m --detailed-exitcode --state "$URL"
	[ "$status" -eq 0 ]
	# nothing was written locally
	[ ! -e .sandform ]
	run --separate-stderr "$SANDFORM" state list --json --state "$URL"
	[ "$(echo "$output" | json 'sorted(r["name"] for r in d["records"])')" = "['api', 'web']" ]
	run --separate-stderr "$SANDFORM" state history --json --state "$URL"
	[ "$(echo "$output" | json '[r["command"] + ":" + r["outcome"] for r in d["runs"]]')" = "['plan:ok', 'apply:ok']" ]
	run --separate-stderr "$SANDFORM" state journal --json --state "$URL"
	[ "$(echo "$output" | json 'sorted((e["name"], e["action"], e["state"]) for e in d["entries"])')" = "[('api', 'create', 'done'), ('web', 'create', 'done')]" ]
	run --separate-stderr "$SANDFORM" state info --json --state "$URL"
	[ "$(echo "$output" | json 'd["backend"], d["schema_version"], d["lock"], d["counts"]["records"]')" = "('postgresql', 1, None, 2)" ]
	# the tables are in the schema the URL named, with its migrations
	[ "$(pg_sql "SELECT count(*) FROM t$BATS_TEST_NUMBER.records")" = 2 ]
	[ "$(pg_sql "SELECT version FROM t$BATS_TEST_NUMBER.schema_migrations")" = 1 ]
	# destroy empties it
	run --separate-stderr "$SANDFORM" destroy --auto-approve --state "$URL"
	[ "$status" -eq 0 ]
	[ "$(live_names)" = "" ]
	[ "$(pg_sql "SELECT count(*) FROM t$BATS_TEST_NUMBER.records")" = 0 ]
}

@test "SANDFORM_STATE takes a URL; the password is never shown, in output or errors" {
	mk web
	local pw=$PGPASSWORD with
	with="postgresql://$PG_USER:$pw@127.0.0.1:$PG_PORT/sfdb?schema=t$BATS_TEST_NUMBER&password=$pw"
	unset PGPASSWORD
	export SANDFORM_STATE=$with
	run --separate-stderr "$SANDFORM" apply m --auto-approve -v
	[ "$status" -eq 0 ]
	[[ "$output$stderr" != *"$pw"* ]]
	run --separate-stderr "$SANDFORM" state info -v
	[ "$status" -eq 0 ]
	[[ "$output$stderr" != *"$pw"* ]]
	[[ "$output" == *"state:           postgresql://$PG_USER@127.0.0.1:$PG_PORT/sfdb?schema=t$BATS_TEST_NUMBER"* ]]
	run --separate-stderr "$SANDFORM" state info --json
	[ "$(echo "$output" | json 'd["path"]')" = "postgresql://$PG_USER@127.0.0.1:$PG_PORT/sfdb?schema=t$BATS_TEST_NUMBER" ]
	# a wrong password: a clear error, neither password in it
	export SANDFORM_STATE="postgresql://$PG_USER:wrong-$pw@127.0.0.1:$PG_PORT/sfdb"
	run --separate-stderr "$SANDFORM" plan m
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"password authentication failed"* ]]
	[[ "$output$stderr" != *"$pw"* ]]
	# a server that is not there
	export SANDFORM_STATE="postgresql://$PG_USER:$pw@127.0.0.1:1/sfdb?connect_timeout=3"
	run --separate-stderr "$SANDFORM" state list
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"postgresql://$PG_USER@127.0.0.1:1/sfdb?connect_timeout=3: cannot connect"* ]]
	[[ "$stderr" != *"$pw"* ]]
	# --state PATH|URL in the help
	run "$SANDFORM" plan --help
	[[ "$output" == *"--state PATH|URL"* ]]
}

@test "sslmode=verify-full with sslrootcert: the right CA connects, another is refused" {
	mk web
	local tls="$URL&sslmode=verify-full&sslrootcert=$PG_DIR/ca.crt"
	run --separate-stderr "$SANDFORM" apply m --auto-approve --state "$tls"
	[ "$status" -eq 0 ]
	# by host name too (the certificate names localhost)
	run --separate-stderr "$SANDFORM" state list --json \
		--state "postgresql://$PG_USER@localhost:$PG_PORT/sfdb?schema=t$BATS_TEST_NUMBER&sslmode=verify-full&sslrootcert=$PG_DIR/ca.crt"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json 'len(d["records"])')" = 1 ]
	run --separate-stderr "$SANDFORM" state list \
		--state "$URL&sslmode=verify-full&sslrootcert=$PG_DIR/other-ca.crt"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"cannot connect"*"certificate verify failed"* ]]
	# and without the server's TLS (an unencrypted server would fail
	# verify-full the same way): sslmode=disable still connects here
	run "$SANDFORM" state list --state "$URL&sslmode=disable"
	[ "$status" -eq 0 ]
}

@test "the role needs CONNECT and CREATE on the database, or USAGE and CREATE on a schema made for it" {
	mk web
	pg_sql "CREATE ROLE narrow LOGIN PASSWORD 'narrow-pw'"
	pg_sql "GRANT CONNECT ON DATABASE sfdb TO narrow"
	local base="postgresql://narrow@127.0.0.1:$PG_PORT/sfdb"
	# no CREATE on the database: a new schema is refused, clearly
	PGPASSWORD=narrow-pw run --separate-stderr "$SANDFORM" plan m --state "$base?schema=n1"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"create the schema"*"permission denied for database sfdb"* ]]
	# a schema an administrator made for it: enough
	pg_sql "CREATE SCHEMA given"
	pg_sql "GRANT USAGE, CREATE ON SCHEMA given TO narrow"
	PGPASSWORD=narrow-pw run --separate-stderr "$SANDFORM" apply m --auto-approve --state "$base?schema=given"
	[ "$status" -eq 0 ]
	[ "$(live_names)" = web ]
	[ "$(pg_sql "SELECT tableowner FROM pg_tables WHERE schemaname = 'given' AND tablename = 'records'")" = narrow ]
	# the fixture's role has CONNECT and CREATE on the database only
	run --separate-stderr "$SANDFORM" plan m --state "$URL"
	[ "$status" -eq 0 ]
	[ "$(pg_sql "SELECT rolsuper OR rolcreatedb FROM pg_roles WHERE rolname = '$PG_USER'")" = f ]
}
