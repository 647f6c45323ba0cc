/*
 * Unit tests of what the client says when an answer is not the one it
 * wanted, and of the limits on its waiting (issue 9, items 7 and 10): a
 * body that is not the API's JSON described (status, type, first bytes,
 * escaped), a redirect named and not followed, a TLS failure not retried
 * and hinting at --ca-file, one call's time limit over all its attempts
 * (each attempt's own timeout cut to what is left; a Retry-After that
 * would pass it refused at once), long waits said on stderr, a budget
 * that paces only when the run wants more than is left, and the
 * settings around them: CAs from --ca-file / SSL_CERT_FILE / SSL_CERT_DIR,
 * a key file others can read warned about, loopback spelled any way.
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
#include "common/fileutil.h"
#include "common/xalloc.h"
#include "common/redact.h"
#include "daytona/client.h"
#include "daytona/reply.h"
#include "daytona/transport-fake.h"
#include "daytona/transport.h"

#define TEST_KEY "dtn_reply_KEY_0123456789abcdef"

static const char sandbox_json[] =
        "{\"id\":\"sb-1\",\"name\":\"a\",\"state\":\"started\"}";

static struct dt_client *
client_with(struct dt_fake *f, const char *url, long call_ms)
{
	struct dt_config cfg = DT_CONFIG_INIT;
	struct dt_client *c = NULL;

	cfg.api_key = TEST_KEY;
	cfg.base_url = url ? url : "https://fake.test/api";
	cfg.call_timeout_ms = call_ms;
	cfg.transport = dt_fake_transport(f);
	cfg.clock = dt_fake_clock(f);
	assert_int_equal(dt_client_new(&cfg, &c), 0);
	return c;
}

/* stderr_to: send stderr to a new temporary file; returns the saved fd. */
static int
stderr_to(char *path)
{
	int fd = mkstemp(path), saved;

	assert_true(fd >= 0);
	fflush(stderr);
	saved = dup(2);
	dup2(fd, 2);
	close(fd);
	return saved;
}

/* stderr_back: restore stderr; *out gets what was written meanwhile. */
static void
stderr_back(int saved, const char *path, struct buf *out)
{
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	buf_free(out);
	assert_int_equal(file_read(path, 0, out), 0);
	unlink(path);
}

/* An answer that is not the API's JSON says what came instead. */
static void
test_unexpected_bodies(void **state)
{
	static const char html[] = "<html><head><title>Sign in</title>"
	                           "</head><body>\x1b]0;pwned\x07 a long "
	                           "page</body></html>";
	struct dt_fake *f = dt_fake_new();
	struct dt_client *c = client_with(f, NULL, 0);
	struct dt_result r = DT_RESULT_INIT;
	struct dt_page page;
	struct dt_list_query q;

	(void)state;
	memset(&q, 0, sizeof(q));
	dt_fake_push(f, 200, "Content-Type: text/html", html);
	assert_int_equal(dt_list(c, &q, &page, &r), SF_EINVALID);
	assert_string_equal(sf_error_last(),
	                    "daytona: GET /sandbox: the response is "
	                    "not a page of sandboxes (got 200, Content-Type "
	                    "text/html, 83 bytes: '<html><head><title>Sign "
	                    "in</title></head><body>\\x1b]0;pwned\\x07 a "
	                    "long'...)");
	dt_fake_push(f, 200, NULL, "");
	assert_int_equal(dt_get(c, "a", &r), SF_EINVALID);
	assert_string_equal(sf_error_last(),
	                    "daytona: GET /sandbox/a: the response is not a "
	                    "sandbox (got 200, no Content-Type, empty body)");
	/* error statuses: the API's message, else what came */
	dt_fake_push(f, 404, "Content-Type: text/html", "<h1>Not Found</h1>");
	assert_int_equal(dt_get(c, "a", &r), SF_ENOTFOUND);
	assert_string_equal(sf_error_last(),
	                    "daytona: 404 (not the API's JSON: Content-Type "
	                    "text/html, 18 bytes: '<h1>Not Found</h1>')");
	dt_fake_push(f, 400, NULL, "");
	assert_int_equal(dt_get(c, "a", &r), SF_EINVALID);
	assert_string_equal(sf_error_last(), "daytona: 400 (empty body)");
	dt_fake_push(f, 400, NULL, "{\"statusCode\":400}");
	assert_int_equal(dt_get(c, "a", &r), SF_EINVALID);
	assert_string_equal(sf_error_last(), "daytona: 400 (no error message)");
	dt_result_clear(&r);
	dt_client_free(c);
	dt_fake_free(f);
}

/* A redirect is named, never followed (it would carry the key). */
static void
test_redirect(void **state)
{
	struct dt_fake *f = dt_fake_new();
	struct dt_client *c = client_with(f, NULL, 0);
	struct dt_result r = DT_RESULT_INIT;

	(void)state;
	dt_fake_push(f, 302, "Location: https://login.example/sso?next=/api",
	             "");
	assert_int_equal(dt_get(c, "a", &r), SF_ERROR);
	assert_string_equal(sf_error_last(),
	                    "daytona: 302 redirect to "
	                    "https://login.example/sso?next=/api: not "
	                    "followed (it would carry the API key); set "
	                    "DAYTONA_API_URL to the address that answers");
	assert_int_equal(r.attempts, 1);
	dt_fake_push(f, 301, NULL, "");
	assert_int_equal(dt_get(c, "a", &r), SF_ERROR);
	assert_non_null(strstr(sf_error_last(), "301 redirect to (no Location "
	                                        "header)"));
	assert_int_equal(dt_fake_n_requests(f), 2);
	dt_result_clear(&r);
	dt_client_free(c);
	dt_fake_free(f);
}

/* A certificate problem fails at once, with the way to trust a CA. */
static void
test_tls_not_retried(void **state)
{
	struct dt_fake *f = dt_fake_new();
	struct dt_client *c = client_with(f, NULL, 0);
	struct dt_result r = DT_RESULT_INIT;

	(void)state;
	dt_fake_push_failure(f, DT_HTTP_TLS,
	                     "SSL certificate problem: unable to get local "
	                     "issuer certificate");
	assert_int_equal(dt_get(c, "a", &r), SF_ENET);
	assert_int_equal(r.attempts, 1);
	assert_int_equal(dt_fake_n_requests(f), 1);
	assert_int_equal(dt_fake_n_sleeps(f), 0);
	assert_string_equal(sf_error_last(),
	                    "daytona: GET /sandbox/a: TLS failed: SSL "
	                    "certificate problem: unable to get local issuer "
	                    "certificate (TLS is always verified: for a "
	                    "private CA give --ca-file FILE or set "
	                    "SSL_CERT_FILE)");
	dt_result_clear(&r);
	dt_client_free(c);
	dt_fake_free(f);
}

/* a server that never answers: each attempt runs out its own time */
static int
hang(void *arg, const struct dt_fake_req *req, struct dt_http_response *resp)
{
	struct dt_fake *f = arg;

	dt_fake_advance(f, req->timeout_ms);
	resp->failure = DT_HTTP_TIMEOUT;
	snprintf(resp->error, sizeof(resp->error), "Operation timed out");
	return SF_ENET;
}

/* One call, all attempts and waits included, keeps to its time limit. */
static void
test_call_time_limit(void **state)
{
	struct dt_fake *f = dt_fake_new();
	struct dt_client *c = client_with(f, NULL, 200000);
	struct dt_result r = DT_RESULT_INIT;
	int64_t t0 = dt_fake_now(f);
	size_t i, n;

	(void)state;
	dt_fake_set_handler(f, hang, f);
	assert_int_equal(dt_get(c, "a", &r), SF_ENET);
	n = dt_fake_n_requests(f);
	assert_int_equal(n, 3); /* 90 s, 90 s, then what is left */
	assert_int_equal(dt_fake_request(f, 0)->timeout_ms, 90000);
	assert_true(dt_fake_request(f, 2)->timeout_ms < 20000);
	for (i = 0; i < n; i++)
		assert_true(dt_fake_request(f, i)->timeout_ms > 0);
	assert_true(dt_fake_now(f) - t0 <= 200000);
	assert_non_null(strstr(sf_error_last(), "GET /sandbox/a: timed out: "
	                                        "Operation timed out (after "
	                                        "3 attempts); gave up: the "
	                                        "call's time limit of 200 s "
	                                        "has passed"));
	dt_result_clear(&r);
	dt_client_free(c);
	dt_fake_free(f);
}

/* A Retry-After past the limit is refused at once, not slept. */
static void
test_retry_after_past_limit(void **state)
{
	struct dt_fake *f = dt_fake_new();
	struct dt_client *c = client_with(f, NULL, 60000);
	struct dt_result r = DT_RESULT_INIT;

	(void)state;
	dt_fake_push(f, 503, "Retry-After: 3600",
	             "{\"message\":\"Service is currently under "
	             "maintenance\"}");
	assert_int_equal(dt_get(c, "a", &r), SF_ENET);
	assert_int_equal(dt_fake_n_sleeps(f), 0);
	assert_string_equal(sf_error_last(),
	                    "daytona: 503 Service is currently under "
	                    "maintenance; not retried: waiting 120 s more "
	                    "would pass the call's time limit of 60 s");
	dt_fake_push(f, 429, "Retry-After: 90", "{\"message\":\"slow down\"}");
	assert_int_equal(dt_start(c, "a", &r), SF_ERATELIMIT);
	assert_int_equal(dt_fake_n_sleeps(f), 0);
	assert_non_null(strstr(sf_error_last(), "waiting 90 s more"));
	dt_result_clear(&r);
	dt_client_free(c);
	dt_fake_free(f);
}

/* get_n: n GETs answered with a sandbox; the first carries headers */
static void
get_n(struct dt_fake *f, struct dt_client *c, int n, const char *headers)
{
	struct dt_result r = DT_RESULT_INIT;
	int i;

	for (i = 0; i < n; i++) {
		dt_fake_push(f, 200, i == 0 ? headers : NULL, sandbox_json);
		assert_int_equal(dt_get(c, "a", &r), 0);
	}
	dt_result_clear(&r);
}

/* A window's last requests are spread over it only when the run does not
 * say how many it wants (issue 13, item 1). */
static void
test_budget_demand(void **state)
{
	static const char few_left[] = "X-RateLimit-Limit: 100\n"
	                               "X-RateLimit-Remaining: 10\n"
	                               "X-RateLimit-Reset: 60";
	struct dt_fake *f = dt_fake_new();
	struct dt_client *c = client_with(f, NULL, 0);
	struct dt_stats st;
	int64_t t0;

	(void)state;
	/* unknown demand: paced, as before */
	get_n(f, c, 6, few_left);
	assert_true(dt_fake_n_sleeps(f) >= 4);
	dt_client_free(c);
	dt_fake_free(f);

	/* 8 more wanted, 10 left: all at once */
	f = dt_fake_new();
	c = client_with(f, NULL, 0);
	get_n(f, c, 1, few_left);
	dt_client_set_demand(c, DT_BUCKET_AUTHENTICATED, 8);
	get_n(f, c, 8, NULL);
	assert_int_equal(dt_fake_n_sleeps(f), 0);
	dt_client_stats(c, &st);
	assert_int_equal(st.paced, 0);
	dt_client_free(c);
	dt_fake_free(f);

	/* 30 wanted, 10 left in the window: the 10 at once (spreading them
	 * would not end the run sooner), then the window's end */
	f = dt_fake_new();
	c = client_with(f, NULL, 0);
	get_n(f, c, 1, few_left);
	dt_client_set_demand(c, DT_BUCKET_AUTHENTICATED, 30);
	t0 = dt_fake_now(f);
	get_n(f, c, 10, NULL);
	assert_int_equal(dt_fake_n_sleeps(f), 0);
	get_n(f, c, 1, NULL);
	assert_true(dt_fake_now(f) - t0 >= 59000);
	dt_client_free(c);
	dt_fake_free(f);
}

/* A long wait is said on stderr at normal verbosity; a short one not. */
static void
test_wait_said(void **state)
{
	struct dt_fake *f = dt_fake_new();
	struct dt_client *c = client_with(f, NULL, 0);
	struct dt_result r = DT_RESULT_INIT;
	char path[] = "/tmp/sf-waitXXXXXX";
	struct buf out = BUF_INIT;
	int saved;

	(void)state;
	saved = stderr_to(path);
	dt_fake_push(f, 503, "Retry-After: 7", "{\"message\":\"later\"}");
	dt_fake_push(f, 429, "Retry-After: 4", "{\"message\":\"slow\"}");
	dt_fake_push(f, 502, "Retry-After: 1", "{\"message\":\"brief\"}");
	dt_fake_push(f, 200, NULL, sandbox_json);
	assert_int_equal(dt_get(c, "a", &r), 0);
	stderr_back(saved, path, &out);
	assert_non_null(strstr(buf_cstr(&out), "waiting 7 s to retry GET "
	                                       "/sandbox/a: the server "
	                                       "answered 503"));
	assert_non_null(strstr(buf_cstr(&out),
	                       "waiting 4 s for Daytona's 'authenticated' "
	                       "rate limit (the server answered 429)"));
	assert_null(strstr(buf_cstr(&out), "waiting 1 s"));
	assert_null(strstr(buf_cstr(&out), TEST_KEY));
	buf_free(&out);
	dt_result_clear(&r);
	dt_client_free(c);
	dt_fake_free(f);
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	assert_int_equal(chmod(path, mode), 0);
}

/* CAs: --ca-file over SSL_CERT_FILE, SSL_CERT_DIR; each must be there;
 * the request carries them. */
static void
test_ca_settings(void **state)
{
	char dir[] = "/tmp/sf-caXXXXXX";
	struct dt_config cfg = DT_CONFIG_INIT;
	struct dt_fake *f = dt_fake_new();
	struct dt_client *c = NULL;
	struct dt_result r = DT_RESULT_INIT;
	char *ca, *env_ca, *missing;

	(void)state;
	assert_non_null(mkdtemp(dir));
	ca = xasprintf("%s/ca.pem", dir);
	env_ca = xasprintf("%s/env.pem", dir);
	missing = xasprintf("%s/none.pem", dir);
	write_file(ca, "-----BEGIN CERTIFICATE-----\n", 0644);
	write_file(env_ca, "-----BEGIN CERTIFICATE-----\n", 0644);
	setenv("DAYTONA_API_KEY", TEST_KEY, 1);
	unsetenv("DAYTONA_API_URL");
	setenv("SSL_CERT_FILE", env_ca, 1);
	setenv("SSL_CERT_DIR", dir, 1);
	assert_int_equal(dt_config_from_env(&cfg, NULL, NULL), 0);
	assert_string_equal(cfg.ca_file, env_ca);
	assert_string_equal(cfg.ca_dir, dir);
	assert_int_equal(dt_config_from_env(&cfg, NULL, ca), 0);
	assert_string_equal(cfg.ca_file, ca);
	cfg.transport = dt_fake_transport(f);
	cfg.clock = dt_fake_clock(f);
	assert_int_equal(dt_client_new(&cfg, &c), 0);
	dt_fake_push(f, 200, NULL, sandbox_json);
	assert_int_equal(dt_get(c, "a", &r), 0);
	assert_string_equal(dt_fake_request(f, 0)->ca_file, ca);
	dt_client_free(c);
	dt_config_clear(&cfg);
	assert_int_equal(dt_config_from_env(&cfg, NULL, missing), SF_EIO);
	assert_non_null(strstr(sf_error_last(), "--ca-file: "));
	assert_non_null(strstr(sf_error_last(), "No such file"));
	setenv("SSL_CERT_FILE", dir, 1);
	assert_int_equal(dt_config_from_env(&cfg, NULL, NULL), SF_EIO);
	assert_non_null(strstr(sf_error_last(), "SSL_CERT_FILE: "));
	unsetenv("SSL_CERT_FILE");
	setenv("SSL_CERT_DIR", ca, 1);
	assert_int_equal(dt_config_from_env(&cfg, NULL, NULL), SF_EIO);
	assert_non_null(strstr(sf_error_last(), "not a directory"));
	unsetenv("SSL_CERT_DIR");
	unsetenv("DAYTONA_API_KEY");
	unlink(ca);
	unlink(env_ca);
	rmdir(dir);
	free(ca);
	free(env_ca);
	free(missing);
	dt_result_clear(&r);
	dt_fake_free(f);
}

/* A key file others can read is warned about, never the key shown. */
static void
test_key_file_mode(void **state)
{
	char dir[] = "/tmp/sf-kfXXXXXX", path[] = "/tmp/sf-kwXXXXXX";
	struct dt_config cfg = DT_CONFIG_INIT;
	struct buf out = BUF_INIT;
	char *key;
	int saved;

	(void)state;
	assert_non_null(mkdtemp(dir));
	key = xasprintf("%s/key", dir);
	write_file(key, TEST_KEY "\n", 0600);
	saved = stderr_to(path);
	assert_int_equal(dt_config_from_env(&cfg, key, NULL), 0);
	assert_int_equal(chmod(key, 0640), 0);
	assert_int_equal(dt_config_from_env(&cfg, key, NULL), 0);
	stderr_back(saved, path, &out);
	assert_int_equal(strcmp(buf_cstr(&out), "") == 0, 0);
	assert_non_null(strstr(buf_cstr(&out),
	                       "is readable by group or others (mode 0640): "
	                       "chmod 600 it"));
	/* one warning: none for the 0600 file */
	assert_null(
	        strstr(strstr(buf_cstr(&out), "chmod 600") + 1, "chmod 600"));
	assert_null(strstr(buf_cstr(&out), TEST_KEY));
	dt_config_clear(&cfg);
	buf_free(&out);
	unlink(key);
	rmdir(dir);
	free(key);
}

/* plain_http_warned: whether a call through a client for url warns about
 * sending the key over plain http. */
static int
plain_http_warned(const char *url)
{
	struct dt_fake *f = dt_fake_new();
	struct dt_client *c = client_with(f, url, 0);
	struct dt_result r = DT_RESULT_INIT;
	char path[] = "/tmp/sf-phXXXXXX";
	struct buf out = BUF_INIT;
	int saved, warned;

	saved = stderr_to(path);
	dt_fake_push(f, 200, NULL, sandbox_json);
	assert_int_equal(dt_get(c, "a", &r), 0);
	stderr_back(saved, path, &out);
	warned = strstr(buf_cstr(&out), "plain http") != NULL;
	buf_free(&out);
	dt_result_clear(&r);
	dt_client_free(c);
	dt_fake_free(f);
	return warned;
}

/* Loopback however spelled is not warned about; look-alikes are. */
static void
test_loopback_spellings(void **state)
{
	static const char *const quiet[] = {
		"http://127.1:3000/api",
		"http://127.0.1/api",
		"http://0x7f.1/api",
		"http://2130706433/api",
		"http://localhost.:3000/api",
		"http://[::1]/api",
		"http://[0:0:0:0:0:0:0:1]/api",
	};
	static const char *const loud[] = {
		"http://128.1/api",
		"http://localhost.example/api",
		"http://1.127.0.0/api",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(quiet) / sizeof(quiet[0]); i++)
		if (plain_http_warned(quiet[i]))
			fail_msg("%s: warned", quiet[i]);
	for (i = 0; i < sizeof(loud) / sizeof(loud[0]); i++)
		if (!plain_http_warned(loud[i]))
			fail_msg("%s: not warned", loud[i]);
}

/* dt_reply_redact: every occurrence of the bearer value, the key and a
 * registered secret, at the ends, side by side and apart, and nothing
 * else; a text without any is left as it was. */
static void
test_redact_body(void **state)
{
	static const char key[] = "sk-0123456789abcdef";
	struct dt_http_response r = DT_HTTP_RESPONSE_INIT;

	(void)state;
	assert_int_equal(redact_register("hunter2-secret"), 0);
	buf_addstr(&r.body, "sk-0123456789abcdef{\"a\":\"Bearer "
	                    "sk-0123456789abcdef\",\"b\":\"sk-0123456789abcdef"
	                    "sk-0123456789abcdef\",\"c\":\"xhunter2-secret\"}"
	                    "sk-0123456789abcdef");
	snprintf(r.error, sizeof(r.error), "at sk-0123456789abcdef!");
	dt_reply_redact(&r, "Bearer sk-0123456789abcdef", key);
	assert_string_equal(buf_cstr(&r.body),
	                    "***{\"a\":\"***\",\"b\":\"******\",\"c\":"
	                    "\"x***\"}***");
	assert_int_equal(r.body.len, strlen(buf_cstr(&r.body)));
	assert_string_equal(r.error, "at ***!");
	buf_reset(&r.body);
	buf_addstr(&r.body, "{\"items\":[],\"sk-0123456789abcde\":1}");
	r.error[0] = '\0';
	dt_reply_redact(&r, "Bearer sk-0123456789abcdef", key);
	assert_string_equal(buf_cstr(&r.body),
	                    "{\"items\":[],\"sk-0123456789abcde\":1}");
	dt_http_response_clear(&r);
	redact_reset();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_redact_body),
		cmocka_unit_test(test_unexpected_bodies),
		cmocka_unit_test(test_redirect),
		cmocka_unit_test(test_tls_not_retried),
		cmocka_unit_test(test_call_time_limit),
		cmocka_unit_test(test_retry_after_past_limit),
		cmocka_unit_test(test_wait_said),
		cmocka_unit_test(test_budget_demand),
		cmocka_unit_test(test_ca_settings),
		cmocka_unit_test(test_key_file_mode),
		cmocka_unit_test(test_loopback_spellings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
