#!/usr/bin/env bats
# sandform state list/show/rm/import/history/journal/info on a fresh
# state file (no emulator needed). Runs, journal entries and locks that
# other commands write are put in with tests/store-tool (through the store
# API) and read back with sandform state ... --json; nothing here opens the
# database itself.

setup() {
	cd "$BATS_TEST_TMPDIR"
	unset SANDFORM_STATE
	DB="$BATS_TEST_TMPDIR/.sandform/state.db"
	TOOL="$SF_BUILDDIR/tests/store-tool"
}

teardown() {
	[ -z "${holder:-}" ] || kill "$holder" 2>/dev/null || true
	[ -z "${outside:-}" ] || rm -rf "$outside"
}

# hold_lock: a process takes the default stack's lock and waits, as a
# running apply does: $holder is its pid, $lock_id the lock's id.
hold_lock() {
	"$TOOL" "$DB" hold-lock info=apply >lock.id 3>&- &
	holder=$!
	for ((i = 0; i < 100; i++)); do [ -s lock.id ] && break; sleep 0.05; done
	lock_id=$(cat lock.id)
	[ -n "$lock_id" ]
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
	[ "$("$SANDFORM" state info --json | json 'd["lock"]')" = None ]
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
	"$TOOL" "$DB" run command=plan source=examples/ pid=1 host=h \
		age_ms=1500 outcome=ok 'counts={"create":2}'
	"$TOOL" "$DB" run command=apply source=https://git.example/x.git \
		git_commit=0123456789abcdef0123 pid=1 host=h started_ms=1764000100000
	"$TOOL" "$DB" run stack=blue command=apply source=x pid=1 host=h \
		started_ms=1764000200000
	"$TOOL" "$DB" run command=destroy source=y pid=2147483646 \
		host="$(uname -n)" started_ms=1764000300000
	run "$SANDFORM" state history
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 4 ]
	[[ "${lines[0]}" == "ID "*"STARTED"*"COMMAND"*"OUTCOME"* ]]
	[[ "${lines[1]}" == "4 "*"2025-11-24T16:05:00.000Z"*"destroy"*"abandoned"*"y" ]]
	[[ "${lines[2]}" == "2 "*"2025-11-24T16:01:40.000Z"*"apply"*"running"*"https://git.example/x.git@0123456789ab" ]]
	[[ "${lines[3]}" == "1 "*"plan"*"ok"*"1."[5-9]"s"*"examples/" ]]
	run "$SANDFORM" state history --limit 2 --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json '[(r["id"], r["command"], r["outcome"], r["status"]) for r in d["runs"]]')" = "[(4, 'destroy', None, 'abandoned'), (2, 'apply', None, 'running')]" ]
	run "$SANDFORM" state history --json
	[ "$(echo "$output" | json 'd["runs"][2]["counts"], d["runs"][2]["finished"] > d["runs"][2]["started"]')" = "({'create': 2}, True)" ]
	run "$SANDFORM" state history --stack blue --json
	[ "$(echo "$output" | json '[r["id"] for r in d["runs"]]')" = "[3]" ]
}

@test "state rm and import exit 3 naming the holder while a run holds the lock" {
	"$SANDFORM" state import web sb-1
	hold_lock
	run "$SANDFORM" state rm web --keep-labels
	[ "$status" -eq 3 ]
	[[ "$output" == *"stack 'default' is locked by pid $holder on '$(uname -n)'"*"$lock_id"* ]]
	run "$SANDFORM" state import api sb-2
	[ "$status" -eq 3 ]
	# reading needs no lock; another stack is free
	run "$SANDFORM" state show web
	[ "$status" -eq 0 ]
	run "$SANDFORM" state import api sb-2 --stack blue
	[ "$status" -eq 0 ]
	# a lock whose process is gone is taken over (and the takeover logged)
	kill "$holder"
	wait "$holder" || true
	run "$SANDFORM" state rm web --keep-labels
	[ "$status" -eq 0 ]
	[[ "$output" == *"taking over the lock of stack 'default'"* ]]
	[ "$("$SANDFORM" state info --json | json 'd["lock"]')" = None ]
}

@test "state journal lists the stack's entries; --open those left open" {
	run "$SANDFORM" state journal --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json 'd["format_version"], d["stack"], d["entries"]')" = "('1', 'default', [])" ]
	[ ! -e .sandform ]
	"$SANDFORM" state import web sb-1
	"$TOOL" "$DB" intent name=web action=stop sandbox_id=sb-1 'detail={"env":{"K":"plain-value"}}'
	"$TOOL" "$DB" intent name=api action=create
	"$TOOL" "$DB" intent name=db action=delete sandbox_id=sb-3
	"$TOOL" "$DB" intent name=x action=create stack=blue
	"$TOOL" "$DB" finish id=1 result=sb-1
	"$TOOL" "$DB" finish id=3 message="sandbox is busy"
	run "$SANDFORM" state journal --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json '[(e["id"], e["name"], e["action"], e["state"]) for e in d["entries"]]')" = "[(1, 'web', 'stop', 'done'), (2, 'api', 'create', 'intent'), (3, 'db', 'delete', 'failed')]" ]
	[ "$(echo "$output" | json 'd["entries"][2]["message"], d["entries"][0]["result_sandbox_id"], d["entries"][1]["run_id"]')" = "('sandbox is busy', 'sb-1', None)" ]
	# the detail's env values were stored as keyed hashes
	[[ "$(echo "$output" | json 'd["entries"][0]["detail"]["env"]["K"]')" == hmac-sha256:* ]]
	[[ "$output" != *plain-value* ]]
	run "$SANDFORM" state journal --open --json
	[ "$(echo "$output" | json '[e["name"] for e in d["entries"]]')" = "['api']" ]
	run "$SANDFORM" state journal --limit 1 --json
	[ "$(echo "$output" | json '[e["id"] for e in d["entries"]]')" = "[3]" ]
	run "$SANDFORM" state journal --stack blue --open --json
	[ "$(echo "$output" | json '[e["name"] for e in d["entries"]]')" = "['x']" ]
	run "$SANDFORM" state journal
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 4 ]
	[[ "${lines[0]}" == "ID "*"CREATED"*"ACTION"*"STATE"*"NAME"*"SANDBOX" ]]
	[[ "${lines[1]}" == "1 "*"stop"*"done"*"web"*"sb-1" ]]
	[[ "${lines[3]}" == "3 "*"delete"*"failed"*"db"*"sb-3  sandbox is busy" ]]
	run "$SANDFORM" state journal --open --stack nothing
	[ "$status" -eq 0 ]
	[[ "$output" == *"stack 'nothing' has no open journal entries"* ]]
}

@test "state info: backend, path, schema, settings, lock and counts" {
	run "$SANDFORM" state info --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json 'd["format_version"], d["exists"], d["backend"], d["path"], d["lock"], d["counts"]["records"]')" = "('1', False, None, './.sandform/state.db', None, 0)" ]
	[ ! -e .sandform ]
	"$SANDFORM" state import web sb-1
	"$SANDFORM" state import api sb-2
	"$TOOL" "$DB" run command=apply pid=1 host=h outcome=ok
	"$TOOL" "$DB" intent name=web action=stop sandbox_id=sb-1
	run "$SANDFORM" state info --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json 'd["exists"], d["backend"], d["schema_version"], d["stack"], d["settings"], d["lock"]')" = "(True, 'sqlite', 2, 'default', {}, None)" ]
	[ "$(echo "$output" | json 'd["counts"]')" = "{'records': 2, 'runs': 1, 'journal': 1, 'journal_open': 1, 'drift': 0}" ]
	run "$SANDFORM" state info --stack blue --json
	[ "$(echo "$output" | json 'd["stack"], d["counts"]["records"]')" = "('blue', 0)" ]
	# the lock holder, with the id force-unlock takes
	hold_lock
	run "$SANDFORM" state info --json
	[ "$(echo "$output" | json 'd["lock"]["id"], d["lock"]["holder"], d["lock"]["pid"], d["lock"]["stack"]')" = "('$lock_id', 'apply', $holder, 'default')" ]
	run "$SANDFORM" state info
	[ "$status" -eq 0 ]
	[[ "$output" == *"backend:         sqlite (schema 2)"* ]]
	[[ "$output" == *"lock:            $lock_id, held by apply (pid $holder on '$(uname -n)')"* ]]
	[[ "$output" == *"records:         2"*"journal:         1 (1 open)"* ]]
	run "$SANDFORM" force-unlock "$lock_id"
	[ "$status" -eq 0 ]
	run "$SANDFORM" state info --json
	[ "$(echo "$output" | json 'd["lock"]')" = None ]
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
	"$SANDFORM" state import web sb-1
	# SQLite keeps the schema version (user_version) in the 4 bytes at
	# offset 60 of the file, big-endian: make it 99
	printf '\0\0\0\143' | dd of="$DB" bs=1 seek=60 conv=notrunc status=none
	cp "$DB" before.db
	run "$SANDFORM" state import api sb-2
	[ "$status" -eq 1 ]
	[[ "$output" == *"schema version 99 is newer"* ]]
	cmp "$DB" before.db # refused, not changed
	run "$SANDFORM" state info --json
	[ "$status" -eq 1 ]
}

@test "a state file that is a symbolic link is refused; its target is untouched" {
	mkdir -m 700 .sandform
	printf 'another file\n' >target
	chmod 644 target
	ln -s ../target "$DB"
	run "$SANDFORM" state import web sb-1
	[ "$status" -eq 1 ]
	[[ "$output" == *".sandform/state.db: the state file is a symbolic link (to '../target'); sandform does not follow links for its state"* ]]
	run "$SANDFORM" state list
	[ "$status" -eq 1 ]
	[[ "$output" == *"symbolic link"* ]]
	[ "$(stat -c %a target)" = 644 ]
	[ "$(cat target)" = "another file" ]
	# a side file SQLite would write through is refused the same way
	rm "$DB"
	"$SANDFORM" state import web sb-1
	ln -s ../target "$DB-wal"
	run "$SANDFORM" state list
	[ "$status" -eq 1 ]
	[[ "$output" == *"state.db-wal: the state's side file is a symbolic link (to '../target')"* ]]
	[ "$(cat target)" = "another file" ]
	rm "$DB-wal"
	run "$SANDFORM" state list --json
	[ "$status" -eq 0 ]
}

@test "the state's directory must not be writable by others unless sticky, nor be another user's" {
	mkdir shared
	chmod 777 shared
	run "$SANDFORM" state import web sb-1 --state shared/s.db
	[ "$status" -eq 1 ]
	[[ "$output" == *"shared: the directory of the state file is writable by group or others (mode 0777) and not sticky"*"'chmod go-w shared'"* ]]
	[ ! -e shared/s.db ]
	chmod 1777 shared # sticky, as /tmp
	run "$SANDFORM" state import web sb-1 --state shared/s.db
	[ "$status" -eq 0 ]
	# the default directory is made 0700 whatever the umask
	(umask 0 && "$SANDFORM" state import web sb-1)
	[ "$(stat -c %a .sandform)" = 700 ]
	chmod 770 .sandform
	run "$SANDFORM" state list
	[ "$status" -eq 1 ]
	[[ "$output" == *"writable by group or others (mode 0770)"* ]]
	chmod 700 .sandform
	[ "$(id -u)" = 0 ] || skip "only root can give a directory away"
	mkdir theirs
	chown 65534 theirs
	run "$SANDFORM" state import web sb-1 --state theirs/s.db
	[ "$status" -eq 1 ]
	[[ "$output" == *"theirs: the directory of the state file is owned by uid 65534, not by you (uid 0) or root"* ]]
	[ ! -e theirs/s.db ]
}

@test "a state directory sandform cannot write in: the message names it and the cause" {
	# outside the test's directory, which only its owner can enter
	outside=$(mktemp -d /tmp/sf-t2500.XXXXXX)
	chmod 755 "$outside"
	mkdir "$outside/ro"
	"$SANDFORM" state import web sb-1 --state "$outside/ro/s.db"
	as=()
	if [ "$(id -u)" = 0 ]; then
		# permissions do not stop root: run as nobody
		command -v setpriv >/dev/null || skip "needs setpriv to run as another user"
		chown -R 65534:65534 "$outside/ro"
		as=(setpriv --reuid=65534 --regid=65534 --clear-groups)
	fi
	chmod 500 "$outside/ro"
	run "${as[@]}" "$SANDFORM" state list --state "$outside/ro/s.db"
	[ "$status" -eq 1 ]
	[ "$output" = "sandform state: $outside/ro: cannot write in the directory of the state file (Permission denied): SQLite keeps its -wal and -shm files beside the state" ]
	chmod 700 "$outside/ro"
}
