#!/bin/sh
# bench-git.sh [SANDFORM]: the git source on a big repository. Makes a
# repository with 10,000 sandbox manifests in 100 files and 1,000 commits
# (gen-manifests.sh, then 999 commits each changing one file), serves it
# with git's smart HTTP (git http-backend under lighttpd, plain HTTP, on a
# free loopback port) and reports, as medians of 3 runs:
#   - the first fetch (an empty cache) and loading the 10,000 manifests
#   - a no-op refresh (the ref did not move): the HTTP requests that
#     reached git and the time, with --path naming one small file so the
#     load does not hide the refresh
#   - loading the manifests from tree objects (--offline) against loading
#     a checked-out copy of the same commit (target: at most 1.2x)
#   - the peak RSS of each (GNU time, Debian package 'time')
# Not a timed test: run it by hand on a build without sanitizers, e.g.
#	mkdir build-rel && cd build-rel && ../configure && make -j2
#	../tests/bench/bench-git.sh ./sandform
# Needs git, lighttpd and python3; only loopback is used.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/bench/lib.sh
. "$here/lib.sh"
sandform=${1:-${SANDFORM:-./sandform}}
case $sandform in /*) ;; *) sandform=$(pwd)/$sandform ;; esac
runs=3
lighttpd=$(command -v lighttpd || echo /usr/sbin/lighttpd)
[ -x "$lighttpd" ] || {
	echo "bench-git: lighttpd is not installed (setup.sh)" >&2
	exit 1
}
backend="$(git --exec-path)/git-http-backend"
bench_begin sf-bench-git
tmp=$bench_tmp
httpd_pid=
stop_httpd() {
	if [ -n "$httpd_pid" ]; then
		kill "$httpd_pid" 2>/dev/null || true
		wait "$httpd_pid" 2>/dev/null || true
	fi
}
trap 'stop_httpd; bench_end' EXIT

export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com
export GIT_CONFIG_NOSYSTEM=1 HOME=$tmp

# ---- the repository -------------------------------------------------------
work=$tmp/work
git init -q -b main "$work"
"$here/gen-manifests.sh" "$work/sandboxes" 10000 100
git -C "$work" add -A
git -C "$work" commit -q -m "10000 sandboxes"
i=1
while [ $i -lt 1000 ]; do
	f=$(printf '%s/sandboxes/team-%02d/sandboxes-%03d.yaml' "$work" \
		$((i % 100 % 10)) $((i % 100)))
	printf '# revision %d\n' $i >>"$f"
	git -C "$work" commit -q -a -m "change $i"
	i=$((i + 1))
done
git clone -q --bare "$work" "$tmp/srv/infra.git"
echo "repository: $(git -C "$work" rev-list --count HEAD) commits," \
	"$(find "$work/sandboxes" -name '*.yaml' | wc -l) files," \
	"$(du -sh "$tmp/srv/infra.git" | cut -f1) packed"

# ---- the server -----------------------------------------------------------
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
printf '#!/bin/sh\nprintf "%%s %%s?%%s\\n" "$REQUEST_METHOD" "$PATH_INFO" "$QUERY_STRING" >>"%s"\nexec "%s"\n' \
	"$tmp/requests.log" "$backend" >"$tmp/backend.sh"
chmod +x "$tmp/backend.sh"
mkdir -p "$tmp/www"
cat >"$tmp/lighttpd.conf" <<EOF
server.modules = ("mod_alias", "mod_setenv", "mod_cgi")
server.document-root = "$tmp/www"
server.bind = "127.0.0.1"
server.port = $port
server.errorlog = "$tmp/error.log"
alias.url = ("/git" => "$tmp/backend.sh")
\$HTTP["url"] =~ "^/git" {
	cgi.assign = ("" => "")
	setenv.add-environment = ("GIT_PROJECT_ROOT" => "$tmp/srv",
	                          "GIT_HTTP_EXPORT_ALL" => "1")
}
EOF
"$lighttpd" -D -f "$tmp/lighttpd.conf" >"$tmp/httpd.out" 2>&1 &
httpd_pid=$!
n=0
# (sh has no /dev/tcp: any HTTP answer says it listens)
until curl -s -o /dev/null "http://127.0.0.1:$port/"; do
	n=$((n + 1))
	[ $n -lt 100 ] || {
		cat "$tmp/httpd.out" >&2
		exit 1
	}
	sleep 0.05
done
url=http://127.0.0.1:$port/git/infra.git

# run LABEL CMD...: CMD once, timed (seconds) and measured (KiB) into
# $tmp/LABEL.t and $tmp/LABEL.m
run() {
	label=$1
	shift
	if bench_have_time; then
		/usr/bin/time -f '%e %M' -o "$tmp/time.out" "$@" >"$tmp/out" 2>"$tmp/err" ||
			{ cat "$tmp/err" >&2; exit 1; }
		cut -d' ' -f1 "$tmp/time.out" >>"$tmp/$label.t"
		cut -d' ' -f2 "$tmp/time.out" >>"$tmp/$label.m"
	else
		s=$(date +%s.%N)
		"$@" >"$tmp/out" 2>"$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
		e=$(date +%s.%N)
		echo "$e - $s" | bc >>"$tmp/$label.t"
		echo 0 >>"$tmp/$label.m"
	fi
}

report() {
	printf '%-44s %8.3f s %8d KiB\n' "$1" \
		"$(bench_median <"$tmp/$2.t")" "$(bench_median <"$tmp/$2.m")"
}

cd "$tmp"
k=0
while [ $k -lt $runs ]; do
	rm -rf "$tmp/.sandform"
	run first "$sandform" validate --git "$url"
	grep -q '^10000 sandboxes in 100 files at main@sha1:' "$tmp/out" || {
		cat "$tmp/out" "$tmp/err" >&2
		exit 1
	}
	: >"$tmp/requests.log"
	run noop "$sandform" validate --git "$url" \
		--path sandboxes/team-00/sandboxes-000.yaml
	cp "$tmp/requests.log" "$tmp/noop.requests"
	run noop_all "$sandform" validate --git "$url"
	run tree "$sandform" validate --git "$url" --offline
	k=$((k + 1))
done
rm -rf "$tmp/checkout"
git clone -q "$tmp/srv/infra.git" "$tmp/checkout"
k=0
while [ $k -lt $runs ]; do
	run dir "$sandform" validate "$tmp/checkout/sandboxes"
	k=$((k + 1))
done

echo "medians of $runs ($(basename "$sandform") at $url):"
report "first fetch + load of 10,000 sandboxes" first
report "no-op refresh (ref unmoved, one file read)" noop
report "no-op refresh + load of 10,000 sandboxes" noop_all
report "load from tree objects (--offline)" tree
report "load from a checked-out directory" dir
echo "requests of the no-op refresh: $(wc -l <"$tmp/noop.requests")" \
	"($(sort -u "$tmp/noop.requests" | tr '\n' ' '))"
awk -v t="$(bench_median <"$tmp/tree.t")" -v d="$(bench_median <"$tmp/dir.t")" \
	'BEGIN { printf "tree objects / directory: %.2fx (target <= 1.2x)\n", t / d }'
