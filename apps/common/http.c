#include "apps/common/http.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum MHD_Result http_send(struct MHD_Connection *conn, unsigned status,
                          const char *content_type, const char *body, size_t len) {
  struct MHD_Response *r =
      MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
  if (r == NULL) return MHD_NO;
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
  MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
  enum MHD_Result rc = MHD_queue_response(conn, status, r);
  MHD_destroy_response(r);
  return rc;
}

enum MHD_Result http_send_error(struct MHD_Connection *conn, unsigned status,
                                const char *reason) {
  struct text t;
  text_init(&t, 4096);
  text_adds(&t, "{\"status\":\"error\",\"error\":");
  text_add_json_string(&t, reason, strlen(reason));
  text_adds(&t, "}\n");
  enum MHD_Result rc =
      t.ok ? http_send(conn, status, "application/json", t.data, t.len) : MHD_NO;
  text_free(&t);
  return rc;
}

bool http_gather_body(void **ctx, const char *data, size_t *size, size_t bytes_max) {
  struct http_body *b = *ctx;
  if (b == NULL) {
    b = calloc(1, sizeof *b);
    if (b == NULL) abort();
    text_init(&b->text, bytes_max);
    text_add(&b->text, "", 0); /* data is never NULL, even for an empty body */
    *ctx = b;
    return true;
  }
  if (*size == 0) return false;
  if (!b->too_large && !text_add(&b->text, data, *size)) b->too_large = true;
  *size = 0; /* consumed (or discarded past the bound) */
  return true;
}

void http_body_free(void *ctx) {
  struct http_body *b = ctx;
  if (b == NULL) return;
  text_free(&b->text);
  free(b);
}

static void request_completed(void *cls, struct MHD_Connection *conn, void **ctx,
                              enum MHD_RequestTerminationCode code) {
  (void)cls;
  (void)conn;
  (void)code;
  http_body_free(*ctx);
  *ctx = NULL;
}

struct MHD_Daemon *http_start(int port, MHD_AccessHandlerCallback handler, void *handler_ctx) {
  struct MHD_Daemon *d = MHD_start_daemon(
      MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG,
      (uint16_t)port, NULL, NULL, handler, handler_ctx, MHD_OPTION_CONNECTION_LIMIT,
      (unsigned)HTTP_CONNECTIONS_MAX, MHD_OPTION_CONNECTION_TIMEOUT,
      (unsigned)HTTP_CONNECTION_IDLE_S, MHD_OPTION_NOTIFY_COMPLETED, request_completed, NULL,
      MHD_OPTION_END);
  if (d == NULL) fprintf(stderr, "error: cannot listen on port %d (in use?)\n", port);
  return d;
}

void http_signals_block(void) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  signal(SIGPIPE, SIG_IGN);
}

int http_signals_wait(void) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}
