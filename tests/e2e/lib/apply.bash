# Helpers for the apply tests (t3xxx); json and sandbox_yaml come from
# lib/sandbox.bash.
#
#   apply_setup [EMU_ARGS...]   cd to the test dir, start an emulator,
#                               empty m/ for manifests
#   mk NAME [EXTRA_SPEC_YAML]   write m/NAME.yaml: sandbox_yaml with team t
#   mk_many PREFIX N            write m/many.yaml with PREFIX001..PREFIXN
#   live_names                  the org's sandbox names, sorted, one a line
#   declared_names              the names in m/, sorted, one a line
#   creates_ok                  number of POST /sandbox answered 2xx
#   creates_409                 number of POST /sandbox answered 409

# shellcheck source=tests/e2e/lib/sandbox.bash
source "${BASH_SOURCE[0]%/*}/sandbox.bash"

apply_setup() {
	cd "$BATS_TEST_TMPDIR"
	rm -rf m
	mkdir -p m
	unset SANDFORM_STATE NO_COLOR DAYTONA_TARGET DAYTONA_ORGANIZATION_ID
	emu_start "$@"
}

mk() {
	sandbox_yaml "$1" t "${2-}" >"m/$1.yaml"
}

mk_many() {
	local prefix=$1 n=$2 i
	for ((i = 1; i <= n; i++)); do
		printf -- '---\napiVersion: sandform.dev/v1\nkind: Sandbox\n'
		printf 'metadata:\n  name: %s%03d\n' "$prefix" "$i"
		printf 'spec:\n  snapshot: daytona-small\n  autoStopInterval: 0\n'
	done >m/many.yaml
}

live_names() {
	python3 - "$DAYTONA_API_URL" <<'PY'
import json, sys, time, urllib.request
def get(url):
    # the emulator may be injecting faults: retry like a client would
    for attempt in range(50):
        try:
            req = urllib.request.Request(url, headers={"Authorization": "Bearer test-key"})
            return json.load(urllib.request.urlopen(req, timeout=30))
        except Exception:
            time.sleep(0.05)
    raise SystemExit("live_names: the emulator keeps failing")
names, cursor = [], None
while True:
    d = get(sys.argv[1] + "/sandbox?limit=200" + ("&cursor=" + cursor if cursor else ""))
    names += [i["name"] for i in d["items"]]
    cursor = d.get("nextCursor")
    if not cursor:
        break
print("\n".join(sorted(names)))
PY
}

declared_names() {
	cat m/*.yaml | sed -n 's/^  name: //p' | sort
}

_count_creates() {
	emu_requests | python3 -c '
import json, sys
want = sys.argv[1]
n = 0
for l in sys.stdin:
    if not l.strip():
        continue
    r = json.loads(l)
    if r["method"] == "POST" and r["path"] == "/api/sandbox":
        s = r["status"]
        if (want == "2xx" and 200 <= s < 300) or str(s) == want:
            n += 1
print(n)' "$1"
}

creates_ok() { _count_creates 2xx; }
creates_409() { _count_creates 409; }
