#!/usr/bin/env bats
# daytona-emulator: GET /sandbox — cursor pagination, filters, sorting and
# the 400s for bad values (daytona-api.md §4.2, §10).

bats_require_minimum_version 1.5.0
load lib/emulator

setup() {
	emu_default_setup
	emu_start --transition-ms 0
	emu_hook POST seed '{"count":25,"namePrefix":"web-","create":{"labels":{"team":"web","env":"prod"}}}' >/dev/null
	emu_hook POST seed '{"count":12,"namePrefix":"Db-","create":{"labels":{"team":"db"},"snapshot":"daytona-medium"}}' >/dev/null
}

teardown() { emu_default_teardown; }

# walk QUERY: print every name over all pages, one per line
walk() {
	local q=$1 cursor= page out
	while :; do
		page=$(emu_api GET "/sandbox?$q${cursor:+&cursor=$cursor}" |
			"$EMU_PYTHON" -c '
import json, sys, urllib.parse
d = json.load(sys.stdin)
for i in d["items"]:
    print(i["name"])
print("CURSOR:" + urllib.parse.quote(d["nextCursor"] or "", safe=""))')
		printf '%s\n' "$page" | sed '$d'
		cursor=${page##*CURSOR:}
		[ -n "$cursor" ] || break
	done
}

@test "default limit 100, nextCursor null on the last page" {
	emu_api GET /sandbox >page.json
	[ "$EMU_STATUS" = 200 ]
	[ "$(emu_json 'len(d["items"])' <page.json)" = 37 ]
	[ "$(emu_json 'd["nextCursor"]' <page.json)" = null ]
	# list items lack the GET-only fields; since 0.218 they carry the
	# network settings (sandbox-list-item.d.ts)
	[ "$(emu_json 'sorted(set(["env","volumes","buildInfo","outboundProxyUrl","kvm"]) & set(d["items"][0]))' <page.json)" = "[]" ]
	[ "$(emu_json '"networkBlockAll" in d["items"][0]' <page.json)" = true ]
}

@test "a cursor walk with small pages returns every sandbox once, in order" {
	run walk "limit=4&sort=name&order=asc"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 37 ]
	[ "${lines[0]}" = Db-00000 ]
	[ "${lines[36]}" = web-00024 ]
	[ "$(printf '%s\n' "${lines[@]}" | sort -u | wc -l)" -eq 37 ]
	run walk "limit=5&sort=createdAt&order=desc"
	[ "${#lines[@]}" -eq 37 ]
	[ "$(printf '%s\n' "${lines[@]}" | sort -u | wc -l)" -eq 37 ]
	run walk "limit=3"
	[ "${#lines[@]}" -eq 37 ]
}

@test "labels filter is JSON containment" {
	run walk "labels=%7B%22team%22%3A%22web%22%7D&limit=200"
	[ "${#lines[@]}" -eq 25 ]
	run walk "labels=%7B%22team%22%3A%22web%22%2C%22env%22%3A%22prod%22%7D"
	[ "${#lines[@]}" -eq 25 ]
	run walk "labels=%7B%22team%22%3A%22db%22%2C%22env%22%3A%22prod%22%7D"
	[ "${#lines[@]}" -eq 0 ]
	run walk "labels=%7B%7D"
	[ "${#lines[@]}" -eq 37 ]
	emu_api GET '/sandbox?labels=notjson' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$(echo "$EMU_BODY" | emu_json 'd["message"]')" = "Invalid labels JSON format" ]
}

@test "name and id filters are case-insensitive prefixes" {
	run walk "name=db-"
	[ "${#lines[@]}" -eq 12 ]
	run walk "name=WEB-0001"
	[ "${#lines[@]}" -eq 10 ]
	id=$(emu_api GET /sandbox/web-00003 | emu_json 'd["id"]')
	up=$(echo "${id:0:8}" | tr a-f A-F)
	run walk "id=$up"
	[[ "$output" == *web-00003* ]]
}

@test "states filter matches the raw column and repeats; bad values are 400" {
	emu_api POST /sandbox/web-00000/stop >/dev/null
	emu_hook POST sandbox/web-00001 '{"state":"stopped"}' >/dev/null
	emu_hook POST sandbox/web-00002 '{"state":"archived"}' >/dev/null
	# stop with --transition-ms 0 finishes on the next tick
	sleep 0.1
	run walk "states=stopped"
	[ "${#lines[@]}" -eq 2 ]
	run walk "states=stopped&states=archived"
	[ "${#lines[@]}" -eq 3 ]
	run walk "states%5B%5D=archived"
	[ "${#lines[@]}" -eq 1 ]
	emu_api GET '/sandbox?states=started,stopped' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	emu_api GET '/sandbox?states=destroyed' >/dev/null
	[ "$EMU_STATUS" = 400 ]
}

@test "sort and order with id tiebreak; bad sort/order/limit/cursor are 400" {
	first=$(emu_api GET '/sandbox?sort=cpu&order=desc&limit=1' | emu_json 'd["items"][0]["cpu"]')
	[ "$first" = 2 ]
	first=$(emu_api GET '/sandbox?sort=memoryGib&order=asc&limit=1' | emu_json 'd["items"][0]["memory"]')
	[ "$first" = 1 ]
	run walk "sort=diskGib&order=asc&limit=7"
	[ "${#lines[@]}" -eq 37 ]
	[[ "${lines[36]}" == Db-* ]]
	for q in sort=size order=up limit=0 limit=201 limit=abc cursor=garbage%21 cursor=e30%3D includeErroredDeleted=maybe minCpu=0 isPublic=1 createdAtAfter=yesterday sandboxClasses=vm; do
		emu_api GET "/sandbox?$q" >/dev/null
		[ "$EMU_STATUS" = 400 ] || { echo "$q gave $EMU_STATUS"; false; }
	done
	emu_api GET '/sandbox?cursor=garbage%21' >/dev/null
	[ "$(echo "$EMU_BODY" | emu_json 'd["message"]')" = "Invalid cursor provided: garbage!" ]
	emu_api GET '/sandbox?limit=200' >/dev/null
	[ "$EMU_STATUS" = 200 ]
	# an empty cursor is no cursor; a malformed escape stays literal
	emu_api GET '/sandbox?cursor=' >/dev/null
	[ "$EMU_STATUS" = 200 ]
	emu_api GET '/sandbox?limit=%' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	emu_api GET '/sandbox?limit=1' >/dev/null
	[ "$(echo "$EMU_BODY" | emu_json 'len(d["items"])')" = 1 ]
}

@test "query numbers are read as Number() and checked as the DTO checks them" {
	emu_api GET '/sandbox?limit=1e1' >/dev/null
	[ "$EMU_STATUS" = 200 ]
	[ "$(echo "$EMU_BODY" | emu_json 'len(d["items"])')" = 10 ]
	msg() { echo "$EMU_BODY" | emu_json 'd["message"]'; }
	# every failing validator speaks, in the DTO's order
	emu_api GET '/sandbox?limit=abc' >/dev/null
	[ "$EMU_STATUS" = 400 ]
	[ "$(msg)" = "limit must be an integer number, limit must not be less than 1, limit must not be greater than 200" ]
	emu_api GET '/sandbox?limit=' >/dev/null
	[ "$(msg)" = "limit must not be less than 1" ]
	emu_api GET '/sandbox?limit=2e2' >/dev/null
	[ "$EMU_STATUS" = 200 ]
	emu_api GET '/sandbox?minCpu=x' >/dev/null
	[ "$(msg)" = "minCpu must not be less than 1, minCpu must be an integer number" ]
	emu_api GET '/sandbox?maxDiskGiB=2.5' >/dev/null
	[ "$(msg)" = "maxDiskGiB must be an integer number" ]
	emu_api GET '/sandbox?minCpu=1e20' >/dev/null
	[ "$EMU_STATUS" = 200 ]
	[ "$(echo "$EMU_BODY" | emu_json 'len(d["items"])')" = 0 ]
}

@test "other filters: snapshots, resources, public, classes, dates" {
	run walk "snapshots=daytona-medium"
	[ "${#lines[@]}" -eq 12 ]
	run walk "minCpu=2"
	[ "${#lines[@]}" -eq 12 ]
	run walk "maxMemoryGiB=1"
	[ "${#lines[@]}" -eq 25 ]
	emu_api POST /sandbox/web-00004/public/true >/dev/null
	run walk "isPublic=true"
	[ "$output" = web-00004 ]
	run walk "sandboxClasses=linux-vm"
	[ "${#lines[@]}" -eq 0 ]
	emu_api POST /sandbox '{"name":"vm","snapshot":"daytona-vm"}' >/dev/null
	run walk "sandboxClasses=linux-vm"
	[ "$output" = vm ]
	run walk "sandboxClasses=container&regionIds=us"
	[ "${#lines[@]}" -eq 37 ]
	run walk "createdAtAfter=2100-01-01T00:00:00.000Z"
	[ "${#lines[@]}" -eq 0 ]
}

@test "destroying sandboxes are listed, destroyed ones are not" {
	emu_stop
	emu_start --transition-ms 3000
	emu_hook POST seed '{"count":2,"namePrefix":"x-"}' >/dev/null
	emu_api DELETE /sandbox/x-00000 >/dev/null
	[ "$(emu_api GET /sandbox | emu_json 'sorted(i["state"] for i in d["items"])')" = '["destroying", "started"]' ]
	sleep 3.3
	[ "$(emu_api GET /sandbox | emu_json 'len(d["items"])')" = 1 ]
}

@test "/sandbox/paginated is gone since 0.218: it names a sandbox (404)" {
	emu_api GET '/sandbox/paginated?limit=10&page=4' >/dev/null
	[ "$EMU_STATUS" = 404 ]
	[ "$(echo "$EMU_BODY" | emu_json 'd["message"]')" = "Sandbox with ID or name paginated not found" ]
}

@test "--list-lag-ms: a new sandbox reaches the list late, GET finds it at once" {
	emu_stop
	emu_start --transition-ms 0 --list-lag-ms 1500
	emu_hook POST seed '{"count":1,"namePrefix":"old-"}' >/dev/null
	emu_api POST /sandbox '{"name":"new"}' >/dev/null
	[ "$EMU_STATUS" = 200 ]
	[ "$(emu_api GET /sandbox | emu_json '[i["name"] for i in d["items"]]')" = '["old-00000"]' ]
	emu_api GET /sandbox/new >/dev/null
	[ "$EMU_STATUS" = 200 ]
	sleep 1.6
	[ "$(emu_api GET /sandbox | emu_json 'sorted(i["name"] for i in d["items"])')" = '["new", "old-00000"]' ]
}
