#!/usr/bin/env bats
# A saved plan is sealed with the state's key and every sandbox it touches
# must be the stack's (issue 9, item 1): an edited plan, a plan from
# another state and an unsealed plan are refused as a whole; a plan re-sealed
# by someone who can read the state still cannot delete a sandbox the stack
# does not own.

bats_require_minimum_version 1.5.0

load lib/emulator
load lib/apply

setup() {
	apply_setup --transition-ms 30
	export SANDFORM_STACK=sealed
	mk web
	mk api
	"$SANDFORM" apply m --auto-approve >/dev/null
	rm m/api.yaml
	victim=$(emu_api POST /sandbox '{"name":"victim","labels":{"team":"other"}}' | json 'd["id"]')
	api_id=$(emu_api GET /sandbox/api | json 'd["id"]')
	"$SANDFORM" plan m --out p.json >/dev/null
}
teardown() { emu_stop; }

# point_at ID NAME [SEAL_KEY_STATE]: the delete of api now deletes ID/NAME;
# with a state file, the plan is sealed again with that state's key.
point_at() {
	python3 - "$1" "$2" "${3-}" <<'PY'
import hashlib, hmac, json, sqlite3, sys
sid, name, state = sys.argv[1:4]
d = json.load(open("p.json"))
for a in d["actions"]:
    if a["action"] == "delete":
        a["sandbox_id"], a["name"], a["fingerprint"] = sid, name, ""
seal = d.pop("integrity")
if state:
    key = sqlite3.connect(state).execute(
        "SELECT value FROM meta WHERE key = 'hmac_key'").fetchone()[0]
    body = json.dumps(d, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(body.encode()).hexdigest()
    seal["mac"] = hmac.new(key, digest.encode(), hashlib.sha256).hexdigest()
d["integrity"] = seal
open("p.json", "w").write(json.dumps(d, separators=(",", ":")))
PY
}

@test "the plan as written applies" {
	run --separate-stderr "$SANDFORM" apply p.json
	[ "$status" -eq 0 ]
	[ "$(live_names)" = "$(printf 'victim\nweb')" ]
}

@test "an edited plan is refused as a whole" {
	point_at "$victim" victim
	run --separate-stderr "$SANDFORM" apply --auto-approve p.json
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"the saved plan failed its integrity check"* ]]
	[ "$(live_names)" = "$(printf 'api\nvictim\nweb')" ]
	# even an edit that changes nothing but a byte of the stack's name
	"$SANDFORM" plan m --out p.json >/dev/null
	sed -i 's/"created_at":"2/"created_at":"1/' p.json
	run --separate-stderr "$SANDFORM" apply p.json
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"integrity check"* ]]
}

@test "a plan made with another state is refused" {
	"$SANDFORM" plan m --state other.db --out q.json >/dev/null
	run --separate-stderr "$SANDFORM" apply q.json
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"integrity check"*"another state"* ]]
	[ "$(live_names)" = "$(printf 'api\nvictim\nweb')" ]
}

@test "a plan without its seal is refused" {
	python3 -c 'import json; d = json.load(open("p.json")); d.pop("integrity"); open("p.json", "w").write(json.dumps(d))'
	run --separate-stderr "$SANDFORM" apply p.json
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"no integrity seal"* ]]
	[ "$(live_names)" = "$(printf 'api\nvictim\nweb')" ]
}

@test "re-sealed with the state's key, it still cannot touch a sandbox the stack does not own" {
	point_at "$victim" victim .sandform/state.db
	run --separate-stderr "$SANDFORM" apply p.json
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"touches 'victim' ($victim), which stack 'sealed' does not own"* ]]
	[ "$(live_names)" = "$(printf 'api\nvictim\nweb')" ]
	# nor the stack's own sandbox under another name
	"$SANDFORM" plan m --out p.json >/dev/null
	point_at "$api_id" web .sandform/state.db
	run --separate-stderr "$SANDFORM" apply p.json
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"touches 'web' ($api_id)"* ]]
	[ "$(live_names)" = "$(printf 'api\nvictim\nweb')" ]
}
