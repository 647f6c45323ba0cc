/*
 * daytona-emulator: a local server that answers like the Daytona API for
 * the sandbox lifecycle, so sandform can be tried, tested and benchmarked
 * without a Daytona account. This file is the command line: options,
 * signals, the port file; see docs/daytona-emulator.1.
 *
 * The process blocks SIGTERM and SIGINT before any thread starts and waits
 * for them with sigwait(), so shutdown runs in ordinary code: stop
 * accepting, answer the requests still waiting, flush the state file,
 * free everything, exit 0.
 */
#include "common/base.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/fileutil.h"
#include "common/log.h"
#include "common/strnum.h"
#include "common/xalloc.h"
#include "emulator/server.h"
#include "emulator/db.h"

#define DEFAULT_LISTEN        "127.0.0.1:0"
#define DEFAULT_TRANSITION_MS 1000
#define DEFAULT_MAX_WAIT_MS   30000
#define MAX_KEYS              64

static const char usage_text[] =
        "usage: daytona-emulator --api-key KEY [options]\n"
        "\n"
        "A local Daytona-compatible sandbox API under http://HOST:PORT/api.\n"
        "\n"
        "  --listen HOST:PORT      address to bind (default 127.0.0.1:0; port "
        "0\n"
        "                          picks a free port)\n"
        "  --api-key KEY           accept KEY (one organization per key; may "
        "be\n"
        "                          repeated)\n"
        "  --api-key-file FILE     read one key per line from FILE\n"
        "  --port-file FILE        write the bound port to FILE\n"
        "  --state FILE            keep the organizations in SQLite across "
        "restarts\n"
        "  --transition-ms N       duration of every transition (default "
        "1000)\n"
        "  --create-ms N, --build-ms N, --start-ms N, --stop-ms N,\n"
        "  --archive-ms N, --delete-ms N, --resize-ms N\n"
        "                          per-kind overrides\n"
        "  --max-wait-ms N         create/start/recover wait for started at "
        "most\n"
        "                          N ms (default 30000; 0 returns at once)\n"
        "  --time-scale X          platform clock speed (auto-stop/archive/"
        "delete)\n"
        "  --default-snapshot NAME the server's default snapshot "
        "(daytona-small)\n"
        "  --resize-disabled       answer resize with 404 like an org without "
        "it\n"
        "  --list-lag-ms N         new sandboxes appear in lists N ms late\n"
        "                          (the eventually consistent list)\n"
        "  --quota C/M/D           organization totals: vCPU/GiB memory/GiB "
        "disk\n"
        "                          (e.g. 10/10/30 as Daytona; default none)\n"
        "  --rate-limit B=N/S      at most N requests per S seconds in bucket "
        "B\n"
        "                          (create, lifecycle, other)\n"
        "  --latency-ms N          delay every API answer by N ms\n"
        "  --fail-rate P           answer a fraction P of requests with a 5xx\n"
        "  --drop-rate P           close a fraction P of connections "
        "unanswered\n"
        "  --error-rate P          a fraction P of create/start/recover\n"
        "                          transitions end in error (build_failed)\n"
        "  --fault-after           apply --fail-rate/--drop-rate after the "
        "request\n"
        "                          took effect (the change happens, the "
        "answer\n"
        "                          is lost)\n"
        "  --throttle-rate P       answer a fraction P of authenticated "
        "requests\n"
        "                          with 429 and Retry-After-<bucket>: 1\n"
        "  --seed N                seed of the fault injection (default 1)\n"
        "  --threads N             HTTP worker threads (default 4)\n"
        "  -v, --verbose           debug log on stderr (twice: trace)\n"
        "  -h, --help              this text\n"
        "  --version               print the version\n";

enum {
	OPT_LISTEN = 256,
	OPT_API_KEY,
	OPT_API_KEY_FILE,
	OPT_PORT_FILE,
	OPT_STATE,
	OPT_TRANSITION,
	OPT_CREATE,
	OPT_BUILD,
	OPT_START,
	OPT_STOP,
	OPT_ARCHIVE,
	OPT_DELETE,
	OPT_RESIZE,
	OPT_MAX_WAIT,
	OPT_TIME_SCALE,
	OPT_DEFAULT_SNAPSHOT,
	OPT_RESIZE_DISABLED,
	OPT_RATE_LIMIT,
	OPT_LATENCY,
	OPT_FAIL_RATE,
	OPT_DROP_RATE,
	OPT_THROTTLE_RATE,
	OPT_FAULT_AFTER,
	OPT_ERROR_RATE,
	OPT_QUOTA,
	OPT_LIST_LAG,
	OPT_SEED,
	OPT_THREADS,
	OPT_VERSION,
};

static const struct option long_opts[] = {
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "api-key", required_argument, NULL, OPT_API_KEY },
	{ "api-key-file", required_argument, NULL, OPT_API_KEY_FILE },
	{ "port-file", required_argument, NULL, OPT_PORT_FILE },
	{ "state", required_argument, NULL, OPT_STATE },
	{ "transition-ms", required_argument, NULL, OPT_TRANSITION },
	{ "create-ms", required_argument, NULL, OPT_CREATE },
	{ "build-ms", required_argument, NULL, OPT_BUILD },
	{ "start-ms", required_argument, NULL, OPT_START },
	{ "stop-ms", required_argument, NULL, OPT_STOP },
	{ "archive-ms", required_argument, NULL, OPT_ARCHIVE },
	{ "delete-ms", required_argument, NULL, OPT_DELETE },
	{ "resize-ms", required_argument, NULL, OPT_RESIZE },
	{ "max-wait-ms", required_argument, NULL, OPT_MAX_WAIT },
	{ "time-scale", required_argument, NULL, OPT_TIME_SCALE },
	{ "default-snapshot", required_argument, NULL, OPT_DEFAULT_SNAPSHOT },
	{ "resize-disabled", no_argument, NULL, OPT_RESIZE_DISABLED },
	{ "rate-limit", required_argument, NULL, OPT_RATE_LIMIT },
	{ "latency-ms", required_argument, NULL, OPT_LATENCY },
	{ "fail-rate", required_argument, NULL, OPT_FAIL_RATE },
	{ "drop-rate", required_argument, NULL, OPT_DROP_RATE },
	{ "throttle-rate", required_argument, NULL, OPT_THROTTLE_RATE },
	{ "fault-after", no_argument, NULL, OPT_FAULT_AFTER },
	{ "error-rate", required_argument, NULL, OPT_ERROR_RATE },
	{ "quota", required_argument, NULL, OPT_QUOTA },
	{ "list-lag-ms", required_argument, NULL, OPT_LIST_LAG },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

/* option_name: the long name of option code c ("create-ms"). */
static const char *
option_name(int c)
{
	for (size_t i = 0; long_opts[i].name; i++)
		if (long_opts[i].val == c)
			return long_opts[i].name;
	return "?";
}

static int
parse_ms(const char *opt, const char *s, int64_t *out)
{
	long long v;
	const char *err;

	if (strnum_parse(s, 0, 24LL * 3600 * 1000, &v, &err) < 0) {
		fprintf(stderr, "daytona-emulator: --%s: '%s' is %s\n", opt, s,
		        err);
		return -1;
	}
	*out = v;
	return 0;
}

static int
parse_real(const char *opt, const char *s, double min, double max, double *out)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || !(v >= min && v <= max)) {
		fprintf(stderr,
		        "daytona-emulator: --%s: '%s' must be a number in "
		        "[%g, %g]\n",
		        opt, s, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

/* "HOST:PORT", "[v6]:PORT" or "PORT" (loopback) */
static int
parse_listen(const char *s, struct server_opts *so)
{
	char host[128];
	const char *port;
	long long p;
	const char *err;
	struct sockaddr_in *a4 = (struct sockaddr_in *)&so->addr;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&so->addr;

	memset(&so->addr, 0, sizeof(so->addr));
	if (s[0] == '[') {
		const char *e = strchr(s, ']');

		if (!e || e[1] != ':' || (size_t)(e - s - 1) >= sizeof(host))
			goto bad;
		memcpy(host, s + 1, (size_t)(e - s - 1));
		host[e - s - 1] = '\0';
		port = e + 2;
	} else if ((port = strrchr(s, ':')) != NULL) {
		if ((size_t)(port - s) >= sizeof(host))
			goto bad;
		memcpy(host, s, (size_t)(port - s));
		host[port - s] = '\0';
		port++;
	} else {
		snprintf(host, sizeof(host), "127.0.0.1");
		port = s;
	}
	if (strnum_parse(port, 0, 65535, &p, &err) < 0)
		goto bad;
	if (strcmp(host, "localhost") == 0 || host[0] == '\0')
		snprintf(host, sizeof(host), "127.0.0.1");
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)p);
		so->addr_len = sizeof(*a4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)p);
		so->addr_len = sizeof(*a6);
		return 0;
	}
bad:
	fprintf(stderr,
	        "daytona-emulator: --listen: '%s' is not HOST:PORT with a "
	        "numeric address\n",
	        s);
	return -1;
}

/* "create=10/1" */
static int
parse_rate_limit(const char *s, struct server_opts *so)
{
	static const char *const names[RL__COUNT] = { "create", "lifecycle",
		                                      "other" };
	const char *eq = strchr(s, '='), *slash;
	long long limit, secs;
	const char *err;
	char num[32];
	int b = -1;

	if (!eq)
		goto bad;
	for (int i = 0; i < RL__COUNT; i++)
		if (strlen(names[i]) == (size_t)(eq - s) &&
		    strncmp(s, names[i], (size_t)(eq - s)) == 0)
			b = i;
	slash = strchr(eq, '/');
	if (b < 0 || !slash || (size_t)(slash - eq - 1) >= sizeof(num))
		goto bad;
	memcpy(num, eq + 1, (size_t)(slash - eq - 1));
	num[slash - eq - 1] = '\0';
	if (strnum_parse(num, 1, 1000000000, &limit, &err) < 0 ||
	    strnum_parse(slash + 1, 1, 86400, &secs, &err) < 0)
		goto bad;
	so->rl[b].limit = (int)limit;
	so->rl[b].window_ms = secs * 1000;
	return 0;
bad:
	fprintf(stderr,
	        "daytona-emulator: --rate-limit: '%s' is not "
	        "BUCKET=LIMIT/SECONDS (buckets: create, lifecycle, other)\n",
	        s);
	return -1;
}

/* "10/10/30": organization totals of vCPU / GiB memory / GiB disk */
static int
parse_quota(const char *s, struct server_opts *so)
{
	int v[3] = { 0, 0, 0 };
	const char *p = s;

	for (int i = 0; i < 3; i++) {
		char num[16];
		size_t n = strcspn(p, "/");
		long long x;
		const char *err;

		if (n == 0 || n >= sizeof(num))
			goto bad;
		memcpy(num, p, n);
		num[n] = '\0';
		if (strnum_parse(num, 1, 1000000, &x, &err) < 0)
			goto bad;
		v[i] = (int)x;
		p += n;
		if (i < 2 && *p++ != '/')
			goto bad;
	}
	if (*p)
		goto bad;
	so->quota_cpu = v[0];
	so->quota_memory = v[1];
	so->quota_disk = v[2];
	return 0;
bad:
	fprintf(stderr,
	        "daytona-emulator: --quota: '%s' is not CPU/MEMORY/DISK "
	        "(e.g. 10/10/30)\n",
	        s);
	return -1;
}

static int
add_key_file(const char *path, char **keys, int *n)
{
	struct buf b = BUF_INIT;
	char *p, *line;

	if (file_read(path, 1 << 20, &b) < 0) {
		fprintf(stderr, "daytona-emulator: %s\n", sf_error_last());
		buf_free(&b);
		return -1;
	}
	for (p = b.data; p && *p; p = line) {
		char *nl = strchr(p, '\n');

		line = nl ? nl + 1 : NULL;
		if (nl)
			*nl = '\0';
		if (nl > p && nl[-1] == '\r')
			nl[-1] = '\0';
		if (*p == '\0' || *p == '#')
			continue;
		if (*n == MAX_KEYS)
			break;
		keys[(*n)++] = xstrdup(p);
	}
	buf_free(&b);
	return 0;
}

int
main(int argc, char **argv)
{
	struct emudb_opts to = { 0 };
	struct server_opts so;
	int64_t transition = DEFAULT_TRANSITION_MS;
	int64_t kind[7] = { -1, -1, -1, -1, -1, -1, -1 };
	const char *listen_at = DEFAULT_LISTEN, *port_file = NULL;
	char *keys[MAX_KEYS];
	int n_keys = 0, c, verbose = 0, rc = 1, sig;
	long long v;
	const char *err;
	struct emu_db *db = NULL;
	struct server *srv = NULL;
	sigset_t set;

	memset(&so, 0, sizeof(so));
	so.max_wait_ms = DEFAULT_MAX_WAIT_MS;
	so.seed = 1;
	so.threads = EMU_THREADS_DEFAULT;
	so.default_snapshot = "daytona-small";
	to.time_scale = 1;
	log_set_prog("daytona-emulator");
	while ((c = getopt_long(argc, argv, "vh", long_opts, NULL)) != -1) {
		switch (c) {
		case OPT_LISTEN:
			listen_at = optarg;
			break;
		case OPT_API_KEY:
			if (!*optarg || n_keys == MAX_KEYS) {
				fprintf(stderr, "daytona-emulator: --api-key: "
				                "empty or too many keys\n");
				goto out;
			}
			keys[n_keys++] = xstrdup(optarg);
			break;
		case OPT_API_KEY_FILE:
			if (add_key_file(optarg, keys, &n_keys) < 0)
				goto out;
			break;
		case OPT_PORT_FILE:
			port_file = optarg;
			break;
		case OPT_STATE:
			to.state_path = optarg;
			break;
		case OPT_TRANSITION:
			if (parse_ms("transition-ms", optarg, &transition) < 0)
				goto out;
			break;
		case OPT_CREATE:
		case OPT_BUILD:
		case OPT_START:
		case OPT_STOP:
		case OPT_ARCHIVE:
		case OPT_DELETE:
		case OPT_RESIZE:
			if (parse_ms(option_name(c), optarg,
			             &kind[c - OPT_CREATE]) < 0)
				goto out;
			break;
		case OPT_MAX_WAIT:
			if (parse_ms("max-wait-ms", optarg, &so.max_wait_ms) <
			    0)
				goto out;
			break;
		case OPT_TIME_SCALE:
			if (parse_real("time-scale", optarg, 0.001, 1e9,
			               &to.time_scale) < 0)
				goto out;
			break;
		case OPT_DEFAULT_SNAPSHOT:
			so.default_snapshot = optarg;
			break;
		case OPT_RESIZE_DISABLED:
			so.resize_disabled = true;
			break;
		case OPT_RATE_LIMIT:
			if (parse_rate_limit(optarg, &so) < 0)
				goto out;
			break;
		case OPT_LATENCY:
			if (parse_ms("latency-ms", optarg, &so.latency_ms) < 0)
				goto out;
			break;
		case OPT_FAIL_RATE:
			if (parse_real("fail-rate", optarg, 0, 1,
			               &so.fail_rate) < 0)
				goto out;
			break;
		case OPT_DROP_RATE:
			if (parse_real("drop-rate", optarg, 0, 1,
			               &so.drop_rate) < 0)
				goto out;
			break;
		case OPT_LIST_LAG:
			if (parse_ms("list-lag-ms", optarg, &to.list_lag_ms) <
			    0)
				goto out;
			break;
		case OPT_QUOTA:
			if (parse_quota(optarg, &so) < 0)
				goto out;
			break;
		case OPT_ERROR_RATE:
			if (parse_real("error-rate", optarg, 0, 1,
			               &so.error_rate) < 0)
				goto out;
			break;
		case OPT_FAULT_AFTER:
			so.fault_after = true;
			break;
		case OPT_THROTTLE_RATE:
			if (parse_real("throttle-rate", optarg, 0, 1,
			               &so.throttle_rate) < 0)
				goto out;
			break;
		case OPT_SEED:
			if (strnum_parse(optarg, 0, INT64_MAX, &v, &err) < 0) {
				fprintf(stderr,
				        "daytona-emulator: --seed: '%s' is "
				        "%s\n",
				        optarg, err);
				goto out;
			}
			so.seed = (uint64_t)v;
			break;
		case OPT_THREADS:
			if (strnum_parse(optarg, 1, 256, &v, &err) < 0) {
				fprintf(stderr,
				        "daytona-emulator: --threads: '%s' is "
				        "%s\n",
				        optarg, err);
				goto out;
			}
			so.threads = (int)v;
			break;
		case 'v':
			verbose++;
			break;
		case 'h':
			fputs(usage_text, stdout);
			rc = 0;
			goto out;
		case OPT_VERSION:
			printf("daytona-emulator %s\n", PACKAGE_VERSION);
			rc = 0;
			goto out;
		default:
			fputs(usage_text, stderr);
			goto out;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "daytona-emulator: unexpected argument '%s'\n",
		        argv[optind]);
		goto out;
	}
	if (n_keys == 0) {
		fprintf(stderr, "daytona-emulator: at least one --api-key (or "
		                "--api-key-file) is required\n");
		goto out;
	}
	log_set_level(verbose >= 2   ? LOG_TRACE
	              : verbose == 1 ? LOG_DEBUG
	                             : LOG_WARN);
	if (parse_listen(listen_at, &so) < 0)
		goto out;
	to.create_ms = kind[0] >= 0 ? kind[0] : transition;
	to.build_ms = kind[1] >= 0 ? kind[1] : transition;
	to.start_ms = kind[2] >= 0 ? kind[2] : transition;
	to.stop_ms = kind[3] >= 0 ? kind[3] : transition;
	to.archive_ms = kind[4] >= 0 ? kind[4] : transition;
	to.delete_ms = kind[5] >= 0 ? kind[5] : transition;
	to.resize_ms = kind[6] >= 0 ? kind[6] : transition;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (emudb_new(&to, &db) < 0) {
		fprintf(stderr, "daytona-emulator: %s\n", sf_error_last());
		goto out;
	}
	emudb_lock(db);
	for (int i = 0; i < n_keys; i++)
		emudb_org_add(db, keys[i]);
	c = emudb_load(db);
	emudb_unlock(db);
	if (c < 0) {
		fprintf(stderr, "daytona-emulator: %s\n", sf_error_last());
		goto out;
	}
	if (server_new(&so, db, &srv) < 0) {
		fprintf(stderr, "daytona-emulator: %s: %s\n", listen_at,
		        sf_error_last());
		goto out;
	}
	if (port_file) {
		char num[16];
		int len = snprintf(num, sizeof(num), "%d\n", server_port(srv));

		if (file_write_atomic(port_file, num, (size_t)len, 0644) < 0) {
			/* the message names the temporary file beside it */
			const char *m = sf_error_last();
			const char *why =
			        strncmp(m, port_file, strlen(port_file)) == 0
			                ? strstr(m + strlen(port_file), ": ")
			                : NULL;

			fprintf(stderr,
			        "daytona-emulator: --port-file %s: %s\n",
			        port_file, why ? why + 2 : m);
			goto out;
		}
	}
	printf("daytona-emulator: listening on port %d (API under /api)\n",
	       server_port(srv));
	if (fflush(stdout) != 0)
		goto out;
	if (sigwait(&set, &sig) != 0)
		goto out;
	log_info("signal %d: shutting down", sig);
	rc = 0;
out:
	server_free(srv);
	if (db) {
		emudb_lock(db);
		if (emudb_flush(db) < 0) {
			fprintf(stderr, "daytona-emulator: %s\n",
			        sf_error_last());
			rc = 1;
		}
		emudb_unlock(db);
	}
	emudb_free(db);
	for (int i = 0; i < n_keys; i++)
		free(keys[i]);
	return rc;
}
