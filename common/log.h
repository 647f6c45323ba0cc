/*
 * log: the one debug logging function, to stderr.
 *
 * Enabled with -v (LOG_DEBUG) or -vv (LOG_TRACE). Messages carry the calling
 * function's name. Never log a secret value or the API key: log names and
 * references, not values.
 */
#ifndef SF_COMMON_LOG_H
#define SF_COMMON_LOG_H

enum log_level {
	LOG_ERROR = 0,
	LOG_WARN = 1,
	LOG_INFO = 2,
	LOG_DEBUG = 3,
	LOG_TRACE = 4,
};

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* log_set_prog: the prefix of every line ("sandform", "daytona-emulator"). */
void log_set_prog(const char *prog);
void log_msg(enum log_level level, const char *func, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

#define log_error(...) log_msg(LOG_ERROR, __func__, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __func__, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __func__, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __func__, __VA_ARGS__)
#define log_trace(...) log_msg(LOG_TRACE, __func__, __VA_ARGS__)

#endif
