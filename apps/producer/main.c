/* sluice-producer-app: the users' producer web app (port 8001). POST /send
 * publishes the JSON body to test-topic and answers once the cluster has
 * acknowledged it (acks=all, idempotent), with the partition and offset:
 * nothing it reports as sent can be lost by a cluster that keeps its
 * promises. GET /healthz asks the cluster for metadata; GET /metrics is
 * Prometheus text. Usage: --help. */
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apps/common/app_options.h"
#include "apps/common/http.h"
#include "apps/common/json.h"
#include "apps/common/text.h"

static const char USAGE[] =
    "usage: sluice-producer-app [options]\n"
    "  POST /send[?key=K]  publish the JSON object in the body to the topic;\n"
    "                      200 {\"status\":\"sent\",\"topic\":T,\"partition\":P,\"offset\":O}\n"
    "                      once acknowledged by all in-sync replicas; 400 not a JSON\n"
    "                      object, 413 body too large, 503 cluster unavailable\n"
    "  GET  /healthz       200 when the cluster answers metadata, else 503\n"
    "  GET  /metrics       Prometheus text\n"
    "options:\n"
    "  --bootstrap-server H:P[,H:P]  default: $KAFKA_BOOTSTRAP_SERVERS (also read\n"
    "                                from the .env file), else localhost:9092\n"
    "  --topic T                     default test-topic\n"
    "  --port N                      default 8001\n"
    "  --env-file F                  default .env (missing is fine)\n"
    "  --max-body-bytes N            default 1048576\n"
    "  --delivery-timeout-ms N       default 30000: then 503\n"
    "  -X key=value                  any librdkafka property\n";

struct delivery {
  pthread_mutex_t lock;
  pthread_cond_t done_cond;
  bool done;
  rd_kafka_resp_err_t err;
  int32_t partition;
  int64_t offset;
};

struct counters {
  atomic_ulong sent, failed, rejected, healthz, latency_us_sum;
};

struct producer_app {
  struct app_options options;
  rd_kafka_t *rk;
  rd_kafka_topic_t *topic;
  atomic_bool stopping;
  struct counters counters;
};

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  (void)opaque;
  struct delivery *d = m->_private;
  pthread_mutex_lock(&d->lock);
  d->err = m->err;
  d->partition = m->partition;
  d->offset = m->offset;
  d->done = true;
  pthread_cond_signal(&d->done_cond);
  pthread_mutex_unlock(&d->lock);
}

/* librdkafka serves delivery reports from rd_kafka_poll: one thread does it. */
static void *poll_loop(void *arg) {
  struct producer_app *app = arg;
  while (!atomic_load(&app->stopping)) rd_kafka_poll(app->rk, 100);
  return NULL;
}

static unsigned status_of(rd_kafka_resp_err_t err) {
  switch (err) {
  case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
  case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    return MHD_HTTP_CONTENT_TOO_LARGE;
  case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    return MHD_HTTP_FORBIDDEN;
  default:
    return MHD_HTTP_SERVICE_UNAVAILABLE; /* timed out, no leader, queue full... */
  }
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Produces and waits for the delivery report (librdkafka's own
 * delivery.timeout.ms bounds the wait). */
static rd_kafka_resp_err_t produce_and_wait(struct producer_app *app, const struct text *body,
                                            const char *key, struct delivery *d) {
  pthread_mutex_init(&d->lock, NULL);
  pthread_cond_init(&d->done_cond, NULL);
  d->done = false;
  rd_kafka_resp_err_t err = rd_kafka_producev(
      app->rk, RD_KAFKA_V_RKT(app->topic), RD_KAFKA_V_VALUE(body->data, body->len),
      RD_KAFKA_V_KEY(key, key ? strlen(key) : 0), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
      RD_KAFKA_V_OPAQUE(d), RD_KAFKA_V_END);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    pthread_mutex_lock(&d->lock);
    while (!d->done) pthread_cond_wait(&d->done_cond, &d->lock);
    pthread_mutex_unlock(&d->lock);
    err = d->err;
  }
  pthread_cond_destroy(&d->done_cond);
  pthread_mutex_destroy(&d->lock);
  return err;
}

static enum MHD_Result send_message(struct producer_app *app, struct MHD_Connection *conn,
                                    const struct http_body *body) {
  if (body->too_large) {
    atomic_fetch_add(&app->counters.rejected, 1);
    return http_send_error(conn, MHD_HTTP_CONTENT_TOO_LARGE,
                           "body larger than --max-body-bytes");
  }
  struct json_error jerr = {0, ""};
  if (!json_valid_object(body->text.data, body->text.len, &jerr)) {
    char reason[160];
    snprintf(reason, sizeof reason, "invalid JSON at byte %zu: %s", jerr.offset, jerr.reason);
    atomic_fetch_add(&app->counters.rejected, 1);
    return http_send_error(conn, MHD_HTTP_BAD_REQUEST, reason);
  }
  const char *key = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "key");
  struct delivery d;
  double start_s = now_s();
  rd_kafka_resp_err_t err = produce_and_wait(app, &body->text, key, &d);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    atomic_fetch_add(&app->counters.failed, 1);
    return http_send_error(conn, status_of(err), rd_kafka_err2str(err));
  }
  atomic_fetch_add(&app->counters.sent, 1);
  atomic_fetch_add(&app->counters.latency_us_sum, (unsigned long)((now_s() - start_s) * 1e6));
  struct text t;
  text_init(&t, 4096);
  text_adds(&t, "{\"status\":\"sent\",\"topic\":");
  text_add_json_string(&t, app->options.topic, strlen(app->options.topic));
  text_addf(&t, ",\"partition\":%d,\"offset\":%lld}\n", (int)d.partition, (long long)d.offset);
  enum MHD_Result rc = http_send(conn, MHD_HTTP_OK, "application/json", t.data, t.len);
  text_free(&t);
  return rc;
}

static enum MHD_Result healthz(struct producer_app *app, struct MHD_Connection *conn) {
  atomic_fetch_add(&app->counters.healthz, 1);
  const struct rd_kafka_metadata *md = NULL;
  rd_kafka_resp_err_t err = rd_kafka_metadata(app->rk, 0, app->topic, &md, 2000);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
    return http_send_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE, rd_kafka_err2str(err));
  char body[128];
  int n = snprintf(body, sizeof body, "{\"status\":\"ok\",\"brokers\":%d}\n", md->broker_cnt);
  rd_kafka_metadata_destroy(md);
  return http_send(conn, MHD_HTTP_OK, "application/json", body, (size_t)n);
}

static enum MHD_Result metrics(struct producer_app *app, struct MHD_Connection *conn) {
  struct counters *c = &app->counters;
  struct text t;
  text_init(&t, 8192);
  text_addf(
      &t,
      "# HELP sluice_app_messages_sent_total Messages acknowledged by the cluster.\n"
      "# TYPE sluice_app_messages_sent_total counter\nsluice_app_messages_sent_total %lu\n"
      "# HELP sluice_app_send_failures_total Sends the cluster did not acknowledge (503).\n"
      "# TYPE sluice_app_send_failures_total counter\nsluice_app_send_failures_total %lu\n"
      "# HELP sluice_app_requests_rejected_total Requests refused (400, 413).\n"
      "# TYPE sluice_app_requests_rejected_total counter\nsluice_app_requests_rejected_total "
      "%lu\n"
      "# HELP sluice_app_send_latency_seconds_sum Time from a request to its acknowledgement.\n"
      "# TYPE sluice_app_send_latency_seconds_sum counter\nsluice_app_send_latency_seconds_sum "
      "%.6f\n",
      atomic_load(&c->sent), atomic_load(&c->failed), atomic_load(&c->rejected),
      (double)atomic_load(&c->latency_us_sum) / 1e6);
  text_addf(&t,
            "# TYPE sluice_app_producer_queue_messages "
            "gauge\nsluice_app_producer_queue_messages %d\n",
            rd_kafka_outq_len(app->rk));
  enum MHD_Result rc = http_send(conn, MHD_HTTP_OK, "text/plain; version=0.0.4", t.data, t.len);
  text_free(&t);
  return rc;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *data,
                              size_t *size, void **ctx) {
  (void)version;
  struct producer_app *app = cls;
  bool post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;
  bool get = strcmp(method, MHD_HTTP_METHOD_GET) == 0;
  if (post && strcmp(url, "/send") == 0) {
    if (http_gather_body(ctx, data, size, (size_t)app->options.body_bytes_max)) return MHD_YES;
    return send_message(app, conn, *ctx);
  }
  if (get && strcmp(url, "/healthz") == 0) return healthz(app, conn);
  if (get && strcmp(url, "/metrics") == 0) return metrics(app, conn);
  if (strcmp(url, "/send") == 0)
    return http_send_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "use POST /send");
  return http_send_error(conn, MHD_HTTP_NOT_FOUND,
                         "no such path: POST /send, GET /healthz, GET /metrics");
}

static rd_kafka_t *producer_new(const struct app_options *o) {
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  app_conf_set(conf, "acks", "all");
  app_conf_set(conf, "enable.idempotence", "true");
  char timeout[32];
  snprintf(timeout, sizeof timeout, "%ld", o->delivery_timeout_ms);
  app_conf_set(conf, "delivery.timeout.ms", timeout);
  app_conf_set(conf, "linger.ms", "5");
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  if (!app_options_apply(o, conf)) {
    rd_kafka_conf_destroy(conf);
    return NULL;
  }
  char err[256];
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (rk == NULL) fprintf(stderr, "error: %s\n", err);
  return rk;
}

int main(int argc, char **argv) {
  static struct producer_app app; /* handed to threads for the process's life */
  int rc = app_options_parse(&app.options, argc, argv, USAGE);
  if (rc != 0) return rc == 1 ? 0 : 2;
  if (app.options.port == 0) app.options.port = 8001;
  http_signals_block();
  app.rk = producer_new(&app.options);
  if (app.rk == NULL) return 1;
  app.topic = rd_kafka_topic_new(app.rk, app.options.topic, NULL);
  pthread_t poller;
  pthread_create(&poller, NULL, poll_loop, &app);
  struct MHD_Daemon *d = http_start(app.options.port, handle, &app);
  if (d == NULL) return 1;
  fprintf(stderr, "sluice-producer-app: POST http://0.0.0.0:%d/send -> topic %s at %s\n",
          app.options.port, app.options.topic, app.options.bootstrap);
  int sig = http_signals_wait();
  fprintf(stderr, "sluice-producer-app: signal %d: stopping\n", sig);
  MHD_stop_daemon(d); /* waits for the handlers, whose sends have completed */
  rd_kafka_flush(app.rk, 10000);
  atomic_store(&app.stopping, true);
  pthread_join(poller, NULL);
  rd_kafka_topic_destroy(app.topic);
  rd_kafka_destroy(app.rk);
  return 0;
}
