/*
 * plan-res: the plan of declared volumes and snapshots (plan.h "Declared
 * volumes and snapshots"): create what is missing, replace a snapshot
 * whose create-only fields changed (or that failed to build), delete what
 * the stack created and no longer declares, keep (never delete) one still
 * used by a sandbox outside the stack or still referenced by a sandbox of
 * the stack; a sandbox that references a volume or snapshot that neither
 * exists nor is declared is a plan error naming its manifest location.
 * Also their JSON and human forms (for planout.c).
 */
#include "common/base.h"

#include "common/buf.h"
#include "common/error.h"
#include "common/jsonutil.h"
#include "common/xalloc.h"
#include "reconciler/plan-build.h"

static const char *const op_names[PLAN_RES_OP_COUNT] = { "create", "replace",
	                                                 "delete", "keep" };

const char *
plan_res_op_name(enum plan_res_op op)
{
	return (unsigned)op < PLAN_RES_OP_COUNT ? op_names[op] : "?";
}

int
plan_res_op_parse(const char *s, enum plan_res_op *out)
{
	int i;

	for (i = 0; s && i < PLAN_RES_OP_COUNT; i++)
		if (strcmp(s, op_names[i]) == 0) {
			*out = (enum plan_res_op)i;
			return 0;
		}
	return -1;
}

void
plan_res_record_clear(struct plan_res_record *r)
{
	free(r->name);
	free(r->id);
	if (r->applied) {
		res_clear(r->applied);
		free(r->applied);
	}
	memset(r, 0, sizeof(*r));
}

void
plan_resource_clear(struct plan_resource *r)
{
	free(r->name);
	free(r->id);
	free(r->source);
	free(r->reason);
	if (r->desired) {
		res_clear(r->desired);
		free(r->desired);
	}
	memset(r, 0, sizeof(*r));
}

static const struct plan_res_live *
find_live(const struct plan_input *in, enum res_kind k, const char *key)
{
	size_t i;

	for (i = 0; i < in->nres_live; i++) {
		const struct plan_res_live *l = &in->res_live[i];

		if (l->kind == k && ((l->name && !strcmp(l->name, key)) ||
		                     (l->id && !strcmp(l->id, key))))
			return l;
	}
	return NULL;
}

static const struct plan_res_record *
find_record(const struct plan_input *in, enum res_kind k, const char *name)
{
	size_t i;

	for (i = 0; i < in->nres_records; i++)
		if (in->res_records[i].kind == k &&
		    !strcmp(in->res_records[i].name, name))
			return &in->res_records[i];
	return NULL;
}

static const struct res_spec *
find_desired(const struct plan_input *in, enum res_kind k, const char *name)
{
	size_t i;

	for (i = 0; i < in->nresources; i++)
		if (in->resources[i].kind == k &&
		    !strcmp(in->resources[i].name, name))
			return &in->resources[i];
	return NULL;
}

static struct plan_resource *
new_res(struct builder *b, enum res_kind k, const char *name,
        enum plan_res_op op)
{
	struct plan *p = b->p;
	struct plan_resource *r;

	p->resources = xreallocarray(p->resources, p->nresources + 1,
	                             sizeof(*p->resources));
	r = &p->resources[p->nresources++];
	memset(r, 0, sizeof(*r));
	r->kind = k;
	r->name = xstrdup(name);
	r->op = op;
	return r;
}

static struct res_spec *
res_dup(const struct res_spec *s)
{
	struct res_spec *d = xcalloc(1, sizeof(*d));

	res_copy(d, s);
	return d;
}

/* the sandboxes of the desired set that reference k name, comma-joined
 * (caller frees), or NULL */
static char *
stack_users(const struct plan_input *in, enum res_kind k, const char *name,
            const char *id)
{
	struct buf b = BUF_INIT;
	size_t i, j;

	for (i = 0; i < in->nspecs; i++) {
		const struct spec *s = &in->specs[i];
		int uses = 0;

		if (k == RES_SNAPSHOT)
			uses = s->snapshot &&
			       (!strcmp(s->snapshot, name) ||
			        (id && !strcmp(s->snapshot, id)));
		for (j = 0; k == RES_VOLUME && j < s->nvolumes; j++)
			uses |= !strcmp(s->volumes[j].volume, name) ||
			        (id && !strcmp(s->volumes[j].volume, id));
		if (uses)
			buf_addf(&b, "%s%s", buf_cstr(&b)[0] ? "," : "",
			         s->name);
	}
	if (buf_cstr(&b)[0] == '\0') {
		buf_free(&b);
		return NULL;
	}
	return buf_detach(&b, NULL);
}

static void
diff_str(struct buf *b, const char *field, const char *a, const char *c)
{
	if ((a == NULL) != (c == NULL) || (a && strcmp(a, c) != 0))
		buf_addf(b, "%s%s: %s -> %s", buf_cstr(b)[0] ? "; " : "", field,
		         a ? a : "(none)", c ? c : "(none)");
}

static void
diff_int(struct buf *b, const char *field, int a, int c)
{
	if (a != c)
		buf_addf(b, "%s%s: %d -> %d", buf_cstr(b)[0] ? "; " : "", field,
		         a, c);
}

/* spec_change: what changed in a snapshot's create-only fields since it
 * was applied (caller frees), or NULL when nothing did. */
static char *
spec_change(const struct res_spec *old, const struct res_spec *s)
{
	struct buf b = BUF_INIT;

	diff_str(&b, "spec.image", old->image, s->image);
	if ((old->dockerfile == NULL) != (s->dockerfile == NULL) ||
	    (old->dockerfile && strcmp(old->dockerfile, s->dockerfile)))
		buf_addf(&b, "%sspec.build.dockerfile: changed",
		         buf_cstr(&b)[0] ? "; " : "");
	diff_int(&b, "spec.resources.cpu", old->cpu, s->cpu);
	diff_int(&b, "spec.resources.memory", old->memory, s->memory);
	diff_int(&b, "spec.resources.disk", old->disk, s->disk);
	diff_int(&b, "spec.resources.gpu", old->gpu, s->gpu);
	diff_str(&b, "spec.region", old->region, s->region);
	diff_str(&b, "spec.sandboxClass", old->sandbox_class, s->sandbox_class);
	if (buf_cstr(&b)[0] == '\0') {
		buf_free(&b);
		return NULL;
	}
	return buf_detach(&b, NULL);
}

static int
failed_state(const struct plan_res_live *l)
{
	return l->state && (!strcmp(l->state, "error") ||
	                    !strcmp(l->state, "build_failed"));
}

static void
plan_declared(struct builder *b, const struct res_spec *s)
{
	const struct plan_input *in = b->in;
	const struct plan_res_live *l = find_live(in, s->kind, s->name);
	const struct plan_res_record *rec = find_record(in, s->kind, s->name);
	const char *word = res_kind_word(s->kind);
	struct plan_resource *r;
	char *why = NULL;

	if (l == NULL) {
		if (!in->res_known && rec != NULL)
			return; /* planned from the records alone */
		r = new_res(b, s->kind, s->name, PLAN_RES_CREATE);
		r->source = res_source(s);
		/* the stack made it and it is gone: drift (cmd-drift.c) */
		r->reason = xstrdup(rec && rec->id ? PLAN_RES_DELETED_OUTSIDE
		                                   : "missing");
		r->desired = res_dup(s);
		return;
	}
	if (rec == NULL)
		return; /* exists and is not the stack's: used as it is */
	if (s->kind == RES_SNAPSHOT && l->state &&
	    !strcmp(l->state, "inactive")) {
		/* nothing to create it from it until activated: said, and
		 * reported by drift, but not a change */
		r = new_res(b, s->kind, s->name, PLAN_RES_KEEP);
		r->id = xstrdup_or_null(l->id);
		r->source = res_source(s);
		r->reason = xstrdup("state inactive: no sandbox can be "
		                    "created from it until it is activated");
		return;
	}
	if (s->kind == RES_SNAPSHOT && failed_state(l))
		why = xasprintf("state %s: %s", l->state,
		                l->error_reason ? l->error_reason
		                                : "(no reason)");
	else if (s->kind == RES_SNAPSHOT && rec->applied)
		why = spec_change(rec->applied, s);
	if (why == NULL)
		return;
	if (s->prevent_destroy) {
		add_error(b, s->name,
		          "refusing to replace %s '%s' (%s): "
		          "lifecycle.preventDestroy is set",
		          word, s->name, why);
		free(why);
		return;
	}
	if (l->used_outside) {
		add_error(b, s->name,
		          "cannot replace %s '%s' (%s): in use by sandbox %s "
		          "outside the stack",
		          word, s->name, why, l->used_outside);
		free(why);
		return;
	}
	r = new_res(b, s->kind, s->name, PLAN_RES_REPLACE);
	r->id = xstrdup_or_null(l->id);
	r->source = res_source(s);
	r->reason = why;
	r->desired = res_dup(s);
}

/* plan_gone: a record of the stack no longer declared: delete or keep. */
static void
plan_gone(struct builder *b, const struct plan_res_record *rec, int destroy,
          const char *const *force, size_t nforce)
{
	const struct plan_input *in = b->in;
	const struct plan_res_live *l = find_live(in, rec->kind, rec->name);
	const char *word = res_kind_word(rec->kind);
	struct plan_resource *r;
	char *users;
	size_t i;
	int forced = 0;

	if (l == NULL)
		return; /* already gone (the record is forgotten by apply) */
	if (l->used_outside) {
		r = new_res(b, rec->kind, rec->name, PLAN_RES_KEEP);
		r->id = xstrdup_or_null(l->id);
		r->source =
		        xstrdup(destroy ? "destroy" : "removed from manifests");
		r->reason = xasprintf("in use by sandbox %s outside the "
		                      "stack; not deleted",
		                      l->used_outside);
		return;
	}
	if (!destroy &&
	    (users = stack_users(in, rec->kind, rec->name, l->id)) != NULL) {
		r = new_res(b, rec->kind, rec->name, PLAN_RES_KEEP);
		r->id = xstrdup_or_null(l->id);
		r->source = xstrdup("removed from manifests");
		r->reason = xasprintf("still referenced by sandbox %s of the "
		                      "stack; not deleted",
		                      users);
		free(users);
		return;
	}
	for (i = 0; i < nforce; i++)
		forced |= !strcmp(force[i], rec->name);
	if (rec->applied && rec->applied->prevent_destroy && !forced) {
		add_error(b, rec->name,
		          "refusing to %s %s '%s': lifecycle.preventDestroy "
		          "is set%s",
		          destroy ? "destroy" : "delete", word, rec->name,
		          destroy ? " (name it with --force-destroy)" : "");
		return;
	}
	r = new_res(b, rec->kind, rec->name, PLAN_RES_DELETE);
	r->id = xstrdup_or_null(l->id);
	r->source = xstrdup(destroy ? "destroy" : "removed from manifests");
	r->reason = xstrdup(destroy ? "destroy" : "no longer declared");
}

/* check_refs: the volumes and snapshots a sandbox to create (or replace)
 * needs exist or are declared (a running sandbox needs neither to be
 * looked up again). */
static void
check_refs(struct builder *b)
{
	const struct plan_input *in = b->in;
	const struct plan *p = b->p;
	size_t i, j;

	if (!in->res_refs_checked)
		return;
	for (i = 0; i < in->nspecs; i++) {
		const struct spec *s = &in->specs[i];
		struct spec_pos snap, vols;
		int creates = 0;

		for (j = 0; j < p->nactions; j++)
			if (!strcmp(p->actions[j].name, s->name))
				creates = p->actions[j].kind == PLAN_CREATE ||
				          p->actions[j].kind == PLAN_REPLACE;
		if (!creates)
			continue;
		snap = spec_pos_get(s, SPEC_F_SNAPSHOT);
		vols = spec_pos_get(s, SPEC_F_VOLUMES);
		if (s->snapshot &&
		    !find_desired(in, RES_SNAPSHOT, s->snapshot) &&
		    !find_live(in, RES_SNAPSHOT, s->snapshot))
			add_error(b, s->name,
			          "%s:%u:%u: spec.snapshot: snapshot '%s' "
			          "neither exists in Daytona nor is declared "
			          "(expected a kind: Snapshot of that name, "
			          "or an existing snapshot)",
			          s->file ? s->file : "-", snap.line, snap.col,
			          s->snapshot);
		for (j = 0; j < s->nvolumes; j++) {
			const char *v = s->volumes[j].volume;

			if (find_desired(in, RES_VOLUME, v) ||
			    find_live(in, RES_VOLUME, v))
				continue;
			add_error(b, s->name,
			          "%s:%u:%u: spec.volumes[%zu].volume: volume "
			          "'%s' neither exists in Daytona nor is "
			          "declared (expected a kind: Volume of that "
			          "name, or an existing volume)",
			          s->file ? s->file : "-", vols.line, vols.col,
			          j, v);
		}
	}
}

static int
cmp_res(const void *x, const void *y)
{
	const struct plan_resource *a = x, *b = y;

	if (a->kind != b->kind)
		return (int)a->kind - (int)b->kind;
	return strcmp(a->name, b->name);
}

/* res_targeted: --target names it ("<volume>NAME"; none: all). */
static int
res_targeted(const struct builder *b, enum res_kind k, const char *name)
{
	char *key;
	int hit;

	if (b->p->targets.n == 0)
		return 1;
	key = res_key(k, name);
	hit = strmap_get(&b->p->targets, key) != NULL;
	free(key);
	return hit;
}

/* needed_by_target: a targeted sandbox references it (Terraform's
 * -target brings along what a target depends on). */
static int
needed_by_target(const struct builder *b, enum res_kind k, const char *name)
{
	const struct plan_input *in = b->in;
	size_t i, j;

	for (i = 0; i < in->nspecs; i++) {
		const struct spec *s = &in->specs[i];

		if (!strmap_get(&b->p->targets, s->name))
			continue;
		if (k == RES_SNAPSHOT && s->snapshot &&
		    !strcmp(s->snapshot, name))
			return 1;
		for (j = 0; k == RES_VOLUME && j < s->nvolumes; j++)
			if (!strcmp(s->volumes[j].volume, name))
				return 1;
	}
	return 0;
}

void
plan_resources_declared(struct builder *b)
{
	const struct plan_input *in = b->in;
	size_t i;

	for (i = 0; i < in->nresources; i++) {
		const struct res_spec *s = &in->resources[i];

		if (res_targeted(b, s->kind, s->name) ||
		    needed_by_target(b, s->kind, s->name))
			plan_declared(b, s);
	}
}

const struct plan_resource *
plan_res_replacing(const struct plan *p, enum res_kind k, const char *key)
{
	size_t i;

	for (i = 0; p && key && i < p->nresources; i++) {
		const struct plan_resource *r = &p->resources[i];

		if (r->kind == k && r->op == PLAN_RES_REPLACE &&
		    (!strcmp(r->name, key) || (r->id && !strcmp(r->id, key))))
			return r;
	}
	return NULL;
}

void
plan_resources(struct builder *b)
{
	const struct plan_input *in = b->in;
	size_t i;

	for (i = 0; i < in->nres_records; i++) {
		const struct plan_res_record *rec = &in->res_records[i];

		/* --target deletes only one it names */
		if (find_desired(in, rec->kind, rec->name) || in->no_prune ||
		    !res_targeted(b, rec->kind, rec->name))
			continue;
		plan_gone(b, rec, 0, NULL, 0);
	}
	check_refs(b);
	if (b->p->nresources > 1)
		qsort(b->p->resources, b->p->nresources,
		      sizeof(*b->p->resources), cmp_res);
}

void
plan_resources_destroy(struct builder *b, const char *const *force,
                       size_t nforce)
{
	const struct plan_input *in = b->in;
	size_t i;

	for (i = 0; i < in->nres_records; i++)
		if (res_targeted(b, in->res_records[i].kind,
		                 in->res_records[i].name))
			plan_gone(b, &in->res_records[i], 1, force, nforce);
	if (b->p->nresources > 1)
		qsort(b->p->resources, b->p->nresources,
		      sizeof(*b->p->resources), cmp_res);
}

int
plan_res_recorded(const struct plan_input *in, const char *name)
{
	size_t i;

	for (i = 0; i < in->nres_records; i++)
		if (!strcmp(in->res_records[i].name, name))
			return 1;
	return 0;
}

int
plan_res_target_known(const struct plan_input *in, const char *t,
                      int with_specs)
{
	enum res_kind k;
	const char *name;

	if (res_key_parse(t, &k, &name) < 0)
		return 0;
	return (with_specs && find_desired(in, k, name)) ||
	       find_record(in, k, name) != NULL;
}

size_t
plan_res_found(const struct plan_input *in)
{
	size_t i, n = 0;

	for (i = 0; i < in->nres_records; i++)
		if (find_live(in, in->res_records[i].kind,
		              in->res_records[i].name))
			n++;
	return n;
}

int
plan_res_changes(const struct plan *p)
{
	size_t i;

	for (i = 0; p && i < p->nresources; i++)
		if (p->resources[i].op != PLAN_RES_KEEP)
			return 1;
	return 0;
}

/* ---- JSON ---------------------------------------------------------------- */

void
plan_res_to_json(const struct plan *p, cJSON *root)
{
	cJSON *arr, *o;
	size_t i;

	if (p->nresources == 0)
		return;
	arr = cJSON_AddArrayToObject(root, "resources");
	for (i = 0; i < p->nresources; i++) {
		const struct plan_resource *r = &p->resources[i];

		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "kind", res_kind_word(r->kind));
		cJSON_AddStringToObject(o, "name", r->name);
		cJSON_AddStringToObject(o, "action", plan_res_op_name(r->op));
		json_add_string_or_null(o, "id", r->id);
		json_add_string_or_null(o, "source", r->source);
		json_add_string_or_null(o, "reason", r->reason);
		if (r->desired)
			cJSON_AddItemToObject(o, "desired",
			                      res_to_json(r->desired));
		cJSON_AddItemToArray(arr, o);
	}
}

int
plan_res_from_json(const cJSON *root, struct plan *p)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "resources");
	const cJSON *it, *v;

	if (arr == NULL)
		return 0;
	if (!cJSON_IsArray(arr))
		return sf_error_set(SF_EINVALID,
		                    "plan: resources not an array");
	p->resources = xcalloc((size_t)cJSON_GetArraySize(arr) + 1,
	                       sizeof(*p->resources));
	cJSON_ArrayForEach(it, arr)
	{
		struct plan_resource *r = &p->resources[p->nresources];

		v = cJSON_GetObjectItemCaseSensitive(it, "kind");
		if (!cJSON_IsString(v) ||
		    res_kind_parse(v->valuestring, &r->kind) < 0)
			return sf_error_set(SF_EINVALID,
			                    "plan: resource without a kind");
		v = cJSON_GetObjectItemCaseSensitive(it, "action");
		if (!cJSON_IsString(v) ||
		    plan_res_op_parse(v->valuestring, &r->op) < 0)
			return sf_error_set(SF_EINVALID,
			                    "plan: resource without an action");
		r->name = json_strdup(it, "name");
		if (r->name == NULL)
			return sf_error_set(SF_EINVALID,
			                    "plan: resource without a name");
		p->nresources++;
		r->id = json_strdup(it, "id");
		r->source = json_strdup(it, "source");
		r->reason = json_strdup(it, "reason");
		v = cJSON_GetObjectItemCaseSensitive(it, "desired");
		if (v != NULL) {
			r->desired = xcalloc(1, sizeof(*r->desired));
			if (res_from_json(v, r->desired) < 0)
				return SF_EINVALID;
		}
	}
	return 0;
}

/* ---- human -------------------------------------------------------------- */

void
plan_res_print(FILE *fp, const struct plan *p, int color)
{
	static const char *const marks[PLAN_RES_OP_COUNT] = { "+", "-/+", "-",
		                                              "=" };
	static const char *const cols[PLAN_RES_OP_COUNT] = {
		"\033[32m", "\033[31m", "\033[31m", "\033[36m"
	};
	size_t i;

	for (i = 0; i < p->nresources; i++) {
		const struct plan_resource *r = &p->resources[i];
		const char *on = color ? cols[r->op] : "";
		const char *off = color ? "\033[0m" : "";

		fprintf(fp, "%s%3s %s %s (%s)%s  %s\n", on, marks[r->op],
		        res_kind_word(r->kind), r->name,
		        plan_res_op_name(r->op), off,
		        r->source ? r->source : "");
		if (r->reason && r->op != PLAN_RES_CREATE)
			fprintf(fp, "      %s\n", r->reason);
		if (r->desired && r->desired->kind == RES_SNAPSHOT &&
		    r->op == PLAN_RES_CREATE) {
			const struct res_spec *d = r->desired;

			if (d->image)
				fprintf(fp, "      spec.image: \"%s\"\n",
				        d->image);
			if (d->dockerfile)
				fputs("      spec.build.dockerfile: (set)\n",
				      fp);
			if (d->cpu || d->memory || d->disk || d->gpu)
				fprintf(fp,
				        "      spec.resources: cpu %d, memory "
				        "%d, disk %d, gpu %d\n",
				        d->cpu, d->memory, d->disk, d->gpu);
			if (d->region)
				fprintf(fp, "      spec.region: \"%s\"\n",
				        d->region);
			if (d->sandbox_class)
				fprintf(fp, "      spec.sandboxClass: \"%s\"\n",
				        d->sandbox_class);
		}
	}
}
