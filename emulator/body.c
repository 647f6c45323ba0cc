/*
 * body: JSON request bodies.
 *
 * Daytona's body parser (Express's, over iconv-lite) first decodes the
 * bytes as UTF-8 the way Node does — a leading byte-order mark dropped,
 * each ill-formed sequence turned into U+FFFD, nothing refused — and then
 * JSON.parse()s the text strictly (an object or an array, no raw control
 * characters), answering whatever fails with its own short body, without
 * the path and timestamp of the exception filter. The emulator does the
 * same before cJSON sees the text, so no invalid UTF-8 is ever stored or
 * echoed back. cJSON keeps C strings, so an escaped NUL would silently cut
 * a value short; Daytona keeps it and refuses it later, so the emulator
 * refuses it up front with the message the server would give.
 */
#include "common/base.h"

#include <math.h>

#include "common/xalloc.h"
#include "emulator/body.h"
#include "emulator/http.h"
#include "emulator/utf8.h"

#define INVALID_JSON_BODY                                          \
	"{\"message\":\"Invalid JSON in request body\",\"error\":" \
	"\"Bad Request\",\"statusCode\":400}"

char *
body_utf8(const char *data, size_t len, size_t *out_len)
{
	const unsigned char *s = (const unsigned char *)data;
	struct buf b = BUF_INIT;
	size_t i = 0, n, start;
	bool bom = len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0;

	for (start = i = bom ? 3 : 0; i < len; i += n)
		if (!utf8_next(s + i, len - i, &n))
			break;
	if (i == len && !bom)
		return NULL; /* well-formed: nothing to copy */
	buf_add(&b, data + start, i - start);
	while (i < len) {
		if (utf8_next(s + i, len - i, &n))
			buf_add(&b, data + i, n);
		else
			buf_addstr(&b, UTF8_REPLACEMENT);
		i += n;
	}
	return buf_detach(&b, out_len);
}

/*
 * raw_control: a control character JSON.parse refuses — any below U+0020
 * inside a string, and outside strings any but tab, LF and CR — and
 * cJSON lets through (a raw NUL would cut a value short).
 */
static bool
raw_control(const char *s, size_t len)
{
	bool in_string = false;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 &&
		    (in_string || (c != '\t' && c != '\n' && c != '\r')))
			return true;
		if (in_string && c == '\\')
			i++; /* the escaped character (a raw one fails cJSON) */
		else if (c == '"')
			in_string = !in_string;
	}
	return false;
}

int
body_parse(const char *data, size_t len, const char *path, cJSON **out,
           struct resp *r)
{
	size_t n;
	char *fixed = body_utf8(data, len, &n);
	const char *text = fixed ? fixed : data;
	cJSON *j;
	int rc = -1;

	*out = NULL;
	if (fixed)
		len = n;
	j = cJSON_ParseWithLength(text, len);
	if ((!cJSON_IsObject(j) && !cJSON_IsArray(j)) ||
	    raw_control(text, len)) {
		r->status = 400;
		buf_reset(&r->body);
		buf_addstr(&r->body, INVALID_JSON_BODY);
		goto out;
	}
	if (body_find_nul(text, len) >= 0) {
		char *m = body_nul_message(text, len);

		http_error(r, path, 400, m);
		free(m);
		goto out;
	}
	*out = j;
	j = NULL;
	rc = 0;
out:
	cJSON_Delete(j);
	free(fixed);
	return rc;
}

/*
 * body_find_nul: where the first "\u0000" escape is. A backslash can only
 * occur inside a string in valid JSON, so stepping over every escape pair
 * finds exactly the escaped NULs ("\\u0000" is a backslash and text).
 */
long
body_find_nul(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		if (s[i] != '\\') {
			i++;
			continue;
		}
		if (i + 5 < len && s[i + 1] == 'u' &&
		    memcmp(s + i + 2, "0000", 4) == 0)
			return (long)i;
		i += 2;
	}
	return -1;
}

/* has_marker: does any key or string under j contain the byte c? */
static bool
has_marker(const cJSON *j, char c)
{
	const cJSON *k;

	if (j->string && strchr(j->string, c))
		return true;
	if (cJSON_IsString(j) && j->valuestring && strchr(j->valuestring, c))
		return true;
	for (k = j->child; k; k = k->next)
		if (has_marker(k, c))
			return true;
	return false;
}

/*
 * body_nul_message: Daytona refuses a NUL in a name through
 * IsSafeDisplayString (a control character), anywhere else when Postgres
 * refuses NUL in text. So the body is parsed again with each NUL escape
 * turned into U+0001 to find the field it is in.
 */
char *
body_nul_message(const char *s, size_t len)
{
	char *copy = xmalloc(len + 1), *msg = NULL;
	const cJSON *name, *k;
	cJSON *j;
	const char *m;
	long at;

	memcpy(copy, s, len);
	copy[len] = '\0';
	while ((at = body_find_nul(copy, len)) >= 0)
		copy[at + 5] = '1';
	j = cJSON_ParseWithLength(copy, len);
	name = cJSON_GetObjectItemCaseSensitive(j, "name");
	if (cJSON_IsString(name) && strchr(name->valuestring, '\001') &&
	    emu_valid_name(name->valuestring, &m) < 0) {
		msg = xstrdup(m);
		goto out;
	}
	for (k = j ? j->child : NULL; k; k = k->next) {
		if (!has_marker(k, '\001'))
			continue;
		msg = k->string ? xasprintf("%s must not contain control "
		                            "characters",
		                            k->string)
		                : NULL;
		break;
	}
	if (!msg)
		msg = xstrdup("request body must not contain NUL characters");
out:
	cJSON_Delete(j);
	free(copy);
	return msg;
}

void
body_err(struct body_errs *e, const char *msg)
{
	if (e->b.len)
		buf_addstr(&e->b, ", ");
	buf_addstr(&e->b, msg);
}

void
body_errs_free(struct body_errs *e)
{
	buf_free(&e->b);
}

/* err_key: body_err() of "KEY WHAT" */
static void
err_key(struct body_errs *e, const char *key, const char *what)
{
	char *m = xasprintf("%s %s", key, what);

	body_err(e, m);
	free(m);
}

const cJSON *
body_field(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsNull(v) ? NULL : v;
}

const char *
body_string(const cJSON *obj, const char *key, struct body_errs *e)
{
	const cJSON *v = body_field(obj, key);

	if (!v)
		return NULL;
	if (cJSON_IsString(v))
		return v->valuestring;
	err_key(e, key, "must be a string");
	return NULL;
}

int
body_bool(const cJSON *obj, const char *key, struct body_errs *e)
{
	const cJSON *v = body_field(obj, key);

	if (!v)
		return -1;
	if (cJSON_IsBool(v))
		return cJSON_IsTrue(v);
	err_key(e, key, "must be a boolean value");
	return -1;
}

int
body_int(const cJSON *obj, const char *key, double min, bool *set,
         struct body_errs *e)
{
	const cJSON *v = body_field(obj, key);
	char *m = NULL;

	*set = false;
	if (!v)
		return 0;
	if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
	    fabs(v->valuedouble) > 2147483647.0)
		m = xasprintf("%s must be an integer number", key);
	else if (v->valuedouble < min)
		m = xasprintf("%s must not be less than %g", key, min);
	if (m) {
		body_err(e, m);
		free(m);
		return 0;
	}
	*set = true;
	return (int)v->valuedouble;
}

int
body_map(const cJSON *obj, const char *key, struct kvmap *out,
         struct body_errs *e)
{
	const cJSON *v = body_field(obj, key), *it;

	if (!v)
		return 0;
	if (!cJSON_IsObject(v))
		goto bad;
	cJSON_ArrayForEach(it, v)
	{
		if (!cJSON_IsString(it))
			goto bad;
		kvmap_set(out, it->string, it->valuestring);
	}
	return 1;
bad:
	err_key(e, key, "must be an object of strings");
	return -1;
}
