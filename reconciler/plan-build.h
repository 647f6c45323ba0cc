/*
 * plan-build: what plan.c (the plan model, plan_build and the actions for
 * whole sandboxes) and plan-diff.c (the diff of one existing sandbox)
 * share. Private to the reconciler's plan.
 */
#ifndef SF_RECONCILER_PLAN_BUILD_H
#define SF_RECONCILER_PLAN_BUILD_H

#include "common/nameix.h"
#include "reconciler/plan.h"

struct builder {
	const struct plan_input *in;
	struct plan *p;
	int max_archive;
	/* the observations as listed (not sorted: a sort of 100,000 names
	 * was 1.5% of a big plan; what is deleted is sorted instead) */
	struct dt_sandbox *const *obs;
	const struct dt_sandbox **foreign; /* by name */
	struct nameix foreign_ix;
	/* the indexes by name (the first of a name met twice), made when a
	 * lookup first needs one: with the refresh's joins (plan_input), a
	 * plan of an unchanged stack needs none */
	struct plan_ix *ix;
	/* with the joins: each observation's record (-1: none) and whether
	 * a spec names it (the first listed of a name only) */
	int32_t *obs_rec;
	unsigned char *obs_spec;
	size_t nfound_ours; /* stack sandboxes that are ours */
	size_t alloc_actions;
};

void add_error(struct builder *b, const char *name, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
struct plan_action *new_action(struct builder *b, const char *name,
                               enum plan_kind kind);
/* set_desired: a->desired is s, copied, or borrowed when the input says
 * so (plan_input.specs_refs). */
void set_desired(struct builder *b, struct plan_action *a,
                 const struct spec *s);
/* drop_last_action: forget the action new_action() just made. */
void drop_last_action(struct builder *b);
struct plan_reason *add_reason(struct plan_action *a, enum plan_category cat,
                               enum plan_origin origin, const char *field,
                               const char *old, const char *new_, int forces);
/* add_reason_word: add_reason (forces 0) for values many actions repeat
 * (a snapshot, a state): shared copies when they fit (common/intern.h). */
struct plan_reason *add_reason_word(struct plan_action *a,
                                    enum plan_category cat,
                                    enum plan_origin origin,
                                    const char *field, const char *old,
                                    const char *new_);
/* reason_clear: free r's strings (any of them may be a shared copy). */
void reason_clear(struct plan_reason *r);
struct plan_reason *add_reason_num(struct plan_action *a,
                                   enum plan_category cat,
                                   enum plan_origin origin, const char *field,
                                   long long old, long long new_);
struct plan_step *add_step(struct plan_action *a, enum plan_step_kind kind);
/* step_clear: free what a step holds (its labels and network). */
void step_clear(struct plan_step *st);
/* action_clear: free what an action holds and zero it. */
void action_clear(struct plan_action *a);
char *source_of(const struct spec *s);
/* create_steps: create, wait, then the declared state; the owned labels. */
void create_steps(struct builder *b, struct plan_action *a,
                  const struct spec *s);
/* lifecycle_steps: the steps that move a sandbox in state cur to final;
 * returns the new cur. */
enum dt_state lifecycle_steps(struct plan_action *a, enum dt_state cur,
                              enum dt_state final);
enum dt_state spec_final(const struct spec *s, enum dt_state orig);
/* prevent_destroy_of: whether lifecycle.preventDestroy protects it. */
int prevent_destroy_of(const struct spec *s, const struct dt_sandbox *o,
                       const struct plan_record *r);
const char *nz(const char *s);

/* plan-diff.c: the action for an existing sandbox of the stack. */
void diff_existing(struct builder *b, const struct spec *s,
                   const struct dt_sandbox *o, const struct plan_record *r);

/* plan-res.c: the declared volumes and snapshots (plan.h):
 * plan_resources_declared() (creates and replaces of the declared ones)
 * runs before the sandboxes are planned, so that a sandbox of the stack
 * built from a snapshot being replaced is replaced with it;
 * plan_resources() (deletes, and the references of the sandboxes to
 * create) after them. */
void plan_resources_declared(struct builder *b);
void plan_resources(struct builder *b);
void plan_resources_destroy(struct builder *b, const char *const *force,
                            size_t nforce);
int plan_res_changes(const struct plan *p);
/* plan_res_target_known: t is "<volume>NAME" or "<snapshot>NAME" of one
 * declared (with_specs) or recorded: a --target that names something. */
int plan_res_target_known(const struct plan_input *in, const char *t,
                          int with_specs);
/* plan_res_found: the stack's volumes and snapshots (records) found live:
 * what the mass-delete guard counts beside the sandboxes. */
size_t plan_res_found(const struct plan_input *in);
/* plan_res_recorded: a volume or snapshot of that name is the stack's. */
int plan_res_recorded(const struct plan_input *in, const char *name);
void plan_res_to_json(const struct plan *p, cJSON *root);
int plan_res_from_json(const cJSON *root, struct plan *p);
void plan_res_print(FILE *fp, const struct plan *p, int color);

#endif
