/* sluicectl topics: kafka-topics.sh's commands and output.
 *   --list | --describe [--topic T] | --create --topic T [--partitions N]
 *   [--replication-factor R | --replica-assignment 1:2,2:3] [--config k=v]...
 *   | --alter --topic T --partitions N | --delete --topic T */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/sluicectl/admin.h"

static const char TOPICS_HELP[] =
    "usage: sluicectl topics --bootstrap-server H:P[,H:P] COMMAND\n"
    "  --list [--exclude-internal]\n"
    "  --describe [--topic T] [--exclude-internal] [--under-replicated-partitions]\n"
    "             [--unavailable-partitions]\n"
    "  --create --topic T [--partitions N] [--replication-factor R]\n"
    "           [--replica-assignment B:B,B:B (one list of brokers per partition)]\n"
    "           [--config k=v]... [--if-not-exists]\n"
    "  --alter --topic T --partitions N [--if-exists]\n"
    "  --delete --topic T [--if-exists]\n"
    "  also: --command-config FILE, -X key=value (librdkafka client properties)\n";

static const char *const SWITCHES[] = {"--list",
                                       "--describe",
                                       "--create",
                                       "--alter",
                                       "--delete",
                                       "--help",
                                       "--exclude-internal",
                                       "--under-replicated-partitions",
                                       "--unavailable-partitions",
                                       "--if-not-exists",
                                       "--if-exists",
                                       NULL};

static int by_topic_name(const void *a, const void *b) {
  return strcmp(((const rd_kafka_metadata_topic_t *)a)->topic,
                ((const rd_kafka_metadata_topic_t *)b)->topic);
}

static int by_partition(const void *a, const void *b) {
  return ((const rd_kafka_metadata_partition_t *)a)->id -
         ((const rd_kafka_metadata_partition_t *)b)->id;
}

static void print_ids(const int32_t *ids, int n) {
  for (int i = 0; i < n; i++) printf("%s%d", i ? "," : "", (int)ids[i]);
}

/* The whole cluster's metadata, topics sorted by name and partitions by id
 * (librdkafka's arrays are ours to reorder: it hands out a copy). */
static const rd_kafka_metadata_t *metadata_sorted(rd_kafka_t *rk) {
  const rd_kafka_metadata_t *md = NULL;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, NULL, &md, ADMIN_TIMEOUT_MS);
  if (err) {
    fail("metadata: %s", rd_kafka_err2str(err));
    return NULL;
  }
  rd_kafka_metadata_topic_t *topics = md->topics;
  qsort(topics, (size_t)md->topic_cnt, sizeof *topics, by_topic_name);
  for (int i = 0; i < md->topic_cnt; i++)
    qsort(topics[i].partitions, (size_t)topics[i].partition_cnt, sizeof *topics[i].partitions,
          by_partition);
  return md;
}

static bool internal(const char *topic) { return strncmp(topic, "__", 2) == 0; }

static int list_topics(rd_kafka_t *rk, const struct flags *f) {
  const rd_kafka_metadata_t *md = metadata_sorted(rk);
  if (md == NULL) return 1;
  for (int i = 0; i < md->topic_cnt; i++)
    if (!(flag_on(f, "--exclude-internal") && internal(md->topics[i].topic)))
      printf("%s\n", md->topics[i].topic);
  rd_kafka_metadata_destroy(md);
  return 0;
}

/* "k=v,k=v" of a topic's own (dynamic) configs, as kafka-topics.sh shows. */
static void print_topic_configs(const rd_kafka_ConfigResource_t *res) {
  size_t n = 0;
  const rd_kafka_ConfigEntry_t **entries = rd_kafka_ConfigResource_configs(res, &n);
  int shown = 0;
  for (size_t i = 0; i < n; i++) {
    if (rd_kafka_ConfigEntry_source(entries[i]) != RD_KAFKA_CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG)
      continue;
    const char *v = rd_kafka_ConfigEntry_value(entries[i]);
    printf("%s%s=%s", shown++ ? "," : "", rd_kafka_ConfigEntry_name(entries[i]), v ? v : "");
  }
}

/* DescribeConfigs of the topics shown; NULL (and configs left blank) if the
 * cluster does not answer it. */
static rd_kafka_event_t *describe_topic_configs(rd_kafka_t *rk, const rd_kafka_metadata_t *md,
                                                const char *only) {
  rd_kafka_ConfigResource_t *res[ADMIN_LIST_MAX];
  size_t n = 0;
  for (int i = 0; i < md->topic_cnt && n < ADMIN_LIST_MAX; i++)
    if (!only || strcmp(only, md->topics[i].topic) == 0)
      res[n++] = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, md->topics[i].topic);
  if (n == 0) return NULL;
  struct admin_call call;
  admin_call_begin(&call, rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
  rd_kafka_DescribeConfigs(rk, res, n, call.options, call.q);
  rd_kafka_event_t *ev = admin_call_result(&call, RD_KAFKA_EVENT_DESCRIBECONFIGS_RESULT, NULL);
  rd_kafka_ConfigResource_destroy_array(res, n);
  return ev;
}

static const rd_kafka_ConfigResource_t *configs_of(rd_kafka_event_t *ev, const char *topic) {
  if (ev == NULL) return NULL;
  size_t n = 0;
  const rd_kafka_ConfigResource_t **res =
      rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev), &n);
  for (size_t i = 0; i < n; i++)
    if (strcmp(rd_kafka_ConfigResource_name(res[i]), topic) == 0) return res[i];
  return NULL;
}

static bool partition_shown(const struct flags *f, const rd_kafka_metadata_partition_t *p) {
  if (flag_on(f, "--under-replicated-partitions")) return p->isr_cnt < p->replica_cnt;
  if (flag_on(f, "--unavailable-partitions")) return p->leader < 0;
  return true;
}

static void describe_one(const struct flags *f, const rd_kafka_metadata_topic_t *t,
                         rd_kafka_event_t *configs) {
  bool filtered =
      flag_on(f, "--under-replicated-partitions") || flag_on(f, "--unavailable-partitions");
  if (!filtered) {
    int rf = t->partition_cnt > 0 ? t->partitions[0].replica_cnt : 0;
    printf("Topic: %s\tPartitionCount: %d\tReplicationFactor: %d\tConfigs: ", t->topic,
           t->partition_cnt, rf);
    const rd_kafka_ConfigResource_t *res = configs_of(configs, t->topic);
    if (res) print_topic_configs(res);
    printf("\n");
  }
  for (int i = 0; i < t->partition_cnt; i++) {
    const rd_kafka_metadata_partition_t *p = &t->partitions[i];
    if (!partition_shown(f, p)) continue;
    printf("\tTopic: %s\tPartition: %d\tLeader: ", t->topic, (int)p->id);
    if (p->leader >= 0)
      printf("%d", (int)p->leader);
    else
      printf("none");
    printf("\tReplicas: ");
    print_ids(p->replicas, p->replica_cnt);
    printf("\tIsr: ");
    print_ids(p->isrs, p->isr_cnt);
    printf("\n");
  }
}

static int describe_topics(rd_kafka_t *rk, const struct flags *f) {
  const char *only = flag(f, "--topic");
  const rd_kafka_metadata_t *md = metadata_sorted(rk);
  if (md == NULL) return 1;
  rd_kafka_event_t *configs = describe_topic_configs(rk, md, only);
  int found = 0;
  for (int i = 0; i < md->topic_cnt; i++) {
    const rd_kafka_metadata_topic_t *t = &md->topics[i];
    if (only ? strcmp(only, t->topic) != 0
             : (flag_on(f, "--exclude-internal") && internal(t->topic)))
      continue;
    if (t->err) continue;
    describe_one(f, t, configs);
    found++;
  }
  if (configs) rd_kafka_event_destroy(configs);
  rd_kafka_metadata_destroy(md);
  if (only && found == 0) return fail("Topic '%s' does not exist as expected", only);
  return 0;
}

/* "1:2:3,2:3:1": the brokers of each partition, in order. */
static bool set_assignment(rd_kafka_NewTopic_t *nt, const char *spec, int *partitions) {
  char copy[4096], err[256];
  if (strlen(spec) >= sizeof copy) return fail("--replica-assignment is too long"), false;
  strcpy(copy, spec);
  int p = 0;
  for (char *save = NULL, *part = strtok_r(copy, ",", &save); part;
       part = strtok_r(NULL, ",", &save), p++) {
    int32_t brokers[ADMIN_LIST_MAX];
    size_t n = 0;
    for (char *s2 = NULL, *b = strtok_r(part, ":", &s2); b && n < ADMIN_LIST_MAX;
         b = strtok_r(NULL, ":", &s2)) {
      char *end;
      long id = strtol(b, &end, 10);
      if (*end != '\0' || id < 0 || id > 2147483647L)
        return fail("--replica-assignment: bad broker id '%s'", b), false;
      brokers[n++] = (int32_t)id;
    }
    if (rd_kafka_NewTopic_set_replica_assignment(nt, p, brokers, n, err, sizeof err))
      return fail("--replica-assignment: %s", err), false;
  }
  *partitions = p;
  return true;
}

/* One topic's result of a create, alter or delete: 0, or 1 after the error
 * (an expected "already exists"/"does not exist" is fine with --if-...). */
static int topic_result(const rd_kafka_topic_result_t *r, rd_kafka_resp_err_t tolerated) {
  rd_kafka_resp_err_t err = rd_kafka_topic_result_error(r);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR || err == tolerated) return 0;
  const char *why = rd_kafka_topic_result_error_string(r);
  return fail("topic '%s': %s", rd_kafka_topic_result_name(r),
              why ? why : rd_kafka_err2str(err));
}

static bool add_configs(const struct flags *f, rd_kafka_NewTopic_t *nt) {
  const char *kvs[ADMIN_LIST_MAX];
  int n = flag_all(f, "--config", kvs, ADMIN_LIST_MAX);
  for (int i = 0; i < n; i++) {
    char name[256];
    const char *eq = strchr(kvs[i], '=');
    if (eq == NULL || (size_t)(eq - kvs[i]) >= sizeof name)
      return fail("--config wants k=v, not '%s'", kvs[i]), false;
    memcpy(name, kvs[i], (size_t)(eq - kvs[i]));
    name[eq - kvs[i]] = '\0';
    if (rd_kafka_NewTopic_set_config(nt, name, eq + 1))
      return fail("--config %s refused", kvs[i]), false;
  }
  return true;
}

static int create_topic(rd_kafka_t *rk, const struct flags *f, const char *topic) {
  bool ok = true;
  long partitions = flag_long(f, "--partitions", 1, 1000000, -1, &ok);
  long rf = flag_long(f, "--replication-factor", 1, 32767, -1, &ok);
  const char *assignment = flag(f, "--replica-assignment");
  if (!ok) return 1;
  if (assignment && (flag_on(f, "--partitions") || flag_on(f, "--replication-factor")))
    return fail("--replica-assignment replaces --partitions and --replication-factor");
  if (assignment) { /* librdkafka wants the count with an assignment */
    partitions = 1;
    for (const char *c = assignment; *c; c++) partitions += *c == ',';
  }
  char err[256];
  rd_kafka_NewTopic_t *nt =
      rd_kafka_NewTopic_new(topic, (int)partitions, assignment ? -1 : (int)rf, err, sizeof err);
  if (nt == NULL) return fail("%s", err);
  int assigned = 0;
  if ((assignment && !set_assignment(nt, assignment, &assigned)) || !add_configs(f, nt)) {
    rd_kafka_NewTopic_destroy(nt);
    return 1;
  }
  struct admin_call call;
  admin_call_begin(&call, rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_CreateTopics(rk, &nt, 1, call.options, call.q);
  rd_kafka_event_t *ev = admin_call_result(&call, RD_KAFKA_EVENT_CREATETOPICS_RESULT, "create");
  int rc = 1;
  if (ev) {
    size_t n = 0;
    const rd_kafka_topic_result_t **r =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
    rc = n == 1 ? topic_result(r[0], flag_on(f, "--if-not-exists")
                                         ? RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS
                                         : 0)
                : 1;
    if (rc == 0 && rd_kafka_topic_result_error(r[0]) == 0) printf("Created topic %s.\n", topic);
  }
  if (ev) rd_kafka_event_destroy(ev);
  rd_kafka_NewTopic_destroy(nt);
  return rc;
}

/* The one topic's result of an alter or a delete; --if-exists tolerates a
 * topic that is not there. */
static int only_result(const rd_kafka_topic_result_t **r, size_t n, const struct flags *f) {
  if (n != 1) return 1;
  return topic_result(r[0],
                      flag_on(f, "--if-exists") ? RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART : 0);
}

static int alter_topic(rd_kafka_t *rk, const struct flags *f, const char *topic) {
  bool ok = true;
  long partitions = flag_long(f, "--partitions", 1, 1000000, -1, &ok);
  if (!ok) return 1;
  if (partitions < 0) return fail("--alter needs --partitions N (the new total)");
  char err[256];
  rd_kafka_NewPartitions_t *np =
      rd_kafka_NewPartitions_new(topic, (size_t)partitions, err, sizeof err);
  if (np == NULL) return fail("%s", err);
  struct admin_call call;
  admin_call_begin(&call, rk, RD_KAFKA_ADMIN_OP_CREATEPARTITIONS);
  rd_kafka_CreatePartitions(rk, &np, 1, call.options, call.q);
  rd_kafka_event_t *ev =
      admin_call_result(&call, RD_KAFKA_EVENT_CREATEPARTITIONS_RESULT, "alter");
  int rc = 1;
  if (ev) {
    size_t n = 0;
    const rd_kafka_topic_result_t **r =
        rd_kafka_CreatePartitions_result_topics(rd_kafka_event_CreatePartitions_result(ev), &n);
    rc = only_result(r, n, f);
  }
  if (ev) rd_kafka_event_destroy(ev);
  rd_kafka_NewPartitions_destroy(np);
  return rc;
}

static int delete_topic(rd_kafka_t *rk, const struct flags *f, const char *topic) {
  rd_kafka_DeleteTopic_t *dt = rd_kafka_DeleteTopic_new(topic);
  struct admin_call call;
  admin_call_begin(&call, rk, RD_KAFKA_ADMIN_OP_DELETETOPICS);
  rd_kafka_DeleteTopics(rk, &dt, 1, call.options, call.q);
  rd_kafka_event_t *ev = admin_call_result(&call, RD_KAFKA_EVENT_DELETETOPICS_RESULT, "delete");
  int rc = 1;
  if (ev) {
    size_t n = 0;
    const rd_kafka_topic_result_t **r =
        rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev), &n);
    rc = only_result(r, n, f);
  }
  if (ev) rd_kafka_event_destroy(ev);
  rd_kafka_DeleteTopic_destroy(dt);
  return rc;
}

int topics_cmd(int argc, char **argv) {
  struct flags f;
  if (!flags_parse(&f, argc, argv, SWITCHES)) return 1;
  if (flag_on(&f, "--help") || f.count == 0) {
    fputs(TOPICS_HELP, f.count ? stdout : stderr);
    return f.count ? 0 : 1;
  }
  const char *actions[] = {"--list", "--describe", "--create", "--alter", "--delete"};
  int chosen = -1, count = 0;
  for (int i = 0; i < 5; i++)
    if (flag_on(&f, actions[i])) chosen = i, count++;
  if (count != 1)
    return fail("give exactly one of --list, --describe, --create, --alter, --delete");
  const char *topic = flag(&f, "--topic");
  if (chosen >= 2 && (topic == NULL || *topic == '\0'))
    return fail("%s needs --topic", actions[chosen]);
  rd_kafka_t *rk = admin_open(&f);
  if (rk == NULL) return 1;
  int rc = chosen == 0   ? list_topics(rk, &f)
           : chosen == 1 ? describe_topics(rk, &f)
           : chosen == 2 ? create_topic(rk, &f, topic)
           : chosen == 3 ? alter_topic(rk, &f, topic)
                         : delete_topic(rk, &f, topic);
  rd_kafka_destroy(rk);
  return rc;
}
