/* sluicectl produce / consume: kafka-console-producer.sh and
 * kafka-console-consumer.sh, for debugging.
 *   produce --topic T [--property parse.key=true] [--property key.separator=S]
 *           [--producer-property acks=1]        one record per stdin line
 *   consume --topic T [--from-beginning] [--group G] [--partition P
 *           [--offset N|earliest|latest]] [--max-messages N] [--timeout-ms N]
 *           [--property print.key=true] [--property print.partition=true]
 *           [--property print.offset=true] [--property key.separator=S] */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/sluicectl/admin.h"

static const char PRODUCE_HELP[] =
    "usage: sluicectl produce --bootstrap-server H:P --topic T [options] < lines\n"
    "  one record per line of stdin; acks=all unless --producer-property acks=N\n"
    "  --property parse.key=true     each line is KEY<separator>VALUE\n"
    "  --property key.separator=S    default a tab\n"
    "  --producer-property k=v       any librdkafka producer property\n";

static const char CONSUME_HELP[] =
    "usage: sluicectl consume --bootstrap-server H:P --topic T [options]\n"
    "  --from-beginning            start at the earliest offset (without a committed one)\n"
    "  --group G                   consume in group G (default: no group, no commits)\n"
    "  --partition P [--offset N|earliest|latest]   one partition from an offset\n"
    "  --max-messages N            exit after N records\n"
    "  --timeout-ms N              exit when no record came for N ms\n"
    "  --property print.key=true | print.partition=true | print.offset=true\n"
    "  --property key.separator=S  between the printed fields (default a tab)\n"
    "  --consumer-property k=v     any librdkafka consumer property\n";

enum { CONSOLE_LINE_BYTES_MAX = 1 << 20, CONSOLE_PROPERTIES_MAX = 32 };

static const char *const SWITCHES[] = {"--from-beginning", "--help", NULL};

static volatile sig_atomic_t console_stop; /* set by SIGINT/SIGTERM: finish and flush */

static void on_signal(int sig) {
  (void)sig;
  console_stop = 1;
}

/* --property name=value of the console tools, or dflt. */
static const char *property(const struct flags *f, const char *name, const char *dflt) {
  const char *props[CONSOLE_PROPERTIES_MAX];
  int n = flag_all(f, "--property", props, CONSOLE_PROPERTIES_MAX);
  size_t len = strlen(name);
  const char *v = dflt;
  for (int i = 0; i < n; i++)
    if (strncmp(props[i], name, len) == 0 && props[i][len] == '=') v = props[i] + len + 1;
  return v;
}

/* --producer-property / --consumer-property k=v onto conf. */
static bool client_properties(const struct flags *f, const char *flag_name,
                              rd_kafka_conf_t *conf) {
  const char *props[CONSOLE_PROPERTIES_MAX];
  int n = flag_all(f, flag_name, props, CONSOLE_PROPERTIES_MAX);
  for (int i = 0; i < n; i++) {
    char name[256], err[256];
    const char *eq = strchr(props[i], '=');
    if (eq == NULL || (size_t)(eq - props[i]) >= sizeof name)
      return fail("%s wants k=v", flag_name), false;
    memcpy(name, props[i], (size_t)(eq - props[i]));
    name[eq - props[i]] = '\0';
    if (rd_kafka_conf_set(conf, name, eq + 1, err, sizeof err) != RD_KAFKA_CONF_OK)
      return fail("%s %s: %s", flag_name, props[i], err), false;
  }
  return true;
}

static rd_kafka_conf_t *base_conf(const struct flags *f) {
  const char *bootstrap = flag(f, "--bootstrap-server");
  if (bootstrap == NULL) return fail("--bootstrap-server is required"), NULL;
  if (flag(f, "--topic") == NULL) return fail("--topic is required"), NULL;
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  char err[256];
  if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof err) !=
      RD_KAFKA_CONF_OK) {
    rd_kafka_conf_destroy(conf);
    return fail("--bootstrap-server: %s", err), NULL;
  }
  return conf;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  if (m->err) {
    fprintf(stderr, "Error: a record was not delivered: %s\n", rd_kafka_err2str(m->err));
    *(int *)opaque = 1;
  }
}

/* One stdin line as a record; retried while librdkafka's queue is full. */
static void produce_line(rd_kafka_t *rk, rd_kafka_topic_t *t, char *line, size_t len,
                         const char *sep, bool keyed) {
  char *key = NULL, *value = line;
  size_t key_len = 0;
  if (keyed) {
    char *at = strstr(line, sep);
    if (at) {
      key = line;
      key_len = (size_t)(at - line);
      value = at + strlen(sep);
      len -= key_len + strlen(sep);
    }
  }
  for (int tries = 0; tries < 1000; tries++) {
    if (rd_kafka_produce(t, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, value, len, key,
                         key_len, NULL) == 0)
      return;
    if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL) break;
    rd_kafka_poll(rk, 100);
  }
  fprintf(stderr, "Error: %s\n", rd_kafka_err2str(rd_kafka_last_error()));
}

int produce_cmd(int argc, char **argv) {
  struct flags f;
  if (!flags_parse(&f, argc, argv, SWITCHES)) return 1;
  if (flag_on(&f, "--help")) return fputs(PRODUCE_HELP, stdout), 0;
  rd_kafka_conf_t *conf = base_conf(&f);
  if (conf == NULL) return 1;
  int failed = 0;
  char err[256];
  rd_kafka_conf_set(conf, "acks", "all", err, sizeof err);
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_conf_set_opaque(conf, &failed);
  if (!client_properties(&f, "--producer-property", conf))
    return rd_kafka_conf_destroy(conf), 1;
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (rk == NULL) return fail("%s", err);
  rd_kafka_topic_t *t = rd_kafka_topic_new(rk, flag(&f, "--topic"), NULL);
  bool keyed = strcmp(property(&f, "parse.key", "false"), "true") == 0;
  const char *sep = property(&f, "key.separator", "\t");
  char *line = malloc(CONSOLE_LINE_BYTES_MAX);
  if (line == NULL) abort();
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  while (!console_stop && fgets(line, CONSOLE_LINE_BYTES_MAX, stdin) != NULL) {
    size_t len = strcspn(line, "\n");
    line[len] = '\0';
    produce_line(rk, t, line, len, sep, keyed);
    rd_kafka_poll(rk, 0);
  }
  free(line);
  if (rd_kafka_flush(rk, ADMIN_TIMEOUT_MS) != RD_KAFKA_RESP_ERR_NO_ERROR)
    failed =
        fail("%d records not acknowledged in %d ms", rd_kafka_outq_len(rk), ADMIN_TIMEOUT_MS);
  rd_kafka_topic_destroy(t);
  rd_kafka_destroy(rk);
  return failed ? 1 : 0;
}

static void print_record(const struct flags *f, const rd_kafka_message_t *m) {
  const char *sep = property(f, "key.separator", "\t");
  if (strcmp(property(f, "print.partition", "false"), "true") == 0)
    printf("Partition:%d%s", (int)m->partition, sep);
  if (strcmp(property(f, "print.offset", "false"), "true") == 0)
    printf("Offset:%lld%s", (long long)m->offset, sep);
  if (strcmp(property(f, "print.key", "false"), "true") == 0) {
    if (m->key)
      fwrite(m->key, 1, m->key_len, stdout);
    else
      fputs("null", stdout);
    fputs(sep, stdout);
  }
  if (m->payload)
    fwrite(m->payload, 1, m->len, stdout);
  else
    fputs("null", stdout);
  fputc('\n', stdout);
  fflush(stdout);
}

/* Without --group: assign (all partitions, or --partition) with no group
 * coordinator and no commits, as the console consumer's own random group
 * would leave nothing behind either. */
static bool start_consuming(rd_kafka_t *rk, const struct flags *f, const char *topic) {
  rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(1);
  rd_kafka_resp_err_t err;
  if (flag_on(f, "--group") && !flag_on(f, "--partition")) {
    rd_kafka_topic_partition_list_add(list, topic, RD_KAFKA_PARTITION_UA);
    err = rd_kafka_subscribe(rk, list);
  } else {
    bool ok = true;
    long only = flag_long(f, "--partition", 0, 1000000, -1, &ok);
    const char *off = flag(f, "--offset");
    int64_t start =
        flag_on(f, "--from-beginning") ? RD_KAFKA_OFFSET_BEGINNING : RD_KAFKA_OFFSET_END;
    if (off && strcmp(off, "earliest") == 0)
      start = RD_KAFKA_OFFSET_BEGINNING;
    else if (off && strcmp(off, "latest") == 0)
      start = RD_KAFKA_OFFSET_END;
    else if (off)
      start = flag_long(f, "--offset", 0, 9223372036854775807L, 0, &ok);
    const rd_kafka_metadata_t *md = NULL;
    rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
    err = ok ? rd_kafka_metadata(rk, 0, t, &md, ADMIN_TIMEOUT_MS)
             : RD_KAFKA_RESP_ERR__INVALID_ARG;
    rd_kafka_topic_destroy(t);
    if (err == 0 && (md->topic_cnt != 1 || md->topics[0].err))
      err = md->topic_cnt ? md->topics[0].err : 1;
    for (int i = 0; err == 0 && i < md->topics[0].partition_cnt; i++) {
      int32_t p = md->topics[0].partitions[i].id;
      if (only < 0 || p == only)
        rd_kafka_topic_partition_list_add(list, topic, p)->offset = start;
    }
    if (md) rd_kafka_metadata_destroy(md);
    if (err == 0 && list->cnt == 0) err = RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION;
    if (err == 0) err = rd_kafka_assign(rk, list);
  }
  rd_kafka_topic_partition_list_destroy(list);
  if (err) fail("topic '%s': %s", topic, rd_kafka_err2str(err));
  return err == 0;
}

int consume_cmd(int argc, char **argv) {
  struct flags f;
  if (!flags_parse(&f, argc, argv, SWITCHES)) return 1;
  if (flag_on(&f, "--help")) return fputs(CONSUME_HELP, stdout), 0;
  bool ok = true;
  long max = flag_long(&f, "--max-messages", 1, 2147483647L, -1, &ok);
  long idle_ms = flag_long(&f, "--timeout-ms", 1, 2147483647L, -1, &ok);
  if (!ok) return 1;
  rd_kafka_conf_t *conf = base_conf(&f);
  if (conf == NULL) return 1;
  char err[256];
  const char *group = flag(&f, "--group");
  rd_kafka_conf_set(conf, "group.id", group ? group : "sluicectl-console", err, sizeof err);
  rd_kafka_conf_set(conf, "enable.auto.commit", group ? "true" : "false", err, sizeof err);
  rd_kafka_conf_set(conf, "auto.offset.reset",
                    flag_on(&f, "--from-beginning") ? "earliest" : "latest", err, sizeof err);
  if (!client_properties(&f, "--consumer-property", conf))
    return rd_kafka_conf_destroy(conf), 1;
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (rk == NULL) return fail("%s", err);
  rd_kafka_poll_set_consumer(rk);
  int rc = start_consuming(rk, &f, flag(&f, "--topic")) ? 0 : 1;
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  long got = 0, idle = 0;
  while (rc == 0 && !console_stop && (max < 0 || got < max) &&
         (idle_ms < 0 || idle < idle_ms)) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
    if (m == NULL) {
      idle += 100;
      continue;
    }
    idle = 0;
    if (m->err == 0) {
      print_record(&f, m);
      got++;
    } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      fprintf(stderr, "Error: %s\n", rd_kafka_message_errstr(m));
    }
    rd_kafka_message_destroy(m);
  }
  fprintf(stderr, "Processed a total of %ld messages\n", got);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return rc;
}
