/*
 * sdnotify: see sdnotify.h.
 */
#include "common/base.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli/sdnotify.h"

int
sd_notify_msg(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	size_t n;
	socklen_t len;
	ssize_t sent;
	int fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@'))
		return 0;
	n = strlen(path);
	if (n >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, n);
	if (path[0] == '@')
		sa.sun_path[0] = '\0'; /* the abstract namespace */
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
	                  (path[0] == '@' ? 0 : 1));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	sent = sendto(fd, msg, strlen(msg), MSG_NOSIGNAL,
	              (const struct sockaddr *)&sa, len);
	close(fd);
	return sent < 0 ? -1 : 1;
}

int64_t
sd_watchdog_ms(void)
{
	const char *usec = getenv("WATCHDOG_USEC");
	const char *pid = getenv("WATCHDOG_PID");
	char *end;
	long long v;

	if (usec == NULL || getenv("NOTIFY_SOCKET") == NULL)
		return 0;
	if (pid != NULL && strtoll(pid, NULL, 10) != (long long)getpid())
		return 0;
	v = strtoll(usec, &end, 10);
	if (*end != '\0' || v <= 0)
		return 0;
	return v / 2000;
}
