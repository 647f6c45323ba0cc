#!/usr/bin/env bats
# Reliability: kill -9 at random moments. Each trial declares a random
# stack of 30 sandboxes out of 40 names (so creates, deletes, replaces and
# state changes are all in play), starts apply, kills it with SIGKILL after a
# random delay, then runs apply again: it must converge, and the emulator
# must hold exactly the declared sandboxes (no duplicate, no orphan) and the
# state a record for each (no lost record). Seeded: SF_CRASH_SEED.

bats_require_minimum_version 1.5.0

load lib/emulator
load lib/apply

setup() { apply_setup --transition-ms 40 --latency-ms 3; }
teardown() { emu_stop; }

# gen TRIAL: write m/stack.yaml for a trial and print the kill delay (ms)
gen() {
	python3 - "$1" "${SF_CRASH_SEED:-20261126}" <<'PY'
import random, sys
trial, seed = int(sys.argv[1]), int(sys.argv[2])
r = random.Random(seed * 1000 + trial)
names = sorted(r.sample(["c%03d" % i for i in range(1, 41)], 30))
with open("m/stack.yaml", "w") as f:
    for n in names:
        snap = "daytona-medium" if r.random() < 0.15 else "daytona-small"
        state = "stopped" if r.random() < 0.2 else "started"
        f.write("---\napiVersion: sandform.dev/v1\nkind: Sandbox\n"
                "metadata:\n  name: %s\nspec:\n  snapshot: %s\n"
                "  autoStopInterval: 0\n  state: %s\n" % (n, snap, state))
print(r.randint(0, 700))
PY
}

recorded_names() {
	"$SANDFORM" state list --json | json '"\n".join(sorted(r["name"] for r in d["records"]))'
}

@test "20 SIGKILLs at random moments: the next apply converges exactly" {
	local trial delay pid rc
	for ((trial = 1; trial <= 20; trial++)); do
		delay=$(gen "$trial")
		"$SANDFORM" apply m --auto-approve --allow-mass-delete \
			>"run$trial.out" 2>&1 &
		pid=$!
		sleep "$(printf '0.%03d' "$delay")"
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		run --separate-stderr "$SANDFORM" apply m --auto-approve --allow-mass-delete
		if [ "$status" -ne 0 ]; then
			echo "trial $trial (kill after ${delay}ms): apply exited $status" >&2
			echo "$output" | tail -20 >&2
			echo "$stderr" >&2
			return 1
		fi
		if [ "$(live_names)" != "$(declared_names)" ]; then
			echo "trial $trial: live and declared differ:" >&2
			diff <(live_names) <(declared_names) >&2 || true
			return 1
		fi
		if [ "$(recorded_names)" != "$(declared_names)" ]; then
			echo "trial $trial: records and declared differ:" >&2
			diff <(recorded_names) <(declared_names) >&2 || true
			return 1
		fi
	done
	run --separate-stderr "$SANDFORM" plan m --detailed-exitcode
	[ "$status" -eq 0 ]
}
