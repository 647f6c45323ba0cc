#!/usr/bin/env bats
# sandform state list/show/rm/import/history on a fresh state file (no
# emulator needed). Runs and locks that other commands write are put in
# with the sqlite3 shell.

setup() {
	cd "$BATS_TEST_TMPDIR"
	unset SANDFORM_STATE
	DB="$BATS_TEST_TMPDIR/.sandform/state.db"
}

load lib/sandbox # json EXPR

@test "state list on a missing state file is empty and creates nothing" {
	run "$SANDFORM" state list
	[ "$status" -eq 0 ]
	[ -z "$output" ] || [[ "$output" == *"has no records"* ]]
	run "$SANDFORM" state list --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json 'len(d["records"]), d["stack"], d["format_version"]')" = "(0, 'default', '1')" ]
	[ ! -e .sandform ]
}

@test "state import creates a 0600 state file and list shows the record" {
	umask 000
	run "$SANDFORM" state import web 7f3c2a10-0000-4000-8000-000000000001
	[ "$status" -eq 0 ]
	[[ "$output" == *"imported 'web'"* ]]
	[ "$(stat -c %a "$DB")" = 600 ]
	[ "$(stat -c %a .sandform)" = 700 ]
	"$SANDFORM" state import api 7f3c2a10-0000-4000-8000-000000000002
	run "$SANDFORM" state list
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "NAME  ID                                    STATUS    UPDATED" ]
	[[ "${lines[1]}" == "api   7f3c2a10-0000-4000-8000-000000000002  imported  20"* ]]
	[[ "${lines[2]}" == "web   7f3c2a10-0000-4000-8000-000000000001  imported  20"* ]]
	[ "${#lines[@]}" -eq 3 ]
	run "$SANDFORM" state list --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json '[(r["name"], r["status"]) for r in d["records"]]')" = "[('api', 'imported'), ('web', 'imported')]" ]
}

@test "state show prints the record as JSON; a missing record exits 1" {
	"$SANDFORM" state import web sb-1
	run "$SANDFORM" state show web
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json 'd["name"], d["sandbox_id"], d["status"], d["labels"], d["observed"]')" = "('web', 'sb-1', 'imported', {}, None)" ]
	run "$SANDFORM" state show nope
	[ "$status" -eq 1 ]
	[ "$output" = "sandform state: no record of 'nope' in stack 'default'" ]
}

@test "state rm --keep-labels forgets a record offline and exits 1 the second time" {
	"$SANDFORM" state import web sb-1
	"$SANDFORM" state import api sb-2
	unset DAYTONA_API_KEY
	export DAYTONA_API_URL=http://127.0.0.1:1/api
	run "$SANDFORM" state rm web --keep-labels
	[ "$status" -eq 0 ]
	[[ "$output" == *"forgot 'web' (sandbox sb-1)"*"labels were kept: plans fail while 'web' is declared"* ]]
	run "$SANDFORM" state show web
	[ "$status" -eq 1 ]
	run "$SANDFORM" state rm web
	[ "$status" -eq 1 ]
	[[ "$output" == "sandform state: no record of 'web'"* ]]
	# without --keep-labels rm needs Daytona, and forgets nothing without it
	run "$SANDFORM" state rm api
	[ "$status" -eq 1 ]
	[[ "$output" == *"rm api: cannot remove sandform's labels"*"no daytona api key"*"nothing was forgotten"* ]]
	run "$SANDFORM" state list --json
	[ "$(echo "$output" | json '[r["name"] for r in d["records"]]')" = "['api']" ]
	[ "$(sqlite3 "$DB" 'SELECT count(*) FROM locks')" = 0 ]
}

@test "state import refuses a taken name, a recorded id and bad input" {
	"$SANDFORM" state import web sb-1
	run "$SANDFORM" state import web sb-9
	[ "$status" -eq 1 ]
	[[ "$output" == *"'web' is already in stack 'default'"* ]]
	run "$SANDFORM" state import other sb-1
	[ "$status" -eq 1 ]
	[[ "$output" == *"sandbox sb-1 is already recorded as 'web'"* ]]
	run "$SANDFORM" state import "bad name" sb-3
	[ "$status" -eq 1 ]
	[[ "$output" == *"invalid sandbox name"* ]]
	run "$SANDFORM" state import ok ""
	[ "$status" -eq 1 ]
	run "$SANDFORM" state import onlyname
	[ "$status" -eq 1 ]
	[[ "$output" == *"usage: sandform state import NAME ID"* ]]
	run "$SANDFORM" state show web
	[ "$(echo "$output" | json 'd["sandbox_id"]')" = "sb-1" ]
}

@test "stacks are separate; --state and SANDFORM_STATE pick the file" {
	"$SANDFORM" state import web sb-1 --stack blue
	run "$SANDFORM" state list --json
	[ "$(echo "$output" | json 'len(d["records"])')" = 0 ]
	run "$SANDFORM" state list --stack blue --json
	[ "$(echo "$output" | json '[r["name"] for r in d["records"]]')" = "['web']" ]

	mkdir elsewhere # an explicit --state needs its directory
	"$SANDFORM" state import a sb-a --state elsewhere/s.db
	[ -f elsewhere/s.db ]
	SANDFORM_STATE=elsewhere/s.db run "$SANDFORM" state show a
	[ "$status" -eq 0 ]
	run "$SANDFORM" state show a
	[ "$status" -eq 1 ]
}

@test "state history lists runs newest first" {
	run "$SANDFORM" state history --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json 'd["runs"]')" = "[]" ]
	"$SANDFORM" state import web sb-1 # creates the database
	sqlite3 "$DB" "
	  INSERT INTO runs (command, stack, source, git_commit, pid, host,
	    started_ms, finished_ms, outcome, counts)
	  VALUES ('plan', 'default', 'examples/', NULL, 1, 'h',
	    1764000000000, 1764000001500, 'ok', '{\"create\":2}');
	  INSERT INTO runs (command, stack, source, git_commit, pid, host,
	    started_ms, finished_ms, outcome, counts)
	  VALUES ('apply', 'default', 'https://git.example/x.git',
	    '0123456789abcdef0123', 1, 'h', 1764000100000, NULL, NULL, NULL);
	  INSERT INTO runs (command, stack, source, pid, host, started_ms)
	  VALUES ('apply', 'blue', 'x', 1, 'h', 1764000200000);
	  INSERT INTO runs (command, stack, source, pid, host, started_ms)
	  VALUES ('destroy', 'default', 'y', 2147483646, '$(uname -n)',
	    1764000300000);"
	run "$SANDFORM" state history
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 4 ]
	[[ "${lines[0]}" == "ID "*"STARTED"*"COMMAND"*"OUTCOME"* ]]
	[[ "${lines[1]}" == "4 "*"destroy"*"abandoned"*"y" ]]
	[[ "${lines[2]}" == "2 "*"apply"*"running"*"https://git.example/x.git@0123456789ab" ]]
	[[ "${lines[3]}" == "1 "*"2025-11-24T16:00:00.000Z"*"plan"*"ok"*"1.5s"*"examples/" ]]
	run "$SANDFORM" state history --limit 2 --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json '[(r["id"], r["command"], r["outcome"], r["status"]) for r in d["runs"]]')" = "[(4, 'destroy', None, 'abandoned'), (2, 'apply', None, 'running')]" ]
	run "$SANDFORM" state history --json
	[ "$(echo "$output" | json 'd["runs"][2]["counts"], d["runs"][2]["finished"]')" = "({'create': 2}, '2025-11-24T16:00:01.500Z')" ]
	run "$SANDFORM" state history --stack blue --json
	[ "$(echo "$output" | json '[r["id"] for r in d["runs"]]')" = "[3]" ]
}

@test "state rm and import exit 3 naming the holder while a run holds the lock" {
	"$SANDFORM" state import web sb-1
	sqlite3 "$DB" "
	  INSERT INTO locks (stack, id, holder, pid, host, acquired_ms,
	    renewed_ms, lease_until_ms)
	  VALUES ('default', 'lock-1', 'apply', $$, '$(uname -n)',
	    1764000000000, 1764000000000, 99999999999999);"
	run "$SANDFORM" state rm web --keep-labels
	[ "$status" -eq 3 ]
	[[ "$output" == *"stack 'default' is locked by pid $$ on '$(uname -n)'"*"lock-1"* ]]
	run "$SANDFORM" state import api sb-2
	[ "$status" -eq 3 ]
	# reading needs no lock; another stack is free
	run "$SANDFORM" state show web
	[ "$status" -eq 0 ]
	run "$SANDFORM" state import api sb-2 --stack blue
	[ "$status" -eq 0 ]
	# a lock whose process is gone is taken over (and the takeover logged)
	sqlite3 "$DB" "UPDATE locks SET pid = 2147483646 WHERE id = 'lock-1'"
	run "$SANDFORM" state rm web --keep-labels
	[ "$status" -eq 0 ]
	[[ "$output" == *"taking over the lock of stack 'default'"* ]]
	[ "$(sqlite3 "$DB" 'SELECT count(*) FROM locks')" = 0 ]
}

@test "state usage errors exit 1" {
	run "$SANDFORM" state
	[ "$status" -eq 1 ]
	[[ "$output" == "sandform state: missing subcommand"* ]]
	run "$SANDFORM" state frobnicate
	[ "$status" -eq 1 ]
	[[ "$output" == "sandform state: unknown subcommand 'frobnicate'"* ]]
	run "$SANDFORM" state show
	[ "$status" -eq 1 ]
	run "$SANDFORM" state list extra
	[ "$status" -eq 1 ]
	run "$SANDFORM" state --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"--stack NAME"* ]]
}

@test "a state file from another schema version is refused" {
	mkdir .sandform
	sqlite3 "$DB" "PRAGMA user_version = 99"
	chmod 600 "$DB"
	run "$SANDFORM" state import web sb-1
	[ "$status" -eq 1 ]
	[[ "$output" == *"schema version 99 is newer"* ]]
	[ "$(sqlite3 "$DB" 'PRAGMA user_version')" = 99 ]
}
