/*
 * Unit tests for manifests/: the loader's limits, every validation rule,
 * the model (sorting, has_X flags, locations), diagnostics, JSON output and
 * secret references.
 */
#include "common/base.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/hash.h"
#include "common/redact.h"
#include "common/xalloc.h"
#include "manifests/ignorefile.h"
#include "manifests/manifest.h"
#include "manifests/rules.h"
#include "manifests/secret.h"
#include "manifests/spechash.h"
#include "manifests/ytree.h"

/* A document whose spec starts at line 6. */
#define HDR                                                               \
	"apiVersion: sandform.dev/v1\nkind: Sandbox\nmetadata:\n  name: " \
	"a\nspec:\n"

static int
load(const char *yaml, struct manifest_set **set, struct diag_list *d)
{
	return manifest_load_buffer("t.yaml", yaml, strlen(yaml), set, d);
}

/* find_diag: the diagnostic at line with path and msg containing sub. */
static const struct diag *
find_diag(const struct diag_list *d, enum diag_severity sev, unsigned line,
          const char *path, const char *sub)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		const struct diag *x = &d->v[i];

		if (x->severity != sev || x->line != line)
			continue;
		if (path && (x->path == NULL || strcmp(x->path, path) != 0))
			continue;
		if (sub && strstr(x->msg, sub) == NULL)
			continue;
		return x;
	}
	return NULL;
}

static void
dump(const struct diag_list *d)
{
	diag_list_print(stderr, d);
}

/* expect_error: yaml fails with an error at line/path mentioning sub. */
static void
expect_error(const char *yaml, unsigned line, const char *path, const char *sub)
{
	struct manifest_set *set = (void *)1;
	struct diag_list d = DIAG_LIST_INIT;
	int rc = load(yaml, &set, &d);

	if (rc != SF_EINVALID || set != NULL ||
	    find_diag(&d, DIAG_ERROR, line, path, sub) == NULL) {
		fprintf(stderr, "input:\n%s\nwanted %u %s '%s', got:\n", yaml,
		        line, path ? path : "-", sub ? sub : "");
		dump(&d);
		fail();
	}
	diag_list_free(&d);
}

/* expect_ok: yaml loads without error; returns the set (caller frees). */
static struct manifest_set *
load_ok(const char *yaml)
{
	struct manifest_set *set = NULL;
	struct diag_list d = DIAG_LIST_INIT;

	if (load(yaml, &set, &d) != 0 || set == NULL) {
		fprintf(stderr, "input:\n%s\nwanted no error, got:\n", yaml);
		dump(&d);
		fail();
	}
	diag_list_free(&d);
	return set;
}

static void
expect_ok(const char *yaml)
{
	manifest_set_free(load_ok(yaml));
}

static void
test_full(void **state)
{
	static const char yaml[] =
	        "apiVersion: sandform.dev/v1\n"
	        "kind: Sandbox\n"
	        "metadata:\n"
	        "  name: browser-agent\n"
	        "  labels: {zeta: z, alpha: a}\n"
	        "spec:\n"
	        "  image: whitezxj/sandbox:0.1.0\n"
	        "  resources: {cpu: 2, memory: 4, disk: 5}\n"
	        "  env:\n"
	        "    RESOLUTION: 1024x768x24\n"
	        "    VNC_PASSWORD: {secretEnv: VNC_PASSWORD}\n"
	        "    API_TOKEN: {secretFile: /run/secrets/token}\n"
	        "    PORT: 8080\n"
	        "  user: daytona\n"
	        "  target: us\n"
	        "  public: true\n"
	        "  state: stopped\n"
	        "  autoStopInterval: 0\n"
	        "  autoArchiveInterval: 1440\n"
	        "  autoDeleteInterval: -1\n"
	        "  network: {blockAll: false, allowList: [10.0.0.0/8], "
	        "domainAllowList: [pypi.org, '*.github.com']}\n"
	        "  volumes: [{volume: datasets, mountPath: /data, subpath: "
	        "team-a}]\n"
	        "  lifecycle:\n"
	        "    preventDestroy: true\n";
	struct manifest_set *set = NULL;
	struct diag_list d = DIAG_LIST_INIT;
	const struct spec *s;

	(void)state;
	assert_int_equal(load(yaml, &set, &d), 0);
	assert_int_equal(d.n, 0);
	assert_int_equal(set->n_sandboxes, 1);
	assert_int_equal(set->n_files, 1);
	s = manifest_set_find(set, "browser-agent");
	assert_non_null(s);
	assert_null(manifest_set_find(set, "nope"));
	assert_int_equal(s->labels.n, 2);
	assert_string_equal(s->labels.v[0].key, "alpha");
	assert_string_equal(s->labels.v[1].value, "z");
	assert_string_equal(s->image, "whitezxj/sandbox:0.1.0");
	assert_null(s->snapshot);
	assert_true(s->has_cpu && s->has_memory && s->has_disk);
	assert_false(s->has_gpu);
	assert_int_equal(s->cpu, 2);
	assert_int_equal(s->memory, 4);
	assert_int_equal(s->disk, 5);
	assert_int_equal(s->nenv, 4);
	assert_string_equal(s->env[0].key, "API_TOKEN");
	assert_int_equal(s->env[0].kind, SPEC_ENV_SECRET_FILE);
	assert_string_equal(s->env[0].value, "/run/secrets/token");
	assert_string_equal(s->env[1].key, "PORT");
	assert_string_equal(s->env[1].value, "8080");
	assert_int_equal(s->env[3].kind, SPEC_ENV_SECRET_ENV);
	assert_string_equal(s->env[3].value, "VNC_PASSWORD");
	assert_string_equal(s->user, "daytona");
	assert_string_equal(s->target, "us");
	assert_true(s->has_public && s->public_);
	assert_int_equal(s->state, SPEC_STATE_STOPPED);
	assert_true(s->has_auto_stop && s->has_auto_archive &&
	            s->has_auto_delete);
	assert_int_equal(s->auto_stop, 0);
	assert_int_equal(s->auto_archive, 1440);
	assert_int_equal(s->auto_delete, -1);
	assert_true(s->has_network && s->network.has_block_all &&
	            !s->network.block_all);
	assert_string_equal(s->network.allow_list, "10.0.0.0/8");
	assert_string_equal(s->network.domain_allow_list,
	                    "pypi.org,*.github.com");
	assert_int_equal(s->nvolumes, 1);
	assert_string_equal(s->volumes[0].subpath, "team-a");
	assert_true(s->prevent_destroy);
	assert_int_equal(spec_pos_get(s, SPEC_F_NAME).line, 4);
	assert_int_equal(spec_pos_get(s, SPEC_F_NAME).col, 9);
	assert_string_equal(s->file, "t.yaml");
	assert_int_equal(spec_pos_get(s, SPEC_F_IMAGE).line, 7);
	assert_int_equal(spec_pos_get(s, SPEC_F_CPU).line, 8);
	assert_int_equal(spec_pos_get(s, SPEC_F_SNAPSHOT).line, 0);
	assert_string_equal(spec_field_path(SPEC_F_AUTO_STOP),
	                    "spec.autoStopInterval");
	assert_int_equal(spec_field_by_path("spec.resources.gpu"), SPEC_F_GPU);
	assert_int_equal(spec_field_by_path("spec.nope"), SPEC_F_COUNT);
	manifest_set_free(set);
	diag_list_free(&d);
}

static void
test_minimal_and_multidoc(void **state)
{
	static const char yaml[] =
	        "# comment only document\n---\n" HDR
	        "  snapshot: daytona-small\n"
	        "---\n"
	        "apiVersion: sandform.dev/v1\nkind: Sandbox\nmetadata: {name: "
	        "b}\n---\n";
	struct manifest_set *set = NULL;
	struct diag_list d = DIAG_LIST_INIT;
	const struct spec *s;

	(void)state;
	assert_int_equal(load(yaml, &set, &d), 0);
	assert_int_equal(set->n_sandboxes, 2);
	assert_string_equal(set->sandboxes[0].name, "a");
	assert_string_equal(set->sandboxes[1].name, "b");
	s = &set->sandboxes[1];
	assert_null(s->image);
	assert_null(s->snapshot);
	assert_false(s->has_public || s->has_auto_stop || s->has_cpu ||
	             s->has_network || s->has_volumes);
	assert_int_equal(s->state, SPEC_STATE_ANY);
	assert_int_equal(spec_pos_get(s, SPEC_F_DOCUMENT).line, 10);
	manifest_set_free(set);
	diag_list_free(&d);
}

static void
test_errors(void **state)
{
	(void)state;
	expect_error("apiVersion: v2\nkind: Sandbox\nmetadata: {name: a}\n", 1,
	             "apiVersion", "expected sandform.dev/v1");
	expect_error("kind: Sandbox\nmetadata: {name: a}\n", 1, "apiVersion",
	             "missing");
	expect_error("apiVersion: sandform.dev/v1\nkind: Pod\nmetadata: "
	             "{name: a}\n",
	             2, "kind", "expected Sandbox");
	expect_error("apiVersion: sandform.dev/v1\nkind: Sandbox\n", 1,
	             "metadata", "missing");
	expect_error("apiVersion: sandform.dev/v1\nkind: Sandbox\nmetadata: "
	             "{labels: {}}\n",
	             3, "metadata.name", "missing");
	expect_error("- a\n- b\n", 1, NULL, "expected a mapping");
	expect_error(HDR "  replica: 3\n", 6, "spec.replica", "unknown key");
	expect_error(HDR "  image: a\n  image: b\n", 7, "spec.image",
	             "duplicate key (first at line 6; expected each key once)");
	expect_error(HDR "  image: a\n  snapshot: b\n", 7, "spec.snapshot",
	             "exclusive");
	expect_error(HDR "  snapshot: s\n  resources: {cpu: 1}\n", 7,
	             "spec.resources", "snapshot");
	expect_error(HDR "  resources: {cpu: 1}\n", 6, "spec.resources",
	             "need an image");
	expect_error(HDR "  image: i\n  resources: {cpu: \"2\"}\n", 7,
	             "spec.resources.cpu", "quoted string");
	expect_error(HDR "  image: i\n  resources: {cpu: 0}\n", 7,
	             "spec.resources.cpu", "out of range");
	expect_error(HDR "  image: i\n  resources: {memory: 2.5}\n", 7,
	             "spec.resources.memory", "not an integer");
	expect_error(HDR "  image: i\n  resources: {gpu: 2}\n", 7,
	             "spec.resources.gpu", "0 or 1");
	expect_error(HDR "  image: i\n  resources: {gpu: 1}\n", 7,
	             "spec.resources.gpu", "ephemeral");
	expect_error(HDR "  image: i\n  resources: {gpu: 1}\n"
	                 "  autoDeleteInterval: 5\n",
	             7, "spec.resources.gpu", "autoDeleteInterval: 0");
	expect_error(HDR "  image: i\n  autoDeleteInterval: 0\n"
	                 "  state: stopped\n",
	             8, "spec.state", "ephemeral");
	expect_error(HDR "  autoDeleteInterval: 0\n  state: archived\n", 7,
	             "spec.state", "cannot be archived");
	expect_ok(HDR "  autoDeleteInterval: 0\n  state: started\n"
	              "  autoStopInterval: 0\n");
	expect_error(HDR "  autoStopInterval: -1\n", 6, "spec.autoStopInterval",
	             "out of range");
	expect_error(HDR "  autoArchiveInterval: -5\n", 6,
	             "spec.autoArchiveInterval", "out of range");
	expect_error(HDR "  autoDeleteInterval: -2\n", 6,
	             "spec.autoDeleteInterval", ">= -1");
	expect_error(HDR "  autoStopInterval: 99999999999999999999\n", 6,
	             "spec.autoStopInterval", "out of range");
	expect_error(HDR "  public: yes\n", 6, "spec.public",
	             "expected true or false");
	expect_error(HDR "  public: \"true\"\n", 6, "spec.public",
	             "quoted string");
	expect_error(HDR "  state: running\n", 6, "spec.state",
	             "started, stopped, archived or paused");
	expect_error(HDR "  user: [a]\n", 6, "spec.user", "a list");
	expect_error(HDR "  image: \"a b\"\n", 6, "spec.image", "space");
	expect_error(HDR "  env: {A: ~}\n", 6, "spec.env.A", "secretEnv");
	expect_error(HDR "  env: {A: [1]}\n", 6, "spec.env.A", "a list");
	expect_error(HDR "  env: {A: {secretEnv: 1X}}\n", 6,
	             "spec.env.A.secretEnv", "not a variable name");
	expect_error(HDR "  env: {A: {secretFile: rel/p}}\n", 6,
	             "spec.env.A.secretFile", "absolute");
	expect_error(HDR "  env: {A: {secretEnv: X, secretFile: /x}}\n", 6,
	             "spec.env.A.secretFile", "exclusive");
	expect_error(HDR "  env: {A: {secretEnvv: X}}\n", 6,
	             "spec.env.A.secretEnvv", "unknown key");
	expect_error(HDR "  env: {A: {}}\n", 6, "spec.env.A",
	             "empty secret reference");
	expect_error(HDR "  env: {\"A=B\": x}\n", 6, "spec.env[\"A=B\"]",
	             "invalid variable name");
	expect_error(HDR "  env:\n    A: x\n    A: y\n", 8, "spec.env.A",
	             "duplicate key (first at line 7; expected each key once)");
	expect_error(HDR "  network: {allowList: [10.0.0.0/33]}\n", 6,
	             "spec.network.allowList[0]", "IPv4 CIDR");
	expect_error(HDR "  network: {allowList: [10.0.0.0]}\n", 6,
	             "spec.network.allowList[0]", "IPv4 CIDR");
	expect_error(HDR "  network: {allowList: [256.0.0.0/8]}\n", 6,
	             "spec.network.allowList[0]", "IPv4 CIDR");
	expect_error(HDR "  network: {allowList: [a, b, c, d, e, f, g, h, i, "
	                 "j, k]}\n",
	             6, "spec.network.allowList", "at most 10");
	expect_error(HDR "  network: {domainAllowList: [\"-bad.com\"]}\n", 6,
	             "spec.network.domainAllowList[0]", "host names");
	expect_error(HDR "  network: {domainAllowList: [localhost]}\n", 6,
	             "spec.network.domainAllowList[0]", "host names");
	expect_error(HDR "  network: {domainAllowList: [a.com, a.com]}\n", 6,
	             "spec.network.domainAllowList[1]", "duplicate");
	expect_error(HDR "  network: {blockAll: true, allowList: [1.2.3.0/"
	                 "24]}\n",
	             6, "spec.network.allowList", "conflict");
	expect_error(HDR "  volumes: [{volume: v, mountPath: /}]\n", 6,
	             "spec.volumes[0].mountPath", "mount path");
	expect_error(HDR "  volumes: [{volume: v, mountPath: rel}]\n", 6,
	             "spec.volumes[0].mountPath", "mount path");
	expect_error(HDR "  volumes: [{volume: v, mountPath: /a//b}]\n", 6,
	             "spec.volumes[0].mountPath", "mount path");
	expect_error(HDR "  volumes: [{volume: v, mountPath: /a/./b}]\n", 6,
	             "spec.volumes[0].mountPath", "mount path");
	expect_error(HDR "  volumes: [{volume: v, mountPath: /a, subpath: "
	                 "../x}]\n",
	             6, "spec.volumes[0].subpath", "subpath");
	expect_error(HDR "  volumes: [{volume: v, mountPath: /a, subpath: "
	                 "/x}]\n",
	             6, "spec.volumes[0].subpath", "subpath");
	expect_error(HDR "  volumes: [{mountPath: /a}]\n", 6, "spec.volumes[0]",
	             "missing volume");
	expect_error(HDR "  volumes:\n  - {volume: v, mountPath: /a}\n"
	                 "  - {volume: w, mountPath: /a}\n",
	             8, "spec.volumes[1].mountPath", "used twice");
	expect_error(HDR "  lifecycle: {preventDestroy: 1}\n", 6,
	             "spec.lifecycle.preventDestroy", "true or false");
	expect_error(HDR "  public: !!str true\n", 6, "spec.public",
	             "quoted string");
	expect_error(HDR "  image: !vault x\n", 6, "spec.image",
	             "unsupported YAML tag");
	expect_error(HDR "  volumes:\n  - !vol {volume: v, mountPath: /a}\n", 7,
	             "spec.volumes[0]", "unsupported YAML tag");
	expect_error(HDR "  env: {\"a b\": !x y}\n", 6, "spec.env[\"a b\"]",
	             "unsupported YAML tag");
	expect_error(HDR "  network: {allowList: [10.0.0.0/8, 10.0.0.0/8]}\n",
	             6, "spec.network.allowList[1]",
	             "duplicate entry '10.0.0.0/8' (expected unique entries)");
	expect_error(HDR "  volumes:\n  - {volume: v, mountPath: /a}\n"
	                 "  - {volume: w, mountPath: /a}\n",
	             8, "spec.volumes[1].mountPath",
	             "(expected unique mount paths)");
}

/*
 * Look-alike names and labels are refused (issue 9): bidirectional
 * overrides, zero-width characters and C1 controls; label sizes are
 * capped; a value quoted in a message reaches the terminal escaped.
 */
static void
test_invisible_and_sizes(void **state)
{
	static const char *const bad_names[] = {
		"\"pay\\u202Eroll\"", "\"a\\u200Bb\"", "\"a\\u2066b\"",
		"\"a\\uFEFFb\"",      "\"a\\u0085b\"",
	};
	struct buf y = BUF_INIT;
	struct diag_list d = DIAG_LIST_INIT;
	struct manifest_set *set = NULL;
	char *line;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		buf_reset(&y);
		buf_addf(&y,
		         "apiVersion: sandform.dev/v1\nkind: Sandbox\n"
		         "metadata:\n  name: %s\n",
		         bad_names[i]);
		expect_error(buf_cstr(&y), 4, "metadata.name",
		             "invisible, reordering or control character");
	}
	expect_error("apiVersion: sandform.dev/v1\nkind: Sandbox\n"
	             "metadata:\n  name: a\n  labels: {team: "
	             "\"a\\u202Eb\"}\n",
	             5, "metadata.labels.team", "contains U+202E");
	expect_error("apiVersion: sandform.dev/v1\nkind: Sandbox\n"
	             "metadata:\n  name: a\n  labels: {\"t\\u200Bm\": x}\n",
	             5, NULL, "label key contains U+200B");
	buf_reset(&y);
	buf_addstr(&y, "apiVersion: sandform.dev/v1\nkind: Sandbox\n"
	               "metadata:\n  name: a\n  labels:\n    k: ");
	for (i = 0; i <= RULE_MAX_LABEL_VALUE; i++)
		buf_addch(&y, 'v');
	buf_addch(&y, '\n');
	expect_error(buf_cstr(&y), 6, "metadata.labels.k",
	             "label value of 4097 bytes (expected at most 4096)");
	/* a hostile value quoted in a message is escaped */
	assert_int_equal(load(HDR "  state: \"\\e[2Jx\"\n", &set, &d),
	                 SF_EINVALID);
	line = diag_format(&d.v[0]);
	assert_null(strchr(line, '\033'));
	assert_non_null(strstr(line, "unknown state '\\x1b[2Jx'"));
	free(line);
	diag_list_free(&d);
	buf_free(&y);
}

static void
test_names_and_labels(void **state)
{
	static const char *const bad[] = {
		"\"\"",        "DESTROYED_x", "\"<b>x</b>\"", "see-http://x",
		"www.example", "mailto:me",   "\"a\\tb\"",    "\" lead\"",
		"\"x<a\"",     "\"</a\"",
	};
	/* Daytona allows tab, CR and LF in names; sandform does not */
	static const char *const daytona_ok[] = { "\"a\\tb\"", "\"a\\rb\"",
		                                  "\"a\\nb\"" };
	/* each rule says what it expects, not one generic hint */
	static const struct {
		const char *name, *expected;
	} hint[] = {
		{ "DESTROYED_x",
		  "(expected a name not starting with DESTROYED_)" },
		{ "\"a<b\"", "(expected no '<' before a letter or '/')" },
		{ "\"a</\"", "(expected no '<' before a letter or '/')" },
		{ "www.x", "(expected a name without URL schemes or 'www.')" },
		{ "\"a\\x01\"",
		  "(expected a name without control characters)" },
		{ "\" a\"", "(expected no leading or trailing space)" },
	};
	char *long_name;
	char yaml[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(daytona_ok) / sizeof(daytona_ok[0]); i++) {
		snprintf(yaml, sizeof(yaml),
		         "apiVersion: sandform.dev/v1\nkind: Sandbox\n"
		         "metadata:\n  name: %s\n",
		         daytona_ok[i]);
		expect_error(yaml, 4, "metadata.name",
		             "control character in name (expected a name "
		             "without control characters)");
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(yaml, sizeof(yaml),
		         "apiVersion: sandform.dev/v1\nkind: Sandbox\n"
		         "metadata:\n  name: %s\n",
		         bad[i]);
		expect_error(yaml, 4, "metadata.name", "(expected ");
	}
	for (i = 0; i < sizeof(hint) / sizeof(hint[0]); i++) {
		snprintf(yaml, sizeof(yaml),
		         "apiVersion: sandform.dev/v1\nkind: Sandbox\n"
		         "metadata:\n  name: %s\n",
		         hint[i].name);
		expect_error(yaml, 4, "metadata.name", hint[i].expected);
	}
	/* '<' not before a letter or '/' is fine, as in Daytona */
	expect_ok("apiVersion: sandform.dev/v1\nkind: Sandbox\nmetadata:\n"
	          "  name: \"a < 3\"\n");
	long_name = xasprintf("apiVersion: sandform.dev/v1\nkind: Sandbox\n"
	                      "metadata:\n  name: %0256d\n",
	                      0);
	expect_error(long_name, 4, "metadata.name",
	             "name longer than 255 bytes (expected at most 255 bytes)");
	free(long_name);
	expect_error("apiVersion: sandform.dev/v1\nkind: Sandbox\nmetadata:\n"
	             "  name: a\n  labels: {sandform.dev/stack: x}\n",
	             5, "metadata.labels[\"sandform.dev/stack\"]", "reserved");
	expect_error("apiVersion: sandform.dev/v1\nkind: Sandbox\nmetadata:\n"
	             "  name: a\n  labels: {team: \"a\\x01\"}\n",
	             5, "metadata.labels.team",
	             "control character in label value (expected a value "
	             "without control characters)");
	expect_error("apiVersion: sandform.dev/v1\nkind: Sandbox\nmetadata:\n"
	             "  name: a\n  labels: {team: [x]}\n",
	             5, "metadata.labels.team", "expected a string");
	expect_error("apiVersion: sandform.dev/v1\nkind: Sandbox\nmetadata:\n"
	             "  name: a\n  labels: [x]\n",
	             5, "metadata.labels", "mapping");
	expect_error("apiVersion: sandform.dev/v1\nkind: Sandbox\nmetadata:\n"
	             "  name: a\n  labels: {team: x, team: y}\n",
	             5, "metadata.labels.team", "duplicate key");
}

/*
 * Resources with a snapshot (or the default one): Daytona refuses only
 * truthy values, so null, 0 and {} are "not set" and nothing is managed;
 * any non-zero value is still an error.
 */
static void
test_resources_with_snapshot(void **state)
{
	static const char *const unset[] = {
		HDR "  snapshot: s\n  resources: {gpu: 0}\n",
		HDR "  snapshot: s\n  resources: {}\n",
		HDR "  snapshot: s\n  resources: {cpu: ~}\n",
		HDR
		"  snapshot: s\n  resources: {cpu: 0, memory: 0, disk: 0}\n",
		HDR "  resources: {cpu: ~, gpu: 0}\n",
		HDR "  resources:\n",
	};
	struct manifest_set *set;
	const struct spec *s;
	cJSON *json;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(unset) / sizeof(unset[0]); i++) {
		set = load_ok(unset[i]);
		s = &set->sandboxes[0];
		assert_false(s->has_cpu || s->has_memory || s->has_disk ||
		             s->has_gpu);
		assert_int_equal(spec_pos_get(s, SPEC_F_GPU).line, 0);
		json = manifest_set_to_json(set);
		assert_null(cJSON_GetObjectItem(
		        cJSON_GetArrayItem(
		                cJSON_GetObjectItem(json, "sandboxes"), 0),
		        "resources"));
		cJSON_Delete(json);
		manifest_set_free(set);
	}
	expect_error(HDR "  snapshot: s\n  resources: {gpu: 0, cpu: 2}\n", 7,
	             "spec.resources", "cannot be set with a snapshot");
	expect_error(HDR "  resources: {memory: 1}\n", 6, "spec.resources",
	             "resources need an image");
	/* with an image, gpu 0 is a managed value and cpu 0 is out of range */
	set = load_ok(HDR "  image: alpine\n  resources: {gpu: 0}\n");
	assert_true(set->sandboxes[0].has_gpu);
	assert_int_equal(set->sandboxes[0].gpu, 0);
	manifest_set_free(set);
	expect_error(HDR "  image: alpine\n  resources: {cpu: 0}\n", 7,
	             "spec.resources.cpu", "out of range");
}

static void
test_warnings(void **state)
{
	struct manifest_set *set = NULL;
	struct diag_list d = DIAG_LIST_INIT;

	(void)state;
	assert_int_equal(load(HDR "  state: started\n", &set, &d), 0);
	assert_non_null(set);
	assert_int_equal(d.n_errors, 0);
	assert_int_equal(d.n_warnings, 1);
	assert_non_null(find_diag(&d, DIAG_WARNING, 6, "spec.state",
	                          "autoStopInterval 15 (the default)"));
	manifest_set_free(set);
	diag_list_free(&d);

	assert_int_equal(
	        load(HDR "  state: started\n  autoStopInterval: 0\n", &set, &d),
	        0);
	assert_int_equal(d.n_warnings, 0);
	manifest_set_free(set);
	diag_list_free(&d);

	/* the warning names the interval written, not the default */
	assert_int_equal(load(HDR "  state: started\n  autoStopInterval: 30\n",
	                      &set, &d),
	                 0);
	assert_int_equal(d.n_warnings, 1);
	assert_non_null(find_diag(&d, DIAG_WARNING, 6, "spec.state",
	                          "autoStopInterval 30:"));
	manifest_set_free(set);
	diag_list_free(&d);

	/* a refused autoStopInterval has its error and no warning */
	assert_int_equal(load(HDR
	                      "  state: started\n  autoStopInterval: 0x10\n",
	                      &set, &d),
	                 SF_EINVALID);
	assert_null(set);
	assert_int_equal(d.n_errors, 1);
	assert_int_equal(d.n_warnings, 0);
	assert_non_null(find_diag(&d, DIAG_ERROR, 7, "spec.autoStopInterval",
	                          "'0x10' is not an integer"));
	diag_list_free(&d);

	assert_int_equal(load(HDR "  autoArchiveInterval: 50000\n", &set, &d),
	                 0);
	assert_int_equal(d.n_warnings, 1);
	manifest_set_free(set);
	diag_list_free(&d);
}

static void
test_hostile(void **state)
{
	struct buf b = BUF_INIT;
	struct manifest_set *set = NULL;
	struct diag_list d = DIAG_LIST_INIT;
	int i;
	static const char nul[] = "apiVersion: x\nkind: a\0b\n";

	(void)state;
	/* billion laughs: refused at the first alias */
	expect_error("a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n", 2, "b[0]",
	             "alias '*a' refused (expected the value written out");
	/* nesting: 64 levels (the mapping + 63 lists) parse, 65 do not */
	buf_addstr(&b, "a: ");
	for (i = 0; i < MANIFEST_MAX_DEPTH - 1; i++)
		buf_addch(&b, '[');
	for (i = 0; i < MANIFEST_MAX_DEPTH - 1; i++)
		buf_addch(&b, ']');
	buf_addch(&b, '\n');
	assert_int_equal(load(b.data, &set, &d), SF_EINVALID);
	assert_null(find_diag(&d, DIAG_ERROR, 1, NULL, "nesting"));
	diag_list_free(&d);
	buf_reset(&b);
	buf_addstr(&b, "a: ");
	for (i = 0; i < 10000; i++)
		buf_addch(&b, '[');
	expect_error(b.data, 1, NULL,
	             "nesting deeper than 64 levels (expected");
	assert_int_equal(load(b.data, &set, &d), SF_EINVALID);
	assert_non_null(d.v[0].path);
	assert_int_equal(strncmp(d.v[0].path, "a[0][0]", 7), 0);
	diag_list_free(&d);
	buf_free(&b);
	/* NUL bytes and invalid UTF-8, with their position */
	assert_int_equal(
	        manifest_load_buffer("n.yaml", nul, sizeof(nul) - 1, &set, &d),
	        SF_EINVALID);
	assert_non_null(find_diag(&d, DIAG_ERROR, 2, NULL, "NUL byte"));
	assert_int_equal(d.v[0].col, 8);
	diag_list_free(&d);
	expect_error("name: caf\xe9\n", 1, NULL, "invalid UTF-8");
	expect_error("name: \xc0\xaf\n", 1, NULL, "invalid UTF-8");
	expect_error("name: \xed\xa0\x80\n", 1, NULL, "invalid UTF-8");
	expect_error("x: y\nname: \xe2\x82", 2, NULL, "truncated");
	expect_error("name: \"a\\0b\"\n", 1, "name",
	             "NUL character in a string (expected text without NUL");
	/* broken YAML */
	expect_error("a: [b\n", 2, NULL, "invalid YAML");
	expect_error("a: b\n c: d\n", 2, NULL, "invalid YAML");
	/* too many nodes in one document */
	buf_addstr(&b, "a: [");
	for (i = 0; i <= YTREE_MAX_NODES; i++)
		buf_addstr(&b, "1,");
	buf_addstr(&b, "1]\n");
	expect_error(b.data, 1, NULL, "more than");
	buf_free(&b);
}

/*
 * yaml_error: yaml fails with exactly one diagnostic, a YAML syntax error
 * at line:col; returns a copy of its message (caller frees).
 */
static char *
yaml_error(const char *yaml, unsigned line, unsigned col)
{
	struct manifest_set *set = (void *)1;
	struct diag_list d = DIAG_LIST_INIT;
	char *msg;

	assert_int_equal(load(yaml, &set, &d), SF_EINVALID);
	assert_null(set);
	if (d.n != 1 || d.v[0].line != line || d.v[0].col != col ||
	    strstr(d.v[0].msg, "invalid YAML") == NULL) {
		fprintf(stderr, "input:\n%s\nwanted %u:%u, got:\n", yaml, line,
		        col);
		dump(&d);
		fail();
	}
	msg = xstrdup(d.v[0].msg);
	diag_list_free(&d);
	return msg;
}

#define TAB_HINT "(expected spaces; tabs cannot indent YAML)"

static void
test_tab_indent(void **state)
{
	static const char *const tabbed[] = {
		/* a tab where a key's indentation is read */
		HDR "\timage: x\n",
		/* a tab after spaces, same line */
		HDR " \timage: x\n",
		/* a tab ending a plain scalar's continuation */
		HDR "  image: x\n\tstate: started\n",
		/* CR LF line breaks and a multibyte name before the tab */
		"apiVersion: sandform.dev/v1\r\nkind: Sandbox\r\nmetadata:"
		"\r\n  name: caf\xc3\xa9\r\nspec:\r\n\timage: x\r\n",
		/* a BOM, and the tab on the first line */
		"\xef\xbb\xbf\tapiVersion: sandform.dev/v1\n",
	};
	static const unsigned where[][2] = {
		{ 6, 1 }, { 6, 2 }, { 7, 1 }, { 6, 1 }, { 1, 1 },
	};
	size_t i;
	char *msg;

	(void)state;
	for (i = 0; i < sizeof(tabbed) / sizeof(tabbed[0]); i++) {
		msg = yaml_error(tabbed[i], where[i][0], where[i][1]);
		if (strstr(msg, TAB_HINT) == NULL) {
			fprintf(stderr, "case %zu: no tab hint in '%s'\n", i,
			        msg);
			fail();
		}
		free(msg);
	}
	/* a syntax error that is not at a tab gets no tab hint */
	msg = yaml_error(HDR "  image: b\n   \tc: d\n", 7, 6);
	assert_null(strstr(msg, TAB_HINT));
	free(msg);
	msg = yaml_error(HDR "  image: [x\n", 7, 1);
	assert_null(strstr(msg, TAB_HINT));
	free(msg);
	/* syntax errors name the field being read and what is expected */
	expect_error(HDR "  resources:\n    cpu: 1\n\tmemory: 2\n", 8,
	             "spec.resources.cpu", TAB_HINT);
	expect_error(HDR "  image: a: b\n", 6, "spec",
	             "(expected quotes around a value that contains ': ')");
	expect_error(
	        HDR "  image: \"x\n", 7, "spec.image",
	        "quoted scalar (from line 6) (expected the closing quote)");
	expect_error("a: &\n", 1, "a", "(expected valid YAML)");
	/* a tab after a key's indentation, as separation, is fine */
	expect_ok(HDR "  state:\tstarted\n  autoStopInterval:\t0\n");
}

static void
test_too_many_errors(void **state)
{
	struct buf b = BUF_INIT;
	struct manifest_set *set = NULL;
	struct diag_list d = DIAG_LIST_INIT;
	int i;

	(void)state;
	buf_addstr(&b, HDR);
	for (i = 0; i < MANIFEST_MAX_ERRORS + 50; i++)
		buf_addf(&b, "  unknown%d: x\n", i);
	assert_int_equal(load(b.data, &set, &d), SF_EINVALID);
	assert_int_equal(d.n_errors, MANIFEST_MAX_ERRORS + 1);
	assert_non_null(find_diag(&d, DIAG_ERROR, 0, NULL, "too many errors"));
	/* sorted: the whole-file line first, then by line */
	assert_int_equal(d.v[0].line, 0);
	assert_int_equal(d.v[1].line, 6);
	assert_int_equal(d.v[2].line, 7);
	diag_list_free(&d);
	buf_free(&b);
}

static void
test_duplicates_across_files(void **state)
{
	char dir[] = "/tmp/sf-test-manifest-XXXXXX";
	char *p1, *p2, *sub;
	FILE *fp;
	struct manifest_set *set = NULL;
	struct diag_list d = DIAG_LIST_INIT;
	const char *paths[1];

	(void)state;
	assert_non_null(mkdtemp(dir));
	p1 = xasprintf("%s/a.yaml", dir);
	sub = xasprintf("%s/sub", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	p2 = xasprintf("%s/sub/b.yml", dir);
	fp = fopen(p1, "w");
	fputs(HDR "  snapshot: s\n", fp);
	fclose(fp);
	fp = fopen(p2, "w");
	fputs("\n" HDR, fp);
	fclose(fp);
	paths[0] = dir;
	assert_int_equal(manifest_load(paths, 1, &set, &d), SF_EINVALID);
	assert_null(set);
	assert_int_equal(d.n_errors, 1);
	assert_string_equal(d.v[0].file, p2);
	assert_int_equal(d.v[0].line, 5);
	assert_non_null(strstr(d.v[0].msg, "duplicate sandbox name 'a'"));
	assert_non_null(strstr(d.v[0].msg, p1));
	diag_list_free(&d);

	/*
	 * One file reached twice (a directory and a file in it, the same
	 * name twice, a link) is loaded once, with a warning naming the
	 * first name: no duplicate of its own sandboxes.
	 */
	unlink(p2);
	{
		const char *twice[3];
		char *dot = xasprintf("%s/./a.yaml", dir);
		char *link = xasprintf("%s/sub/l.yaml", dir);

		assert_int_equal(symlink(p1, link), 0);
		twice[0] = dir;
		twice[1] = dot;
		twice[2] = link;
		assert_int_equal(manifest_load(twice, 3, &set, &d), 0);
		assert_int_equal(set->n_files, 1);
		assert_int_equal(set->n_sandboxes, 1);
		/*
		 * dir walks a.yaml, then sub/l.yaml (skipped); then ./a.yaml
		 * and the link given by name are skipped too
		 */
		assert_int_equal(d.n_warnings, 3);
		assert_int_equal(d.n_errors, 0);
		assert_string_equal(d.v[0].file, dot);
		assert_non_null(strstr(d.v[0].msg, "already loaded as"));
		assert_non_null(strstr(d.v[0].msg, p1));
		assert_string_equal(d.v[1].file, link);
		manifest_set_free(set);
		diag_list_free(&d);
		unlink(link);
		free(dot);
		free(link);
	}
	paths[0] = p1;
	assert_int_equal(manifest_load(paths, 1, &set, &d), 0);
	assert_int_equal(set->n_files, 1);
	manifest_set_free(set);
	diag_list_free(&d);
	unlink(p1);
	rmdir(sub);
	rmdir(dir);
	free(p1);
	free(p2);
	free(sub);
}

static void
test_diag_format_sort(void **state)
{
	struct diag_list d = DIAG_LIST_INIT;
	char *s;

	(void)state;
	diag_add(&d, DIAG_ERROR, "b.yaml", 1, 1, "x", "late file");
	diag_add(&d, DIAG_WARNING, "a.yaml", 9, 3, "spec.state", "odd");
	diag_add(&d, DIAG_ERROR, "a.yaml", 2, 5, NULL, "early %d", 1);
	diag_add(&d, DIAG_ERROR, "a.yaml", 0, 0, NULL, "whole file");
	diag_list_sort(&d);
	assert_int_equal(d.n_errors, 3);
	assert_int_equal(d.n_warnings, 1);
	s = diag_format(&d.v[0]);
	assert_string_equal(s, "a.yaml: whole file");
	free(s);
	s = diag_format(&d.v[1]);
	assert_string_equal(s, "a.yaml:2:5: early 1");
	free(s);
	s = diag_format(&d.v[2]);
	assert_string_equal(s, "a.yaml:9:3: warning: spec.state: odd");
	free(s);
	s = diag_format(&d.v[3]);
	assert_string_equal(s, "b.yaml:1:1: x: late file");
	free(s);
	diag_list_free(&d);
	diag_list_free(NULL);
}

static void
test_json_and_secrets(void **state)
{
	struct manifest_set *set = NULL;
	struct diag_list d = DIAG_LIST_INIT;
	char path[] = "/tmp/sf-test-secret-XXXXXX";
	char link_path[64];
	char *text, *val = NULL, *yaml;
	struct secret_policy pol = SECRET_POLICY_INIT;
	char kname[] = "K", dname[] = "DAYTONA_API_KEY";
	struct spec_env link_env, daytona_env;
	cJSON *j;
	int fd;

	(void)state;
	memset(&link_env, 0, sizeof(link_env));
	link_env.key = xstrdup("L");
	link_env.kind = SPEC_ENV_SECRET_FILE;
	memset(&daytona_env, 0, sizeof(daytona_env));
	daytona_env.key = kname;
	daytona_env.kind = SPEC_ENV_SECRET_ENV;
	daytona_env.value = dname;
	snprintf(link_path, sizeof(link_path), "/tmp/sf-test-link-%ld",
	         (long)getpid());
	setenv("SF_TEST_SECRET", "hunter2-value", 1);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "file-secret\r\n", 13), 13);
	close(fd);
	yaml = xasprintf(HDR "  env:\n    P: plain\n    S: {secretEnv: "
	                     "SF_TEST_SECRET}\n    F: {secretFile: %s}\n",
	                 path);
	assert_int_equal(load(yaml, &set, &d), 0);
	j = manifest_set_to_json(set);
	text = cJSON_PrintUnformatted(j);
	assert_null(strstr(text, "hunter2"));
	assert_null(strstr(text, "file-secret"));
	assert_non_null(
	        strstr(text, "\"S\":{\"secretEnv\":\"SF_TEST_SECRET\"}"));
	assert_non_null(strstr(text, "\"P\":\"plain\""));
	assert_non_null(
	        strstr(text, "\"source\":{\"file\":\"t.yaml\",\"line\":1"));
	free(text);
	cJSON_Delete(j);

	/* env sorted: F, P, S. No directory allowed: the file is refused */
	assert_int_equal(secret_resolve(NULL, &set->sandboxes[0].env[0], &val),
	                 SF_EINVALID);
	assert_non_null(strstr(sf_error_last(), "outside the directories"));
	assert_null(val);
	assert_int_equal(secret_policy_allow(&pol, "/tmp"), 0);
	assert_int_equal(secret_resolve(&pol, &set->sandboxes[0].env[0], &val),
	                 0);
	assert_string_equal(val, "file-secret");
	free_secret(val);
	/* a link under the allowed directory to a file outside it reads
	 * nothing: the opened file's real path decides */
	assert_int_equal(symlink("/etc/hostname", link_path), 0);
	free(link_env.value);
	link_env.value = xstrdup(link_path);
	assert_int_equal(secret_resolve(&pol, &link_env, &val), SF_EINVALID);
	assert_non_null(strstr(sf_error_last(), "/tmp"));
	unlink(link_path);
	/* sandform's and Daytona's own variables are never read */
	setenv("DAYTONA_API_KEY", "sekrit-key", 1);
	assert_int_equal(secret_resolve(&pol, &daytona_env, &val), SF_EINVALID);
	assert_null(strstr(sf_error_last(), "sekrit-key"));
	unsetenv("DAYTONA_API_KEY");
	assert_int_equal(secret_resolve(NULL, &set->sandboxes[0].env[1], &val),
	                 0);
	assert_string_equal(val, "plain");
	free_secret(val);
	assert_int_equal(secret_resolve(NULL, &set->sandboxes[0].env[2], &val),
	                 0);
	assert_string_equal(val, "hunter2-value");
	free_secret(val);

	unsetenv("SF_TEST_SECRET");
	assert_int_equal(secret_resolve(NULL, &set->sandboxes[0].env[2], &val),
	                 SF_ENOTFOUND);
	assert_null(val);
	assert_non_null(strstr(sf_error_last(), "SF_TEST_SECRET"));
	unlink(path);
	assert_true(secret_resolve(&pol, &set->sandboxes[0].env[0], &val) < 0);
	assert_non_null(strstr(sf_error_last(), path));
	assert_null(strstr(sf_error_last(), "file-secret"));
	free_secret(NULL);
	secret_policy_clear(&pol);
	free(link_env.value);
	free(link_env.key);
	manifest_set_free(set);
	diag_list_free(&d);
	free(yaml);
	/* a manifest naming them is refused when it is read */
	expect_error(HDR "  env:\n    K: {secretEnv: DAYTONA_API_KEY}\n", 7,
	             "spec.env.K.secretEnv", "Daytona's own variables");
	expect_error(HDR "  env:\n    K: {secretEnv: SANDFORM_STATE}\n", 7,
	             "spec.env.K.secretEnv", "sandform's");
}

static void
test_value_rules(void **state)
{
	(void)state;
	assert_true(rule_cidr_ok("0.0.0.0/0"));
	assert_true(rule_cidr_ok("192.168.1.0/24"));
	assert_true(rule_cidr_ok("255.255.255.255/32"));
	assert_false(rule_cidr_ok("1.2.3.4/33"));
	assert_false(rule_cidr_ok("1.2.3/8"));
	assert_false(rule_cidr_ok("01.2.3.4/8"));
	assert_false(rule_cidr_ok("1.2.3.4/8 "));
	assert_false(rule_cidr_ok("::1/128"));
	assert_true(rule_domain_ok("pypi.org"));
	assert_true(rule_domain_ok("*.github.com"));
	assert_true(rule_domain_ok("a-b.example.co"));
	assert_false(rule_domain_ok("*.com"));
	assert_false(rule_domain_ok("a..com"));
	assert_false(rule_domain_ok("a.-b.com"));
	assert_false(rule_domain_ok("https://a.com"));
	assert_false(rule_domain_ok("a.com/x"));
	assert_false(rule_domain_ok("*"));
	/* the rule daytona-emulator applies (validate_domain, issue 14) */
	assert_false(rule_domain_ok("example.123"));
	assert_false(rule_domain_ok("1.2.3.4"));
	assert_false(rule_domain_ok("a.b"));
	assert_true(rule_mount_path_ok("/data"));
	assert_true(rule_mount_path_ok("/a/b.c/d"));
	assert_false(rule_mount_path_ok("/"));
	assert_false(rule_mount_path_ok("/a/.."));
	assert_false(rule_mount_path_ok("/./a"));
	assert_false(rule_mount_path_ok("a"));
	assert_true(rule_subpath_ok("team-a/x"));
	assert_false(rule_subpath_ok("a/../b"));
	assert_false(rule_subpath_ok("a//b"));
	assert_false(rule_subpath_ok(""));
}

/* .sandformignore: gitignore's syntax, the last match deciding. */
/* the 0.218 fields (issue 14): load, rules across fields, JSON */
static void
test_0218_fields(void **state)
{
	static const char yaml[] =
	        HDR "  image: nvidia/cuda:12\n"
	            "  resources: {gpu: 1}\n"
	            "  autoDeleteInterval: 0\n"
	            "  autoPauseInterval: 0\n"
	            "  ttlMinutes: 120\n"
	            "  spot: true\n"
	            "  gpuType: [H100, RTX-4090]\n"
	            "  outboundProxyUrl: http://proxy.internal:3128\n"
	            "  secrets: {OPENAI_API_KEY: openai-key, HF_TOKEN: hf}\n";
	struct manifest_set *set = load_ok(yaml);
	const struct spec *s = &set->sandboxes[0];
	struct spec *back = NULL;
	cJSON *j;
	char *t;
	int v;

	(void)state;
	assert_true(s->has_ttl);
	assert_int_equal(s->ttl, 120);
	assert_true(s->has_spot && s->spot);
	assert_int_equal(s->ngpu_types, 2);
	assert_string_equal(s->gpu_types[0], "H100");
	assert_string_equal(s->gpu_types[1], "RTX-4090");
	assert_string_equal(s->outbound_proxy_url,
	                    "http://proxy.internal:3128");
	assert_true(s->has_secrets);
	assert_string_equal(strmap_get(&s->secrets, "HF_TOKEN"), "hf");
	assert_int_equal(spec_pos_get(s, SPEC_F_GPU_TYPE).line, 12);
	/* JSON round trip */
	j = spec_to_json(s);
	t = cJSON_PrintUnformatted(j);
	assert_non_null(strstr(t, "\"gpuType\":[\"H100\",\"RTX-4090\"]"));
	assert_non_null(strstr(t, "\"secrets\":{\"HF_TOKEN\":\"hf\","));
	assert_non_null(strstr(t, "\"ttlMinutes\":120"));
	assert_int_equal(spec_from_json(j, &back), 0);
	assert_true(spec_field_equal(s, back, SPEC_F_GPU_TYPE));
	assert_true(spec_field_equal(s, back, SPEC_F_SECRETS));
	assert_true(spec_field_equal(s, back, SPEC_F_TTL));
	assert_true(spec_field_equal(s, back, SPEC_F_SPOT));
	assert_true(spec_field_equal(s, back, SPEC_F_OUTBOUND_PROXY));
	strmap_set(&back->secrets, "HF_TOKEN", "other");
	assert_false(spec_field_equal(s, back, SPEC_F_SECRETS));
	spec_free(back);
	free(t);
	cJSON_Delete(j);
	manifest_set_free(set);

	/* a single GPU type; state paused; autoPause leaves autoStop at 0 */
	set = load_ok(HDR "  snapshot: vm\n  kvm: true\n  state: paused\n"
	                  "  autoPauseInterval: 30\n");
	s = &set->sandboxes[0];
	assert_int_equal(s->state, SPEC_STATE_PAUSED);
	assert_true(s->kvm);
	assert_int_equal(spec_effective_auto_stop(s, &v), 1);
	assert_int_equal(v, 0);
	assert_int_equal(spec_effective_auto_pause(s, &v), 1);
	assert_int_equal(v, 30);
	manifest_set_free(set);
	set = load_ok(HDR "  autoStopInterval: 15\n");
	assert_int_equal(spec_effective_auto_pause(&set->sandboxes[0], &v), 1);
	assert_int_equal(v, 0);
	manifest_set_free(set);
	set = load_ok(HDR "  public: true\n");
	assert_int_equal(spec_effective_auto_pause(&set->sandboxes[0], &v), 0);
	assert_int_equal(spec_effective_auto_stop(&set->sandboxes[0], &v), 0);
	manifest_set_free(set);
	set = load_ok(HDR "  image: x\n  resources: {gpu: 1}\n"
	                  "  autoDeleteInterval: 0\n  gpuType: MI355X\n");
	assert_int_equal(set->sandboxes[0].ngpu_types, 1);
	manifest_set_free(set);

	expect_error(HDR "  autoStopInterval: 15\n  autoPauseInterval: 30\n", 7,
	             "spec.autoPauseInterval", "at most one of them non-zero");
	expect_error(HDR "  autoDeleteInterval: 0\n  autoPauseInterval: 30\n",
	             7, "spec.autoPauseInterval", "ephemeral");
	expect_error(HDR "  spot: true\n", 6, "spec.spot",
	             "spot is for GPU sandboxes");
	expect_error(HDR "  gpuType: [H100]\n", 6, "spec.gpuType",
	             "gpuType is for GPU sandboxes");
	expect_error(HDR "  gpuType: [A100]\n", 6, "spec.gpuType[0]",
	             "unknown GPU type 'A100'");
	expect_error(HDR "  image: x\n  resources: {gpu: 1}\n"
	                 "  autoDeleteInterval: 0\n  gpuType: [H100, H100]\n",
	             9, "spec.gpuType[1]", "duplicate GPU type");
	expect_error(HDR "  gpuType: []\n", 6, "spec.gpuType", "0 entries");
	expect_error(HDR "  image: x\n  kvm: true\n", 7, "spec.kvm",
	             "linux-vm snapshot");
	expect_error(HDR "  outboundProxyUrl: socks5://p:1080\n", 6,
	             "spec.outboundProxyUrl", "not a proxy URL");
	expect_error(HDR "  outboundProxyUrl: http://\n", 6,
	             "spec.outboundProxyUrl", "not a proxy URL");
	expect_error(HDR "  secrets: {'A-B': x}\n", 6, "spec.secrets.A-B",
	             "not a variable name");
	expect_error(HDR "  secrets: {A: {secretEnv: X}}\n", 6,
	             "spec.secrets.A", "belong in spec.env");
	expect_error(HDR "  secrets: [a]\n", 6, "spec.secrets",
	             "expected a mapping");
	expect_error(HDR "  env: {A: x}\n  secrets: {A: s}\n", 7,
	             "spec.secrets.A", "also in spec.env");
	expect_error(HDR "  ttlMinutes: -1\n", 6, "spec.ttlMinutes",
	             "out of range");
	expect_error(HDR "  spot: yes please\n", 6, "spec.spot", NULL);
}

static void
test_0218_warnings_and_proxy(void **state)
{
	struct manifest_set *set = NULL;
	struct diag_list d = DIAG_LIST_INIT;
	char *t;

	(void)state;
	/* credentials in the proxy URL are refused: the state, saved plans
	 * and the API's answers would keep them */
	assert_int_equal(load(HDR "  outboundProxyUrl: "
	                          "https://u:pw9x@proxy:3128/\n",
	                      &set, &d),
	                 SF_EINVALID);
	assert_non_null(find_diag(&d, DIAG_ERROR, 6, "spec.outboundProxyUrl",
	                          "holds credentials"));
	/* the message never repeats the password */
	assert_null(strstr(d.v[0].msg, "pw9x"));
	diag_list_free(&d);
	expect_error(HDR "  outboundProxyUrl: http://u@proxy:3128\n", 6,
	             "spec.outboundProxyUrl", "holds credentials");
	/* an '@' past the authority is not userinfo */
	manifest_set_free(load_ok(HDR "  outboundProxyUrl: "
	                              "http://proxy:3128/p?x=a@b\n"));
	assert_int_equal(load(HDR "  state: started\n  autoPauseInterval: 20\n",
	                      &set, &d),
	                 0);
	assert_int_equal(d.n_warnings, 1);
	assert_non_null(find_diag(&d, DIAG_WARNING, 6, "spec.state",
	                          "autoPauseInterval 20"));
	manifest_set_free(set);
	diag_list_free(&d);

	t = redact_url_userinfo("https://u:pw@proxy:3128/x");
	assert_string_equal(t, "https://***@proxy:3128/x");
	free(t);
	t = redact_url_userinfo("http://proxy:3128/a@b");
	assert_string_equal(t, "http://proxy:3128/a@b");
	free(t);
	t = redact_url_userinfo("http://proxy:3128?q=a@b");
	assert_string_equal(t, "http://proxy:3128?q=a@b");
	free(t);
	t = redact_url_userinfo("http://u:p@ss@proxy");
	assert_string_equal(t, "http://***@proxy");
	free(t);
	assert_null(redact_url_userinfo(NULL));
	assert_true(spec_gpu_type_ok("RTX-PRO-6000"));
	assert_false(spec_gpu_type_ok("rtx-4090"));
	assert_int_equal(spec_class_can_pause("container"), 0);
	assert_int_equal(spec_class_can_pause("linux-vm"), 1);
	assert_int_equal(spec_class_can_pause(NULL), -1);
	assert_int_equal(spec_class_can_pause("quantum"), -1);
}

static void
test_ignorefile(void **state)
{
	static const char text[] = "# vendored\n"
	                           "vendor/\n"
	                           "*.draft.yaml\n"
	                           "!keep.draft.yaml\n"
	                           "/top.yaml\n"
	                           "ci/**/*.yml\n"
	                           "deep/**\n"
	                           "\n"
	                           "\\#hash.yaml\n";
	static const struct {
		const char *rel;
		bool dir, skip;
	} cases[] = {
		{ "vendor", true, true },
		{ "a/vendor", true, true },
		{ "vendor", false, false },
		{ "x.draft.yaml", false, true },
		{ "a/b/x.draft.yaml", false, true },
		{ "keep.draft.yaml", false, false },
		{ "top.yaml", false, true },
		{ "a/top.yaml", false, false },
		{ "ci/a.yml", false, true },
		{ "ci/a/b/c.yml", false, true },
		{ "ci/a.yaml", false, false },
		{ "deep/x/y.yaml", false, true },
		{ "deeper/y.yaml", false, false },
		{ "#hash.yaml", false, true },
		{ "web.yaml", false, false },
	};
	struct ignorefile f = IGNOREFILE_INIT;
	size_t i;

	(void)state;
	ignorefile_parse(&f, text, sizeof(text) - 1);
	assert_int_equal(f.n, 7);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (ignorefile_skips(&f, cases[i].rel, cases[i].dir) !=
		    cases[i].skip)
			fail_msg("%s%s: expected %s", cases[i].rel,
			         cases[i].dir ? "/" : "",
			         cases[i].skip ? "skipped" : "read");
	ignorefile_clear(&f);
	assert_false(ignorefile_skips(&f, "x", false));
}

/* kind Volume and kind Snapshot (manifests/kind-resource.c) */
#define VOL "apiVersion: sandform.dev/v1\nkind: Volume\nmetadata:\n  name: "
#define SNAP                                                       \
	"apiVersion: sandform.dev/v1\nkind: Snapshot\nmetadata:\n" \
	"  name: py\nspec:\n"

static void
test_volume_snapshot(void **state)
{
	struct manifest_set *set;
	const struct res_spec *r;

	(void)state;
	set = load_ok(VOL "data\n---\n" SNAP "  image: python:3.12\n"
	                  "  resources: {cpu: 2, memory: 4, disk: 8, gpu: 0}\n"
	                  "  region: eu\n  sandboxClass: linux-vm\n"
	                  "  lifecycle: {preventDestroy: true}\n"
	                  "---\n" VOL "py\n");
	assert_int_equal(set->n_resources, 3);
	assert_int_equal(set->n_sandboxes, 0);
	r = manifest_set_find_resource(set, RES_SNAPSHOT, "py");
	assert_non_null(r);
	assert_string_equal(r->image, "python:3.12");
	assert_int_equal(r->cpu, 2);
	assert_int_equal(r->memory, 4);
	assert_int_equal(r->disk, 8);
	assert_string_equal(r->region, "eu");
	assert_string_equal(r->sandbox_class, "linux-vm");
	assert_true(r->prevent_destroy);
	assert_int_equal(r->line, 6);
	assert_int_equal(strlen(r->hash), 16);
	/* a volume and a snapshot may share a name */
	assert_non_null(manifest_set_find_resource(set, RES_VOLUME, "py"));
	assert_null(manifest_set_find_resource(set, RES_VOLUME, "nope"));
	manifest_set_free(set);
	/* build instead of image */
	expect_ok(SNAP "  build:\n    dockerfile: \"FROM x\\nRUN true\\n\"\n");
	/* errors, at their line */
	expect_error(SNAP "  region: eu\n", 6, "spec",
	             "a snapshot needs image or build");
	expect_error(SNAP "  image: a\n  build: {dockerfile: FROM a}\n", 7,
	             "spec.build", "image and build are exclusive");
	expect_error(SNAP "  image: a\n  resources: {cpu: 0}\n", 7,
	             "spec.resources.cpu", "out of range");
	expect_error(SNAP "  image: a\n  sandboxClass: vm\n", 7,
	             "spec.sandboxClass", "unknown sandbox class 'vm'");
	expect_error(SNAP "  image: a\n  labels: {a: b}\n", 7, "spec.labels",
	             "unknown key");
	expect_error(VOL "data\nspec:\n  size: 10\n", 6, "spec.size",
	             "unknown key");
	expect_error(VOL "data\n---\n" VOL "data\n", 9, "metadata.name",
	             "duplicate volume name 'data' (also at t.yaml:4:9");
	expect_error("apiVersion: sandform.dev/v1\nkind: Snapshot\n"
	             "metadata:\n  name: s\n",
	             1, "spec", "missing");
}

static void
assert_pos(const struct spec *s, enum spec_field f, unsigned line, unsigned col)
{
	struct spec_pos p = spec_pos_get(s, f);

	assert_int_equal(p.line, line);
	assert_int_equal(p.col, col);
}

/*
 * Field positions are kept compactly (issue 13) but exactly: a field far
 * below its document's start or past column 65,535 reads back as written,
 * from the spec and from its copies, and the fields written before it too.
 */
static void
test_positions(void **state)
{
	struct spec s, c;
	struct spec *d;
	struct manifest_set *set = NULL;
	struct diag_list dl = DIAG_LIST_INIT;
	struct buf y = BUF_INIT;
	cJSON *j;
	size_t i;

	(void)state;
	/* a plan holds one a sandbox */
	if (sizeof(void *) == 8)
		assert_true(sizeof(struct spec) <= 330);

	/* a column alone, a line alone past 16 bits */
	for (i = 0; i < 2; i++) {
		unsigned line = i ? 10 + 70001 : 13, col = i ? 7 : 70000;

		memset(&s, 0, sizeof(s));
		s.name = xstrdup("a");
		spec_pos_set(&s, SPEC_F_DOCUMENT, 10, 1);
		spec_pos_set(&s, SPEC_F_NAME, 12, 9);
		spec_pos_set(&s, SPEC_F_IMAGE, line, col);
		d = spec_dup(&s);
		assert_pos(&s, SPEC_F_NAME, 12, 9);
		assert_pos(&s, SPEC_F_IMAGE, line, col);
		assert_pos(d, SPEC_F_NAME, 12, 9);
		assert_pos(d, SPEC_F_IMAGE, line, col);
		spec_free(d);
		spec_clear(&s);
	}

	memset(&s, 0, sizeof(s));
	s.name = xstrdup("a");
	spec_pos_set(&s, SPEC_F_DOCUMENT, 100000, 1);
	spec_pos_set(&s, SPEC_F_NAME, 100003, 9);
	spec_pos_set(&s, SPEC_F_STATE, 100010, 10);
	spec_pos_set(&s, SPEC_F_CPU, 100000 + 65535, 65535); /* fits */
	assert_pos(&s, SPEC_F_CPU, 100000 + 65535, 65535);
	assert_pos(&s, SPEC_F_GPU, 0, 0);
	/* 70,001 lines below the document, a column past 65,535 */
	spec_pos_set(&s, SPEC_F_IMAGE, 170001, 7);
	spec_pos_set(&s, SPEC_F_ENV, 100020, 70000);
	spec_pos_set(&s, SPEC_F_LABELS, 99999, 4); /* above the document */
	for (i = 0; i < 2; i++) {
		const struct spec *x = i == 0 ? &s : &c;

		if (i == 1)
			spec_copy(&c, &s);
		assert_pos(x, SPEC_F_DOCUMENT, 100000, 1);
		assert_pos(x, SPEC_F_NAME, 100003, 9);
		assert_pos(x, SPEC_F_LABELS, 99999, 4);
		assert_pos(x, SPEC_F_IMAGE, 170001, 7);
		assert_pos(x, SPEC_F_CPU, 165535, 65535);
		assert_pos(x, SPEC_F_ENV, 100020, 70000);
		assert_pos(x, SPEC_F_STATE, 100010, 10);
		assert_pos(x, SPEC_F_SNAPSHOT, 0, 0);
	}
	/* forgetting and rewriting one leaves the others */
	spec_pos_set(&s, SPEC_F_CPU, 0, 0);
	spec_pos_set(&s, SPEC_F_NAME, 4000000000u, 4000000000u);
	assert_pos(&s, SPEC_F_CPU, 0, 0);
	assert_pos(&s, SPEC_F_NAME, 4000000000u, 4000000000u);
	assert_pos(&s, SPEC_F_ENV, 100020, 70000);
	assert_pos(&s, SPEC_F_STATE, 100010, 10);
	assert_pos(&c, SPEC_F_NAME, 100003, 9); /* a copy is its own */
	spec_clear(&c);
	assert_pos(&c, SPEC_F_NAME, 0, 0);
	spec_clear(&s);

	/* every field, narrow then widened by the last one */
	memset(&s, 0, sizeof(s));
	s.name = xstrdup("b");
	spec_pos_set(&s, SPEC_F_DOCUMENT, 5, 1);
	for (i = SPEC_F_COUNT - 1; i > SPEC_F_DOCUMENT; i--)
		spec_pos_set(&s, (enum spec_field)i, 5 + (unsigned)i,
		             2 * (unsigned)i);
	d = spec_dup(&s);
	spec_pos_set(&s, SPEC_F_TTL, 5 + 70000, 80000);
	for (i = SPEC_F_NAME; i < SPEC_F_COUNT; i++) {
		if (i != SPEC_F_TTL)
			assert_pos(&s, (enum spec_field)i, 5 + (unsigned)i,
			           2 * (unsigned)i);
		assert_pos(d, (enum spec_field)i, 5 + (unsigned)i,
		           2 * (unsigned)i);
	}
	assert_pos(&s, SPEC_F_TTL, 70005, 80000);
	spec_free(d);
	spec_clear(&s);

	/* from a manifest: values 70,000 lines down, one at column 70,020 */
	buf_addstr(&y, "# far\n# away\napiVersion: sandform.dev/v1\n"
	               "kind: Sandbox\nmetadata: {name: far}\n");
	for (i = 0; i < 70000; i++)
		buf_addstr(&y, "#\n");
	buf_addstr(&y, "spec:\n  image: python:3.12\n  state: stopped\n"
	               "  resources: {");
	for (i = 0; i < 70000; i++)
		buf_addch(&y, ' ');
	buf_addstr(&y, "cpu: 2}\n");
	assert_int_equal(load(buf_cstr(&y), &set, &dl), 0);
	assert_int_equal(set->n_sandboxes, 1);
	d = spec_dup(&set->sandboxes[0]);
	assert_pos(d, SPEC_F_DOCUMENT, 3, 1);
	assert_pos(d, SPEC_F_NAME, 5, 18);
	assert_pos(d, SPEC_F_IMAGE, 70007, 10);
	assert_pos(d, SPEC_F_STATE, 70008, 10);
	assert_pos(d, SPEC_F_CPU, 70009, 70020);
	assert_pos(d, SPEC_F_MEMORY, 0, 0);
	/* the document's position goes through JSON too */
	j = spec_to_json(d);
	spec_free(d);
	assert_int_equal(spec_from_json(j, &d), 0);
	assert_pos(d, SPEC_F_DOCUMENT, 3, 1);
	assert_pos(d, SPEC_F_NAME, 0, 0);
	cJSON_Delete(j);
	spec_free(d);
	manifest_set_free(set);
	diag_list_free(&dl);
	buf_free(&y);
}

/* A resolver for the pinned hashes: "NAME=value,..." by reference (the
 * secretEnv name or the secretFile path); absent ones are not found. */
static int
pin_secret(void *arg, const struct spec_env *e, char **value)
{
	const char *p = arg;
	size_t n = strlen(e->value);

	for (; p && *p; p = strchr(p, ','), p = p ? p + 1 : NULL)
		if (strncmp(p, e->value, n) == 0 && p[n] == '=') {
			p += n + 1;
			*value = xstrndup(p, strcspn(p, ","));
			return 0;
		}
	return SF_ENOTFOUND;
}

/*
 * The sandform.dev/spec label values of a few manifests, as computed before
 * the hash was made faster (issue 13): a changed value would make every
 * existing sandbox look changed, so these may never change.
 */
/* Segments longer than the hasher's block (and fields across its edge)
 * digest the same bytes as one buffer would. */
static void
test_spec_hash_long(void **state)
{
	static const size_t lens[] = { 0, 1, 700, 1023, 1024, 1025, 3000 };
	struct spec s;
	struct buf b = BUF_INIT;
	char *v, hex[SF_SHA256_HEX_LEN + 1], seg[SPEC_HASH_SEG_HEX + 1];
	size_t i;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.name = xstrdup("long");
	s.nenv = sizeof(lens) / sizeof(lens[0]);
	s.env = xcalloc(s.nenv, sizeof(*s.env));
	for (i = 0; i < s.nenv; i++) {
		v = xmalloc(lens[i] + 1);
		memset(v, 'a' + (int)i, lens[i]);
		v[lens[i]] = '\0';
		s.env[i].key = xasprintf("K%zu", i);
		s.env[i].value = v;
		buf_addf(&b, "key:%zu:%s\nplain:%zu:%s\n", strlen(s.env[i].key),
		         s.env[i].key, lens[i], v);
	}
	s.image = xmalloc(2001);
	memset(s.image, 'i', 2000);
	s.image[2000] = '\0';
	assert_int_equal(spec_hash(&s, "k", 1, NULL, NULL), 0);
	sha256_hex(b.data, b.len, hex);
	assert_int_equal(spec_hash_segment(s.hash, SPEC_SEG_ENV, seg), 0);
	assert_memory_equal(seg, hex, SPEC_HASH_SEG_HEX);
	buf_reset(&b);
	buf_addf(&b, "image:2000:%s\n", s.image);
	sha256_hex(b.data, b.len, hex);
	assert_int_equal(spec_hash_segment(s.hash, SPEC_SEG_IMAGE, seg), 0);
	assert_memory_equal(seg, hex, SPEC_HASH_SEG_HEX);
	sha256_hex("", 0, hex);
	assert_int_equal(spec_hash_segment(s.hash, SPEC_SEG_VOLUMES, seg), 0);
	assert_memory_equal(seg, hex, SPEC_HASH_SEG_HEX);
	buf_free(&b);
	spec_clear(&s);
}

static void
test_spec_hash_pinned(void **state)
{
	static const unsigned char k1[32] = "0123456789abcdef0123456789abcdef";
	static const char yaml[] =
	        "apiVersion: sandform.dev/v1\nkind: Sandbox\n"
	        "metadata: {name: b-00001, labels: {team: bench}}\n"
	        "spec: {snapshot: daytona-small, autoStopInterval: 0, "
	        "autoArchiveInterval: 1440, public: false, state: started}\n"
	        "---\n"
	        "apiVersion: sandform.dev/v1\nkind: Sandbox\n"
	        "metadata:\n  name: full\n  labels: {a: b}\n"
	        "spec:\n"
	        "  image: python:3.12\n"
	        "  outboundProxyUrl: http://proxy.example:3128\n"
	        "  env:\n"
	        "    MODE: fast\n"
	        "    EMPTY: ''\n"
	        "    \"Z\\u00e9\": \"caf\\u00e9 \\u2603\"\n"
	        "    TOKEN: {secretEnv: TOKEN_VAR}\n"
	        "    FILE: {secretFile: /run/secrets/f}\n"
	        "    GONE: {secretEnv: GONE_VAR}\n"
	        "  volumes:\n"
	        "    - {volume: data, mountPath: /data}\n"
	        "    - {volume: cache, mountPath: /cache, subpath: a/b}\n"
	        "---\n"
	        "apiVersion: sandform.dev/v1\nkind: Sandbox\n"
	        "metadata: {name: vm}\n"
	        "spec: {snapshot: linux-vm, kvm: true, env: {A: '1'}}\n";
	char secrets[] = "TOKEN_VAR=t0ken,/run/secrets/f=file value";
	char all[] = "TOKEN_VAR=t0ken,/run/secrets/f=file value,GONE_VAR=back";
	struct manifest_set *set = NULL;
	struct diag_list d = DIAG_LIST_INIT;
	struct spec *s;

	(void)state;
	assert_int_equal(load(yaml, &set, &d), 0);
	assert_int_equal(set->n_sandboxes, 3);
	s = &set->sandboxes[0]; /* b-00001: the benchmark's sandbox */
	assert_int_equal(spec_hash(s, k1, sizeof(k1), NULL, NULL), 0);
	assert_string_equal(s->hash,
	                    "v1.d650998a.e3b0c442.e3b0c442.e3b0c442.e3b0c442");
	/* without secrets the key does not count */
	assert_int_equal(spec_hash(s, "k", 1, NULL, NULL), 0);
	assert_string_equal(s->hash,
	                    "v1.d650998a.e3b0c442.e3b0c442.e3b0c442.e3b0c442");
	s = &set->sandboxes[1]; /* full */
	assert_int_equal(spec_hash(s, k1, sizeof(k1), pin_secret, secrets),
	                 SF_ENOTFOUND);
	assert_int_equal(
	        spec_hash_lenient(s, k1, sizeof(k1), pin_secret, secrets), 0);
	assert_string_equal(s->hash,
	                    "v1.991ca173.aa16bb9e.3bf8db94.3eb1bd43.992b7dd6");
	assert_int_equal(s->nunresolved, 1);
	assert_string_equal(spec_env_find(s, "TOKEN")->hmac,
	                    "907ea04767b7ce0b");
	assert_string_equal(spec_env_find(s, "FILE")->hmac, "ec0c169271e625a1");
	assert_string_equal(spec_env_find(s, "GONE")->hmac, "");
	assert_true(spec_env_find(s, "GONE")->unresolved);
	assert_int_equal(spec_hash(s, k1, sizeof(k1), pin_secret, all), 0);
	assert_string_equal(s->hash,
	                    "v1.991ca173.aa16bb9e.c456b40d.3eb1bd43.992b7dd6");
	assert_int_equal(s->nunresolved, 0);
	assert_false(spec_env_find(s, "GONE")->unresolved);
	assert_int_equal(spec_hash(s, "k", 1, pin_secret, all), 0);
	assert_string_equal(s->hash,
	                    "v1.991ca173.aa16bb9e.7262b9e9.8254c329.992b7dd6");
	s = &set->sandboxes[2]; /* vm */
	assert_int_equal(spec_hash(s, k1, sizeof(k1), NULL, NULL), 0);
	assert_string_equal(s->hash,
	                    "v1.09a9ef65.4d0bf400.e3b0c442.e3b0c442.e3b0c442");
	manifest_set_free(set);
	diag_list_free(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_minimal_and_multidoc),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_names_and_labels),
		cmocka_unit_test(test_invisible_and_sizes),
		cmocka_unit_test(test_resources_with_snapshot),
		cmocka_unit_test(test_warnings),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_tab_indent),
		cmocka_unit_test(test_too_many_errors),
		cmocka_unit_test(test_duplicates_across_files),
		cmocka_unit_test(test_diag_format_sort),
		cmocka_unit_test(test_json_and_secrets),
		cmocka_unit_test(test_value_rules),
		cmocka_unit_test(test_ignorefile),
		cmocka_unit_test(test_0218_fields),
		cmocka_unit_test(test_0218_warnings_and_proxy),
		cmocka_unit_test(test_volume_snapshot),
		cmocka_unit_test(test_positions),
		cmocka_unit_test(test_spec_hash_pinned),
		cmocka_unit_test(test_spec_hash_long),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
