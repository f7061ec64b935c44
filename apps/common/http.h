/* What the two web apps share over libmicrohttpd: answering with a status,
 * a content type and a body, JSON errors with a reason, the request body
 * gathered up to a bound, the daemon started with the apps' limits, and
 * SIGINT/SIGTERM turned into a clean stop. */
#ifndef SLUICE_APPS_HTTP_H
#define SLUICE_APPS_HTTP_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>

#include "apps/common/text.h"

enum {
  HTTP_CONNECTIONS_MAX = 256,  /* past it libmicrohttpd refuses at accept */
  HTTP_CONNECTION_IDLE_S = 60, /* an idle keep-alive connection is closed */
};

/* One request's body, gathered by http_gather_body. */
struct http_body {
  struct text text;
  bool too_large; /* more than the bound arrived; the rest was discarded */
};

enum MHD_Result http_send(struct MHD_Connection *conn, unsigned status,
                          const char *content_type, const char *body, size_t len);
/* {"status":"error","error":reason} */
enum MHD_Result http_send_error(struct MHD_Connection *conn, unsigned status,
                                const char *reason);

/* The access handler's upload step: true while the body is still arriving
 * (the caller returns MHD_YES), false on the final call (the body is
 * complete in *ctx). *ctx is allocated on the first call with
 * bytes_max as the bound; http_body_free releases it. */
bool http_gather_body(void **ctx, const char *data, size_t *size, size_t bytes_max);
void http_body_free(void *ctx);

/* Starts the daemon on port (thread per connection: a handler may wait for
 * the cluster without holding up other requests). NULL, with the reason on
 * stderr, if the port cannot be bound. */
struct MHD_Daemon *http_start(int port, MHD_AccessHandlerCallback handler, void *handler_ctx);

/* Blocks SIGINT and SIGTERM in every thread started after it and returns
 * when one arrives (call it from main once the workers are up). */
void http_signals_block(void);
int http_signals_wait(void);

#endif
