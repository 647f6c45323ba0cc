/*
 * plan-ignore: the ignore rules of plan.h (--ignore, the stack file's
 * ignore:) applied to a built plan. A rule drops the reasons it matches;
 * the steps that only corrected those go with them, so that what is not
 * reported is not put back either: a step belongs to the category of the
 * reasons it corrects (labels, resources, settings, network, state), and
 * within a category that keeps other reasons, an ignored label keeps its
 * live value, an ignored resource is left out of the resize and an ignored
 * setting's step is dropped.
 */
#include "common/base.h"

#include <stdlib.h>
#include <string.h>

#include "manifests/stack.h"
#include "reconciler/plan-build.h"
#include "reconciler/plan.h"

/* rule_matches: whether rule covers reason r. */
static int
rule_matches(const char *rule, const struct plan_reason *r)
{
	enum plan_category c;
	size_t n = strlen(rule);

	if (plan_category_parse(rule, &c) == 0) {
		if (c != r->category)
			return 0;
		/* a new sandbox is never "missing" drift */
		return c != PLAN_CAT_MISSING ||
		       r->origin == PLAN_ORIGIN_OUT_OF_BAND;
	}
	if (r->field == NULL || r->category == PLAN_CAT_MISSING ||
	    r->category == PLAN_CAT_REMOVED)
		return 0;
	if (n > 2 && strcmp(rule + n - 2, ".*") == 0)
		return strncmp(r->field, rule, n - 1) == 0;
	return strcmp(r->field, rule) == 0;
}

static int
ignored(const char *const *rules, size_t nrules, const struct plan_reason *r)
{
	size_t i;

	for (i = 0; i < nrules; i++)
		if (rule_matches(rules[i], r))
			return 1;
	return 0;
}

/* step_category: the category of the reasons a step corrects, or -1 for
 * the steps of a whole sandbox (create, delete, waits). */
static int
step_category(enum plan_step_kind k)
{
	switch (k) {
	case STEP_SET_LABELS:
		return PLAN_CAT_LABELS;
	case STEP_RESIZE:
		return PLAN_CAT_RESOURCES;
	case STEP_SET_SETTING:
	case STEP_SET_TTL:
	case STEP_SET_SECRETS:
		return PLAN_CAT_SETTINGS;
	case STEP_SET_NETWORK:
		return PLAN_CAT_NETWORK;
	case STEP_PAUSE:
	case STEP_START:
	case STEP_STOP:
	case STEP_ARCHIVE:
	case STEP_RECOVER:
		return PLAN_CAT_STATE;
	default:
		return -1;
	}
}

/* keep_live: the step no longer corrects the ignored reason r. */
static void
keep_live(struct plan_step *st, const struct plan_reason *r)
{
	if (st->kind == STEP_SET_LABELS &&
	    strncmp(r->field, "labels.", 7) == 0) {
		if (r->old != NULL)
			strmap_set(&st->labels, r->field + 7, r->old);
		else
			strmap_del(&st->labels, r->field + 7);
	} else if (st->kind == STEP_RESIZE) {
		if (strcmp(r->field, "spec.resources.cpu") == 0)
			st->has_cpu = 0;
		else if (strcmp(r->field, "spec.resources.memory") == 0)
			st->has_memory = 0;
		else if (strcmp(r->field, "spec.resources.disk") == 0)
			st->has_disk = 0;
	}
}

/* step_needed: whether step st still corrects a kept reason. */
static int
step_needed(const struct plan_action *a, const struct plan_step *st,
            const int *left)
{
	int cat = step_category(st->kind);
	size_t i;

	if (cat < 0)
		return 1;
	/* a resize's stop and start go with the resize */
	if (cat == PLAN_CAT_STATE)
		return left[PLAN_CAT_STATE] || left[PLAN_CAT_RESOURCES];
	if (!left[cat])
		return 0;
	if (st->kind == STEP_RESIZE)
		return st->has_cpu || st->has_memory || st->has_disk;
	if (st->kind == STEP_SET_SECRETS) {
		for (i = 0; i < a->nreasons; i++)
			if (strncmp(a->reasons[i].field, "spec.secrets", 12) ==
			    0)
				return 1;
		return 0;
	}
	if ((st->kind != STEP_SET_SETTING && st->kind != STEP_SET_TTL) ||
	    st->field == NULL)
		return 1;
	for (i = 0; i < a->nreasons; i++)
		if (a->reasons[i].field &&
		    strcmp(a->reasons[i].field, st->field) == 0)
			return 1;
	return 0;
}

/* prune_steps: drop the steps that correct nothing kept. */
static void
prune_steps(struct plan_action *a, const int *left)
{
	size_t i, o = 0;

	for (i = 0; i < a->nsteps; i++) {
		if (step_needed(a, &a->steps[i], left)) {
			a->steps[o++] = a->steps[i];
		} else {
			step_clear(&a->steps[i]);
		}
	}
	for (i = o; i < a->nsteps; i++)
		memset(&a->steps[i], 0, sizeof(a->steps[i]));
	a->nsteps = o;
}

/* ignore_in: apply the rules to one action; 1 when it is left with
 * nothing to do. *dropped counts the reasons dropped. */
static int
ignore_in(struct plan_action *a, const char *const *rules, size_t nrules,
          size_t *dropped)
{
	int left[PLAN_CAT_COUNT] = { 0 }, forced = 0, any = 0;
	size_t i, j, o = 0;

	for (i = 0; i < a->nreasons; i++) {
		struct plan_reason *r = &a->reasons[i];

		if (!ignored(rules, nrules, r)) {
			left[r->category]++;
			forced |= r->forces_replace;
			a->reasons[o++] = *r;
			continue;
		}
		(*dropped)++;
		any = 1;
		for (j = 0; j < a->nsteps; j++)
			keep_live(&a->steps[j], r);
		reason_clear(r);
	}
	a->nreasons = o;
	if (!any)
		return 0;
	if (o == 0 || (a->kind == PLAN_REPLACE && !forced))
		return 1;
	prune_steps(a, left);
	return a->nsteps == 0;
}

size_t
plan_ignore(struct plan *p, const char *const *rules, size_t nrules)
{
	size_t i, o = 0, dropped = 0;

	if (nrules == 0)
		return 0;
	for (i = 0; i < p->nactions; i++) {
		if (ignore_in(&p->actions[i], rules, nrules, &dropped))
			action_clear(&p->actions[i]);
		else
			p->actions[o++] = p->actions[i];
	}
	p->nactions = o;
	plan_summarize(p);
	return dropped;
}
