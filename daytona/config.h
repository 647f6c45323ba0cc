/*
 * config: what client.c shares with config.c (internal to daytona/).
 */
#ifndef SF_DAYTONA_CONFIG_H
#define SF_DAYTONA_CONFIG_H

/* dt_url_ok: whether url is http:// or https:// (any case). */
int dt_url_ok(const char *url);

/*
 * dt_plain_http_remote: for an http:// URL whose host is not loopback
 * (localhost, 127.0.0.0/8 however spelled, ::1), a copy of the host the
 * caller frees; else NULL.
 */
char *dt_plain_http_remote(const char *url);

#endif
