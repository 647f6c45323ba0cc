/*
 * planout: printing plans and saved plan files.
 *
 * plan_to_json, plan_from_json and plan_print_human (declared in plan.h)
 * live in planout.c beside the file functions below. A saved plan is the
 * JSON document of docs/plan-format.md, written atomically with mode 0600.
 *
 * Ownership: planout_load returns a plan the caller frees with plan_free.
 */
#ifndef SF_RECONCILER_PLANOUT_H
#define SF_RECONCILER_PLANOUT_H

#include <stdio.h>

#include "reconciler/plan.h"

#define PLANOUT_FILE_MODE 0600

/*
 * planout_save: write the plan's JSON document to path atomically, sealed
 * with an "integrity" MAC under key (the state's HMAC key), so that only
 * the state that made it accepts it (reconcile_check_saved).
 */
int planout_save(const struct plan *p, const char *path,
                 const unsigned char *key, size_t keylen);
/* planout_load: read a saved plan (SF_EINVALID for a wrong version); its
 * seal goes to p->seal_mac (NULL when it has none) and p->seal_digest. */
int planout_load(const char *path, struct plan **out);
/* planout_seal_mac: the MAC of a seal: HMAC-SHA-256 under key of the
 * document's digest, in hex. */
void planout_seal_mac(const unsigned char *key, size_t keylen,
                      const char *digest, char out[65]);
/* planout_summary: "Plan failed: N errors ..." when the plan has errors
 * (it is never applied then), else "Plan: N to create, ..." or "No
 * changes." (caller frees). */
char *planout_summary(const struct plan *p);

#endif
