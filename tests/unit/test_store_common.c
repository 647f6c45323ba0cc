/*
 * Helpers of the store's unit tests; see test_store.h.
 */
#include "common/base.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/xalloc.h"
#include "state/store.h"
#include "tests/unit/test_store.h"

static int
rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	/* a test may leave a directory it made unwritable */
	if (flag == FTW_DP)
		(void)chmod(p, 0700);
	return remove(p);
}

struct tctx *
tctx_new(void)
{
	struct tctx *t = xcalloc(1, sizeof(*t));
	const char *tmp = getenv("TMPDIR");

	snprintf(t->dir, sizeof(t->dir), "%s/sf-store-XXXXXX",
	         tmp && strlen(tmp) < 40 ? tmp : "/tmp");
	assert_non_null(mkdtemp(t->dir));
	return t;
}

void
tctx_free(struct tctx *t)
{
	if (t == NULL)
		return;
	nftw(t->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(t->path);
	free(t);
}

struct store *
open_ok(const char *path)
{
	struct store *s = NULL;
	int rc = store_open(path, &s);

	if (rc != 0)
		fail_msg("store_open: %s", sf_error_last());
	return s;
}

struct store_record
rec(const char *stack, const char *name, const char *id)
{
	struct store_record r;

	memset(&r, 0, sizeof(r));
	r.stack = stack;
	r.name = name;
	r.sandbox_id = id;
	return r;
}

int64_t
begin_run(struct store *s, const char *command)
{
	struct store_run run;
	int64_t id = 0;

	memset(&run, 0, sizeof(run));
	run.command = command;
	run.stack = "default";
	assert_int_equal(store_run_begin(s, &run, &id), 0);
	return id;
}

int
file_has(const char *path, const char *needle)
{
	FILE *fp = fopen(path, "rb");
	size_t n = strlen(needle), len = 0, cap = 0;
	char *data = NULL, chunk[4096];
	size_t got;
	int found = 0;

	if (fp == NULL)
		return 0;
	while ((got = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
		if (len + got > cap) {
			cap = (len + got) * 2;
			data = xrealloc(data, cap);
		}
		memcpy(data + len, chunk, got);
		len += got;
	}
	fclose(fp);
	for (got = 0; got + n <= len && !found; got++)
		found = memcmp(data + got, needle, n) == 0;
	free(data);
	return found;
}
