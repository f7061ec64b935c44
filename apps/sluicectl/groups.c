/* sluicectl consumer-groups: kafka-consumer-groups.sh's commands and output.
 *   --list | --describe --group G | --delete --group G
 *   | --reset-offsets --group G --topic T (--to-earliest | --to-latest |
 *     --to-offset N) [--execute] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/sluicectl/admin.h"

static const char GROUPS_HELP[] =
    "usage: sluicectl consumer-groups --bootstrap-server H:P[,H:P] COMMAND\n"
    "  --list\n"
    "  --describe --group G        per partition: committed offset, log end, lag, owner\n"
    "  --delete --group G\n"
    "  --reset-offsets --group G --topic T (--to-earliest|--to-latest|--to-offset N)\n"
    "                  [--execute]  (without it: a dry run that prints the plan)\n"
    "  also: --command-config FILE, -X key=value (librdkafka client properties)\n";

static const char *const SWITCHES[] = {
    "--list",        "--describe",  "--delete",  "--reset-offsets", "--help",
    "--to-earliest", "--to-latest", "--execute", "--dry-run",       NULL};

static int list_groups(rd_kafka_t *rk) {
  struct admin_call call;
  admin_call_begin(&call, rk, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS);
  rd_kafka_ListConsumerGroups(rk, call.options, call.q);
  rd_kafka_event_t *ev =
      admin_call_result(&call, RD_KAFKA_EVENT_LISTCONSUMERGROUPS_RESULT, "list");
  int rc = 1;
  if (ev) {
    size_t n = 0, nerr = 0;
    const rd_kafka_ListConsumerGroups_result_t *r =
        rd_kafka_event_ListConsumerGroups_result(ev);
    const rd_kafka_ConsumerGroupListing_t **groups =
        rd_kafka_ListConsumerGroups_result_valid(r, &n);
    const rd_kafka_error_t **errors = rd_kafka_ListConsumerGroups_result_errors(r, &nerr);
    for (size_t i = 0; i < n; i++)
      printf("%s\n", rd_kafka_ConsumerGroupListing_group_id(groups[i]));
    for (size_t i = 0; i < nerr; i++)
      fail("a broker did not list its groups: %s", rd_kafka_error_string(errors[i]));
    rc = nerr ? 1 : 0;
  }
  if (ev) rd_kafka_event_destroy(ev);
  return rc;
}

/* One group's description; NULL after the error. */
static rd_kafka_event_t *describe_group(rd_kafka_t *rk, const char *group,
                                        const rd_kafka_ConsumerGroupDescription_t **out) {
  struct admin_call call;
  admin_call_begin(&call, rk, RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS);
  rd_kafka_DescribeConsumerGroups(rk, &group, 1, call.options, call.q);
  rd_kafka_event_t *ev =
      admin_call_result(&call, RD_KAFKA_EVENT_DESCRIBECONSUMERGROUPS_RESULT, "describe");
  if (!ev) goto failed;
  size_t n = 0;
  const rd_kafka_ConsumerGroupDescription_t **d = rd_kafka_DescribeConsumerGroups_result_groups(
      rd_kafka_event_DescribeConsumerGroups_result(ev), &n);
  if (n != 1) goto failed;
  const rd_kafka_error_t *err = rd_kafka_ConsumerGroupDescription_error(d[0]);
  if (err) {
    fail("group '%s': %s", group, rd_kafka_error_string(err));
    goto failed;
  }
  *out = d[0];
  return ev;
failed:
  if (ev) rd_kafka_event_destroy(ev);
  return NULL;
}

/* The group's committed offsets (all partitions); NULL after the error. */
static rd_kafka_topic_partition_list_t *committed_offsets(rd_kafka_t *rk, const char *group) {
  rd_kafka_ListConsumerGroupOffsets_t *req = rd_kafka_ListConsumerGroupOffsets_new(group, NULL);
  struct admin_call call;
  admin_call_begin(&call, rk, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS);
  rd_kafka_ListConsumerGroupOffsets(rk, &req, 1, call.options, call.q);
  rd_kafka_event_t *ev =
      admin_call_result(&call, RD_KAFKA_EVENT_LISTCONSUMERGROUPOFFSETS_RESULT, "offsets");
  rd_kafka_topic_partition_list_t *out = NULL;
  if (ev) {
    size_t n = 0;
    const rd_kafka_group_result_t **g = rd_kafka_ListConsumerGroupOffsets_result_groups(
        rd_kafka_event_ListConsumerGroupOffsets_result(ev), &n);
    if (n == 1 && rd_kafka_group_result_error(g[0]) == NULL)
      out = rd_kafka_topic_partition_list_copy(rd_kafka_group_result_partitions(g[0]));
    else if (n == 1)
      fail("offsets of '%s': %s", group,
           rd_kafka_error_string(rd_kafka_group_result_error(g[0])));
  }
  if (ev) rd_kafka_event_destroy(ev);
  rd_kafka_ListConsumerGroupOffsets_destroy(req);
  return out;
}

static const rd_kafka_MemberDescription_t *
owner_of(const rd_kafka_ConsumerGroupDescription_t *d, const char *topic, int32_t partition) {
  size_t members = rd_kafka_ConsumerGroupDescription_member_count(d);
  for (size_t i = 0; i < members; i++) {
    const rd_kafka_MemberDescription_t *m = rd_kafka_ConsumerGroupDescription_member(d, i);
    const rd_kafka_topic_partition_list_t *a =
        rd_kafka_MemberAssignment_partitions(rd_kafka_MemberDescription_assignment(m));
    if (a && rd_kafka_topic_partition_list_find(a, topic, partition)) return m;
  }
  return NULL;
}

static int by_topic_partition(const void *a, const void *b) {
  const rd_kafka_topic_partition_t *x = a, *y = b;
  int c = strcmp(x->topic, y->topic);
  return c ? c : x->partition - y->partition;
}

/* Committed and assigned partitions alike, sorted: a member's partition
 * with nothing committed yet shows with CURRENT-OFFSET "-". */
static rd_kafka_topic_partition_list_t *
rows_of(const rd_kafka_ConsumerGroupDescription_t *d,
        const rd_kafka_topic_partition_list_t *committed) {
  rd_kafka_topic_partition_list_t *rows = rd_kafka_topic_partition_list_copy(committed);
  size_t members = rd_kafka_ConsumerGroupDescription_member_count(d);
  for (size_t i = 0; i < members; i++) {
    const rd_kafka_topic_partition_list_t *a = rd_kafka_MemberAssignment_partitions(
        rd_kafka_MemberDescription_assignment(rd_kafka_ConsumerGroupDescription_member(d, i)));
    for (int k = 0; a && k < a->cnt; k++)
      if (!rd_kafka_topic_partition_list_find(rows, a->elems[k].topic, a->elems[k].partition))
        rd_kafka_topic_partition_list_add(rows, a->elems[k].topic, a->elems[k].partition)
            ->offset = RD_KAFKA_OFFSET_INVALID;
  }
  qsort(rows->elems, (size_t)rows->cnt, sizeof *rows->elems, by_topic_partition);
  return rows;
}

static void print_row(rd_kafka_t *rk, const char *group, const rd_kafka_topic_partition_t *p,
                      const rd_kafka_MemberDescription_t *m) {
  int64_t lo = -1, hi = -1;
  bool known = rd_kafka_query_watermark_offsets(rk, p->topic, p->partition, &lo, &hi,
                                                ADMIN_TIMEOUT_MS) == 0;
  char current[24] = "-", end[24] = "-", lag[24] = "-";
  if (p->offset >= 0) snprintf(current, sizeof current, "%lld", (long long)p->offset);
  if (known) snprintf(end, sizeof end, "%lld", (long long)hi);
  if (known && p->offset >= 0)
    snprintf(lag, sizeof lag, "%lld", (long long)(hi > p->offset ? hi - p->offset : 0));
  char host[256] = "-";
  const char *h = m ? rd_kafka_MemberDescription_host(m) : NULL;
  if (h && *h) snprintf(host, sizeof host, "%s", h); /* "/IP", as Kafka answers */
  printf("%-15s %-15s %-10d %-15s %-15s %-15s %-45s %-15s %s\n", group, p->topic,
         (int)p->partition, current, end, lag,
         m ? rd_kafka_MemberDescription_consumer_id(m) : "-", host,
         m ? rd_kafka_MemberDescription_client_id(m) : "-");
}

static int describe_groups(rd_kafka_t *rk, const char *group) {
  const rd_kafka_ConsumerGroupDescription_t *d = NULL;
  rd_kafka_event_t *ev = describe_group(rk, group, &d);
  if (ev == NULL) return 1;
  rd_kafka_consumer_group_state_t state = rd_kafka_ConsumerGroupDescription_state(d);
  rd_kafka_topic_partition_list_t *committed = committed_offsets(rk, group);
  if (committed == NULL) {
    rd_kafka_event_destroy(ev);
    return 1;
  }
  rd_kafka_topic_partition_list_t *rows = rows_of(d, committed);
  if (state == RD_KAFKA_CONSUMER_GROUP_STATE_DEAD && rows->cnt == 0) {
    fail("Consumer group '%s' does not exist.", group);
  } else {
    if (rd_kafka_ConsumerGroupDescription_member_count(d) == 0)
      printf("\nConsumer group '%s' has no active members.\n", group);
    printf("\n%-15s %-15s %-10s %-15s %-15s %-15s %-45s %-15s %s\n", "GROUP", "TOPIC",
           "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST",
           "CLIENT-ID");
    for (int i = 0; i < rows->cnt; i++)
      print_row(rk, group, &rows->elems[i],
                owner_of(d, rows->elems[i].topic, rows->elems[i].partition));
  }
  int rc = state == RD_KAFKA_CONSUMER_GROUP_STATE_DEAD && rows->cnt == 0;
  rd_kafka_topic_partition_list_destroy(rows);
  rd_kafka_topic_partition_list_destroy(committed);
  rd_kafka_event_destroy(ev);
  return rc;
}

static int delete_group(rd_kafka_t *rk, const char *group) {
  rd_kafka_DeleteGroup_t *dg = rd_kafka_DeleteGroup_new(group);
  struct admin_call call;
  admin_call_begin(&call, rk, RD_KAFKA_ADMIN_OP_DELETEGROUPS);
  rd_kafka_DeleteGroups(rk, &dg, 1, call.options, call.q);
  rd_kafka_event_t *ev = admin_call_result(&call, RD_KAFKA_EVENT_DELETEGROUPS_RESULT, "delete");
  int rc = 1;
  if (ev) {
    size_t n = 0;
    const rd_kafka_group_result_t **g =
        rd_kafka_DeleteGroups_result_groups(rd_kafka_event_DeleteGroups_result(ev), &n);
    const rd_kafka_error_t *err = n == 1 ? rd_kafka_group_result_error(g[0]) : NULL;
    if (n == 1 && err == NULL) {
      printf("Deletion of requested consumer groups ('%s') was successful.\n", group);
      rc = 0;
    } else if (err) {
      fail("Deletion of group '%s' failed: %s", group, rd_kafka_error_string(err));
    }
  }
  if (ev) rd_kafka_event_destroy(ev);
  rd_kafka_DeleteGroup_destroy(dg);
  return rc;
}

/* The new offset of each partition of topic, as the flags ask. */
static rd_kafka_topic_partition_list_t *reset_plan(rd_kafka_t *rk, const struct flags *f,
                                                   const char *topic) {
  bool ok = true;
  long to = flag_long(f, "--to-offset", 0, 9223372036854775807L, -1, &ok);
  int ways =
      flag_on(f, "--to-earliest") + flag_on(f, "--to-latest") + flag_on(f, "--to-offset");
  if (!ok) return NULL;
  if (ways != 1) return fail("give one of --to-earliest, --to-latest, --to-offset N"), NULL;
  const rd_kafka_metadata_t *md = NULL;
  rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, t, &md, ADMIN_TIMEOUT_MS);
  rd_kafka_topic_destroy(t);
  if (err || md->topic_cnt != 1 || md->topics[0].err) {
    fail("topic '%s': %s", topic, rd_kafka_err2str(err ? err : md->topics[0].err));
    if (md) rd_kafka_metadata_destroy(md);
    return NULL;
  }
  rd_kafka_topic_partition_list_t *plan =
      rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
  for (int i = 0; i < md->topics[0].partition_cnt && ok; i++) {
    int32_t p = md->topics[0].partitions[i].id;
    int64_t lo, hi;
    err = rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, ADMIN_TIMEOUT_MS);
    if (err) ok = fail("offsets of %s-%d: %s", topic, (int)p, rd_kafka_err2str(err)) == 0;
    int64_t target = flag_on(f, "--to-earliest") ? lo : flag_on(f, "--to-latest") ? hi : to;
    if (target < lo) target = lo; /* as Kafka: an offset out of range goes to the nearest end */
    if (target > hi) target = hi;
    rd_kafka_topic_partition_list_add(plan, topic, p)->offset = target;
  }
  rd_kafka_metadata_destroy(md);
  qsort(plan->elems, (size_t)plan->cnt, sizeof *plan->elems, by_topic_partition);
  if (!ok) rd_kafka_topic_partition_list_destroy(plan);
  return ok ? plan : NULL;
}

static int alter_offsets(rd_kafka_t *rk, const char *group,
                         const rd_kafka_topic_partition_list_t *plan) {
  rd_kafka_AlterConsumerGroupOffsets_t *req =
      rd_kafka_AlterConsumerGroupOffsets_new(group, plan);
  struct admin_call call;
  admin_call_begin(&call, rk, RD_KAFKA_ADMIN_OP_ALTERCONSUMERGROUPOFFSETS);
  rd_kafka_AlterConsumerGroupOffsets(rk, &req, 1, call.options, call.q);
  rd_kafka_event_t *ev =
      admin_call_result(&call, RD_KAFKA_EVENT_ALTERCONSUMERGROUPOFFSETS_RESULT, "reset");
  int rc = 1;
  if (ev) {
    size_t n = 0;
    const rd_kafka_group_result_t **g = rd_kafka_AlterConsumerGroupOffsets_result_groups(
        rd_kafka_event_AlterConsumerGroupOffsets_result(ev), &n);
    const rd_kafka_error_t *err = n == 1 ? rd_kafka_group_result_error(g[0]) : NULL;
    const rd_kafka_topic_partition_list_t *parts =
        n == 1 ? rd_kafka_group_result_partitions(g[0]) : NULL;
    rc = n == 1 && err == NULL ? 0 : 1;
    if (err) fail("reset of '%s': %s", group, rd_kafka_error_string(err));
    for (int i = 0; parts && i < parts->cnt; i++)
      if (parts->elems[i].err) {
        fail("%s-%d: %s", parts->elems[i].topic, (int)parts->elems[i].partition,
             rd_kafka_err2str(parts->elems[i].err));
        rc = 1;
      }
  }
  if (ev) rd_kafka_event_destroy(ev);
  rd_kafka_AlterConsumerGroupOffsets_destroy(req);
  return rc;
}

static int reset_offsets(rd_kafka_t *rk, const struct flags *f, const char *group) {
  const char *topic = flag(f, "--topic");
  if (topic == NULL) return fail("--reset-offsets needs --topic");
  const rd_kafka_ConsumerGroupDescription_t *d = NULL;
  rd_kafka_event_t *ev = describe_group(rk, group, &d);
  if (ev == NULL) return 1;
  rd_kafka_consumer_group_state_t state = rd_kafka_ConsumerGroupDescription_state(d);
  rd_kafka_event_destroy(ev);
  /* Kafka resets only a group without members: live members would commit
   * over the new offsets. */
  if (state != RD_KAFKA_CONSUMER_GROUP_STATE_EMPTY &&
      state != RD_KAFKA_CONSUMER_GROUP_STATE_DEAD)
    return fail("Assignments can only be reset if the group '%s' is inactive, but the current "
                "state is %s.",
                group, rd_kafka_consumer_group_state_name(state));
  rd_kafka_topic_partition_list_t *plan = reset_plan(rk, f, topic);
  if (plan == NULL) return 1;
  bool execute = flag_on(f, "--execute");
  if (!execute)
    printf("WARN: No action will be performed as the --execute option is missing. "
           "In a future major release, the default behavior of this command will be to prompt "
           "the user before "
           "executing the reset rather than doing a dry run. You should add the --dry-run "
           "option explicitly if you "
           "are scripting this command and want to keep the current default behavior without "
           "prompting.\n");
  int rc = execute ? alter_offsets(rk, group, plan) : 0;
  if (rc == 0) {
    printf("\n%-30s %-30s %-10s %-15s\n", "GROUP", "TOPIC", "PARTITION", "NEW-OFFSET");
    for (int i = 0; i < plan->cnt; i++)
      printf("%-30s %-30s %-10d %-15lld\n", group, plan->elems[i].topic,
             (int)plan->elems[i].partition, (long long)plan->elems[i].offset);
  }
  rd_kafka_topic_partition_list_destroy(plan);
  return rc;
}

int groups_cmd(int argc, char **argv) {
  struct flags f;
  if (!flags_parse(&f, argc, argv, SWITCHES)) return 1;
  if (flag_on(&f, "--help") || f.count == 0) {
    fputs(GROUPS_HELP, f.count ? stdout : stderr);
    return f.count ? 0 : 1;
  }
  int actions = flag_on(&f, "--list") + flag_on(&f, "--describe") + flag_on(&f, "--delete") +
                flag_on(&f, "--reset-offsets");
  if (actions != 1)
    return fail("give exactly one of --list, --describe, --delete, --reset-offsets");
  const char *group = flag(&f, "--group");
  if (!flag_on(&f, "--list") && (group == NULL || *group == '\0'))
    return fail("this command needs --group");
  rd_kafka_t *rk = admin_open(&f);
  if (rk == NULL) return 1;
  int rc = flag_on(&f, "--list")       ? list_groups(rk)
           : flag_on(&f, "--describe") ? describe_groups(rk, group)
           : flag_on(&f, "--delete")   ? delete_group(rk, group)
                                       : reset_offsets(rk, &f, group);
  rd_kafka_destroy(rk);
  return rc;
}
