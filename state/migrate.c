/*
 * migrate: store_migrate(), copying a stack between two states of any
 * backends (sandform state migrate). See store.h for the contract.
 *
 * Why it looks the way it does:
 * - Both stacks are locked for the whole copy, through the ordinary lock
 *   API: no run can change the source while it is read, nor start on the
 *   target before the copy is whole. A locked source is refused rather
 *   than waited for: its run may be long, and the user should know.
 * - The HMAC key travels with the stack. Every secret hash in the
 *   records, the journal and the live sandboxes' spec labels was made
 *   with the source's key; under another key each would differ and every
 *   sandbox with a secret would be planned for replacement. A target
 *   that already has another key and other stacks cannot take a second
 *   key: that is refused before anything is written.
 * - The copy is checked by reading it back and comparing every member of
 *   every row with what was read from the source (ids as stored), using
 *   the backend.h row tables, so a member added later is compared too.
 */
#include "common/base.h"

#include <sys/stat.h>

#include "common/error.h"
#include "common/log.h"
#include "common/strmap.h"
#include "common/xalloc.h"
#include "state/backend.h"
#include "state/store.h"

#define MIGRATE_HOLDER "state migrate"

/* same_state: whether two handles are on one state. */
static int
same_state(struct store *a, struct store *b)
{
	struct stat sa, sb;
	const char *pa = store_location(a), *pb = store_location(b);

	if (store_is_url(pa) || store_is_url(pb))
		return strcmp(pa, pb) == 0;
	return stat(pa, &sa) == 0 && stat(pb, &sb) == 0 &&
	       sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* rows_differ: the first column (by index) where rows a and b differ,
 * or -1 when they are equal. */
static int
rows_differ(const struct store_row_kind *k, const void *a, const void *b)
{
	const struct store_col *c;
	const char *pa, *pb, *sa, *sb;
	size_t i;

	for (i = 0; i < k->n_cols; i++) {
		c = &k->cols[i];
		pa = (const char *)a + c->off;
		pb = (const char *)b + c->off;
		if (c->type == STORE_COL_STR) {
			sa = *(const char *const *)pa;
			sb = *(const char *const *)pb;
			if ((sa == NULL) != (sb == NULL) ||
			    (sa != NULL && strcmp(sa, sb) != 0))
				return (int)i;
		} else if (c->type == STORE_COL_CHARS) {
			if (strcmp(pa, pb) != 0)
				return (int)i;
		} else if (memcmp(pa, pb, c->size) != 0) {
			return (int)i;
		}
	}
	return -1;
}

/* list_differs: 0 when the lists match, else SF_EIO naming the first
 * difference. */
static int
list_differs(const char *what, const struct store_row_kind *k, const void *a,
             size_t na, const void *b, size_t nb)
{
	size_t i;
	int col;

	if (na != nb)
		return sf_error_set(SF_EIO,
		                    "the copy has %zu %s, the original %zu", nb,
		                    what, na);
	for (i = 0; i < na; i++) {
		col = rows_differ(k, (const char *)a + i * k->size,
		                  (const char *)b + i * k->size);
		if (col >= 0)
			return sf_error_set(SF_EIO,
			                    "%s number %zu differs from the "
			                    "original (member %d)",
			                    what, i + 1, col + 1);
	}
	return 0;
}

static int
dumps_differ(const struct store_dump *a, const struct store_dump *b)
{
	int rc;

	if ((rc = list_differs("records", &store_rows_record, a->records.v,
	                       a->records.n, b->records.v, b->records.n)) ||
	    (rc = list_differs("runs", &store_rows_run, a->runs.v, a->runs.n,
	                       b->runs.v, b->runs.n)) ||
	    (rc = list_differs("journal entries", &store_rows_journal,
	                       a->journal.v, a->journal.n, b->journal.v,
	                       b->journal.n)) ||
	    (rc = list_differs("drift observations", &store_rows_drift,
	                       a->drift.v, a->drift.n, b->drift.v, b->drift.n)))
		return rc;
	return 0;
}

/* lock_both: the stack's lock in both states (*nlocked: how many). */
static int
lock_both(struct store *from, struct store *to, const char *stack,
          struct store_lock_holder locks[2], int *nlocked)
{
	struct store *s[2] = { from, to };
	char *msg;
	int i, rc;

	for (i = 0; i < 2; i++) {
		rc = store_lock_acquire(s[i], stack, MIGRATE_HOLDER, 0,
		                        &locks[i]);
		if (rc == SF_ELOCKED) {
			msg = xstrdup(sf_error_last());
			rc = sf_error_set(
			        SF_ELOCKED,
			        "%s (in the %s %s): a locked stack is "
			        "not copied",
			        msg, i ? "target" : "source", store_path(s[i]));
			free(msg);
		}
		if (rc < 0)
			return rc;
		*nlocked = i + 1;
	}
	return 0;
}

/* target_ready: refuse a target holding the stack (unless replace), and
 * give it the source's key, or refuse when it cannot take it. */
static int
target_ready(struct store *from, struct store *to, const char *stack,
             int replace)
{
	struct strmap stacks = STRMAP_INIT;
	struct store_counts c;
	int rc;

	if ((rc = store_counts(to, stack, &c)) < 0)
		return rc;
	if (!replace && c.records + c.runs + c.journal + c.drift > 0)
		return sf_error_set(
		        SF_EEXISTS,
		        "%s already holds stack '%s' (%zu records, "
		        "%zu runs, %zu journal entries): nothing was "
		        "copied (--force replaces it)",
		        store_path(to), stack, c.records, c.runs, c.journal);
	if (memcmp(store_hmac_key(from), store_hmac_key(to),
	           STORE_HMAC_KEY_LEN) == 0)
		return 0;
	if ((rc = store_stacks(to, &stacks)) < 0)
		return rc;
	(void)strmap_del(&stacks, stack); /* replaced, or not there */
	if (stacks.n > 0) {
		rc = sf_error_set(
		        SF_ECONFLICT,
		        "%s has another secret-hashing key than the "
		        "source and holds other stacks ('%s'%s): the "
		        "hashes of one key do not compare under the "
		        "other, so nothing was copied; copy into a new "
		        "state (another file, or another PostgreSQL "
		        "schema with ?schema=NAME)",
		        store_path(to), stacks.v[0].key,
		        stacks.n > 1 ? ", ..." : "");
		strmap_clear(&stacks);
		return rc;
	}
	log_info("%s takes the source's secret-hashing key", store_path(to));
	return store_key_replace(to, store_hmac_key(from));
}

/* copy_settings: the source's settings that the target lacks. */
static int
copy_settings(struct store *from, struct store *to)
{
	struct strmap src = STRMAP_INIT;
	char *v = NULL;
	size_t i;
	int rc;

	if ((rc = store_meta_list(from, &src)) < 0)
		return rc;
	for (i = 0; i < src.n && rc == 0; i++) {
		if ((rc = store_meta_get(to, src.v[i].key, &v)) == 0 &&
		    v == NULL)
			rc = store_meta_set(to, src.v[i].key, src.v[i].value);
		free(v);
		v = NULL;
	}
	strmap_clear(&src);
	return rc;
}

int
store_migrate(struct store *from, struct store *to, const char *stack,
              int replace, struct store_counts *copied)
{
	struct store_lock_holder locks[2];
	struct store_dump src, back;
	struct store *s[2] = { from, to };
	int nlocked = 0, rc, i;
	size_t j;
	char *msg;

	memset(&src, 0, sizeof(src));
	memset(&back, 0, sizeof(back));
	if (stack == NULL || *stack == '\0')
		return sf_error_set(SF_EINVALID,
		                    "state: migrate needs a stack");
	if (same_state(from, to))
		return sf_error_set(SF_EINVALID,
		                    "%s is the state the stack is in: copy it "
		                    "to another",
		                    store_path(to));
	if ((rc = lock_both(from, to, stack, locks, &nlocked)) < 0 ||
	    (rc = target_ready(from, to, stack, replace)) < 0 ||
	    (rc = store_dump(from, stack, &src)) < 0 ||
	    (rc = store_load(to, stack, &src, replace)) < 0 ||
	    (rc = copy_settings(from, to)) < 0 ||
	    (rc = store_dump(to, stack, &back)) < 0)
		goto out;
	if ((rc = dumps_differ(&src, &back)) < 0) {
		msg = xstrdup(sf_error_last());
		rc = sf_error_set(
		        SF_EIO,
		        "%s: the copy of stack '%s' does not read back "
		        "as the original: %s (the source is unchanged)",
		        store_path(to), stack, msg);
		free(msg);
		goto out;
	}
	if (copied != NULL) {
		memset(copied, 0, sizeof(*copied));
		copied->records = src.records.n;
		copied->runs = src.runs.n;
		copied->journal = src.journal.n;
		for (j = 0; j < src.journal.n; j++)
			copied->journal_open +=
			        src.journal.v[j].state == STORE_JOURNAL_INTENT;
		copied->drift = src.drift.n;
	}
out:
	for (i = nlocked - 1; i >= 0; i--)
		if (store_lock_release(s[i], locks[i].id) < 0)
			log_warn("%s", sf_error_last());
	store_dump_free(&src);
	store_dump_free(&back);
	return rc;
}
