/*
 * Unit tests for the libcurl transport of daytona/: a scripted HTTP server
 * on a loopback port in a thread answers one connection per script step,
 * so the real request bytes and the real failure modes (dropped
 * connection, oversized body, timeout) are checked without the emulator.
 */
#include "common/base.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/timeutil.h"
#include "common/xalloc.h"
#include "daytona/client.h"
#include "daytona/transport.h"

#define TEST_KEY  "dtn_curl_KEY_fedcba9876543210"
#define MAX_STEPS 8

enum step_kind { STEP_REPLY, STEP_DROP, STEP_HANG, STEP_HUGE };

struct step {
	enum step_kind kind;
	const char *reply; /* raw HTTP response for STEP_REPLY */
};

struct server {
	int fd;
	int port;
	pthread_t th;
	struct step steps[MAX_STEPS];
	int n_steps;
	char *requests[MAX_STEPS]; /* raw request text per step */
};

static const char sandbox_body[] =
        "{\"id\":\"id-1\",\"name\":\"a b\",\"state\":\"started\","
        "\"labels\":{\"k\":\"v\"}}";

/* read_request: headers, then Content-Length bytes of body. */
static char *
read_request(int fd)
{
	struct buf b = BUF_INIT;
	char chunk[4096];
	const char *end, *cl;
	size_t want = 0;
	ssize_t n;

	for (;;) {
		end = b.len ? strstr(buf_cstr(&b), "\r\n\r\n") : NULL;
		if (end != NULL) {
			cl = strcasestr(buf_cstr(&b), "\r\ncontent-length:");
			want = (size_t)(end - b.data) + 4;
			if (cl != NULL && cl < end)
				want += strtoul(cl + 17, NULL, 10);
			if (b.len >= want)
				break;
		}
		n = read(fd, chunk, sizeof(chunk));
		if (n <= 0)
			break;
		buf_add(&b, chunk, (size_t)n);
	}
	return buf_detach(&b, NULL);
}

static void
send_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n <= 0)
			return;
		p += n;
		len -= (size_t)n;
	}
}

static void *
serve(void *arg)
{
	struct server *s = arg;
	int i;

	for (i = 0; i < s->n_steps; i++) {
		int c = accept(s->fd, NULL, NULL);

		if (c < 0)
			break;
		s->requests[i] = read_request(c);
		switch (s->steps[i].kind) {
		case STEP_REPLY:
			send_all(c, s->steps[i].reply,
			         strlen(s->steps[i].reply));
			break;
		case STEP_DROP:
			break;
		case STEP_HANG:
			time_sleep_ms(1000);
			break;
		case STEP_HUGE: {
			static const char head[] =
			        "HTTP/1.1 200 OK\r\nConnection: close\r\n"
			        "Content-Length: 17825792\r\n\r\n";
			char *zeros = xcalloc(1, 1 << 20);
			int k;

			send_all(c, head, sizeof(head) - 1);
			for (k = 0; k < 17; k++)
				send_all(c, zeros, 1 << 20);
			free(zeros);
			break;
		}
		}
		close(c);
	}
	return NULL;
}

static struct server *
server_start(const struct step *steps, int n)
{
	struct server *s = xcalloc(1, sizeof(*s));
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);

	memcpy(s->steps, steps, (size_t)n * sizeof(*steps));
	s->n_steps = n;
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s->fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(s->fd, 8), 0);
	assert_int_equal(getsockname(s->fd, (struct sockaddr *)&sa, &len), 0);
	s->port = ntohs(sa.sin_port);
	assert_int_equal(pthread_create(&s->th, NULL, serve, s), 0);
	return s;
}

/* server_join: wait until every step was served. */
static void
server_join(struct server *s)
{
	pthread_join(s->th, NULL);
}

static void
server_free(struct server *s)
{
	int i;

	close(s->fd);
	for (i = 0; i < s->n_steps; i++)
		free(s->requests[i]);
	free(s);
}

static struct dt_client *
client_for(struct server *s, long timeout_ms)
{
	struct dt_config cfg = DT_CONFIG_INIT;
	struct dt_client *c = NULL;
	char *url = xasprintf("http://127.0.0.1:%d/api", s->port);

	cfg.api_key = TEST_KEY;
	cfg.base_url = url;
	cfg.organization_id = "org-7";
	cfg.request_timeout_ms = timeout_ms;
	cfg.backoff_base_ms = 1;
	cfg.backoff_max_ms = 2;
	assert_int_equal(dt_client_new(&cfg, &c), 0);
	free(url);
	return c;
}

static char *
reply(int status, const char *extra_headers, const char *body)
{
	return xasprintf("HTTP/1.1 %d X\r\nConnection: close\r\n"
	                 "Content-Type: application/json\r\n%s"
	                 "Content-Length: %zu\r\n\r\n%s",
	                 status, extra_headers, strlen(body), body);
}

static void
test_curl_routes(void **state)
{
	char *ok = reply(200, "X-RateLimit-Remaining-authenticated: 7\r\n",
	                 sandbox_body);
	char *created = reply(201, "", sandbox_body);
	char *gone = reply(404, "",
	                   "{\"statusCode\":404,\"message\":\"Sandbox with ID "
	                   "or name a b not found\"}");
	struct step steps[] = { { STEP_REPLY, ok },
		                { STEP_REPLY, created },
		                { STEP_REPLY, ok },
		                { STEP_REPLY, gone } };
	struct server *s = server_start(steps, 4);
	struct dt_client *c = client_for(s, 0);
	struct dt_result r = DT_RESULT_INIT;
	struct strmap labels = STRMAP_INIT;
	struct dt_create cr;

	(void)state;
	assert_int_equal(dt_get(c, "a b", &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.sandbox->name, "a b");
	assert_string_equal(strmap_get(&r.sandbox->labels, "k"), "v");

	memset(&cr, 0, sizeof(cr));
	cr.name = "a b";
	cr.snapshot = "daytona-small";
	assert_int_equal(dt_create(c, &cr, &r), 0);
	assert_int_equal(r.status, 201);

	strmap_set(&labels, "x", "y");
	assert_int_equal(dt_set_labels(c, "a b", &labels, &r), 0);
	assert_int_equal(dt_delete(c, "a b", &r), SF_ENOTFOUND);
	assert_int_equal(r.status, 404);
	assert_string_equal(sf_error_last(),
	                    "daytona: 404 Sandbox with ID or name a b not "
	                    "found");
	dt_client_free(c);
	server_join(s);
	assert_true(strncmp(s->requests[0],
	                    "GET /api/sandbox/a%20b HTTP/1.1\r\n", 33) == 0);
	assert_non_null(strstr(s->requests[0],
	                       "\r\nAuthorization: Bearer " TEST_KEY "\r\n"));
	assert_non_null(strstr(s->requests[0], "\r\nUser-Agent: sandform/"));
	assert_non_null(
	        strstr(s->requests[0], "\r\nX-Daytona-Source: sandform\r\n"));
	assert_non_null(strstr(s->requests[0],
	                       "\r\nX-Daytona-Organization-ID: org-7\r\n"));
	assert_true(strncmp(s->requests[1], "POST /api/sandbox HTTP/1.1\r\n",
	                    28) == 0);
	assert_non_null(strstr(s->requests[1],
	                       "\r\nContent-Type: application/json\r\n"));
	assert_non_null(strstr(s->requests[1],
	                       "\r\n\r\n{\"name\":\"a b\",\"snapshot\":"
	                       "\"daytona-small\"}"));
	assert_null(strstr(s->requests[1], "Expect:"));
	assert_true(strncmp(s->requests[2],
	                    "PUT /api/sandbox/a%20b/labels HTTP/1.1\r\n",
	                    40) == 0);
	assert_non_null(
	        strstr(s->requests[2], "\r\n\r\n{\"labels\":{\"x\":\"y\"}}"));
	assert_true(strncmp(s->requests[3],
	                    "DELETE /api/sandbox/a%20b HTTP/1.1\r\n", 36) == 0);
	server_free(s);
	dt_result_clear(&r);
	strmap_clear(&labels);
	free(ok);
	free(created);
	free(gone);
}

static void
test_curl_failures(void **state)
{
	char *ok = reply(200, "", sandbox_body);
	struct step steps[] = { { STEP_DROP, NULL },
		                { STEP_REPLY, ok },
		                { STEP_DROP, NULL },
		                { STEP_HUGE, NULL },
		                { STEP_HANG, NULL } };
	struct server *s = server_start(steps, 5);
	struct dt_client *c = client_for(s, 300);
	struct dt_result r = DT_RESULT_INIT;
	struct dt_stats st;
	int64_t t0;

	(void)state;
	/* a dropped connection on a GET is retried */
	assert_int_equal(dt_get(c, "a", &r), 0);
	assert_int_equal(r.attempts, 2);
	/* ... on a delete it is not */
	assert_int_equal(dt_delete(c, "a", &r), SF_ENET);
	assert_int_equal(r.attempts, 1);
	assert_non_null(strstr(sf_error_last(), "connection dropped"));
	/* an oversized body is refused and not retried */
	assert_int_equal(dt_stop(c, "a", 0, &r), SF_ENET);
	assert_non_null(strstr(sf_error_last(), "response too large"));
	/* a server that never answers times out */
	t0 = time_mono_ms();
	assert_int_equal(dt_archive(c, "a", &r), SF_ENET);
	assert_non_null(strstr(sf_error_last(), "timed out"));
	assert_true(time_mono_ms() - t0 < 950);
	assert_null(strstr(sf_error_last(), TEST_KEY));
	dt_client_stats(c, &st);
	assert_int_equal(st.requests, 5);
	assert_int_equal(st.net_failures, 4);
	dt_client_free(c);
	server_join(s);
	server_free(s);
	dt_result_clear(&r);
	free(ok);
}

static void *
two_gets(void *arg)
{
	struct dt_result r = DT_RESULT_INIT;
	intptr_t bad = 0;
	int i;

	for (i = 0; i < 2; i++) {
		if (dt_get(arg, "a b", &r) != 0 || r.sandbox == NULL)
			bad++;
		dt_result_clear(&r);
	}
	return (void *)bad;
}

/* Several threads share one client (and curl's connection share). */
static void
test_curl_threads(void **state)
{
	char *ok = reply(200, "", sandbox_body);
	struct step steps[MAX_STEPS];
	struct server *s;
	struct dt_client *c;
	pthread_t th[4];
	void *ret;
	int i;

	(void)state;
	for (i = 0; i < MAX_STEPS; i++) {
		steps[i].kind = STEP_REPLY;
		steps[i].reply = ok;
	}
	s = server_start(steps, MAX_STEPS);
	c = client_for(s, 0);
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, two_gets, c), 0);
	for (i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], &ret), 0);
		assert_int_equal((intptr_t)ret, 0);
	}
	dt_client_free(c);
	server_join(s);
	for (i = 0; i < MAX_STEPS; i++)
		assert_non_null(
		        strstr(s->requests[i], "GET /api/sandbox/a%20b "));
	server_free(s);
	free(ok);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_curl_routes),
		cmocka_unit_test(test_curl_failures),
		cmocka_unit_test(test_curl_threads),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
