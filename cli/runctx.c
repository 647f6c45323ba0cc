/*
 * runctx: load, open, connect; each step prints its own failure once so
 * the commands built on it stay short and say things the same way.
 */
#include "common/base.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "cli/runctx.h"

int
runctx_fail(const struct runctx *rx, int rc)
{
	fprintf(stderr, "sandform %s: %s\n", rx->cmd ? rx->cmd : "",
	        *sf_error_last() ? sf_error_last() : sf_error_name(rc));
	return rc;
}

int64_t
runctx_run_begin(struct runctx *rx, const char *stack, const char *source)
{
	struct store_run run;
	int64_t id = 0;

	memset(&run, 0, sizeof(run));
	run.command = rx->cmd;
	run.stack = stack;
	run.source = source;
	if (store_run_begin(rx->store, &run, &id) < 0) {
		log_debug("cannot record the run: %s", sf_error_last());
		id = 0;
	}
	return id;
}

void
runctx_plan_input(const struct runctx *rx, const char *stack,
                  const struct refresh_result *rr, struct plan_input *in)
{
	memset(in, 0, sizeof(*in));
	in->stack = stack;
	in->specs = rx->specs;
	in->nspecs = rx->nspecs;
	in->observed = rr->observed;
	in->nobserved = rr->nobserved;
	in->records = rr->records;
	in->nrecords = rr->nrecords;
	in->foreign = rr->foreign;
	in->nforeign = rr->nforeign;
	in->max_auto_archive = rr->max_auto_archive;
	in->resize_unavailable = runctx_resize_unavailable(rx);
}

char *
runctx_api_url(void)
{
	const char *v = getenv("DAYTONA_API_URL");
	char *u = xstrdup(v && *v ? v : DT_DEFAULT_URL);
	size_t n = strlen(u);

	while (n > 0 && u[n - 1] == '/')
		u[--n] = '\0';
	return u;
}

int
runctx_resize_unavailable(const struct runctx *rx)
{
	char *v = NULL, *url;
	int hit;

	if (rx->store == NULL ||
	    store_meta_get(rx->store, STORE_META_RESIZE_UNAVAILABLE, &v) < 0) {
		log_debug("reading %s: %s", STORE_META_RESIZE_UNAVAILABLE,
		          sf_error_last());
		return 0;
	}
	if (v == NULL)
		return 0;
	url = runctx_api_url();
	hit = strcmp(v, url) == 0;
	if (hit)
		log_debug("resize answered 404 at %s before: resources "
		          "force a replace",
		          url);
	free(url);
	free(v);
	return hit;
}

void
runctx_print_plan_errors(const struct runctx *rx, const struct plan *p)
{
	size_t i;

	for (i = 0; i < p->nerrors; i++) {
		int named = strcmp(p->errors[i].name, "*") != 0;

		fprintf(stderr, "sandform %s: %s%s%s\n", rx->cmd ? rx->cmd : "",
		        named ? p->errors[i].name : "", named ? ": " : "",
		        p->errors[i].message);
	}
}

int
runctx_load(struct runctx *rx, struct sf_ctx *ctx, int argc, char **argv)
{
	struct diag_list diags = DIAG_LIST_INIT;
	int rc, i;

	(void)ctx;
	rc = manifest_load((const char *const *)argv, (size_t)argc, &rx->set,
	                   &diags);
	diag_list_print(stderr, &diags);
	if (rc < 0) {
		fprintf(stderr, "sandform %s: %zu error%s in the manifests\n",
		        rx->cmd ? rx->cmd : "", diags.n_errors,
		        diags.n_errors == 1 ? "" : "s");
		diag_list_free(&diags);
		return rc;
	}
	diag_list_free(&diags);
	rx->nspecs = rx->set->n_sandboxes;
	rx->specs = rx->set->sandboxes;
	/* a manifest may read secret files under its own root only */
	for (i = 0; i < (argc ? argc : 1); i++)
		if ((rc = secret_policy_allow(&rx->secrets,
		                              argc ? argv[i] : ".")) < 0)
			return runctx_fail(rx, rc);
	log_debug("%zu sandboxes in the manifests", rx->nspecs);
	return 0;
}

int
runctx_open_store(struct runctx *rx, struct sf_ctx *ctx)
{
	int rc;

	if ((rc = store_open(ctx->state_path, &rx->store)) < 0)
		return runctx_fail(rx, rc);
	return 0;
}

int
runctx_hash_specs(struct runctx *rx)
{
	size_t i;
	int rc;

	for (i = 0; i < rx->nspecs; i++) {
		rc = spec_hash(&rx->specs[i], store_hmac_key(rx->store),
		               STORE_HMAC_KEY_LEN, secret_resolve,
		               &rx->secrets);
		if (rc < 0) {
			fprintf(stderr, "sandform %s: %s: %s\n",
			        rx->cmd ? rx->cmd : "", rx->specs[i].name,
			        sf_error_last());
			return rc;
		}
	}
	return 0;
}

int
runctx_open_client(struct runctx *rx, struct sf_ctx *ctx)
{
	struct dt_config cfg = DT_CONFIG_INIT;
	int rc;

	if ((rc = dt_config_from_env(&cfg, ctx->api_key_file)) < 0 ||
	    (rc = dt_client_new(&cfg, &rx->client)) < 0) {
		dt_config_clear(&cfg);
		return runctx_fail(rx, rc);
	}
	dt_config_clear(&cfg);
	return 0;
}

void
runctx_close(struct runctx *rx)
{
	manifest_set_free(rx->set); /* and the specs, which are its own */
	secret_policy_clear(&rx->secrets);
	dt_client_free(rx->client);
	store_close(rx->store);
	memset(rx, 0, sizeof(*rx));
}
