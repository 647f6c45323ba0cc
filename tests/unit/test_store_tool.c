/*
 * store-tool: not a unit test, but a helper of the end-to-end tests. It
 * puts into a state what only a run in progress or an interrupted run
 * leaves there (a held lock, an open journal entry, runs with given hosts
 * and times), through the store API: the tests never open the state's
 * storage themselves, so they hold for any backend. What is in a state is
 * read back with `sandform state ... --json`.
 *
 *   store-tool STATE run KEY=VALUE...
 *       record a run and print its id. stack= (default "default"),
 *       command=, source=, git_commit=, pid=, host=, started_ms= or
 *       age_ms= (started that long ago); outcome= [counts=] finishes it
 *       now.
 *   store-tool STATE intent KEY=VALUE...
 *       an open journal entry, as a run killed after writing it leaves;
 *       prints its id. stack=, name=, action=, sandbox_id=, detail=.
 *   store-tool STATE finish KEY=VALUE...
 *       end journal entry id= as done (result= the sandbox id) or, with
 *       message=, as failed.
 *   store-tool STATE hold-lock KEY=VALUE...
 *       take the stack's lock (stack=, info=, lease_ms=), print its id
 *       and hold it until killed. It is never released: a killed run.
 *
 * Exit 0, or 1 with the store's message on stderr.
 */
#include "common/base.h"

#include <signal.h>
#include <unistd.h>

#include "common/error.h"
#include "common/strmap.h"
#include "common/strnum.h"
#include "common/timeutil.h"
#include "state/store.h"

static int
die(const char *what)
{
	fprintf(stderr, "store-tool: %s\n", what);
	return 1;
}

/* num: the number at key (def when absent); -1 (message set) when bad. */
static int
num(const struct strmap *kv, const char *key, long long def, long long *out)
{
	const char *v = strmap_get(kv, key);
	const char *why = NULL;

	*out = def;
	if (v == NULL)
		return 0;
	if (strnum_parse(v, 0, INT64_MAX, out, &why) < 0) {
		sf_error_set(SF_EINVALID, "%s=%s: %s", key, v, why);
		return -1;
	}
	return 0;
}

static int
do_run(struct store *s, const struct strmap *kv)
{
	struct store_run r;
	long long pid, started, age;
	const char *outcome = strmap_get(kv, "outcome");
	int64_t id;

	if (num(kv, "pid", 0, &pid) < 0 ||
	    num(kv, "started_ms", 0, &started) < 0 ||
	    num(kv, "age_ms", 0, &age) < 0)
		return -1;
	memset(&r, 0, sizeof(r));
	r.stack = strmap_get(kv, "stack") ? strmap_get(kv, "stack") : "default";
	r.command = strmap_get(kv, "command");
	r.source = strmap_get(kv, "source");
	r.git_commit = strmap_get(kv, "git_commit");
	r.pid = (long)pid;
	r.host = strmap_get(kv, "host");
	r.started_ms = age > 0 ? time_now_ms() - age : started;
	if (store_run_begin(s, &r, &id) < 0)
		return -1;
	if (outcome != NULL &&
	    store_run_finish(s, id, outcome, strmap_get(kv, "counts")) < 0)
		return -1;
	printf("%lld\n", (long long)id);
	return 0;
}

static int
do_intent(struct store *s, const struct strmap *kv)
{
	int64_t id;

	if (store_journal_intent(
	            s, 0,
	            strmap_get(kv, "stack") ? strmap_get(kv, "stack")
	                                    : "default",
	            strmap_get(kv, "name"), strmap_get(kv, "action"),
	            strmap_get(kv, "sandbox_id"), strmap_get(kv, "detail"),
	            &id) < 0)
		return -1;
	printf("%lld\n", (long long)id);
	return 0;
}

static int
do_finish(struct store *s, const struct strmap *kv)
{
	const char *message = strmap_get(kv, "message");
	long long id;

	if (num(kv, "id", 0, &id) < 0)
		return -1;
	if (message != NULL)
		return store_journal_failed(s, id, message);
	return store_journal_done(s, id, strmap_get(kv, "result"));
}

static int
do_hold_lock(struct store *s, const struct strmap *kv)
{
	struct store_lock_holder h;
	long long lease;

	if (num(kv, "lease_ms", 600000, &lease) < 0)
		return -1;
	if (store_lock_acquire(s,
	                       strmap_get(kv, "stack") ? strmap_get(kv, "stack")
	                                               : "default",
	                       strmap_get(kv, "info"), lease, &h) < 0)
		return -1;
	printf("%s\n", h.id);
	if (fflush(stdout) != 0)
		return -1;
	for (;;)
		pause();
}

int
main(int argc, char **argv)
{
	struct strmap kv = STRMAP_INIT;
	struct store *s = NULL;
	const char *eq;
	int i, rc = -1;

	if (argc < 3)
		return die(
		        "usage: store-tool STATE run|intent|finish|hold-lock "
		        "KEY=VALUE...");
	for (i = 3; i < argc; i++) {
		if ((eq = strchr(argv[i], '=')) == NULL) {
			strmap_clear(&kv);
			return die("arguments are KEY=VALUE");
		}
		argv[i][eq - argv[i]] = '\0';
		strmap_set(&kv, argv[i], eq + 1);
	}
	if (store_open(argv[1], &s) < 0)
		goto out;
	if (strcmp(argv[2], "run") == 0)
		rc = do_run(s, &kv);
	else if (strcmp(argv[2], "intent") == 0)
		rc = do_intent(s, &kv);
	else if (strcmp(argv[2], "finish") == 0)
		rc = do_finish(s, &kv);
	else if (strcmp(argv[2], "hold-lock") == 0)
		rc = do_hold_lock(s, &kv);
	else
		sf_error_set(SF_EINVALID, "unknown action '%s'", argv[2]);
out:
	if (rc < 0)
		fprintf(stderr, "store-tool: %s\n", sf_error_last());
	store_close(s);
	strmap_clear(&kv);
	return rc < 0 ? 1 : 0;
}
