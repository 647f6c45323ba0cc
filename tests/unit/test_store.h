/*
 * test_store: helpers shared by the store's unit tests, the contract suite
 * every backend passes (test_store_contract.c) and the SQLite-only tests
 * (test_store_sqlite.c). Each test gets a fresh temporary directory.
 */
#ifndef SF_TESTS_UNIT_TEST_STORE_H
#define SF_TESTS_UNIT_TEST_STORE_H

#include <stdint.h>

#include "state/store.h"

struct tctx {
	char dir[64]; /* a new temporary directory, removed by tctx_free() */
	char *path;   /* the state's location, set by the suite */
};

/* tctx_new: a context with a new temporary directory (path NULL). */
struct tctx *tctx_new(void);
/* tctx_free: remove the directory and everything in it; free t. */
void tctx_free(struct tctx *t);

/* open_ok: store_open() that fails the test with the message. */
struct store *open_ok(const char *path);
/* rec: a record with only stack, name and sandbox id set. */
struct store_record rec(const char *stack, const char *name, const char *id);
/* begin_run: record a run of command in stack "default"; its id. */
int64_t begin_run(struct store *s, const char *command);
/* file_has: whether the bytes of the file at path contain needle. */
int file_has(const char *path, const char *needle);

#endif
