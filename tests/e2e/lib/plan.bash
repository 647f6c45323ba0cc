# Helpers for the plan tests (t20xx): manifests and JSON checks.
#
#   sbx NAME [EXTRA_SPEC_YAML]   write NAME.yaml: a started snapshot sandbox
#                                with a label; EXTRA is appended under spec:
#   json EXPR                    evaluate a Python expression over the JSON
#                                on stdin (bound to d)
#   only_gets                    fail unless every request the emulator saw
#                                was a GET

sbx() {
	local name=$1 extra=${2-}
	{
		printf 'apiVersion: sandform.dev/v1\nkind: Sandbox\n'
		printf 'metadata:\n  name: %s\n  labels:\n    team: agents\n' "$name"
		printf 'spec:\n  snapshot: daytona-small\n  autoStopInterval: 0\n'
		printf '  state: started\n'
		if [ -n "$extra" ]; then printf '%s\n' "$extra"; fi
	} >"$BATS_TEST_TMPDIR/m/$name.yaml"
}

json() {
	python3 -c 'import json, sys; d = json.load(sys.stdin); print(('"$1"'))'
}

only_gets() {
	emu_requests >"$BATS_TEST_TMPDIR/requests.log"
	python3 - "$BATS_TEST_TMPDIR/requests.log" <<'EOF'
import json, sys
bad = [l for l in open(sys.argv[1]) if l.strip() and json.loads(l)["method"] != "GET"]
if bad:
    print("non-GET requests:", *bad, sep="\n", file=sys.stderr)
    sys.exit(1)
EOF
}

plan_setup() {
	cd "$BATS_TEST_TMPDIR"
	mkdir -p m
	unset SANDFORM_STATE NO_COLOR
	emu_start --transition-ms 20 "$@"
}
