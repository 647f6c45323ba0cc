#!/usr/bin/env bats
# sandform state migrate between SQLite and PostgreSQL (a real server,
# lib/pg.bash): a round trip SQLite -> PostgreSQL -> SQLite gives the same
# 'state list/history/journal --json' byte for byte, and a stack with a
# secret plans no change on the copy (its key came along); what is refused
# (nothing copied): no --to, an empty stack, a target holding the stack
# without --force, a locked stack, a target with another key and other
# stacks. Without PostgreSQL every test is skipped, never passed.

bats_require_minimum_version 1.5.0

load lib/emulator
load lib/apply
load lib/pg

setup_file() {
	pg_skip_unless_available
	pg_start
}

teardown_file() { pg_stop; }

setup() {
	apply_setup --transition-ms 20
	URL=$(pg_url "t$BATS_TEST_NUMBER")
	TOOL="$SF_BUILDDIR/tests/store-tool"
	export MIGRATE_TOKEN=s3cret-token-value
}

teardown() {
	[ -z "${HOLDER:-}" ] || kill "$HOLDER" 2>/dev/null || true
	emu_stop
}

# dumps STATE OUT: the stack's list, history and journal as JSON, one a line
dumps() {
	local what
	for what in list history journal; do
		"$SANDFORM" state "$what" --json --state "$1" || return 1
	done >"$2"
}

@test "state migrate round-trips SQLite -> PostgreSQL -> SQLite: identical list, history and journal" {
	mk web '  env:
    TOKEN: {secretEnv: MIGRATE_TOKEN}'
	mk api
	mk db '  public: true'
	run --separate-stderr "$SANDFORM" apply m --auto-approve
	[ "$status" -eq 0 ]
	"$SANDFORM" plan m >/dev/null
	# what only killed runs leave: an open entry, a failed one
	"$TOOL" .sandform/state.db intent name=web action=stop sandbox_id=sb-x >/dev/null
	j=$("$TOOL" .sandform/state.db intent name=db action=delete sandbox_id=sb-y)
	"$TOOL" .sandform/state.db finish id="$j" message=busy
	dumps .sandform/state.db sqlite.json
	run --separate-stderr "$SANDFORM" state migrate --to "$URL"
	echo "$output $stderr" >&2
	[ "$status" -eq 0 ]
	[[ "$output" == "Copied stack 'default' from ./.sandform/state.db to $URL: 3 records, 2 runs, 5 journal entries (1 open), 0 drift observations; the copy reads back identical."* ]]
	dumps "$URL" pg.json
	cmp sqlite.json pg.json
	# and back into a new file
	run --separate-stderr "$SANDFORM" state migrate --state "$URL" --to back.db
	[ "$status" -eq 0 ]
	dumps back.db back.json
	cmp sqlite.json back.json
	# the secret's keyed hash still compares: nothing to change
	run "$SANDFORM" plan m --detailed-exitcode --state "$URL"
	[ "$status" -eq 0 ]
	run "$SANDFORM" plan m --detailed-exitcode --state back.db
	[ "$status" -eq 0 ]
	# the source is unchanged, and the copies work on their own
	dumps .sandform/state.db again.json
	cmp sqlite.json again.json
	mk extra
	run --separate-stderr "$SANDFORM" apply m --auto-approve --state "$URL"
	[ "$status" -eq 0 ]
	[ "$(live_names)" = "$(declared_names)" ]
}

@test "state migrate refuses, copying nothing: no --to, nothing to copy, the stack already there, a locked stack, another key" {
	mk web
	"$SANDFORM" apply m --auto-approve >/dev/null
	run --separate-stderr "$SANDFORM" state migrate
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"--to PATH|URL"* ]]
	run --separate-stderr "$SANDFORM" state migrate --to "$URL" --stack nosuch
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"stack 'nosuch' has nothing in ./.sandform/state.db"* ]]
	run --separate-stderr "$SANDFORM" state migrate --to nodir/x.db
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"directory 'nodir' does not exist"* ]]
	run --separate-stderr "$SANDFORM" state migrate --state none.db --to "$URL"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"there is no state at none.db"* ]]
	# the source stack locked by a run: exit 3, naming it
	"$TOOL" .sandform/state.db hold-lock info=apply >lock.id 3>&- &
	HOLDER=$!
	for ((i = 0; i < 100; i++)); do [ -s lock.id ] && break; sleep 0.05; done
	run --separate-stderr "$SANDFORM" state migrate --to "$URL"
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"is locked by pid $HOLDER"*"in the source ./.sandform/state.db"* ]]
	kill "$HOLDER"
	wait "$HOLDER" || true
	HOLDER=
	"$SANDFORM" force-unlock "$(cat lock.id)" >/dev/null
	[ "$("$SANDFORM" state list --json --state "$URL" | json 'len(d["records"])')" = 0 ]
	# copied once; again: refused unless --force
	run --separate-stderr "$SANDFORM" state migrate --to "$URL" --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json 'd["stack"], d["copied"]["records"], d["verified"]')" = "('default', 1, True)" ]
	run --separate-stderr "$SANDFORM" state migrate --to "$URL"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"already holds stack 'default'"*"--force replaces it"* ]]
	run --separate-stderr "$SANDFORM" state migrate --to "$URL" --force
	[ "$status" -eq 0 ]
	# the target stack locked (on PostgreSQL): exit 3
	"$TOOL" "$URL" hold-lock info=watch >lock2.id 3>&- &
	HOLDER=$!
	for ((i = 0; i < 100; i++)); do [ -s lock2.id ] && break; sleep 0.05; done
	run --separate-stderr "$SANDFORM" state migrate --to "$URL" --force
	[ "$status" -eq 3 ]
	[[ "$stderr" == *"in the target $URL"* ]]
	kill "$HOLDER"
	wait "$HOLDER" || true
	HOLDER=
	# another state's key, with a stack of its own: refused
	run --separate-stderr "$SANDFORM" state import other sb-o --stack blue --state "$URL-x"
	[ "$status" -eq 1 ] # (not a schema name: refused, clearly)
	[[ "$stderr" == *"is not a schema name"* ]]
	other=$(pg_url "t${BATS_TEST_NUMBER}_other")
	"$SANDFORM" state import other sb-o --stack blue --state "$other" >/dev/null
	run --separate-stderr "$SANDFORM" state migrate --to "$other"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"another secret-hashing key"*"('blue')"* ]]
	[ "$("$SANDFORM" state list --json --state "$other" | json 'len(d["records"])')" = 0 ]
}
