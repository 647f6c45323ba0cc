#include "common/base.h"

#include <stdarg.h>
#include <stdio.h>

#include "common/log.h"
#include "common/redact.h"

static enum log_level cur_level = LOG_WARN;
static const char *prog_name = "sandform";

void
log_set_level(enum log_level level)
{
	cur_level = level;
}

enum log_level
log_get_level(void)
{
	return cur_level;
}

void
log_set_prog(const char *prog)
{
	prog_name = prog;
}

void
log_msg(enum log_level level, const char *func, const char *fmt, ...)
{
	static const char *names[] = { "error", "warning", "info", "debug",
		                       "trace" };
	char line[4096];
	va_list ap;

	if (level > cur_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	redact_str(line);
	/* One fprintf per line keeps lines of parallel work whole. */
	if (level >= LOG_DEBUG)
		fprintf(stderr, "%s: %s: %s: %s\n", prog_name, names[level],
		        func, line);
	else
		fprintf(stderr, "%s: %s: %s\n", prog_name, names[level], line);
}
