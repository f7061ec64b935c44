/* sluicectl partitions reassign: kafka-reassign-partitions.sh's
 * --generate, --execute, --verify and --cancel (KIP-455), over the
 * broker's own client (apps/sluicectl/kcall.h), as librdkafka 2.0 has no
 * AlterPartitionReassignments or ListPartitionReassignments. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/common/json.h"
#include "apps/sluicectl/admin.h"
#include "apps/sluicectl/reassign.h"
#include "base/assert.h"
#include "meta/replication_control.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"

enum {
  REASSIGN_TIMEOUT_MS = 25000,
  BROKER_LIST_MAX = 1024,
  TOPICS_MAX = 1024,
  JSON_FILE_BYTES_MAX = 4 << 20
};

static const char REASSIGN_HELP[] =
    "usage: sluicectl partitions reassign --bootstrap-server H:P[,H:P]\n"
    "         --reassignment-json-file FILE (--execute | --verify | --cancel)\n"
    "       sluicectl partitions reassign --bootstrap-server H:P --generate\n"
    "         --topics-to-move-json-file FILE --broker-list 1,2,3\n"
    "  FILE: "
    "{\"version\":1,\"partitions\":[{\"topic\":\"t\",\"partition\":0,\"replicas\":[2,3]}]}\n"
    "  topics to move: {\"version\":1,\"topics\":[{\"topic\":\"t\"}]}\n";

static const char *const SWITCHES[] = {"--execute",  "--verify", "--cancel",
                                       "--generate", "--help",   NULL};
static const char *const ALLOWED[] = {"--bootstrap-server",
                                      "--reassignment-json-file",
                                      "--topics-to-move-json-file",
                                      "--broker-list",
                                      "--execute",
                                      "--verify",
                                      "--cancel",
                                      "--generate",
                                      NULL};

/* ---- the reassignment file ---- */

/* Reads a whole file (at most JSON_FILE_BYTES_MAX) into *text (malloc()ed,
 * NUL-terminated); false with "Error: ..." printed. */
static bool load_file(const char *path, char **text, size_t *len) {
  FILE *file = fopen(path, "rb");
  if (file == NULL) return fail("cannot open %s: %s", path, strerror(errno)), false;
  char *buf = malloc(JSON_FILE_BYTES_MAX + 1);
  ASSERT(buf != NULL);
  size_t n = fread(buf, 1, JSON_FILE_BYTES_MAX + 1, file);
  bool bad = ferror(file) != 0;
  fclose(file);
  if (bad || n > JSON_FILE_BYTES_MAX) {
    free(buf);
    if (bad) return fail("cannot read %s", path), false;
    return fail("%s is larger than %d bytes", path, JSON_FILE_BYTES_MAX), false;
  }
  buf[n] = '\0';
  *text = buf;
  *len = n;
  return true;
}

/* A topic name. The reader decodes every escape, so "\u0074" names topic
 * t; what decodes to a name Kafka would refuse ([a-zA-Z0-9._-] only) can
 * name no topic of the cluster, so it is refused here, where it is. */
static bool read_topic(struct json *j, char *out, size_t cap) {
  size_t at = json_here(j);
  if (!json_string(j, out, cap)) return false;
  if (!meta_topic_name_valid(out, strlen(out)))
    return json_fail_at(j, at, "not a legal topic name");
  return true;
}

static bool read_replicas(struct json *j, struct plan_partition *pp) {
  pp->replica_count = 0;
  if (!json_open(j, '[', ']')) return !j->failed;
  do {
    long id;
    size_t at = json_here(j);
    if (pp->replica_count == PLAN_REPLICAS_MAX) return json_fail(j, "more than 16 replicas");
    if (!json_int(j, 0, INT32_MAX, &id)) return false;
    for (int i = 0; i < pp->replica_count; i++)
      if (pp->replicas[i] == id) return json_fail_at(j, at, "a replica listed twice");
    pp->replicas[pp->replica_count++] = (int32_t)id;
  } while (json_more(j, ']'));
  return !j->failed;
}

/* "log_dirs": only "any" (Sluice has one log directory per broker). */
static bool read_log_dirs(struct json *j) {
  if (!json_open(j, '[', ']')) return !j->failed;
  do {
    char dir[256];
    if (!json_string(j, dir, sizeof dir)) return false;
    if (strcmp(dir, "any") != 0)
      return json_fail(j, "log_dirs other than \"any\" are not supported");
  } while (json_more(j, ']'));
  return !j->failed;
}

static bool read_partition(struct json *j, struct plan_partition *pp) {
  bool topic = false, partition = false, replicas = false;
  size_t start = json_here(j);
  if (!json_open(j, '{', '}'))
    return json_fail(j, "a partition needs topic, partition and replicas");
  do {
    char key[32];
    size_t key_at = json_here(j);
    long index;
    if (!json_string(j, key, sizeof key) || !json_expect(j, ':')) return false;
    if (strcmp(key, "topic") == 0)
      topic = read_topic(j, pp->topic, sizeof pp->topic);
    else if (strcmp(key, "partition") == 0 && json_int(j, 0, INT32_MAX, &index))
      partition = true, pp->partition = (int32_t)index;
    else if (strcmp(key, "replicas") == 0)
      replicas = read_replicas(j, pp);
    else if (strcmp(key, "log_dirs") == 0)
      read_log_dirs(j);
    else if (!j->failed)
      return json_fail_at(j, key_at,
                          "unknown key (expected topic, partition, replicas, log_dirs)");
  } while (json_more(j, '}'));
  if (j->failed) return false;
  if (!topic || !partition || !replicas)
    return json_fail_at(j, start, "a partition needs topic, partition and replicas");
  return true;
}

static bool read_partitions(struct json *j, struct plan *p) {
  if (!json_open(j, '[', ']')) return !j->failed;
  do {
    if (p->count == PLAN_PARTITIONS_MAX) return json_fail(j, "more than 4096 partitions");
    struct plan_partition *pp = &p->parts[p->count];
    memset(pp, 0, sizeof *pp);
    size_t start = json_here(j);
    if (!read_partition(j, pp)) return false;
    if (pp->replica_count == 0) return json_fail_at(j, start, "empty replica list");
    if (plan_find(p, pp->topic, pp->partition))
      return json_fail_at(j, start, "partition listed twice");
    p->count++;
  } while (json_more(j, ']'));
  return !j->failed;
}

static bool read_version(struct json *j) {
  long version;
  return json_int(j, 1, 1, &version);
}

static bool parse_reassignment(struct json *j, struct plan *p) {
  bool partitions = false;
  if (!json_open(j, '{', '}')) return json_fail(j, "expected \"partitions\"");
  do {
    char key[32];
    if (!json_string(j, key, sizeof key) || !json_expect(j, ':')) return false;
    if (strcmp(key, "version") == 0)
      read_version(j);
    else if (strcmp(key, "partitions") == 0)
      partitions = read_partitions(j, p);
    else if (!j->failed)
      return json_fail(j, "unknown key (expected version, partitions)");
  } while (json_more(j, '}'));
  if (!j->failed && !partitions) return json_fail(j, "no \"partitions\"");
  return json_end(j);
}

/* {"version":1,"topics":[{"topic":"t"},...]} */
static bool parse_topics(struct json *j, char (*names)[TOPIC_NAME_BYTES_MAX], int *count) {
  bool topics = false;
  if (!json_open(j, '{', '}')) return json_fail(j, "expected \"topics\"");
  do {
    char key[32];
    if (!json_string(j, key, sizeof key) || !json_expect(j, ':')) return false;
    if (strcmp(key, "version") == 0) {
      read_version(j);
      continue;
    }
    if (strcmp(key, "topics") != 0)
      return json_fail(j, "unknown key (expected version, topics)");
    topics = true;
    if (!json_open(j, '[', ']')) continue;
    do {
      if (*count == TOPICS_MAX) return json_fail(j, "more than 1024 topics");
      if (!json_expect(j, '{')) return false;
      if (!json_string(j, key, sizeof key) || strcmp(key, "topic") != 0)
        return json_fail(j, "expected \"topic\"");
      if (!json_expect(j, ':') || !read_topic(j, names[(*count)++], TOPIC_NAME_BYTES_MAX) ||
          !json_expect(j, '}'))
        return false;
    } while (json_more(j, ']'));
  } while (json_more(j, '}'));
  if (!j->failed && !topics) return json_fail(j, "no \"topics\"");
  return json_end(j);
}

static bool load_plan(const char *path, struct plan *p) {
  char *text;
  size_t len;
  if (!load_file(path, &text, &len)) return false;
  struct json j;
  json_init(&j, path, text, len);
  bool ok = parse_reassignment(&j, p);
  free(text);
  if (!ok) return fail("%s", j.error), false;
  if (p->count == 0) return fail("%s lists no partitions", path), false;
  plan_sort(p);
  return true;
}

/* ---- --execute and --cancel: AlterPartitionReassignments ---- */

struct alter_answer {
  const char *verb;
  char failed[2048];
  int failures;
};

static void alter_done(void *ctx, int16_t version, const void *response) {
  (void)version;
  struct alter_answer *a = ctx;
  const struct alter_partition_reassignments_response *r = response;
  char code_buf[32];
  size_t used = strlen(a->failed);
  if (r->error_code != KERR_NONE) {
    snprintf(a->failed, sizeof a->failed, "every partition (%s%s%.*s)",
             error_name(r->error_code, code_buf, sizeof code_buf),
             r->error_message.ptr ? ": " : "",
             r->error_message.ptr ? (int)r->error_message.len : 0,
             r->error_message.ptr ? r->error_message.ptr : "");
    a->failures++;
    return;
  }
  for (int32_t t = 0; t < r->responses_count; t++)
    for (int32_t i = 0; i < r->responses[t].partitions_count; i++) {
      const struct alter_partition_reassignments_response_reassignable_partition_response *p =
          &r->responses[t].partitions[i];
      if (p->error_code == KERR_NONE) continue;
      used += (size_t)snprintf(
          a->failed + used, used < sizeof a->failed ? sizeof a->failed - used : 0,
          "%s%.*s-%d (%s%s%.*s)", a->failures++ ? ", " : "", (int)r->responses[t].name.len,
          r->responses[t].name.ptr, (int)p->partition_index,
          error_name(p->error_code, code_buf, sizeof code_buf),
          p->error_message.ptr ? ": " : "",
          p->error_message.ptr ? (int)p->error_message.len : 0,
          p->error_message.ptr ? p->error_message.ptr : "");
      if (used >= sizeof a->failed) used = sizeof a->failed - 1;
    }
}

/* One request for the whole plan, grouped by topic (the plan is sorted);
 * cancel sends null replicas. */
static bool alter(struct kcall *c, const struct plan *p, bool cancel) {
  struct alter_partition_reassignments_request_reassignable_topic *topics =
      calloc((size_t)p->count, sizeof *topics);
  struct alter_partition_reassignments_request_reassignable_partition *parts =
      calloc((size_t)p->count, sizeof *parts);
  ASSERT(topics != NULL && parts != NULL);
  int topic_count = 0;
  for (int i = 0; i < p->count; i++) {
    const struct plan_partition *pp = &p->parts[i];
    if (i == 0 || strcmp(pp->topic, p->parts[i - 1].topic) != 0) {
      alter_partition_reassignments_request_reassignable_topic_init(&topics[topic_count]);
      topics[topic_count].name = kstr_of(pp->topic);
      topics[topic_count++].partitions = &parts[i];
    }
    alter_partition_reassignments_request_reassignable_partition_init(&parts[i]);
    parts[i].partition_index = pp->partition;
    parts[i].replicas = cancel ? NULL : (int32_t *)pp->replicas;
    parts[i].replicas_count = cancel ? -1 : pp->replica_count;
    topics[topic_count - 1].partitions_count++;
  }
  struct alter_partition_reassignments_request req;
  alter_partition_reassignments_request_init(&req);
  req.timeout_ms = REASSIGN_TIMEOUT_MS;
  req.topics = topics;
  req.topics_count = topic_count;
  struct alter_answer a = {cancel ? "cancel" : "start", "", 0};
  bool ok = kcall_request(c, API_ALTER_PARTITION_REASSIGNMENTS, 0, 0, &req, alter_done, &a,
                          "AlterPartitionReassignments");
  free(topics);
  free(parts);
  if (ok && a.failures > 0) {
    fail("could not %s the reassignment of %s", a.verb, a.failed);
    ok = false;
  }
  return ok;
}

static void print_partitions(const struct plan *p) {
  for (int i = 0; i < p->count; i++)
    printf("%s%s-%d", i ? "," : "", p->parts[i].topic, (int)p->parts[i].partition);
  printf("\n");
}

/* The plan's topics, once each (the plan is sorted). */
static int plan_topics(const struct plan *p, const char **names) {
  int n = 0;
  for (int i = 0; i < p->count && n < TOPICS_MAX; i++)
    if (i == 0 || strcmp(p->parts[i].topic, p->parts[i - 1].topic) != 0)
      names[n++] = p->parts[i].topic;
  return n;
}

static bool current_of(struct kcall *c, const struct plan *p, struct plan *cur) {
  const char *names[TOPICS_MAX];
  int n = plan_topics(p, names);
  if (!plan_current(c, names, n, cur)) return false;
  for (int i = 0; i < p->count; i++)
    if (!plan_find(cur, p->parts[i].topic, p->parts[i].partition))
      return fail("partition %s-%d does not exist", p->parts[i].topic,
                  (int)p->parts[i].partition),
             false;
  return true;
}

static int execute(struct kcall *c, const struct plan *p) {
  struct plan cur, shown;
  plan_init(&cur);
  plan_init(&shown);
  bool ok = current_of(c, p, &cur);
  for (int i = 0; ok && i < p->count; i++)
    shown.parts[shown.count++] = *plan_find(&cur, p->parts[i].topic, p->parts[i].partition);
  if (ok) {
    /* Kafka prints the rollback file before it starts the move. */
    printf("Current partition replica assignment\n\n");
    plan_print(&shown);
    printf("\nSave this to use as the --reassignment-json-file option during rollback\n");
    fflush(stdout);
    ok = alter(c, p, false);
  }
  if (ok) {
    printf("Successfully started partition reassignment%s for ", p->count == 1 ? "" : "s");
    print_partitions(p);
  }
  plan_free(&cur);
  plan_free(&shown);
  return ok ? 0 : 1;
}

static int cancel(struct kcall *c, const struct plan *p) {
  if (!alter(c, p, true)) return 1;
  printf("Successfully cancelled partition reassignment%s for: ", p->count == 1 ? "" : "s");
  print_partitions(p);
  return 0;
}

/* ---- --verify: ListPartitionReassignments, then Metadata ---- */

struct ongoing {
  struct plan *in_progress;
  int16_t error;
};

static void list_done(void *ctx, int16_t version, const void *response) {
  (void)version;
  struct ongoing *o = ctx;
  const struct list_partition_reassignments_response *r = response;
  o->error = r->error_code;
  for (int32_t t = 0; t < r->topics_count; t++)
    for (int32_t i = 0; i < r->topics[t].partitions_count; i++) {
      if (o->in_progress->count == PLAN_PARTITIONS_MAX) return;
      struct plan_partition *pp = &o->in_progress->parts[o->in_progress->count++];
      snprintf(pp->topic, sizeof pp->topic, "%.*s", (int)r->topics[t].name.len,
               r->topics[t].name.ptr);
      pp->partition = r->topics[t].partitions[i].partition_index;
    }
}

static bool list_ongoing(struct kcall *c, const struct plan *p, struct plan *in_progress) {
  struct list_partition_reassignments_request_list_partition_reassignments_topics *topics =
      calloc((size_t)p->count, sizeof *topics);
  int32_t *indexes = calloc((size_t)p->count, sizeof *indexes);
  ASSERT(topics != NULL && indexes != NULL);
  int n = 0;
  for (int i = 0; i < p->count; i++) {
    if (i == 0 || strcmp(p->parts[i].topic, p->parts[i - 1].topic) != 0) {
      list_partition_reassignments_request_list_partition_reassignments_topics_init(&topics[n]);
      topics[n].name = kstr_of(p->parts[i].topic);
      topics[n++].partition_indexes = &indexes[i];
    }
    indexes[i] = p->parts[i].partition;
    topics[n - 1].partition_indexes_count++;
  }
  struct list_partition_reassignments_request req;
  list_partition_reassignments_request_init(&req);
  req.timeout_ms = REASSIGN_TIMEOUT_MS;
  req.topics = topics;
  req.topics_count = n;
  struct ongoing o = {in_progress, KERR_NONE};
  bool ok = kcall_request(c, API_LIST_PARTITION_REASSIGNMENTS, 0, 0, &req, list_done, &o,
                          "ListPartitionReassignments");
  free(topics);
  free(indexes);
  if (ok && o.error != KERR_NONE) {
    char code_buf[32];
    fail("ListPartitionReassignments: %s", error_name(o.error, code_buf, sizeof code_buf));
    ok = false;
  }
  return ok;
}

static bool same_replicas(const struct plan_partition *a, const struct plan_partition *b) {
  return a->replica_count == b->replica_count &&
         memcmp(a->replicas, b->replicas, sizeof(int32_t) * (size_t)a->replica_count) == 0;
}

static void print_replicas(const struct plan_partition *pp) {
  for (int i = 0; i < pp->replica_count; i++)
    printf("%s%d", i ? "," : "", (int)pp->replicas[i]);
}

static int verify(struct kcall *c, const struct plan *p) {
  struct plan ongoing, cur;
  plan_init(&ongoing);
  plan_init(&cur);
  bool ok = list_ongoing(c, p, &ongoing) && current_of(c, p, &cur);
  if (ok) printf("Status of partition reassignment:\n");
  for (int i = 0; ok && i < p->count; i++) {
    const struct plan_partition *want = &p->parts[i];
    const struct plan_partition *now = plan_find(&cur, want->topic, want->partition);
    if (plan_find(&ongoing, want->topic, want->partition)) {
      printf("Reassignment of partition %s-%d is still in progress.\n", want->topic,
             (int)want->partition);
    } else if (same_replicas(want, now)) {
      printf("Reassignment of partition %s-%d is completed.\n", want->topic,
             (int)want->partition);
    } else {
      printf("There is no active reassignment of partition %s-%d, but replica set is ",
             want->topic, (int)want->partition);
      print_replicas(now);
      printf(" rather than ");
      print_replicas(want);
      printf(".\n");
    }
  }
  plan_free(&ongoing);
  plan_free(&cur);
  return ok ? 0 : 1;
}

/* ---- --generate ---- */

static bool broker_list(const char *text, int32_t *ids, int *count) {
  char *copy = strdup(text);
  ASSERT(copy != NULL);
  bool ok = true;
  *count = 0;
  for (char *save = NULL, *item = strtok_r(copy, ",", &save); ok && item;
       item = strtok_r(NULL, ",", &save)) {
    char *end;
    long id = strtol(item, &end, 10);
    ok = *end == '\0' && end != item && id >= 0 && id <= INT32_MAX && *count < BROKER_LIST_MAX;
    for (int i = 0; ok && i < *count; i++) ok = ids[i] != id;
    if (ok) ids[(*count)++] = (int32_t)id;
  }
  free(copy);
  if (!ok || *count == 0)
    return fail("--broker-list wants distinct broker ids as 1,2,3, not '%s'", text), false;
  return true;
}

/* Round-robin over the brokers given, each partition keeping its
 * replication factor: partition k's replicas start at broker k mod n. Kafka
 * starts at a random broker; a fixed start keeps the proposal repeatable. */
static bool propose(const struct plan *cur, const int32_t *ids, int n, struct plan *out) {
  for (int i = 0; i < cur->count; i++) {
    const struct plan_partition *pp = &cur->parts[i];
    if (pp->replica_count > n)
      return fail("partition %s-%d has %d replicas but --broker-list has %d brokers", pp->topic,
                  (int)pp->partition, pp->replica_count, n),
             false;
    struct plan_partition *np = &out->parts[out->count++];
    *np = *pp;
    for (int r = 0; r < pp->replica_count; r++)
      np->replicas[r] = ids[((int64_t)pp->partition + r) % n];
  }
  return true;
}

static int generate(struct kcall *c, const char *topics_file, const char *brokers) {
  int32_t ids[BROKER_LIST_MAX];
  int n = 0;
  if (!broker_list(brokers, ids, &n)) return 1;
  char *text;
  size_t len;
  if (!load_file(topics_file, &text, &len)) return 1;
  char(*names)[TOPIC_NAME_BYTES_MAX] = calloc(TOPICS_MAX, TOPIC_NAME_BYTES_MAX);
  ASSERT(names != NULL);
  struct json j;
  json_init(&j, topics_file, text, len);
  int count = 0;
  bool ok = parse_topics(&j, names, &count);
  free(text);
  if (!ok) fail("%s", j.error);
  if (ok && count == 0) {
    fail("%s lists no topics", topics_file);
    ok = false;
  }
  const char *list[TOPICS_MAX];
  for (int i = 0; i < count; i++) list[i] = names[i];
  struct plan cur, proposed;
  plan_init(&cur);
  plan_init(&proposed);
  ok = ok && plan_current(c, list, count, &cur) && propose(&cur, ids, n, &proposed);
  if (ok) {
    printf("Current partition replica assignment\n");
    plan_print(&cur);
    printf("\nProposed partition reassignment configuration\n");
    plan_print(&proposed);
  }
  free(names);
  plan_free(&cur);
  plan_free(&proposed);
  return ok ? 0 : 1;
}

/* ---- the command ---- */

static int run(const struct flags *f) {
  int modes = flag_on(f, "--execute") + flag_on(f, "--verify") + flag_on(f, "--cancel") +
              flag_on(f, "--generate");
  if (modes != 1) return fail("give one of --generate, --execute, --verify, --cancel");
  const char *file = flag(f, "--reassignment-json-file");
  bool gen = flag_on(f, "--generate");
  if (gen && (!flag(f, "--topics-to-move-json-file") || !flag(f, "--broker-list")))
    return fail("--generate needs --topics-to-move-json-file and --broker-list");
  if (!gen && !file) return fail("--reassignment-json-file is required");
  struct plan p;
  plan_init(&p);
  struct kcall c;
  int rc = 1;
  if ((gen || load_plan(file, &p)) && kcall_open(&c, flag(f, "--bootstrap-server"))) {
    if (gen)
      rc = generate(&c, flag(f, "--topics-to-move-json-file"), flag(f, "--broker-list"));
    else if (flag_on(f, "--execute"))
      rc = execute(&c, &p);
    else if (flag_on(f, "--verify"))
      rc = verify(&c, &p);
    else
      rc = cancel(&c, &p);
    kcall_close(&c);
  }
  plan_free(&p);
  return rc;
}

int partitions_cmd(int argc, char **argv) {
  bool help = argc >= 1 && strcmp(argv[0], "--help") == 0;
  if (argc < 1 || strcmp(argv[0], "reassign") != 0) {
    fputs(REASSIGN_HELP, help ? stdout : stderr);
    return help ? 0 : 1;
  }
  struct flags f;
  if (!flags_parse(&f, argc - 1, argv + 1, SWITCHES)) return 1;
  if (flag_on(&f, "--help")) {
    fputs(REASSIGN_HELP, stdout);
    return 0;
  }
  if (!flags_only(&f, ALLOWED)) return 1;
  return run(&f);
}
