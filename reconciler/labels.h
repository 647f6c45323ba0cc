/*
 * labels: the labels sandform sets on the sandboxes it owns, and the
 * three-way label merge (DESIGN.md §4).
 *
 * Ownership: every function writes into an out map the caller owns and
 * releases with strmap_clear(); out must be empty on entry.
 */
#ifndef SF_RECONCILER_LABELS_H
#define SF_RECONCILER_LABELS_H

#include "common/strmap.h"
#include "manifests/spec.h"

/* Labels sandform sets on every sandbox it creates. */
#define LABEL_STACK "sandform.dev/stack"
#define LABEL_SPEC  "sandform.dev/spec"
/* Set (to "true") while lifecycle.preventDestroy is, so the guard holds
 * even after the manifest is removed and the state is lost. */
#define LABEL_PREVENT_DESTROY "sandform.dev/prevent-destroy"
/* A JSON array of the label keys the manifest declares, so the three-way
 * merge knows what sandform set even after the state is lost. Set only
 * when the manifest declares labels. */
#define LABEL_OWNED "sandform.dev/labels"
/* Prefix of every label sandform owns by itself. */
#define LABEL_PREFIX SPEC_RESERVED_LABEL_PREFIX

/*
 * labels_owned: the labels sandform owns on a sandbox built from s: the
 * declared ones plus its sandform.dev/ labels (stack, spec, and when they
 * apply labels and prevent-destroy). The state records them so the next
 * merge knows what to remove.
 */
void labels_owned(const struct spec *s, const char *stack, struct strmap *out);

/*
 * labels_merge: the three-way merge. Starting from the live labels: keys
 * sandform owned before (prev_owned, and the keys listed in the live
 * LABEL_OWNED) and no longer declared are removed, declared keys are set,
 * everyone else's keys are kept; sandform's own namespace becomes exactly
 * labels_owned(). live or prev_owned may be NULL.
 */
void labels_merge(const struct spec *s, const char *stack,
                  const struct strmap *live, const struct strmap *prev_owned,
                  struct strmap *out);
/* labels_merge_is_live: 1 when labels_merge() would give exactly *live
 * (the common case, told without building the merge), else 0; 0 may also
 * mean only that the live key list must be parsed to tell. */
int labels_merge_is_live(const struct spec *s, const char *stack,
                         const struct strmap *live,
                         const struct strmap *prev_owned);

#endif
