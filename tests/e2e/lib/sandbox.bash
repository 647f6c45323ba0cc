# Manifest and JSON helpers the plan (t2xxx), state and apply (t3xxx)
# tests share; lib/plan.bash and lib/apply.bash load it.
#
#   sandbox_yaml NAME TEAM [EXTRA_SPEC_YAML]
#                        print a Sandbox manifest: a started snapshot
#                        sandbox labelled team: TEAM, autoStopInterval 0;
#                        EXTRA is appended under spec:
#   json EXPR            evaluate a Python expression over the JSON on
#                        stdin (bound to d) and print it

sandbox_yaml() {
	local name=$1 team=$2 extra=${3-}
	printf 'apiVersion: sandform.dev/v1\nkind: Sandbox\n'
	printf 'metadata:\n  name: %s\n  labels:\n    team: %s\n' "$name" "$team"
	printf 'spec:\n  snapshot: daytona-small\n  autoStopInterval: 0\n'
	printf '  state: started\n'
	if [ -n "$extra" ]; then printf '%s\n' "$extra"; fi
}

json() {
	python3 -c 'import json, sys; d = json.load(sys.stdin); print(('"$1"'))'
}
