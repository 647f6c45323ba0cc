/*
 * create: the POST /sandbox body of a desired sandbox (struct dt_create of
 * daytona/client.h, built from a struct spec of manifests/spec.h).
 *
 * Secret env values are resolved here, live only in the body's env map
 * while the call is made, and are wiped by create_body_clear().
 *
 * Ownership: the body borrows strings of the spec and of labels, which must
 * outlive it; create_body_clear() frees what the body owns (its maps and
 * volume array) and wipes the resolved values.
 */
#ifndef SF_RECONCILER_CREATE_H
#define SF_RECONCILER_CREATE_H

#include "common/strmap.h"
#include "daytona/client.h"
#include "manifests/secret.h"
#include "manifests/spec.h"

struct create_body {
	struct dt_create req;
	struct strmap env;
	struct strmap labels;
	struct dt_volume *volumes;
};

/*
 * create_body_build: out (cleared first) from s, with labels as the
 * sandbox's labels (normally labels_merge() with no live map), resolving
 * secret env values with resolve (NULL: secret_resolve). Returns 0, or the
 * resolver's error (nothing to clear then).
 */
/*
 * create_setting: the API setting (daytona/client.h dt_settings[]) a spec
 * field is — public and the intervals, the fields the table marks
 * SPEC_CHANGE_UPDATE whose key is a setting's key — or NULL.
 */
const struct dt_setting_info *create_setting(enum spec_field f);
/* create_settings: create_setting() of every field, indexed by field (the
 * whole table at once, for a loop over the fields of many specs). */
const struct dt_setting_info *const *create_settings(void);
/* create_setting_value: the declared value of such a field in s (a
 * boolean as 0/1); 0 when not declared. */
int create_setting_value(const struct spec *s, enum spec_field f, int *value);

int create_body_build(const struct spec *s, const struct strmap *labels,
                      secret_fn resolve, void *arg, struct create_body *out);
void create_body_clear(struct create_body *c);

#endif
