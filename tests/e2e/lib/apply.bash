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
#   n_requests                  number of requests in the emulator's log
#   tty_sandform ANSWER ARGS... run sandform on a pseudo-terminal, answer
#                               ANSWER to its confirmation question (after
#                               $TTY_DELAY seconds, default 0); print
#                               what it wrote, exit with its status
#   open_journal                journal entries of the state left open
#                               (sandform state journal --open)

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
	"${EMU_PYTHON:-python3}" - "$DAYTONA_API_URL" <<'PY'
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

# _count_calls STATUS KIND: the requests the emulator answered (since its
# log was last cleared) with STATUS (2xx, any, or a code) that are creates
# (KIND create) or creates and deletes of sandboxes (KIND mutation)
_count_calls() {
	emu_requests | python3 -c '
import json, sys
want, kind = sys.argv[1], sys.argv[2]
n = 0
for l in sys.stdin:
    if not l.strip():
        continue
    r = json.loads(l)
    create = r["method"] == "POST" and r["path"] == "/api/sandbox"
    delete = r["method"] == "DELETE" and r["path"].startswith("/api/sandbox/")
    if not (create or (kind == "mutation" and delete)):
        continue
    s = r["status"]
    if want == "any" or (want == "2xx" and 200 <= s < 300) or str(s) == want:
        n += 1
print(n)' "$1" "$2"
}

creates_ok() { _count_calls 2xx create; }
creates_409() { _count_calls 409 create; }
mutations() { _count_calls any mutation; }

n_requests() {
	emu_requests | grep -c '"method"'
}

tty_sandform() {
	python3 - "$SANDFORM" "$@" <<'PY'
import os, pty, select, sys, time
sf, answer, args = sys.argv[1], sys.argv[2], sys.argv[3:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(sf, [sf] + args)
out, sent, deadline = b"", False, time.time() + 60
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 0.1)
    if fd not in r:
        continue
    try:
        data = os.read(fd, 4096)
    except OSError:
        break
    if not data:
        break
    out += data
    if not sent and b"Only 'yes' will be accepted" in out:
        time.sleep(float(os.environ.get("TTY_DELAY", "0")))
        os.write(fd, (answer + "\n").encode())
        sent = True
_, st = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace"))
sys.exit(os.waitstatus_to_exitcode(st))
PY
}

open_journal() {
	"$SANDFORM" state journal --open --json | emu_json 'len(d["entries"])'
}
