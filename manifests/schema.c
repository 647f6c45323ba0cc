/*
 * schema: the JSON Schema of the manifest kinds (schema.h).
 *
 * Why the types are loose where they are: sandform reads any scalar as a
 * string ("PORT: 8080" is the text 8080), while an editor sees 8080 as a
 * number; so text values accept numbers and booleans too. Every optional
 * field accepts null, which sandform reads as "not managed". Integers are
 * strict: a quoted "2" is an error in sandform and a string to an editor.
 */
#include "common/base.h"

#include <stdio.h>

#include "manifests/rules.h"
#include "manifests/schema.h"
#include "manifests/stack.h"
#include "manifests/spec.h"

#define DRAFT "http://json-schema.org/draft-07/schema#"

/* A word: no space or control character (doc_word). */
#define WORD_PATTERN "^[^\\x00-\\x20\\x7f]+$"
#define CIDR_OCTET   "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
#define CIDR_PATTERN                                                      \
	"^" CIDR_OCTET "\\." CIDR_OCTET "\\." CIDR_OCTET "\\." CIDR_OCTET \
	"/(3[0-2]|[12]?[0-9])$"
/* validate_domain(): Daytona's domainAllowList rule (v0.190.0) */
#define DOMAIN_LABEL     "[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
#define DOMAIN_PATTERN   "^(\\*\\.)?(" DOMAIN_LABEL "\\.)+[A-Za-z]{2,}$"
#define ENV_NAME_PATTERN "^[A-Za-z_][A-Za-z0-9_]*$"
#define SECRET_NAME_PATTERN \
	"^[A-Za-z_][A-Za-z0-9_-]*$" /* validate_secret_name */
#define STACK_NAME_PATTERN "^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$"
#define DURATION_PATTERN   "^[0-9]+(ms|s|m|h)?$"

/* types: {"type": t} or {"type": [t, "null"]} (up to two types + null). */
static cJSON *
types(const char *t1, const char *t2, bool nullable, const char *desc)
{
	cJSON *o = cJSON_CreateObject(), *a;

	if (t2 == NULL && !nullable) {
		cJSON_AddStringToObject(o, "type", t1);
	} else {
		a = cJSON_AddArrayToObject(o, "type");
		cJSON_AddItemToArray(a, cJSON_CreateString(t1));
		if (t2 != NULL)
			cJSON_AddItemToArray(a, cJSON_CreateString(t2));
		if (nullable)
			cJSON_AddItemToArray(a, cJSON_CreateString("null"));
	}
	if (desc != NULL)
		cJSON_AddStringToObject(o, "description", desc);
	return o;
}

/* closed: an object with the given properties and no others. */
static cJSON *
closed(bool nullable, const char *desc, cJSON **props)
{
	cJSON *o = types("object", NULL, nullable, desc);

	*props = cJSON_AddObjectToObject(o, "properties");
	cJSON_AddFalseToObject(o, "additionalProperties");
	return o;
}

static void
require(cJSON *o, const char *const *names, size_t n)
{
	cJSON *a = cJSON_AddArrayToObject(o, "required");
	size_t i;

	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(names[i]));
}

static cJSON *
ref(const char *def)
{
	cJSON *o = cJSON_CreateObject();
	char path[64];

	snprintf(path, sizeof(path), "#/definitions/%s", def);
	cJSON_AddStringToObject(o, "$ref", path);
	return o;
}

static cJSON *
word(bool nullable, const char *desc)
{
	cJSON *o = types("string", "number", nullable, desc);

	cJSON_AddStringToObject(o, "pattern", WORD_PATTERN);
	return o;
}

static cJSON *
list_of(cJSON *items, int max, bool unique, bool nullable, const char *desc)
{
	cJSON *o = types("array", NULL, nullable, desc);

	cJSON_AddItemToObject(o, "items", items);
	if (max > 0)
		cJSON_AddNumberToObject(o, "maxItems", max);
	if (unique)
		cJSON_AddTrueToObject(o, "uniqueItems");
	return o;
}

/* ---- Sandbox ------------------------------------------------------------ */

static const char *
change_word(enum spec_change c)
{
	switch (c) {
	case SPEC_CHANGE_UPDATE:
		return "in place";
	case SPEC_CHANGE_RESIZE:
		return "resize";
	case SPEC_CHANGE_STATE:
		return "start, stop, archive or pause";
	case SPEC_CHANGE_REPLACE:
		return "replace";
	default:
		return NULL;
	}
}

/* describe: "EXPECT. Default: N. A change: HOW." from the field table. */
static void
describe(const struct spec_field_info *fi, char *out, size_t size)
{
	const char *how = change_word(fi->change);
	int n = snprintf(out, size, "%s: %s.", fi->path,
	                 fi->expect ? fi->expect : "a mapping");

	if (n > 0 && (size_t)n < size && fi->has_default)
		n += snprintf(out + n, size - (size_t)n,
		              " Daytona's default: %d.", fi->def);
	if (n > 0 && (size_t)n < size && how != NULL)
		snprintf(out + n, size - (size_t)n, " A change: %s.", how);
}

static cJSON *
secret_ref(const char *key, const char *pattern, const char *desc)
{
	cJSON *props, *o = closed(false, desc, &props), *v;

	v = cJSON_AddObjectToObject(props, key);
	cJSON_AddStringToObject(v, "type", "string");
	cJSON_AddStringToObject(v, "pattern", pattern);
	require(o, &key, 1);
	return o;
}

static cJSON *
env_schema(const char *desc)
{
	cJSON *o = types("object", NULL, true, desc), *value, *one;

	cJSON_AddItemToObject(o, "propertyNames",
	                      cJSON_Parse("{\"pattern\": \"^[^=]+$\"}"));
	value = cJSON_AddObjectToObject(o, "additionalProperties");
	one = cJSON_AddArrayToObject(value, "oneOf");
	cJSON_AddItemToArray(one, ref("text"));
	cJSON_AddItemToArray(
	        one, secret_ref("secretEnv", ENV_NAME_PATTERN,
	                        "a secret read from sandform's environment"));
	cJSON_AddItemToArray(one, secret_ref("secretFile", "^/",
	                                     "a secret read from a file "
	                                     "(absolute path)"));
	return o;
}

static cJSON *
volumes_schema(const char *desc)
{
	static const char *const req[] = { "volume", "mountPath" };
	cJSON *props, *item = closed(false, NULL, &props), *v;

	cJSON_AddItemToObject(props, "volume",
	                      word(false, "a volume name or id"));
	v = types("string", NULL, false,
	          "an absolute path, not /, without '.', '..' or '//'");
	cJSON_AddStringToObject(v, "pattern", "^/.");
	cJSON_AddItemToObject(props, "mountPath", v);
	cJSON_AddItemToObject(props, "subpath",
	                      types("string", NULL, true,
	                            "a relative path without '..' or '//'"));
	require(item, req, 2);
	return list_of(item, 0, false, true, desc);
}

static cJSON *
text_list(const char *pattern, const char *desc)
{
	cJSON *item = types("string", NULL, false, NULL);

	cJSON_AddStringToObject(item, "pattern", pattern);
	return list_of(item, SPEC_MAX_NETWORK_LIST, true, true, desc);
}

/* spec.gpuType: one of the 0.218 GPU types, or a list of them. */
static cJSON *
gpu_type_schema(const char *desc)
{
	static const char *const names[] = { SPEC_GPU_TYPES };
	cJSON *o = cJSON_CreateObject(), *one, *e, *item;
	size_t i;

	cJSON_AddStringToObject(o, "description", desc);
	one = cJSON_AddArrayToObject(o, "oneOf");
	item = cJSON_CreateObject();
	cJSON_AddStringToObject(item, "type", "string");
	e = cJSON_AddArrayToObject(item, "enum");
	for (i = 0; i < SPEC_NGPU_TYPES; i++)
		cJSON_AddItemToArray(e, cJSON_CreateString(names[i]));
	cJSON_AddItemToArray(one, item);
	item = list_of(cJSON_Duplicate(item, 1), SPEC_NGPU_TYPES, true, false,
	               NULL);
	cJSON_AddItemToArray(one, item);
	cJSON_AddItemToArray(one, types("null", NULL, false, NULL));
	return o;
}

/* spec.secrets: variable name -> organization secret name. */
static cJSON *
secrets_schema(const char *desc)
{
	cJSON *o = types("object", NULL, true, desc);

	cJSON_AddItemToObject(
	        o, "propertyNames",
	        cJSON_Parse("{\"pattern\": \"" ENV_NAME_PATTERN "\"}"));
	cJSON_AddNumberToObject(o, "maxProperties", SPEC_MAX_SECRETS);
	cJSON_AddItemToObject(o, "additionalProperties",
	                      cJSON_Parse("{\"type\": \"string\", \"pattern\": "
	                                  "\"" SECRET_NAME_PATTERN "\"}"));
	return o;
}

static cJSON *group_schema(enum spec_field parent, const char *desc);

/* other_schema: the fields with their own reader (SPEC_T_OTHER). */
static cJSON *
other_schema(enum spec_field f, const char *desc)
{
	cJSON *o;

	switch (f) {
	case SPEC_F_ENV:
		return env_schema(desc);
	case SPEC_F_STATE:
		o = types("string", NULL, true, desc);
		cJSON_AddItemToObject(
		        o, "enum",
		        cJSON_Parse("[\"started\", \"stopped\", \"archived\", "
		                    "\"paused\", null]"));
		return o;
	case SPEC_F_GPU_TYPE:
		return gpu_type_schema(desc);
	case SPEC_F_SECRETS:
		return secrets_schema(desc);
	case SPEC_F_BLOCK_ALL:
		return types("boolean", NULL, true, desc);
	case SPEC_F_ALLOW_LIST:
		return text_list(CIDR_PATTERN, desc);
	case SPEC_F_DOMAIN_ALLOW_LIST:
		return text_list(DOMAIN_PATTERN, desc);
	case SPEC_F_VOLUMES:
		return volumes_schema(desc);
	default:
		return types("string", NULL, true, desc);
	}
}

static cJSON *
field_schema(enum spec_field f)
{
	const struct spec_field_info *fi = &spec_fields[f];
	char desc[256];
	cJSON *o;

	describe(fi, desc, sizeof(desc));
	switch (fi->type) {
	case SPEC_T_GROUP:
		return group_schema(f, desc);
	case SPEC_T_WORD:
		return word(true, desc);
	case SPEC_T_INT:
		o = types("integer", NULL, true, desc);
		/* without an image, resources take 0 (not managed) */
		cJSON_AddNumberToObject(
		        o, "minimum",
		        (double)(fi->parent == SPEC_F_RESOURCES ? 0 : fi->min));
		cJSON_AddNumberToObject(o, "maximum", (double)fi->max);
		return o;
	case SPEC_T_BOOL:
		return types("boolean", NULL, true, desc);
	default:
		return other_schema(f, desc);
	}
}

/* group_schema: the fields written under parent (spec's own for
 * DOCUMENT), in table order. */
static cJSON *
group_schema(enum spec_field parent, const char *desc)
{
	cJSON *props, *o = closed(true, desc, &props);
	int f;

	for (f = 1; f < SPEC_F_COUNT; f++) {
		if (spec_fields[f].parent != parent)
			continue;
		if (parent == SPEC_F_DOCUMENT &&
		    strncmp(spec_fields[f].path, "spec.", 5) != 0)
			continue;
		cJSON_AddItemToObject(props, spec_fields[f].key,
		                      field_schema((enum spec_field)f));
	}
	return o;
}

static cJSON *
labels_schema(void)
{
	char desc[256];
	cJSON *o, *names, *value;

	describe(&spec_fields[SPEC_F_LABELS], desc, sizeof(desc));
	o = types("object", NULL, true, desc);
	names = cJSON_AddObjectToObject(o, "propertyNames");
	cJSON_AddNumberToObject(names, "minLength", 1);
	cJSON_AddNumberToObject(names, "maxLength", RULE_MAX_LABEL_KEY);
	cJSON_AddItemToObject(
	        names, "not",
	        cJSON_Parse("{\"pattern\": \"^sandform\\\\.dev/\"}"));
	value = cJSON_AddObjectToObject(o, "additionalProperties");
	/* draft-07 ignores the siblings of a $ref */
	cJSON_AddItemToArray(cJSON_AddArrayToObject(value, "allOf"),
	                     ref("text"));
	cJSON_AddNumberToObject(value, "maxLength", RULE_MAX_LABEL_VALUE);
	return o;
}

static cJSON *
document(const char *kind, cJSON *metadata, cJSON *spec, const char *desc)
{
	static const char *const req[] = { "apiVersion", "kind", "metadata" };
	cJSON *props, *o = closed(false, desc, &props), *v;

	v = cJSON_AddObjectToObject(props, "apiVersion");
	cJSON_AddStringToObject(v, "const", SPEC_API_VERSION);
	v = cJSON_AddObjectToObject(props, "kind");
	cJSON_AddStringToObject(v, "const", kind);
	cJSON_AddItemToObject(props, "metadata", metadata);
	cJSON_AddItemToObject(props, "spec", spec);
	require(o, req, 3);
	return o;
}

static cJSON *
sandbox_schema(void)
{
	static const char *const req[] = { "name" };
	cJSON *props,
	        *md = closed(false, "the sandbox's name and labels", &props),
	        *name;

	name = types("string", "number", false,
	             "metadata.name: the sandbox's name, unique across the "
	             "run. A change: replace.");
	cJSON_AddNumberToObject(name, "minLength", 1);
	cJSON_AddNumberToObject(name, "maxLength", SPEC_MAX_NAME);
	cJSON_AddStringToObject(name, "pattern", "^[^\\s].*[^\\s]$|^[^\\s]$");
	cJSON_AddItemToObject(props, "name", name);
	cJSON_AddItemToObject(props, "labels", labels_schema());
	require(md, req, 1);
	return document(
	        "Sandbox", md,
	        group_schema(SPEC_F_DOCUMENT, "the sandbox (docs/manifest.md)"),
	        "kind Sandbox: one Daytona sandbox");
}

static cJSON *one_of_strings(const char *const *v, size_t n, const char *desc);

/* ---- Volume and Snapshot (manifests/kind-resource.c) --------------------- */

static cJSON *
res_metadata(const char *what)
{
	static const char *const req[] = { "name" };
	cJSON *props, *md = closed(false, what, &props), *name;

	name = types("string", "number", false,
	             "metadata.name: unique per kind across the run. A "
	             "change: a new one (the old one is deleted).");
	cJSON_AddNumberToObject(name, "minLength", 1);
	cJSON_AddNumberToObject(name, "maxLength", SPEC_MAX_NAME);
	cJSON_AddStringToObject(name, "pattern", "^[^\\s].*[^\\s]$|^[^\\s]$");
	cJSON_AddItemToObject(props, "name", name);
	require(md, req, 1);
	return md;
}

static cJSON *
res_lifecycle(void)
{
	cJSON *props, *o = closed(true, "sandform's own rules", &props);

	cJSON_AddItemToObject(
	        props, "preventDestroy",
	        types("boolean", NULL, true,
	              "refuse any plan that deletes or replaces it"));
	return o;
}

static cJSON *
res_int(long long min, long long max, const char *desc)
{
	cJSON *o = types("integer", NULL, true, desc);

	cJSON_AddNumberToObject(o, "minimum", (double)min);
	cJSON_AddNumberToObject(o, "maximum", (double)max);
	return o;
}

static cJSON *
volume_schema(void)
{
	cJSON *props, *spec = closed(true, "the volume", &props);

	cJSON_AddItemToObject(props, "lifecycle", res_lifecycle());
	return document("Volume", res_metadata("the volume's name"), spec,
	                "kind Volume: a volume the sandboxes mount "
	                "(CreateVolume, 0.218)");
}

static cJSON *
snapshot_schema(void)
{
	static const char *const classes[] = { "container", "linux-vm",
		                               "android", "windows" };
	cJSON *props, *spec = closed(false, "the snapshot", &props), *g, *gp,
	              *one, *a, *b;

	cJSON_AddItemToObject(props, "image",
	                      word(true, "imageName. A change: replace."));
	g = closed(true, "buildInfo. A change: replace.", &gp);
	cJSON_AddItemToObject(
	        gp, "dockerfile",
	        types("string", NULL, false,
	              "buildInfo.dockerfileContent, at most 64 KiB"));
	cJSON_AddItemToObject(props, "build", g);
	g = closed(true, "the snapshot's resources. A change: replace.", &gp);
	cJSON_AddItemToObject(gp, "cpu", res_int(1, SPEC_MAX_CPU, "vCPU"));
	cJSON_AddItemToObject(gp, "memory", res_int(1, SPEC_MAX_MEMORY, "GiB"));
	cJSON_AddItemToObject(gp, "disk", res_int(1, SPEC_MAX_DISK, "GiB"));
	cJSON_AddItemToObject(gp, "gpu", res_int(0, SPEC_MAX_GPU, "GPUs"));
	cJSON_AddItemToObject(props, "resources", g);
	cJSON_AddItemToObject(props, "region",
	                      word(true, "regionId. A change: replace."));
	cJSON_AddItemToObject(props, "sandboxClass",
	                      one_of_strings(classes, 4,
	                                     "the class of its sandboxes. A "
	                                     "change: replace."));
	cJSON_AddItemToObject(props, "lifecycle", res_lifecycle());
	/* exactly one of image and build */
	one = cJSON_AddArrayToObject(spec, "oneOf");
	a = cJSON_CreateObject();
	cJSON_AddItemToObject(a, "required", cJSON_Parse("[\"image\"]"));
	cJSON_AddItemToObject(a, "not",
	                      cJSON_Parse("{\"required\": [\"build\"]}"));
	b = cJSON_CreateObject();
	cJSON_AddItemToObject(b, "required", cJSON_Parse("[\"build\"]"));
	cJSON_AddItemToObject(b, "not",
	                      cJSON_Parse("{\"required\": [\"image\"]}"));
	cJSON_AddItemToArray(one, a);
	cJSON_AddItemToArray(one, b);
	g = document("Snapshot", res_metadata("the snapshot's name"), spec,
	             "kind Snapshot: a snapshot the sandboxes are made from "
	             "(CreateSnapshot, 0.218)");
	cJSON_AddItemToArray(cJSON_GetObjectItem(g, "required"),
	                     cJSON_CreateString("spec"));
	return g;
}

/* ---- Stack --------------------------------------------------------------- */

static cJSON *
strings(const char *const *keys, size_t n, cJSON *props)
{
	size_t i;

	for (i = 0; i < n; i++)
		cJSON_AddItemToObject(props, keys[i],
		                      types("string", NULL, true, NULL));
	return props;
}

static cJSON *
git_ref_schema(void)
{
	static const char *const kinds[] = { "branch", "tag", "semver",
		                             "commit" };
	cJSON *props, *o = cJSON_CreateObject(), *one, *obj;

	one = cJSON_AddArrayToObject(o, "oneOf");
	cJSON_AddItemToArray(one, types("string", NULL, false,
	                                "as --ref: branch:main, tag:v1, "
	                                "v1.2.0, a commit"));
	obj = closed(false, "exactly one of branch, tag, semver, commit",
	             &props);
	strings(kinds, 4, props);
	cJSON_AddNumberToObject(obj, "minProperties", 1);
	cJSON_AddNumberToObject(obj, "maxProperties", 1);
	cJSON_AddItemToArray(one, obj);
	return o;
}

static cJSON *
git_schema(void)
{
	static const char *const auth_keys[] = { "tokenEnv",  "tokenFile",
		                                 "username",  "caFile",
		                                 "sshKey",    "passphraseEnv",
		                                 "knownHosts" };
	static const char *const req[] = { "url" };
	cJSON *props,
	        *o = closed(false,
	                    "a git repository at a ref "
	                    "(docs/gitops.md)",
	                    &props),
	        *aprops, *auth, *vprops, *verify, *mode;

	cJSON_AddItemToObject(props, "url", word(false, "the repository"));
	cJSON_AddItemToObject(props, "ref", git_ref_schema());
	cJSON_AddItemToObject(props, "path",
	                      word(true, "the directory in the repository"));
	auth = closed(true, "credentials", &aprops);
	strings(auth_keys, sizeof(auth_keys) / sizeof(auth_keys[0]), aprops);
	cJSON_AddItemToObject(aprops, "agent",
	                      types("boolean", NULL, true, "use ssh-agent"));
	cJSON_AddItemToObject(props, "auth", auth);
	verify = closed(true, "signature verification", &vprops);
	mode = types("string", NULL, true, NULL);
	cJSON_AddItemToObject(
	        mode, "enum",
	        cJSON_Parse("[\"none\", \"head\", \"tag\", \"tag-and-head\", "
	                    "null]"));
	cJSON_AddItemToObject(vprops, "mode", mode);
	cJSON_AddItemToObject(vprops, "allowedSigners",
	                      types("string", NULL, true, NULL));
	cJSON_AddItemToObject(props, "verify", verify);
	require(o, req, 1);
	return o;
}

static cJSON *
source_schema(void)
{
	static const char *const path_req[] = { "path" };
	static const char *const git_req[] = { "git" };
	cJSON *o = cJSON_CreateObject(), *one, *p, *props;

	one = cJSON_AddArrayToObject(o, "oneOf");
	p = closed(false, "files or directories, relative to the stack file",
	           &props);
	cJSON_AddItemToObject(props, "path", word(false, NULL));
	require(p, path_req, 1);
	cJSON_AddItemToArray(one, p);
	p = closed(false, "a git repository", &props);
	cJSON_AddItemToObject(props, "git", git_schema());
	require(p, git_req, 1);
	cJSON_AddItemToArray(one, p);
	return o;
}

static cJSON *
bounded(long long min, long long max, const char *desc)
{
	cJSON *o = types("integer", NULL, true, desc);

	cJSON_AddNumberToObject(o, "minimum", (double)min);
	cJSON_AddNumberToObject(o, "maximum", (double)max);
	return o;
}

/* A time of a deny window. */
#define HHMM_PATTERN "^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"

/* An ignore rule (stack_ignore_rule_ok() of manifests/stack.h). */
#define IGNORE_RULE_PATTERN                                       \
	"^(missing|spec|labels|resources|settings|network|state|" \
	"labels\\.[^.]+(\\.[^.]+)*|labels\\.\\*|"                 \
	"spec\\.[^.*]+(\\.[^.*]+)*(\\.\\*)?)$"

/* one_of_strings: a string that is one of v[0..n). */
static cJSON *
one_of_strings(const char *const *v, size_t n, const char *desc)
{
	cJSON *o = types("string", NULL, false, desc);
	cJSON *e = cJSON_AddArrayToObject(o, "enum");
	size_t i;

	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(e, cJSON_CreateString(v[i]));
	return o;
}

/* watch_schema: the watch: block (manifests/kind-stack-watch.c). */
static cJSON *
watch_schema(void)
{
	static const char *const modes[] = { "apply", "detect" };
	static const char *const days[] = { "sun", "mon", "tue", "wed",
		                            "thu", "fri", "sat" };
	static const char *const formats[] = { "json", "slack" };
	static const char *const req[] = { "url" };
	const char *events[STACK_EVENT_COUNT];
	cJSON *props,
	        *o = closed(true, "sandform watch's schedule and policy",
	                    &props),
	        *w, *wp, *n, *np, *d;
	size_t i;

	d = types("string", NULL, true, "a duration like 30s or 5m");
	cJSON_AddStringToObject(d, "pattern", DURATION_PATTERN);
	cJSON_AddItemToObject(props, "interval", d);
	cJSON_AddItemToObject(
	        props, "mode",
	        one_of_strings(modes, 2, "apply (default) or detect only"));
	cJSON_AddItemToObject(props, "suspend",
	                      types("boolean", NULL, true,
	                            "true: watch does nothing for this stack"));
	w = closed(false, "days and a UTC time range of detection only", &wp);
	cJSON_AddItemToObject(wp, "days",
	                      list_of(one_of_strings(days, 7, NULL), 7, true,
	                              false, "days of the week (default all)"));
	d = types("string", NULL, false, "HH:MM in UTC");
	cJSON_AddStringToObject(d, "pattern", HHMM_PATTERN);
	cJSON_AddItemToObject(wp, "start", d);
	d = types("string", NULL, false, "HH:MM in UTC, up to 24:00");
	cJSON_AddStringToObject(d, "pattern", HHMM_PATTERN);
	cJSON_AddItemToObject(wp, "end", d);
	cJSON_AddItemToObject(props, "denyWindows",
	                      list_of(w, 0, false, true, "deny windows"));
	n = closed(false, "a webhook", &np);
	d = types("string", NULL, false, "an http:// or https:// URL");
	cJSON_AddStringToObject(d, "pattern", "^https?://[^ ]+$");
	cJSON_AddItemToObject(np, "url", d);
	cJSON_AddItemToObject(np, "format", one_of_strings(formats, 2, NULL));
	cJSON_AddItemToObject(np, "secretEnv",
	                      word(false, "the HMAC-SHA256 key's variable"));
	for (i = 0; i < STACK_EVENT_COUNT; i++)
		events[i] = stack_event_name((enum stack_event)i);
	cJSON_AddItemToObject(
	        np, "events",
	        list_of(one_of_strings(events, STACK_EVENT_COUNT, NULL), 0,
	                true, false, "the events to send (default all)"));
	require(n, req, 1);
	cJSON_AddItemToObject(props, "notify",
	                      list_of(n, 0, false, true, "webhooks"));
	return o;
}

static cJSON *
stack_spec_schema(void)
{
	cJSON *props,
	        *o = closed(true, "the stack's sources and policy", &props),
	        *md, *mprops, *d;

	cJSON_AddItemToObject(props, "sources",
	                      list_of(source_schema(), 0, false, true,
	                              "where the manifests are (default: "
	                              "the stack file's directory)"));
	cJSON_AddItemToObject(props, "state",
	                      word(true, "a state file path or a "
	                                 "postgresql:// URL"));
	cJSON_AddItemToObject(props, "prune",
	                      types("boolean", NULL, true,
	                            "delete sandboxes whose manifests are "
	                            "gone (default true)"));
	md = closed(true, "the mass-delete guard", &mprops);
	cJSON_AddItemToObject(mprops, "threshold",
	                      bounded(0, 100,
	                              "a percentage of the stack's "
	                              "sandboxes (default 50)"));
	cJSON_AddItemToObject(props, "massDelete", md);
	cJSON_AddItemToObject(props, "parallelism",
	                      bounded(1, 256, "API calls at once"));
	d = types("string", NULL, true, "a duration like 30s or 5m");
	cJSON_AddStringToObject(d, "pattern", DURATION_PATTERN);
	cJSON_AddItemToObject(props, "lockTimeout", d);
	cJSON_AddItemToObject(
	        props, "secretDirs",
	        list_of(types("string", NULL, false, NULL), 0, false, true,
	                "directories a secretFile may point into"));
	cJSON_AddItemToObject(
	        props, "exclude",
	        list_of(types("string", NULL, false, NULL), 0, false, true,
	                "files the sources skip, in .sandformignore "
	                "syntax"));
	d = types("string", NULL, false, NULL);
	cJSON_AddStringToObject(d, "pattern", IGNORE_RULE_PATTERN);
	cJSON_AddItemToObject(props, "ignore",
	                      list_of(d, 0, false, true,
	                              "differences drift, plan and apply "
	                              "leave alone: a category or a field "
	                              "path (labels.team, labels.*)"));
	cJSON_AddItemToObject(props, "watch", watch_schema());
	return o;
}

static cJSON *
stack_schema(void)
{
	static const char *const req[] = { "name" };
	cJSON *props, *md = closed(false, "the stack's name", &props), *name;

	name = types("string", NULL, false,
	             "the stack's name: 1 to 63 letters, digits, '-', '_' or "
	             "'.', starting with a letter or digit");
	cJSON_AddStringToObject(name, "pattern", STACK_NAME_PATTERN);
	cJSON_AddItemToObject(props, "name", name);
	require(md, req, 1);
	return document("Stack", md, stack_spec_schema(),
	                "kind Stack: the stack file (sandform.yaml)");
}

/* ---- the whole ------------------------------------------------------------
 */

cJSON *
schema_to_json(void)
{
	cJSON *o = cJSON_CreateObject(), *defs, *v;

	cJSON_AddStringToObject(o, "$schema", DRAFT);
	cJSON_AddStringToObject(o, "$id", SCHEMA_ID);
	cJSON_AddStringToObject(o, "title",
	                        "sandform manifests (" SPEC_API_VERSION ")");
	cJSON_AddStringToObject(o, "description",
	                        "One YAML document: kind Sandbox, Volume, "
	                        "Snapshot or Stack (docs/manifest.md). "
	                        "sandform validate checks the rules across "
	                        "fields too.");
	cJSON_AddStringToObject(o, "type", "object");
	v = cJSON_AddObjectToObject(o, "properties");
	cJSON_AddItemToObject(v, "kind",
	                      cJSON_Parse("{\"enum\": [\"Sandbox\", "
	                                  "\"Volume\", \"Snapshot\", "
	                                  "\"Stack\"]}"));
	cJSON_AddItemToObject(o, "required", cJSON_Parse("[\"kind\"]"));
	cJSON_AddItemToObject(o, "if",
	                      cJSON_Parse("{\"properties\": {\"kind\": "
	                                  "{\"const\": \"Stack\"}}}"));
	cJSON_AddItemToObject(o, "then", ref("Stack"));
	/* else: Volume, else Snapshot, else Sandbox */
	v = cJSON_Parse("{\"if\": {\"properties\": {\"kind\": {\"const\": "
	                "\"Volume\"}}}, \"else\": {\"if\": {\"properties\": "
	                "{\"kind\": {\"const\": \"Snapshot\"}}}}}");
	cJSON_AddItemToObject(v, "then", ref("Volume"));
	cJSON_AddItemToObject(cJSON_GetObjectItem(v, "else"), "then",
	                      ref("Snapshot"));
	cJSON_AddItemToObject(cJSON_GetObjectItem(v, "else"), "else",
	                      ref("Sandbox"));
	cJSON_AddItemToObject(o, "else", v);
	defs = cJSON_AddObjectToObject(o, "definitions");
	cJSON_AddItemToObject(defs, "Sandbox", sandbox_schema());
	cJSON_AddItemToObject(defs, "Volume", volume_schema());
	cJSON_AddItemToObject(defs, "Snapshot", snapshot_schema());
	cJSON_AddItemToObject(defs, "Stack", stack_schema());
	v = types("string", "number", false,
	          "text: sandform reads any scalar as written");
	cJSON_AddItemToArray(cJSON_GetObjectItem(v, "type"),
	                     cJSON_CreateString("boolean"));
	cJSON_AddItemToObject(defs, "text", v);
	return o;
}
