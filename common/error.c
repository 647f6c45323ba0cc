#include "common/base.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "common/redact.h"

#define SF_ERROR_MSG_MAX 2048

static _Thread_local char last_msg[SF_ERROR_MSG_MAX];

int
sf_error_set(int code, const char *fmt, ...)
{
	char tmp[SF_ERROR_MSG_MAX];
	va_list ap;

	/*
	 * Format into a local buffer first: callers prefix context with
	 * sf_error_set(rc, "%s: %s", path, sf_error_last()), whose argument
	 * is the very buffer being written.
	 */
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	redact_str(tmp); /* a secret a server echoed never gets further */
	memcpy(last_msg, tmp, sizeof(last_msg));
	return code;
}

const char *
sf_error_last(void)
{
	return last_msg;
}

void
sf_error_clear(void)
{
	last_msg[0] = '\0';
}

const char *
sf_error_name(int code)
{
	switch (code) {
	case SF_OK:
		return "ok";
	case SF_ENOTFOUND:
		return "not found";
	case SF_EEXISTS:
		return "already exists";
	case SF_ECONFLICT:
		return "conflict";
	case SF_EAUTH:
		return "authentication failed";
	case SF_ENET:
		return "network error";
	case SF_ERATELIMIT:
		return "rate limited";
	case SF_ELOCKED:
		return "locked";
	case SF_EINVALID:
		return "invalid";
	case SF_EIO:
		return "i/o error";
	case SF_EINTR:
		return "interrupted";
	default:
		return "error";
	}
}
