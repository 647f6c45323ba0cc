#!/bin/sh
# gen-manifests.sh DIR [SANDBOXES] [FILES]: write SANDBOXES (default 10000)
# realistic manifests spread over FILES (default 100) multi-document files
# under DIR/team-NN/, for bench-validate.sh. Half use an image with
# resources, half a snapshot; all have labels, env with secret references,
# intervals and a network policy; every fourth has a volume.
set -eu
dir=$1
n=${2:-10000}
files=${3:-100}
mkdir -p "$dir"
awk -v dir="$dir" -v n="$n" -v files="$files" 'BEGIN {
	per = int((n + files - 1) / files)
	last = -1
	for (i = 0; i < n; i++) {
		f = int(i / per)
		sub_dir = sprintf("%s/team-%02d", dir, f % 10)
		if (f != last) {
			if (out != "")
				close(out)
			system("mkdir -p " sub_dir)
			out = sprintf("%s/sandboxes-%03d.yaml", sub_dir, f)
			last = f
			first = 1
		}
		if (!first)
			print "---" > out
		first = 0
		print "apiVersion: sandform.dev/v1" > out
		print "kind: Sandbox" > out
		print "metadata:" > out
		printf "  name: bench-sandbox-%05d\n", i > out
		print "  labels:" > out
		printf "    team: team-%02d\n", f % 10 > out
		printf "    pool: pool-%d\n", i % 7 > out
		print "    env: bench" > out
		print "spec:" > out
		if (i % 2 == 0) {
			print "  image: whitezxj/sandbox:0.1.0" > out
			printf "  resources: {cpu: %d, memory: %d, disk: %d}\n", 1 + i % 4, 2 + i % 6, 5 + i % 10 > out
		} else {
			print "  snapshot: daytona-small" > out
		}
		print "  env:" > out
		print "    RESOLUTION: 1024x768x24" > out
		printf "    WORKER_ID: \"%d\"\n", i > out
		print "    VNC_PASSWORD: {secretEnv: VNC_PASSWORD}" > out
		print "  public: false" > out
		print "  autoStopInterval: 30" > out
		print "  autoArchiveInterval: 1440" > out
		print "  network:" > out
		print "    allowList: [10.0.0.0/8, 192.168.0.0/16]" > out
		print "    domainAllowList: [pypi.org, \"*.github.com\"]" > out
		if (i % 4 == 0)
			print "  volumes: [{volume: datasets, mountPath: /data, subpath: team-a}]" > out
	}
	close(out)
}'
