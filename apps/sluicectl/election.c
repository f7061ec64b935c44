/* sluicectl leader-election: kafka-leader-election.sh (KIP-460) over the
 * broker's own client (apps/sluicectl/kcall.h), as librdkafka 2.0 has no
 * ElectLeaders. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "apps/sluicectl/admin.h"
#include "apps/sluicectl/reassign.h"
#include "base/assert.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"

enum {
  ELECT_VERSION_MIN = 1, /* v1 carries the election type */
  ELECT_VERSION_MAX = 2,
  ELECT_TIMEOUT_MS = 25000,
  ELECTION_PREFERRED = 0,
  ELECTION_UNCLEAN = 1,
  RESULTS_MAX = PLAN_PARTITIONS_MAX,
};

static const char ELECTION_HELP[] =
    "usage: sluicectl leader-election --bootstrap-server H:P[,H:P]\n"
    "         --election-type preferred|unclean\n"
    "         (--topic T --partition P | --all-topic-partitions)\n";

static const char *const SWITCHES[] = {"--all-topic-partitions", "--help", NULL};
static const char *const ALLOWED[] = {"--bootstrap-server", "--election-type",        "--topic",
                                      "--partition",        "--all-topic-partitions", NULL};

struct result {
  char topic[TOPIC_NAME_BYTES_MAX];
  int32_t partition;
  int16_t error;
  char message[256];
};

struct outcome {
  struct result *results;
  int count;
  int16_t error;
};

static void elect_done(void *ctx, int16_t version, const void *response) {
  (void)version;
  struct outcome *o = ctx;
  const struct elect_leaders_response *r = response;
  o->error = r->error_code;
  for (int32_t t = 0; t < r->replica_election_results_count; t++) {
    const struct elect_leaders_response_replica_election_result *e =
        &r->replica_election_results[t];
    for (int32_t i = 0; i < e->partition_result_count && o->count < RESULTS_MAX; i++) {
      struct result *res = &o->results[o->count++];
      snprintf(res->topic, sizeof res->topic, "%.*s", (int)e->topic.len, e->topic.ptr);
      res->partition = e->partition_result[i].partition_id;
      res->error = e->partition_result[i].error_code;
      const struct kstr m = e->partition_result[i].error_message;
      snprintf(res->message, sizeof res->message, "%.*s", m.ptr ? (int)m.len : 0,
               m.ptr ? m.ptr : "");
    }
  }
}

static int by_topic_partition(const void *a, const void *b) {
  const struct result *x = a, *y = b;
  int c = strcmp(x->topic, y->topic);
  return c != 0 ? c : (x->partition > y->partition) - (x->partition < y->partition);
}

/* One of Kafka's lines, "HEAD t-0, t-1", for the results with error code
 * `code`; nothing when there are none. */
static void print_line(const struct outcome *o, const char *head, int16_t code) {
  int n = 0;
  for (int i = 0; i < o->count; i++) {
    if (o->results[i].error != code) continue;
    printf("%s%s-%d", n++ ? ", " : head, o->results[i].topic, (int)o->results[i].partition);
  }
  if (n > 0) printf("\n");
}

static int report(struct outcome *o, const char *type_name) {
  qsort(o->results, (size_t)o->count, sizeof *o->results, by_topic_partition);
  char head[128];
  snprintf(head, sizeof head, "Successfully completed leader election (%s) for partitions ",
           type_name);
  print_line(o, head, KERR_NONE);
  print_line(o, "Valid replica already elected for partitions ", KERR_ELECTION_NOT_NEEDED);
  int failed = 0;
  char code_buf[32];
  for (int i = 0; i < o->count; i++) {
    const struct result *r = &o->results[i];
    if (r->error == KERR_NONE || r->error == KERR_ELECTION_NOT_NEEDED) continue;
    failed++;
    printf("Error completing leader election (%s) for partition: %s-%d: %s%s%s\n", type_name,
           r->topic, (int)r->partition, error_name(r->error, code_buf, sizeof code_buf),
           r->message[0] ? ": " : "", r->message);
  }
  fflush(stdout);
  if (failed > 0) return fail("%d replica(s) could not be elected", failed);
  return 0;
}

static int elect(const struct flags *f, int8_t type, const char *type_name) {
  const char *topic = flag(f, "--topic");
  bool all = flag_on(f, "--all-topic-partitions"), ok = true;
  long partition = flag_long(f, "--partition", 0, INT32_MAX, -1, &ok);
  if (!ok) return 1;
  if (all == (topic != NULL) || (topic != NULL) != (partition >= 0))
    return fail("give either --topic T --partition P or --all-topic-partitions");
  int32_t index = (int32_t)partition;
  struct elect_leaders_request_topic_partitions tp;
  elect_leaders_request_topic_partitions_init(&tp);
  tp.topic = kstr_of(topic);
  tp.partitions = &index;
  tp.partitions_count = 1;
  struct elect_leaders_request req;
  elect_leaders_request_init(&req);
  req.election_type = type;
  req.topic_partitions = all ? NULL : &tp; /* null: every partition that needs it */
  req.topic_partitions_count = all ? -1 : 1;
  req.timeout_ms = ELECT_TIMEOUT_MS;
  struct outcome o = {calloc(RESULTS_MAX, sizeof(struct result)), 0, KERR_NONE};
  ASSERT(o.results != NULL);
  struct kcall c;
  char code_buf[32];
  int rc = 1;
  if (kcall_open(&c, flag(f, "--bootstrap-server"))) {
    if (kcall_request(&c, API_ELECT_LEADERS, ELECT_VERSION_MIN, ELECT_VERSION_MAX, &req,
                      elect_done, &o, "ElectLeaders"))
      rc = o.error != KERR_NONE
               ? fail("ElectLeaders: %s", error_name(o.error, code_buf, sizeof code_buf))
               : report(&o, type_name);
    kcall_close(&c);
  }
  free(o.results);
  return rc;
}

int leader_election_cmd(int argc, char **argv) {
  struct flags f;
  if (!flags_parse(&f, argc, argv, SWITCHES)) return 1;
  if (flag_on(&f, "--help") || argc == 0) {
    fputs(ELECTION_HELP, argc == 0 ? stderr : stdout);
    return argc == 0 ? 1 : 0;
  }
  if (!flags_only(&f, ALLOWED)) return 1;
  const char *type = flag(&f, "--election-type");
  if (type == NULL) return fail("--election-type is required (preferred or unclean)");
  if (strcasecmp(type, "preferred") == 0) return elect(&f, ELECTION_PREFERRED, "PREFERRED");
  if (strcasecmp(type, "unclean") == 0) return elect(&f, ELECTION_UNCLEAN, "UNCLEAN");
  return fail("--election-type must be preferred or unclean, not '%s'", type);
}
