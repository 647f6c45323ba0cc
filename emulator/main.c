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
#include <pthread.h>
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
#include "emulator/db.h"
#include "emulator/faults.h"
#include "emulator/server.h"

#define DEFAULT_LISTEN        "127.0.0.1:0"
#define DEFAULT_TRANSITION_MS 1000
#define DEFAULT_MAX_WAIT_MS   30000
#define MAX_KEYS              64
#define MAX_MS                (24LL * 3600 * 1000) /* of a duration option */
#define OPT_BASE              256 /* getopt_long values of emu_options[i] */

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

/* Everything the command line sets. */
struct cli {
	struct emudb_opts db;
	struct server_opts srv;
	int64_t transition; /* --transition-ms */
	int64_t kind[7];    /* --create-ms ... --resize-ms; -1: unset */
	const char *listen_at, *port_file;
	char *keys[MAX_KEYS];
	int n_keys, verbose;
};

/* --listen "HOST:PORT", "[v6]:PORT" or "PORT" (loopback) */
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
		return 0;
	}
	if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)p);
		return 0;
	}
bad:
	fprintf(stderr,
	        "daytona-emulator: --listen: '%s' is not HOST:PORT with a "
	        "numeric address\n",
	        s);
	return -1;
}

/* --rate-limit "create=10/1" */
static int
opt_rate_limit(struct cli *c, const char *s)
{
	const char *eq = strchr(s, '='), *slash;
	long long limit, secs;
	const char *err;
	char num[32];
	int b;

	if (!eq)
		goto bad;
	b = faults_bucket_parse(s, (size_t)(eq - s));
	slash = strchr(eq, '/');
	if (b < 0 || !slash || (size_t)(slash - eq - 1) >= sizeof(num))
		goto bad;
	memcpy(num, eq + 1, (size_t)(slash - eq - 1));
	num[slash - eq - 1] = '\0';
	if (strnum_parse(num, 1, 1000000000, &limit, &err) < 0 ||
	    strnum_parse(slash + 1, 1, 86400, &secs, &err) < 0)
		goto bad;
	c->srv.rl[b].limit = (int)limit;
	c->srv.rl[b].window_ms = secs * 1000;
	return 0;
bad:
	fprintf(stderr,
	        "daytona-emulator: --rate-limit: '%s' is not "
	        "BUCKET=LIMIT/SECONDS (buckets: create, lifecycle, other)\n",
	        s);
	return -1;
}

/* --quota "10/10/30": organization totals of vCPU / GiB memory / GiB disk */
static int
opt_quota(struct cli *c, const char *s)
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
	c->srv.quota_cpu = v[0];
	c->srv.quota_memory = v[1];
	c->srv.quota_disk = v[2];
	return 0;
bad:
	fprintf(stderr,
	        "daytona-emulator: --quota: '%s' is not CPU/MEMORY/DISK "
	        "(e.g. 10/10/30)\n",
	        s);
	return -1;
}

static int
opt_api_key(struct cli *c, const char *key)
{
	if (!*key || c->n_keys == MAX_KEYS) {
		fprintf(stderr,
		        "daytona-emulator: --api-key: empty or too many "
		        "keys\n");
		return -1;
	}
	c->keys[c->n_keys++] = xstrdup(key);
	return 0;
}

/* --api-key-file: one key a line; blank lines and # comments skipped */
static int
opt_api_key_file(struct cli *c, const char *path)
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
		if (c->n_keys == MAX_KEYS)
			break;
		c->keys[c->n_keys++] = xstrdup(p);
	}
	buf_free(&b);
	return 0;
}

enum opt_type {
	T_STR,     /* a string, kept as given */
	T_FLAG,    /* a bool set to true */
	T_COUNT,   /* an int counted up (-v -v) */
	T_MS,      /* an int64_t of milliseconds, 0 to 24 h */
	T_REAL,    /* a double in [min, max] */
	T_INT,     /* an int in [min, max] */
	T_U64,     /* a uint64_t in [min, max] */
	T_FN,      /* fn parses it */
	T_HELP,    /* print the usage, exit 0 */
	T_VERSION, /* print the version, exit 0 */
};

#define AT(field) offsetof(struct cli, field)

/*
 * The options: getopt_long's table and the parsing both come from here
 * (the usage text above lists them for people).
 */
static const struct emu_option {
	const char *name;
	char short_name;
	enum opt_type type;
	size_t off;                                /* the field it sets */
	double min, max;                           /* T_REAL */
	long long lo, hi;                          /* T_INT, T_U64 */
	int (*fn)(struct cli *c, const char *arg); /* T_FN */
} emu_options[] = {
	{ .name = "listen", .type = T_STR, .off = AT(listen_at) },
	{ .name = "api-key", .type = T_FN, .fn = opt_api_key },
	{ .name = "api-key-file", .type = T_FN, .fn = opt_api_key_file },
	{ .name = "port-file", .type = T_STR, .off = AT(port_file) },
	{ .name = "state", .type = T_STR, .off = AT(db.state_path) },
	{ .name = "transition-ms", .type = T_MS, .off = AT(transition) },
	{ .name = "create-ms", .type = T_MS, .off = AT(kind[0]) },
	{ .name = "build-ms", .type = T_MS, .off = AT(kind[1]) },
	{ .name = "start-ms", .type = T_MS, .off = AT(kind[2]) },
	{ .name = "stop-ms", .type = T_MS, .off = AT(kind[3]) },
	{ .name = "archive-ms", .type = T_MS, .off = AT(kind[4]) },
	{ .name = "delete-ms", .type = T_MS, .off = AT(kind[5]) },
	{ .name = "resize-ms", .type = T_MS, .off = AT(kind[6]) },
	{ .name = "max-wait-ms", .type = T_MS, .off = AT(srv.max_wait_ms) },
	{ .name = "time-scale",
	  .type = T_REAL,
	  .off = AT(db.time_scale),
	  .min = 0.000001,
	  .max = 1e9 },
	{ .name = "default-snapshot",
	  .type = T_STR,
	  .off = AT(srv.default_snapshot) },
	{ .name = "resize-disabled",
	  .type = T_FLAG,
	  .off = AT(srv.resize_disabled) },
	{ .name = "rate-limit", .type = T_FN, .fn = opt_rate_limit },
	{ .name = "latency-ms", .type = T_MS, .off = AT(srv.latency_ms) },
	{ .name = "fail-rate",
	  .type = T_REAL,
	  .off = AT(srv.fail_rate),
	  .min = 0,
	  .max = 1 },
	{ .name = "drop-rate",
	  .type = T_REAL,
	  .off = AT(srv.drop_rate),
	  .min = 0,
	  .max = 1 },
	{ .name = "throttle-rate",
	  .type = T_REAL,
	  .off = AT(srv.throttle_rate),
	  .min = 0,
	  .max = 1 },
	{ .name = "fault-after", .type = T_FLAG, .off = AT(srv.fault_after) },
	{ .name = "error-rate",
	  .type = T_REAL,
	  .off = AT(srv.error_rate),
	  .min = 0,
	  .max = 1 },
	{ .name = "quota", .type = T_FN, .fn = opt_quota },
	{ .name = "list-lag-ms", .type = T_MS, .off = AT(db.list_lag_ms) },
	{ .name = "seed",
	  .type = T_U64,
	  .off = AT(srv.seed),
	  .lo = 0,
	  .hi = INT64_MAX },
	{ .name = "threads",
	  .type = T_INT,
	  .off = AT(srv.threads),
	  .lo = 1,
	  .hi = 256 },
	{ .name = "verbose",
	  .short_name = 'v',
	  .type = T_COUNT,
	  .off = AT(verbose) },
	{ .name = "help", .short_name = 'h', .type = T_HELP },
	{ .name = "version", .type = T_VERSION },
};

#define N_OPTS (sizeof(emu_options) / sizeof(emu_options[0]))

/* a bounded integer option; the message names the option */
static int
opt_integer(const struct emu_option *o, const char *arg, long long min,
            long long max, long long *out)
{
	const char *err;

	if (strnum_parse(arg, min, max, out, &err) < 0) {
		fprintf(stderr,
		        "daytona-emulator: --%s: '%s' is %s (expected a whole "
		        "number from %lld to %lld)\n",
		        o->name, arg, err, min, max);
		return -1;
	}
	return 0;
}

static int
opt_real(const struct emu_option *o, const char *arg, double *out)
{
	char *end;
	double v = strtod(arg, &end);

	if (end == arg || *end || !(v >= o->min && v <= o->max)) {
		fprintf(stderr,
		        "daytona-emulator: --%s: '%s' must be a number in "
		        "[%g, %g]\n",
		        o->name, arg, o->min, o->max);
		return -1;
	}
	*out = v;
	return 0;
}

/* set one option; 0, -1 on a bad value, 1 to exit 0 (help, version) */
static int
opt_set(struct cli *c, const struct emu_option *o, const char *arg)
{
	void *field = (char *)c + o->off;
	long long v;

	switch (o->type) {
	case T_STR:
		*(const char **)field = arg;
		return 0;
	case T_FLAG:
		*(bool *)field = true;
		return 0;
	case T_COUNT:
		(*(int *)field)++;
		return 0;
	case T_MS:
		if (opt_integer(o, arg, 0, MAX_MS, &v) < 0)
			return -1;
		*(int64_t *)field = v;
		return 0;
	case T_REAL:
		return opt_real(o, arg, field);
	case T_INT:
	case T_U64:
		if (opt_integer(o, arg, o->lo, o->hi, &v) < 0)
			return -1;
		if (o->type == T_INT)
			*(int *)field = (int)v;
		else
			*(uint64_t *)field = (uint64_t)v;
		return 0;
	case T_FN:
		return o->fn(c, arg);
	case T_HELP:
		fputs(usage_text, stdout);
		return 1;
	case T_VERSION:
		printf("daytona-emulator %s\n", PACKAGE_VERSION);
		return 1;
	}
	return -1;
}

/* parse argv into c; 0, -1 (exit 1) or 1 (exit 0) */
static int
parse_args(struct cli *c, int argc, char **argv)
{
	struct option longs[N_OPTS + 1];
	char shorts[2 * N_OPTS + 1], *sp = shorts;
	int ch, rc;

	memset(longs, 0, sizeof(longs));
	for (size_t i = 0; i < N_OPTS; i++) {
		longs[i].name = emu_options[i].name;
		longs[i].has_arg =
		        emu_options[i].type == T_FLAG ||
		                        emu_options[i].type == T_COUNT ||
		                        emu_options[i].type == T_HELP ||
		                        emu_options[i].type == T_VERSION
		                ? no_argument
		                : required_argument;
		longs[i].val = OPT_BASE + (int)i;
		if (emu_options[i].short_name)
			*sp++ = emu_options[i].short_name;
	}
	*sp = '\0';
	while ((ch = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
		const struct emu_option *o = NULL;

		if (ch >= OPT_BASE && ch < OPT_BASE + (int)N_OPTS)
			o = &emu_options[ch - OPT_BASE];
		for (size_t i = 0; !o && ch > 0 && i < N_OPTS; i++)
			if (emu_options[i].short_name == ch)
				o = &emu_options[i];
		if (!o) {
			fputs(usage_text, stderr);
			return -1;
		}
		if ((rc = opt_set(c, o, optarg)) != 0)
			return rc;
	}
	if (optind < argc) {
		fprintf(stderr, "daytona-emulator: unexpected argument '%s'\n",
		        argv[optind]);
		return -1;
	}
	if (c->n_keys == 0) {
		fprintf(stderr, "daytona-emulator: at least one --api-key (or "
		                "--api-key-file) is required\n");
		return -1;
	}
	return parse_listen(c->listen_at, &c->srv);
}

static void
cli_init(struct cli *c)
{
	memset(c, 0, sizeof(*c));
	c->srv.max_wait_ms = DEFAULT_MAX_WAIT_MS;
	c->srv.seed = 1;
	c->srv.threads = EMU_THREADS_DEFAULT;
	c->srv.default_snapshot = "daytona-small";
	c->db.time_scale = 1;
	c->transition = DEFAULT_TRANSITION_MS;
	for (size_t i = 0; i < sizeof(c->kind) / sizeof(c->kind[0]); i++)
		c->kind[i] = -1;
	c->listen_at = DEFAULT_LISTEN;
}

/* the durations: each kind's own, else --transition-ms */
static void
cli_durations(struct cli *c)
{
	int64_t *ms[7] = { &c->db.create_ms,  &c->db.build_ms,
		           &c->db.start_ms,   &c->db.stop_ms,
		           &c->db.archive_ms, &c->db.delete_ms,
		           &c->db.resize_ms };

	for (int i = 0; i < 7; i++)
		*ms[i] = c->kind[i] >= 0 ? c->kind[i] : c->transition;
}

static int
write_port_file(const char *port_file, int port)
{
	char num[16];
	int len = snprintf(num, sizeof(num), "%d\n", port);
	const char *m, *why;

	if (file_write_atomic(port_file, num, (size_t)len, 0644) == 0)
		return 0;
	/* the message names the temporary file beside it */
	m = sf_error_last();
	why = strncmp(m, port_file, strlen(port_file)) == 0
	              ? strstr(m + strlen(port_file), ": ")
	              : NULL;
	fprintf(stderr, "daytona-emulator: --port-file %s: %s\n", port_file,
	        why ? why + 2 : m);
	return -1;
}

/* open the db, serve until SIGTERM or SIGINT; the exit status */
static int
run(struct cli *c)
{
	struct emu_db *db = NULL;
	struct server *srv = NULL;
	sigset_t set;
	int rc = 1, sig, loaded;

	log_set_level(c->verbose >= 2   ? LOG_TRACE
	              : c->verbose == 1 ? LOG_DEBUG
	                                : LOG_WARN);
	cli_durations(c);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (emudb_new(&c->db, &db) < 0) {
		fprintf(stderr, "daytona-emulator: %s\n", sf_error_last());
		goto out;
	}
	emudb_lock(db);
	for (int i = 0; i < c->n_keys; i++)
		emudb_org_add(db, c->keys[i]);
	loaded = emudb_load(db);
	emudb_unlock(db);
	if (loaded < 0) {
		fprintf(stderr, "daytona-emulator: %s\n", sf_error_last());
		goto out;
	}
	if (server_new(&c->srv, db, &srv) < 0) {
		fprintf(stderr, "daytona-emulator: %s: %s\n", c->listen_at,
		        sf_error_last());
		goto out;
	}
	if (c->port_file && write_port_file(c->port_file, server_port(srv)) < 0)
		goto out;
	printf("daytona-emulator: listening on port %d (API under /api)\n",
	       server_port(srv));
	if (fflush(stdout) != 0 || sigwait(&set, &sig) != 0)
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
	return rc;
}

int
main(int argc, char **argv)
{
	struct cli c;
	int rc;

	log_set_prog("daytona-emulator");
	cli_init(&c);
	rc = parse_args(&c, argc, argv);
	rc = rc == 0 ? run(&c) : rc > 0 ? 0 : 1;
	for (int i = 0; i < c.n_keys; i++)
		free(c.keys[i]);
	return rc;
}
