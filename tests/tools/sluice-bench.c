/* make bench's load generator: librdkafka producer and consumer throughput
 * and produce latency against a broker (--brokers) or librdkafka's own
 * in-process mock cluster (--mock N), so both are measured the same way in
 * the same run. Prints one line of key=value figures. */
#define _GNU_SOURCE
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct opts {
  const char *brokers;
  int mock_brokers;
  const char *mode; /* produce | consume */
  long count;
  int size;
  const char *acks;
  const char *topic;
  const char *batch_bytes; /* librdkafka's batch.size; NULL keeps its default */
  double seconds;          /* produce: stop sending after this long (0: send --count) */
  int wait_brokers;        /* first wait until Metadata lists this many brokers */
  int warmup;              /* produce: one record acknowledged before the clock starts */
};

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double *latencies_ms;
static long delivered, failed;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk, (void)opaque;
  double *sent = m->_private;
  if (m->err)
    failed++;
  else
    latencies_ms[delivered++] = (now_s() - *sent) * 1000.0;
  free(sent);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void set(rd_kafka_conf_t *conf, const char *k, const char *v) {
  char err[256];
  if (rd_kafka_conf_set(conf, k, v, err, sizeof err) != RD_KAFKA_CONF_OK) {
    fprintf(stderr, "sluice-bench: %s=%s: %s\n", k, v, err);
    exit(2);
  }
}

/* One record, acknowledged, before the clock starts: a partition created
 * by this run's first Metadata has followers whose fetchers pick it up only
 * once their long poll on the leader's other partitions returns
 * (replica.fetch.wait.max.ms, 500 ms, as in Kafka's fetcher threads), which
 * would otherwise be counted in every record's latency behind it. */
static int warm(rd_kafka_t *rk, const struct opts *o, const char *payload) {
  double *sent = malloc(sizeof *sent);
  *sent = now_s();
  rd_kafka_resp_err_t err = rd_kafka_producev(
      rk, RD_KAFKA_V_TOPIC(o->topic), RD_KAFKA_V_PARTITION(0),
      RD_KAFKA_V_VALUE((void *)payload, (size_t)o->size),
      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(sent), RD_KAFKA_V_END);
  if (err) return fprintf(stderr, "sluice-bench: warmup: %s\n", rd_kafka_err2str(err)), 1;
  rd_kafka_flush(rk, 60000);
  if (delivered != 1) return fprintf(stderr, "sluice-bench: warmup not acknowledged\n"), 1;
  delivered = 0;
  return 0;
}

static int produce(const struct opts *o, const char *bootstrap) {
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  set(conf, "bootstrap.servers", bootstrap);
  set(conf, "acks", o->acks);
  set(conf, "linger.ms", "5");
  set(conf, "queue.buffering.max.messages", "1000000");
  set(conf, "queue.buffering.max.kbytes", "1048576");
  if (o->batch_bytes) set(conf, "batch.size", o->batch_bytes); /* smaller: more requests */
  /* A timed run still delivers what it queued: keep that short. */
  if (o->seconds > 0) set(conf, "queue.buffering.max.messages", "10000");
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  char err[256];
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) return fprintf(stderr, "sluice-bench: %s\n", err), 1;
  latencies_ms = calloc((size_t)o->count, sizeof *latencies_ms);
  char *payload = malloc((size_t)o->size);
  for (int i = 0; i < o->size; i++) payload[i] = (char)('a' + i % 26);
  if (o->warmup && warm(rk, o, payload)) return 1;
  double t0 = now_s();
  for (long i = 0; i < o->count; i++) {
    if (o->seconds > 0 && (i & 1023) == 0 && now_s() - t0 > o->seconds) break;
    double *sent = malloc(sizeof *sent);
    *sent = now_s();
    while (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(o->topic), RD_KAFKA_V_PARTITION(0),
                             RD_KAFKA_V_VALUE(payload, (size_t)o->size),
                             RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(sent),
                             RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
      rd_kafka_poll(rk, 10);
    if ((i & 1023) == 0) rd_kafka_poll(rk, 0);
  }
  rd_kafka_flush(rk, 120000);
  double secs = now_s() - t0;
  qsort(latencies_ms, (size_t)delivered, sizeof *latencies_ms, cmp_double);
  double p50 = delivered ? latencies_ms[delivered / 2] : 0;
  double p99 = delivered ? latencies_ms[(long)(delivered * 0.99)] : 0;
  double p999 = delivered ? latencies_ms[(long)(delivered * 0.999)] : 0;
  printf("mode=produce msgs=%ld failed=%ld secs=%.3f msgs_per_s=%.0f mb_per_s=%.2f "
         "p50_ms=%.2f p99_ms=%.2f p999_ms=%.2f\n",
         delivered, failed, secs, delivered / secs, delivered * (double)o->size / secs / 1e6,
         p50, p99, p999);
  free(payload);
  free(latencies_ms);
  rd_kafka_destroy(rk);
  return failed ? 1 : 0;
}

static int consume(const struct opts *o, const char *bootstrap) {
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  set(conf, "bootstrap.servers", bootstrap);
  set(conf, "group.id", "sluice-bench");
  set(conf, "enable.auto.commit", "false");
  set(conf, "fetch.max.bytes", "52428800");
  char err[256];
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (!rk) return fprintf(stderr, "sluice-bench: %s\n", err), 1;
  rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(parts, o->topic, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_assign(rk, parts);
  rd_kafka_topic_partition_list_destroy(parts);
  long got = 0, bytes = 0;
  double t0 = 0;
  for (int idle = 0; got < o->count && idle < 100;) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
    if (!m) {
      idle++;
      continue;
    }
    if (!m->err) {
      if (got == 0) t0 = now_s();
      got++;
      bytes += (long)m->len;
      idle = 0;
    }
    rd_kafka_message_destroy(m);
  }
  double secs = now_s() - t0;
  printf("mode=consume msgs=%ld secs=%.3f msgs_per_s=%.0f mb_per_s=%.2f\n", got, secs,
         got / secs, bytes / secs / 1e6);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return got == o->count ? 0 : 1;
}

/* A cluster just started: its brokers register with the controller one by
 * one, and a topic auto-created before all of them have would be refused
 * a replication factor of 3. Waits at most 60 s. */
static int wait_for_brokers(const char *bootstrap, int want) {
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  set(conf, "bootstrap.servers", bootstrap);
  char err[256];
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) return fprintf(stderr, "sluice-bench: %s\n", err), 1;
  int have = 0;
  for (int round = 0; round < 600 && have < want; round++) {
    const struct rd_kafka_metadata *md = NULL;
    if (rd_kafka_metadata(rk, 0, NULL, &md, 1000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      have = md->broker_cnt;
      rd_kafka_metadata_destroy(md);
    }
    if (have < want) rd_kafka_poll(rk, 100);
  }
  rd_kafka_destroy(rk);
  if (have < want) fprintf(stderr, "sluice-bench: %d of %d brokers registered\n", have, want);
  return have < want;
}

static int run_mode(const struct opts *o, const char *bootstrap) {
  if (strcmp(o->mode, "produce") == 0) return produce(o, bootstrap);
  if (strcmp(o->mode, "consume") == 0) return consume(o, bootstrap);
  if (strcmp(o->mode, "consume+produce") != 0)
    return fprintf(stderr, "sluice-bench: unknown mode %s\n", o->mode), 2;
  int rc = produce(o, bootstrap);
  return rc ? rc : consume(o, bootstrap);
}

int main(int argc, char **argv) {
  struct opts o = {
      .mode = "produce", .count = 100000, .size = 100, .acks = "1", .topic = "bench"};
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--brokers"))
      o.brokers = argv[i + 1];
    else if (!strcmp(argv[i], "--mock"))
      o.mock_brokers = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--mode"))
      o.mode = argv[i + 1];
    else if (!strcmp(argv[i], "--count"))
      o.count = atol(argv[i + 1]);
    else if (!strcmp(argv[i], "--size"))
      o.size = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--acks"))
      o.acks = argv[i + 1];
    else if (!strcmp(argv[i], "--topic"))
      o.topic = argv[i + 1];
    else if (!strcmp(argv[i], "--batch-bytes"))
      o.batch_bytes = argv[i + 1];
    else if (!strcmp(argv[i], "--seconds"))
      o.seconds = atof(argv[i + 1]);
    else if (!strcmp(argv[i], "--warmup"))
      o.warmup = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--wait-brokers"))
      o.wait_brokers = atoi(argv[i + 1]);
    else
      return fprintf(stderr, "sluice-bench: unknown option %s\n", argv[i]), 2;
  }
  if (!o.brokers && !o.mock_brokers) {
    fprintf(stderr,
            "usage: sluice-bench (--brokers B | --mock N) [--mode produce|consume+produce] "
            "[--count N] [--size S] [--acks 1|all] [--topic T] [--batch-bytes B] [--seconds S] "
            "[--wait-brokers N] [--warmup 0|1]\n");
    return 2;
  }
  rd_kafka_t *mock_rk = NULL;
  rd_kafka_mock_cluster_t *mc = NULL;
  const char *bootstrap = o.brokers;
  if (o.mock_brokers) {
    /* The mock cluster lives in this process; a handle owns it. */
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    set(conf, "log_level", "0");
    mock_rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    mc = rd_kafka_mock_cluster_new(mock_rk, o.mock_brokers);
    rd_kafka_mock_topic_create(mc, o.topic, 1, o.mock_brokers);
    bootstrap = rd_kafka_mock_cluster_bootstraps(mc);
  }
  int rc = o.wait_brokers ? wait_for_brokers(bootstrap, o.wait_brokers) : 0;
  if (rc == 0) rc = run_mode(&o, bootstrap);
  if (mc) rd_kafka_mock_cluster_destroy(mc);
  if (mock_rk) rd_kafka_destroy(mock_rk);
  return rc;
}
