# Helpers for the plan tests (t20xx): manifests and JSON checks (json
# and sandbox_yaml come from lib/sandbox.bash).
#
#   sbx NAME [EXTRA_SPEC_YAML]   write m/NAME.yaml: sandbox_yaml with team
#                                agents
#   only_gets                    fail unless every request the emulator saw
#                                was a GET
#   json_lines EXPR              evaluate a Python expression over the JSON
#                                lines on stdin (a list bound to L)

# shellcheck source=tests/e2e/lib/sandbox.bash
source "${BASH_SOURCE[0]%/*}/sandbox.bash"

sbx() {
	sandbox_yaml "$1" agents "${2-}" >"$BATS_TEST_TMPDIR/m/$1.yaml"
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

json_lines() {
	python3 -c 'import json, sys; L = [json.loads(l) for l in sys.stdin if l.strip()]; print(('"$1"'))'
}
