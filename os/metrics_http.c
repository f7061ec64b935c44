#define _GNU_SOURCE
#include "os/metrics_http.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/buf.h"
#include "os/world.h"
#include "server/node.h"

enum { METRICS_REFRESH_MS = 1000, METRICS_CONNECTIONS_MAX = 64, METRICS_IDLE_S = 30 };

struct os_metrics {
  struct os_world *world;
  struct node *node;
  struct MHD_Daemon *daemon;
  env_timer_id timer;
  pthread_mutex_t lock; /* guards text */
  struct buf text;      /* the latest rendering */
};

static void put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct buf *b, const char *fmt, ...) {
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  ASSERT(n >= 0 && (size_t)n < sizeof line); /* every text written here is short */
  buf_append(b, line, (size_t)n);
}

/* What only the real world knows: its fsyncs and its loop's lateness. */
static void render_process(struct os_world *w, struct buf *b) {
  struct os_fsync_stats s;
  os_world_fsync_stats(w, &s);
  put(b, "# HELP sluice_fsync_latency_seconds fsync (fdatasync) of log and checkpoint files.\n"
         "# TYPE sluice_fsync_latency_seconds histogram\n");
  for (int i = 0; i < OS_FSYNC_BUCKETS; i++)
    put(b, "sluice_fsync_latency_seconds_bucket{le=\"%.4f\"} %" PRIu64 "\n",
        (double)OS_FSYNC_BUCKET_US[i] / 1e6, s.buckets[i]);
  put(b, "sluice_fsync_latency_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n", s.count);
  put(b,
      "sluice_fsync_latency_seconds_sum %.6f\nsluice_fsync_latency_seconds_count %" PRIu64 "\n",
      (double)s.sum_us / 1e6, s.count);
  uint64_t p50, p99, max;
  os_world_timer_lateness(w, &p50, &p99, &max);
  put(b,
      "# HELP sluice_loop_timer_lateness_seconds How late the event loop ran its timers.\n"
      "# TYPE sluice_loop_timer_lateness_seconds gauge\n"
      "sluice_loop_timer_lateness_seconds{quantile=\"0.5\"} %.6f\n"
      "sluice_loop_timer_lateness_seconds{quantile=\"0.99\"} %.6f\n"
      "sluice_loop_timer_lateness_seconds{quantile=\"1\"} %.6f\n",
      (double)p50 / 1e6, (double)p99 / 1e6, (double)max / 1e6);
}

/* On the loop: render, swap in, and come back in a second. */
static void refresh(void *ctx) {
  struct os_metrics *m = ctx;
  struct buf fresh;
  buf_init(&fresh);
  node_metrics_text(m->node, &fresh);
  render_process(m->world, &fresh);
  pthread_mutex_lock(&m->lock);
  struct buf old = m->text;
  m->text = fresh;
  pthread_mutex_unlock(&m->lock);
  buf_free(&old);
  struct env *env = os_world_env(m->world);
  m->timer = env->timer_start(env, (uint64_t)METRICS_REFRESH_MS * NS_PER_MS, refresh, m);
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *data,
                              size_t *size, void **ctx) {
  (void)version, (void)data, (void)size, (void)ctx;
  struct os_metrics *m = cls;
  struct MHD_Response *r;
  unsigned status = MHD_HTTP_OK;
  if (strcmp(method, "GET") != 0 || strcmp(url, "/metrics") != 0) {
    static const char nope[] = "GET /metrics\n";
    status = MHD_HTTP_NOT_FOUND;
    r = MHD_create_response_from_buffer(sizeof nope - 1, (void *)nope, MHD_RESPMEM_PERSISTENT);
  } else {
    pthread_mutex_lock(&m->lock);
    r = MHD_create_response_from_buffer(m->text.len, m->text.data, MHD_RESPMEM_MUST_COPY);
    pthread_mutex_unlock(&m->lock);
  }
  if (r == NULL) return MHD_NO;
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; version=0.0.4");
  enum MHD_Result rc = MHD_queue_response(conn, status, r);
  MHD_destroy_response(r);
  return rc;
}

static bool parse_listener(const char *listener, struct sockaddr_in *sa) {
  char host[256];
  const char *colon = strrchr(listener, ':');
  if (colon == NULL || (size_t)(colon - listener) >= sizeof host) return false;
  memcpy(host, listener, (size_t)(colon - listener));
  host[colon - listener] = '\0';
  char *end;
  long port = strtol(colon + 1, &end, 10);
  if (*end != '\0' || port < 0 || port > 65535) return false;
  memset(sa, 0, sizeof *sa);
  sa->sin_family = AF_INET;
  sa->sin_port = htons((uint16_t)port);
  if (host[0] == '\0' || strcmp(host, "0.0.0.0") == 0)
    sa->sin_addr.s_addr = htonl(INADDR_ANY);
  else if (strcmp(host, "localhost") == 0)
    sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  else if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
    return false;
  return true;
}

struct os_metrics *os_metrics_start(struct os_world *w, struct node *node,
                                    const char *listener) {
  ASSERT(w != NULL && node != NULL && listener != NULL);
  struct sockaddr_in sa;
  if (!parse_listener(listener, &sa)) {
    fprintf(stderr,
            "sluice: sluice.metrics.listener=%s: expected HOST:PORT (an IPv4 address)\n",
            listener);
    return NULL;
  }
  struct os_metrics *m = calloc(1, sizeof *m);
  ASSERT(m != NULL);
  m->world = w;
  m->node = node;
  pthread_mutex_init(&m->lock, NULL);
  buf_init(&m->text);
  refresh(m); /* a first rendering before the first scrape */
  m->daemon =
      MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, ntohs(sa.sin_port),
                       NULL, NULL, answer, m, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                       MHD_OPTION_CONNECTION_LIMIT, (unsigned)METRICS_CONNECTIONS_MAX,
                       MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)METRICS_IDLE_S, MHD_OPTION_END);
  if (m->daemon == NULL) {
    fprintf(stderr, "sluice: sluice.metrics.listener=%s: cannot listen there\n", listener);
    os_metrics_stop(m);
    return NULL;
  }
  return m;
}

void os_metrics_stop(struct os_metrics *m) {
  if (m == NULL) return;
  if (m->daemon) MHD_stop_daemon(m->daemon); /* no answer runs after this */
  struct env *env = os_world_env(m->world);
  env->timer_cancel(env, m->timer);
  buf_free(&m->text);
  pthread_mutex_destroy(&m->lock);
  free(m);
}
