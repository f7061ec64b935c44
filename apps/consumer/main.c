/* sluice-consumer-app: the users' consumer web app (port 8002). Consumes
 * the topic in group test-group and serves the last 10 messages: an HTML
 * page at / that updates live (Server-Sent Events from /events), JSON at
 * /messages, GET /healthz with the group's lag, GET /metrics. Several
 * instances share the partitions (the group's assignor). Usage: --help. */
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/common/app_options.h"
#include "apps/common/http.h"
#include "apps/common/text.h"
#include "apps/consumer/messages.h"
#include "apps/consumer/page.h"

static const char USAGE[] =
    "usage: sluice-consumer-app [options]\n"
    "  GET /          the last 10 messages, newest first, updated live\n"
    "  GET /messages  the same as JSON\n"
    "  GET /events    Server-Sent Events: one `message` event per message\n"
    "  GET /healthz   {\"status\":\"ok\",\"lag\":N,...}\n"
    "  GET /metrics   Prometheus text\n"
    "options:\n"
    "  --bootstrap-server H:P[,H:P]  default: $KAFKA_BOOTSTRAP_SERVERS (also read\n"
    "                                from the .env file), else localhost:9092\n"
    "  --topic T                     default test-topic\n"
    "  --group G                     default test-group\n"
    "  --port N                      default 8002\n"
    "  --env-file F                  default .env (missing is fine)\n"
    "  -X key=value                  any librdkafka property (e.g.\n"
    "                                auto.offset.reset=latest; default earliest)\n";

enum {
  SSE_CLIENTS_MAX = 128,    /* more live viewers get 503 */
  SSE_KEEPALIVE_MS = 15000, /* a comment line keeps proxies from closing */
  SSE_EVENT_BYTES_MAX = 16 * MESSAGES_KEPT * MESSAGE_VALUE_BYTES_SHOWN,
};

struct consumer_app {
  struct app_options options;
  rd_kafka_t *rk;
  struct messages messages;
  atomic_bool stopping;
  atomic_ulong consumed, errors;
  atomic_int sse_clients;
};

static void *consume_loop(void *arg) {
  struct consumer_app *app = arg;
  while (!atomic_load(&app->stopping)) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(app->rk, 100);
    if (m == NULL) continue;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_timestamp_type_t type;
      int64_t ts = rd_kafka_message_timestamp(m, &type);
      messages_add(&app->messages, m->partition, m->offset, ts, m->key, m->key_len, m->payload,
                   m->len);
      atomic_fetch_add(&app->consumed, 1);
    } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      atomic_fetch_add(&app->errors, 1);
      fprintf(stderr, "sluice-consumer-app: %s\n", rd_kafka_message_errstr(m));
    }
    rd_kafka_message_destroy(m);
  }
  return NULL;
}

/* The group's lag as this instance sees it: for each assigned partition,
 * the high watermark of the last fetch minus the position; -1 while a
 * partition has no fetch answer yet. Lists the partitions when asked. */
static long long lag_of(struct consumer_app *app, int *assigned, struct text *list) {
  rd_kafka_topic_partition_list_t *parts = NULL;
  *assigned = 0;
  if (rd_kafka_assignment(app->rk, &parts) != RD_KAFKA_RESP_ERR_NO_ERROR) return -1;
  long long lag = 0;
  bool unknown = false;
  *assigned = parts->cnt;
  rd_kafka_position(app->rk, parts);
  for (int i = 0; i < parts->cnt; i++) {
    int64_t lo = -1, hi = -1;
    rd_kafka_topic_partition_t *p = &parts->elems[i];
    if (list) text_addf(list, "%s%d", i ? "," : "", (int)p->partition);
    if (rd_kafka_get_watermark_offsets(app->rk, p->topic, p->partition, &lo, &hi) !=
            RD_KAFKA_RESP_ERR_NO_ERROR ||
        hi < 0) {
      unknown = true; /* no fetch answered yet for this partition */
      continue;
    }
    int64_t pos = p->offset >= 0 ? p->offset : lo;
    if (pos >= 0 && hi > pos) lag += hi - pos;
  }
  rd_kafka_topic_partition_list_destroy(parts);
  return unknown ? -1 : lag;
}

static enum MHD_Result page(struct consumer_app *app, struct MHD_Connection *conn) {
  struct text rows, t;
  text_init(&rows, 4 * MESSAGES_KEPT * MESSAGE_VALUE_BYTES_SHOWN);
  text_init(&t, 8 * MESSAGES_KEPT * MESSAGE_VALUE_BYTES_SHOWN);
  uint64_t seq = 0;
  messages_render(&app->messages, &rows, false, &seq);
  page_render(&t, app->options.topic, app->options.group, rows.data ? rows.data : "", seq);
  enum MHD_Result rc =
      t.ok ? http_send(conn, MHD_HTTP_OK, "text/html; charset=utf-8", t.data, t.len)
           : http_send_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "page too large");
  text_free(&rows);
  text_free(&t);
  return rc;
}

static enum MHD_Result messages_json(struct consumer_app *app, struct MHD_Connection *conn) {
  struct text t;
  text_init(&t, 8 * MESSAGES_KEPT * MESSAGE_VALUE_BYTES_SHOWN);
  uint64_t seq = 0;
  text_adds(&t, "[");
  messages_render(&app->messages, &t, true, &seq);
  text_adds(&t, "]\n");
  enum MHD_Result rc = http_send(conn, MHD_HTTP_OK, "application/json", t.data, t.len);
  text_free(&t);
  return rc;
}

/* One live viewer: events not yet sent, and where it is in the ring. */
struct sse_client {
  struct consumer_app *app;
  struct text pending;
  size_t sent;
  uint64_t seq;
};

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max) {
  (void)pos;
  struct sse_client *c = cls;
  if (c->sent == c->pending.len) {
    text_free(&c->pending);
    text_init(&c->pending, SSE_EVENT_BYTES_MAX);
    c->sent = 0;
    if (!messages_wait_events(&c->app->messages, &c->pending, &c->seq, SSE_KEEPALIVE_MS)) {
      if (atomic_load(&c->app->stopping)) return MHD_CONTENT_READER_END_OF_STREAM;
      text_adds(&c->pending, ": keepalive\n\n");
    }
    if (!c->pending.ok) return MHD_CONTENT_READER_END_WITH_ERROR;
  }
  size_t n = c->pending.len - c->sent < max ? c->pending.len - c->sent : max;
  memcpy(buf, c->pending.data + c->sent, n);
  c->sent += n;
  return (ssize_t)n;
}

static void sse_free(void *cls) {
  struct sse_client *c = cls;
  atomic_fetch_sub(&c->app->sse_clients, 1);
  text_free(&c->pending);
  free(c);
}

static enum MHD_Result events(struct consumer_app *app, struct MHD_Connection *conn) {
  if (atomic_fetch_add(&app->sse_clients, 1) >= SSE_CLIENTS_MAX) {
    atomic_fetch_sub(&app->sse_clients, 1);
    return http_send_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "too many live viewers");
  }
  struct sse_client *c = calloc(1, sizeof *c);
  if (c == NULL) abort();
  c->app = app;
  text_init(&c->pending, SSE_EVENT_BYTES_MAX);
  /* A viewer that reconnects says where it was (Last-Event-ID); a new one
   * starts after what the page it loaded already showed (?after=seq). */
  const char *last = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Last-Event-ID");
  if (last == NULL) last = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "after");
  c->seq = last ? strtoull(last, NULL, 10) : 0;
  struct MHD_Response *r =
      MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, sse_read, c, sse_free);
  if (r == NULL) {
    sse_free(c);
    return MHD_NO;
  }
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
  MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
  enum MHD_Result rc = MHD_queue_response(conn, MHD_HTTP_OK, r);
  MHD_destroy_response(r);
  return rc;
}

static enum MHD_Result healthz(struct consumer_app *app, struct MHD_Connection *conn) {
  int assigned = 0;
  struct text list;
  text_init(&list, 1 << 20);
  text_adds(&list, "");
  long long lag = lag_of(app, &assigned, &list);
  struct text t;
  text_init(&t, 2 << 20);
  text_adds(&t, "{\"status\":\"ok\",\"group\":");
  text_add_json_string(&t, app->options.group, strlen(app->options.group));
  text_addf(&t,
            ",\"assigned_partitions\":%d,\"partitions\":[%s],\"lag\":%lld,\"consumed\":%lu}\n",
            assigned, list.data, lag, atomic_load(&app->consumed));
  text_free(&list);
  enum MHD_Result rc = http_send(conn, MHD_HTTP_OK, "application/json", t.data, t.len);
  text_free(&t);
  return rc;
}

static enum MHD_Result metrics(struct consumer_app *app, struct MHD_Connection *conn) {
  int assigned = 0;
  long long lag = lag_of(app, &assigned, NULL);
  struct text t;
  text_init(&t, 8192);
  text_addf(
      &t,
      "# HELP sluice_app_messages_consumed_total Messages this instance consumed.\n"
      "# TYPE sluice_app_messages_consumed_total counter\nsluice_app_messages_consumed_total "
      "%lu\n"
      "# HELP sluice_app_consume_errors_total Errors the consumer reported.\n"
      "# TYPE sluice_app_consume_errors_total counter\nsluice_app_consume_errors_total %lu\n"
      "# HELP sluice_app_consumer_lag Messages behind the high watermark on the assigned "
      "partitions (-1: unknown).\n"
      "# TYPE sluice_app_consumer_lag gauge\nsluice_app_consumer_lag %lld\n"
      "# TYPE sluice_app_assigned_partitions gauge\nsluice_app_assigned_partitions %d\n"
      "# TYPE sluice_app_live_viewers gauge\nsluice_app_live_viewers %d\n",
      atomic_load(&app->consumed), atomic_load(&app->errors), lag, assigned,
      atomic_load(&app->sse_clients));
  enum MHD_Result rc = http_send(conn, MHD_HTTP_OK, "text/plain; version=0.0.4", t.data, t.len);
  text_free(&t);
  return rc;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *data,
                              size_t *size, void **ctx) {
  (void)version;
  (void)data;
  (void)size;
  (void)ctx;
  struct consumer_app *app = cls;
  if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
    return http_send_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET");
  if (strcmp(url, "/") == 0) return page(app, conn);
  if (strcmp(url, "/messages") == 0) return messages_json(app, conn);
  if (strcmp(url, "/events") == 0) return events(app, conn);
  if (strcmp(url, "/healthz") == 0) return healthz(app, conn);
  if (strcmp(url, "/metrics") == 0) return metrics(app, conn);
  return http_send_error(conn, MHD_HTTP_NOT_FOUND,
                         "no such path: /, /messages, /events, /healthz, /metrics");
}

static rd_kafka_t *consumer_new(const struct app_options *o) {
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  app_conf_set(conf, "group.id", o->group);
  /* earliest: a message sent while the app starts (before the group has
   * assigned partitions) is still shown; -X auto.offset.reset=latest for
   * aiokafka's default. */
  app_conf_set(conf, "auto.offset.reset", "earliest");
  app_conf_set(conf, "enable.auto.commit", "true");
  if (!app_options_apply(o, conf)) {
    rd_kafka_conf_destroy(conf);
    return NULL;
  }
  char err[256];
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (rk == NULL) {
    fprintf(stderr, "error: %s\n", err);
    return NULL;
  }
  rd_kafka_poll_set_consumer(rk);
  rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, o->topic, RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t e = rd_kafka_subscribe(rk, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    fprintf(stderr, "error: subscribe %s: %s\n", o->topic, rd_kafka_err2str(e));
    rd_kafka_destroy(rk);
    return NULL;
  }
  return rk;
}

int main(int argc, char **argv) {
  static struct consumer_app app; /* handed to threads for the process's life */
  int rc = app_options_parse(&app.options, argc, argv, USAGE);
  if (rc != 0) return rc == 1 ? 0 : 2;
  if (app.options.port == 0) app.options.port = 8002;
  http_signals_block();
  messages_init(&app.messages);
  app.rk = consumer_new(&app.options);
  if (app.rk == NULL) return 1;
  pthread_t consumer;
  pthread_create(&consumer, NULL, consume_loop, &app);
  struct MHD_Daemon *d = http_start(app.options.port, handle, &app);
  if (d == NULL) return 1;
  fprintf(stderr, "sluice-consumer-app: http://0.0.0.0:%d/ <- topic %s, group %s at %s\n",
          app.options.port, app.options.topic, app.options.group, app.options.bootstrap);
  int sig = http_signals_wait();
  fprintf(stderr, "sluice-consumer-app: signal %d: stopping\n", sig);
  atomic_store(&app.stopping, true);
  messages_stop(&app.messages); /* ends the live viewers' streams */
  MHD_stop_daemon(d);
  pthread_join(consumer, NULL);
  rd_kafka_consumer_close(app.rk); /* commits and leaves the group */
  rd_kafka_destroy(app.rk);
  messages_destroy(&app.messages);
  return 0;
}
