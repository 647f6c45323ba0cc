# tests/bench/lib.sh: what the benchmark scripts share. Source it:
#	. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
#
# bench_begin NAME
#	make a temporary directory ${TMPDIR:-/tmp}/NAME.XXXXXX in bench_tmp
#	and arrange that on exit (also after INT, TERM, HUP) the emulator is
#	stopped and the directory removed.
# bench_emu_start EMULATOR DIR KEY [ARG...]
#	start daytona-emulator on a free loopback port with API key KEY and
#	the extra ARGs; its port file, stdout and stderr go to DIR/port,
#	DIR/emu.out and DIR/emu.err. Waits up to 10 s for the port, then sets
#	bench_emu_pid and bench_url (http://127.0.0.1:PORT); exits 1 with the
#	emulator's stderr if it did not start.
# bench_emu_stop
#	stop that emulator and wait for it (nothing when none is running);
#	call it from the script's EXIT trap.
# bench_median
#	the median of the numbers on stdin, one a line (the lower middle one
#	of an even count).
# bench_have_time
#	true when GNU time (/usr/bin/time, Debian package 'time') can report
#	the peak RSS (%M).

bench_emu_pid=
bench_url=
bench_tmp=

bench_begin() {
	bench_tmp=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
	trap bench_end EXIT
	trap 'exit 1' INT TERM HUP
}

bench_end() {
	bench_emu_stop
	if [ -n "$bench_tmp" ]; then rm -rf "$bench_tmp"; fi
}

bench_emu_start() {
	_be_emu=$1
	_be_dir=$2
	_be_key=$3
	shift 3
	rm -f "$_be_dir/port"
	"$_be_emu" --listen 127.0.0.1:0 --api-key "$_be_key" \
		--port-file "$_be_dir/port" "$@" \
		>"$_be_dir/emu.out" 2>"$_be_dir/emu.err" &
	bench_emu_pid=$!
	_be_i=0
	while [ ! -s "$_be_dir/port" ] && [ $_be_i -lt 200 ]; do
		sleep 0.05
		_be_i=$((_be_i + 1))
	done
	if [ ! -s "$_be_dir/port" ]; then
		echo "bench: emulator did not start" >&2
		cat "$_be_dir/emu.err" >&2
		exit 1
	fi
	# shellcheck disable=SC2034 # used by the scripts that source this
	bench_url=http://127.0.0.1:$(tr -dc '0-9' <"$_be_dir/port")
}

bench_emu_stop() {
	if [ -n "$bench_emu_pid" ]; then
		kill "$bench_emu_pid" 2>/dev/null || true
		wait "$bench_emu_pid" 2>/dev/null || true
	fi
	bench_emu_pid=
}

bench_median() {
	sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

bench_have_time() {
	[ -x /usr/bin/time ] && /usr/bin/time -f %M true >/dev/null 2>&1
}
