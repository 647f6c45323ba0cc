/*
 * error: the core's error codes and the last error message.
 *
 * Core functions return int: 0 on success, a negative SF_E* code on failure.
 * The message is recorded once, where the failure is detected, with
 * sf_error_set(); callers pass the code up unchanged and the CLI prints
 * sf_error_last() once. The message lives in thread-local storage owned by
 * this module; copy it if you need it past the next sf_error_set().
 *
 * Never put a secret or the API key into an error message.
 */
#ifndef SF_COMMON_ERROR_H
#define SF_COMMON_ERROR_H

enum sf_error {
	SF_OK = 0,
	SF_ERROR = -1,      /* generic failure */
	SF_ENOTFOUND = -2,  /* the thing does not exist (HTTP 404) */
	SF_EEXISTS = -3,    /* already exists */
	SF_ECONFLICT = -4,  /* state conflict (HTTP 409) */
	SF_EAUTH = -5,      /* authentication/authorisation (HTTP 401/403) */
	SF_ENET = -6,       /* network: connect, timeout, dropped, 5xx */
	SF_ERATELIMIT = -7, /* HTTP 429 after retries */
	SF_ELOCKED = -8,    /* the stack is locked by another run */
	SF_EINVALID = -9,   /* invalid input (HTTP 400, bad manifest) */
	SF_EIO = -10,       /* local file or database failure */
	SF_EINTR = -11,     /* interrupted by a signal */
};

int sf_error_set(int code, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
/* sf_error_last: the last message of this thread, "" when none. */
const char *sf_error_last(void);
void sf_error_clear(void);
/* sf_error_name: a short fixed name for a code ("not found", ...). */
const char *sf_error_name(int code);

#endif
