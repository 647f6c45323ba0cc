/*
 * sdnotify: systemd's notification protocol without libsystemd: one
 * datagram per message to the AF_UNIX socket named by $NOTIFY_SOCKET (a
 * path, or '@' for the abstract namespace), as sd_notify(3) describes.
 * Without the variable nothing is sent.
 */
#ifndef SF_CLI_SDNOTIFY_H
#define SF_CLI_SDNOTIFY_H

#include <stdint.h>

/* sd_notify_msg: send msg ("READY=1", "WATCHDOG=1", "STATUS=...",
 * "STOPPING=1"); 1 sent, 0 no socket, -1 failed (errno). */
int sd_notify_msg(const char *msg);
/* sd_watchdog_ms: half of $WATCHDOG_USEC in ms (how often to ping), or 0
 * when the service has no watchdog (or $WATCHDOG_PID is another pid). */
int64_t sd_watchdog_ms(void);

#endif
