#!/usr/bin/env bats
# sandform state rm against daytona-emulator: it removes the sandform.dev/
# labels from the live sandbox (one PUT, its own labels kept) before it
# forgets the record, so the stack stays plannable; when Daytona cannot be
# reached nothing is forgotten; --keep-labels forgets offline.

bats_require_minimum_version 1.5.0

load lib/emulator
load lib/apply

setup() {
	apply_setup --transition-ms 30
	mk web
	mk api
	"$SANDFORM" apply m --auto-approve >/dev/null
	emu_hook DELETE /requests >/dev/null
}
teardown() { emu_stop; }

# labels NAME: the live sandbox's labels as sorted KEY=VALUE words
labels() {
	emu_api GET "/sandbox/$1" | emu_json '" ".join(sorted(k + "=" + v for k, v in d["labels"].items()))'
}

# calls: "METHOD PATH" of every request since setup
calls() {
	emu_requests | python3 -c '
import json, sys
for l in sys.stdin:
    if l.strip():
        r = json.loads(l)
        print(r["method"], r["path"].split("?")[0])'
}

@test "state rm removes sandform's labels, keeps the sandbox's own, and the stack stays plannable" {
	[[ "$(labels web)" == *"sandform.dev/stack=default"* ]]
	id=$("$SANDFORM" state show web | json 'd["sandbox_id"]')
	emu_hook DELETE /requests >/dev/null
	run "$SANDFORM" state rm web
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "forgot 'web' (sandbox $id) in stack 'default'; removed its sandform.dev/* labels; the sandbox itself is untouched" ]
	# one GET and one PUT of the remaining labels, nothing else
	[ "$(calls)" = "$(printf 'GET /api/sandbox/%s\nPUT /api/sandbox/%s/labels' "$id" "$id")" ]
	[ "$(labels web)" = "team=t" ]
	[ "$(emu_api GET /sandbox/web | emu_json 'd["state"]')" = started ]
	run "$SANDFORM" state show web
	[ "$status" -eq 1 ]
	# without it in the manifests the stack plans cleanly, also from a
	# state rebuilt from the live labels (it is not taken back)
	rm m/web.yaml
	run "$SANDFORM" plan m --detailed-exitcode
	echo "$output"
	[ "$status" -eq 0 ]
	rm -rf .sandform
	run "$SANDFORM" plan m --detailed-exitcode
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(live_names)" = "$(printf 'api\nweb')" ]
}

@test "state rm forgets nothing when Daytona cannot be reached or refuses" {
	DAYTONA_API_URL=http://127.0.0.1:1/api run "$SANDFORM" state rm web
	[ "$status" -eq 1 ]
	[[ "$output" == *"rm web: cannot remove sandform's labels from the sandbox: daytona: GET "*"cannot connect"*"nothing was forgotten"* ]]
	"$SANDFORM" state show web >/dev/null
	DAYTONA_API_KEY=wrong-key run "$SANDFORM" state rm web
	[ "$status" -eq 1 ]
	[[ "$output" == *"401"*"nothing was forgotten"* ]]
	"$SANDFORM" state show web >/dev/null
	[[ "$(labels web)" == *"sandform.dev/stack=default"* ]]
	# and the lock was released every time
	run "$SANDFORM" state rm web
	[ "$status" -eq 0 ]
}

@test "state rm --keep-labels forgets offline; the labels still claim the sandbox" {
	id=$("$SANDFORM" state show web | json 'd["sandbox_id"]')
	DAYTONA_API_KEY= DAYTONA_API_URL=http://127.0.0.1:1/api run "$SANDFORM" state rm --keep-labels web
	[ "$status" -eq 0 ]
	[ "$output" = "forgot 'web' (sandbox $id) in stack 'default'; its sandform.dev/* labels were kept: plans fail while 'web' is declared, and a state rebuilt from the live labels would take it back (and delete it once it is not declared)" ]
	[ -z "$(calls)" ]
	[[ "$(labels web)" == *"sandform.dev/stack=default"* ]]
	# what the message says: declared, the plan fails ...
	run "$SANDFORM" plan m
	[ "$status" -eq 1 ]
	[[ "$output" == *"carries the label sandform.dev/stack=default but is not in the state"* ]]
	# ... and a rebuilt state takes it back and would delete it
	rm m/web.yaml .sandform -rf
	run "$SANDFORM" plan m
	[ "$status" -eq 0 ]
	[[ "$output" == *"web (delete)"* ]]
}

@test "state rm of a sandbox that is gone, or never labelled, just forgets it" {
	# wait until the id itself is gone: the name is freed at once, the
	# sandbox only after its destroying transition
	gone_id=$(emu_api GET /sandbox/api | emu_json 'd["id"]')
	emu_api DELETE /sandbox/api >/dev/null
	for ((i = 0; i < 100; i++)); do
		emu_api GET "/sandbox/$gone_id" >/dev/null
		[ "$EMU_STATUS" = 404 ] && break
		sleep 0.05
	done
	[ "$EMU_STATUS" = 404 ]
	run "$SANDFORM" state rm api
	[ "$status" -eq 0 ]
	[[ "$output" == *"forgot 'api'"*"the sandbox no longer exists" ]]
	# an imported sandbox before its first apply carries no sandform labels
	id=$(emu_api POST /sandbox '{"name":"loose","labels":{"x":"y"}}' | emu_json 'd["id"]')
	"$SANDFORM" state import loose "$id"
	emu_hook DELETE /requests >/dev/null
	run "$SANDFORM" state rm loose
	[ "$status" -eq 0 ]
	[[ "$output" == *"forgot 'loose' (sandbox $id)"*"carries no sandform.dev/* labels"* ]]
	[ "$(labels loose)" = "x=y" ]
	! calls | grep -q '^PUT'
}
