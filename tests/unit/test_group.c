/* The group coordinator's state machine (broker/group/) on its own: join
 * and sync round trips, KIP-394's member id round trip, KIP-345's static
 * members, generations and their fencing, session and rebalance timeouts,
 * KIP-134's initial delay, offsets and their retention, and Kafka's
 * placement and record formats. Time is an argument: no clocks, no sleeps. */
#include <string.h>

#include "group/group.h"
#include "group/group_records.h"
#include "proto/errors.h"
#include "testing.h"

enum { TOKENS = 16, SESSION_MS = 10000, REBALANCE_MS = 30000 };

/* What the state machine answered, per token. */
struct answer {
  int joins, syncs;
  struct group_join_result join;
  char member_id[GROUP_NAME_BYTES_MAX + 1];
  char leader[GROUP_NAME_BYTES_MAX + 1];
  int32_t member_count;
  int16_t sync_error;
  char assignment[64];
};

static struct group_coordinator gc;
static struct answer answers[TOKENS];
static int changed, expired, removed;

static int token_index(void *token) {
  int i = (int)((struct answer *)token - answers);
  ck_assert(i >= 0 && i < TOKENS);
  return i;
}

static void io_join(void *ctx, void *token, const struct group_join_result *r) {
  (void)ctx;
  struct answer *a = &answers[token_index(token)];
  a->joins++;
  a->join = *r;
  a->join.members = NULL;
  a->member_count = r->member_count;
  int32_t mn = r->member_id.len > 0 ? r->member_id.len : 0;
  if (mn) memcpy(a->member_id, r->member_id.ptr, (size_t)mn);
  a->member_id[mn] = '\0';
  int32_t ln = r->leader.len > 0 ? r->leader.len : 0;
  if (ln) memcpy(a->leader, r->leader.ptr, (size_t)ln);
  a->leader[ln] = '\0';
}

static void io_sync(void *ctx, void *token, int16_t error, const struct group *g,
                    struct kbytes assignment) {
  (void)ctx, (void)g;
  struct answer *a = &answers[token_index(token)];
  a->syncs++;
  a->sync_error = error;
  int32_t n = assignment.len > 0 ? assignment.len : 0;
  ck_assert_int_lt(n, (int)sizeof a->assignment);
  if (n) memcpy(a->assignment, assignment.ptr, (size_t)n);
  a->assignment[n] = '\0';
}

static void io_changed(void *ctx, const struct group *g) { (void)ctx, (void)g, changed++; }
static void io_expired(void *ctx, const struct group *g, const struct group_offset *o) {
  (void)ctx, (void)g, (void)o, expired++;
}
static void io_removed(void *ctx, const struct group *g) { (void)ctx, (void)g, removed++; }

static const struct group_io io = {io_join, io_sync, io_changed, io_expired, io_removed};

static void setup_with_delay(int32_t delay_ms) {
  memset(answers, 0, sizeof answers);
  changed = expired = removed = 0;
  struct group_config cfg = {.session_timeout_min_ms = 6000,
                             .session_timeout_max_ms = 1800000,
                             .initial_rebalance_delay_ms = delay_ms,
                             .size_max = 3,
                             .offsets_retention_ms = 7LL * 24 * 3600 * 1000,
                             .partition_count = 50};
  group_coordinator_init(&gc, &cfg, &io, NULL);
}

static void setup(void) { setup_with_delay(0); }
static void teardown(void) { group_coordinator_free(&gc); }

static const struct group_protocol_arg range_rr[] = {
    {{"range", 5}, {(const uint8_t *)"sub-a", 5}},
    {{"roundrobin", 10}, {(const uint8_t *)"sub-b", 5}},
};
static const struct group_protocol_arg rr_only[] = {
    {{"roundrobin", 10}, {(const uint8_t *)"sub-c", 5}},
};
static const struct group_protocol_arg sticky_only[] = {
    {{"sticky", 6}, {(const uint8_t *)"sub-d", 5}},
};

/* A JoinGroup as a v4+ client sends it. */
static void join_as(int token, const char *member_id, const char *instance, int64_t now_ms,
                    bool require_known) {
  static const uint64_t seeds[TOKENS] = {11, 22,  33,  44,  55,  66,  77,  88,
                                         99, 111, 122, 133, 144, 155, 166, 177};
  struct group_join_args a = {
      .group_id = KSTR_LIT("test-group"),
      .member_id = kstr_of(member_id),
      .instance_id = instance ? kstr_of(instance) : KSTR_NULL,
      .client_id = KSTR_LIT("client"),
      .client_host = KSTR_LIT("/127.0.0.1"),
      .protocol_type = KSTR_LIT("consumer"),
      .protocols = range_rr,
      .protocol_count = 2,
      .session_timeout_ms = SESSION_MS,
      .rebalance_timeout_ms = REBALANCE_MS,
      .require_known_member_id = require_known,
      .random = {seeds[token], seeds[token] * 7},
      .token = &answers[token],
      .now_ms = now_ms,
      .wall_ms = 1000000 + now_ms,
  };
  group_join(&gc, &a);
}

static void join(int token, const char *member_id, int64_t now_ms) {
  join_as(token, member_id, NULL, now_ms, false);
}

static void sync_as(int token, const char *member_id, int32_t generation, int64_t now_ms,
                    const struct group_join_member *assignments, int32_t count) {
  struct group_sync_args a = {.group_id = KSTR_LIT("test-group"),
                              .member_id = kstr_of(member_id),
                              .instance_id = KSTR_NULL,
                              .generation = generation,
                              .protocol_type = KSTR_NULL,
                              .protocol_name = KSTR_NULL,
                              .assignments = assignments,
                              .assignment_count = count,
                              .token = &answers[token],
                              .now_ms = now_ms,
                              .wall_ms = 1000000 + now_ms};
  group_sync(&gc, &a);
}

static int16_t heartbeat(const char *member_id, int32_t generation, int64_t now_ms) {
  struct group_member_ref ref = {KSTR_LIT("test-group"), kstr_of(member_id), KSTR_NULL,
                                 generation, now_ms};
  return group_heartbeat(&gc, &ref);
}

static struct group *the_group(void) { return group_find(&gc, KSTR_LIT("test-group")); }

/* One member joins and syncs: generation 1, Stable. Returns its id. */
static void one_stable_member(char *id_out) {
  join(0, "", 0);
  ck_assert_int_eq(answers[0].joins, 1);
  strcpy(id_out, answers[0].member_id);
  struct group_join_member as[] = {{kstr_of(id_out), KSTR_NULL, {(const uint8_t *)"p0-5", 4}}};
  sync_as(1, id_out, 1, 10, as, 1);
  ck_assert_int_eq(answers[1].syncs, 1);
  ck_assert_int_eq(the_group()->state, GROUP_STABLE);
}

START_TEST(join_sync_round_trip) {
  join(0, "", 0);
  struct answer *a = &answers[0];
  ck_assert_int_eq(a->joins, 1);
  ck_assert_int_eq(a->join.error, KERR_NONE);
  ck_assert_int_eq(a->join.generation, 1);
  ck_assert_str_eq(a->leader, a->member_id);
  ck_assert_int_eq(a->member_count, 1); /* the leader sees every member */
  ck_assert(strncmp(a->member_id, "client-", 7) == 0);
  ck_assert(kstr_eq(a->join.protocol_name, "range")); /* the first both list */
  ck_assert_int_eq(the_group()->state, GROUP_COMPLETING_REBALANCE);
  struct group_join_member as[] = {
      {kstr_of(a->member_id), KSTR_NULL, {(const uint8_t *)"p0-5", 4}}};
  sync_as(1, a->member_id, 1, 10, as, 1);
  ck_assert_int_eq(answers[1].syncs, 1);
  ck_assert_int_eq(answers[1].sync_error, KERR_NONE);
  ck_assert_str_eq(answers[1].assignment, "p0-5");
  ck_assert_int_eq(the_group()->state, GROUP_STABLE);
  ck_assert_int_eq(changed, 1); /* GroupMetadata is due */
  ck_assert_int_eq(heartbeat(a->member_id, 1, 20), KERR_NONE);
}
END_TEST

START_TEST(member_id_required) {
  join_as(0, "", NULL, 0, true);
  ck_assert_int_eq(answers[0].join.error, KERR_MEMBER_ID_REQUIRED);
  ck_assert(strlen(answers[0].member_id) > 7);
  ck_assert_int_eq(the_group()->member_count, 0);
  ck_assert_int_eq(the_group()->pending_count, 1);
  /* Back with the id: a member now. */
  char id[GROUP_NAME_BYTES_MAX + 1];
  strcpy(id, answers[0].member_id);
  join_as(1, id, NULL, 100, true);
  ck_assert_int_eq(answers[1].join.error, KERR_NONE);
  ck_assert_str_eq(answers[1].member_id, id);
  ck_assert_int_eq(the_group()->pending_count, 0);
  /* An id handed out and never brought back expires with the session. */
  join_as(2, "", NULL, 200, true);
  ck_assert_int_eq(the_group()->pending_count, 1);
  group_tick(&gc, 200 + SESSION_MS - 1, 0);
  ck_assert_int_eq(the_group()->pending_count, 1);
  group_tick(&gc, 200 + SESSION_MS, 0);
  ck_assert_int_eq(the_group()->pending_count, 0);
  /* An id nobody handed out is unknown. */
  join_as(3, "stranger", NULL, 300, true);
  ck_assert_int_eq(answers[3].join.error, KERR_UNKNOWN_MEMBER_ID);
}
END_TEST

START_TEST(rebalance_on_join_and_leave) {
  char m1[GROUP_NAME_BYTES_MAX + 1], m2[GROUP_NAME_BYTES_MAX + 1];
  one_stable_member(m1);
  join(2, "", 100);                      /* a second member: a rebalance */
  ck_assert_int_eq(answers[2].joins, 0); /* waits for m1 to rejoin */
  ck_assert_int_eq(the_group()->state, GROUP_PREPARING_REBALANCE);
  ck_assert_int_eq(heartbeat(m1, 1, 150), KERR_REBALANCE_IN_PROGRESS);
  join(3, m1, 200);
  ck_assert_int_eq(answers[2].joins, 1);
  ck_assert_int_eq(answers[3].joins, 1);
  strcpy(m2, answers[2].member_id);
  ck_assert_int_eq(answers[3].join.generation, 2);
  ck_assert_int_eq(answers[2].join.generation, 2);
  ck_assert_str_eq(answers[3].leader, m1); /* the leader stays */
  ck_assert_int_eq(answers[3].member_count, 2);
  ck_assert_int_eq(answers[2].member_count, 0); /* followers see none */
  /* The follower's sync waits for the leader's. */
  sync_as(4, m2, 2, 300, NULL, 0);
  ck_assert_int_eq(answers[4].syncs, 0);
  struct group_join_member as[] = {{kstr_of(m1), KSTR_NULL, {(const uint8_t *)"p0-2", 4}},
                                   {kstr_of(m2), KSTR_NULL, {(const uint8_t *)"p3-5", 4}}};
  sync_as(5, m1, 2, 310, as, 2);
  ck_assert_int_eq(answers[4].syncs, 1);
  ck_assert_str_eq(answers[4].assignment, "p3-5");
  ck_assert_str_eq(answers[5].assignment, "p0-2");
  /* m1 leaves: m2 is told to rejoin, and forms generation 3 alone. */
  ck_assert_int_eq(group_leave(&gc, KSTR_LIT("test-group"), kstr_of(m1), KSTR_NULL, 400, 0),
                   KERR_NONE);
  ck_assert_int_eq(heartbeat(m2, 2, 410), KERR_REBALANCE_IN_PROGRESS);
  join(6, m2, 420);
  ck_assert_int_eq(answers[6].join.generation, 3);
  ck_assert_str_eq(answers[6].leader, m2);
  ck_assert_int_eq(answers[6].member_count, 1);
  ck_assert_int_eq(heartbeat(m1, 3, 430), KERR_UNKNOWN_MEMBER_ID);
}
END_TEST

START_TEST(session_expiry_moves_the_partitions) {
  char m1[GROUP_NAME_BYTES_MAX + 1];
  one_stable_member(m1);
  join(2, "", 100);
  join(3, m1, 100);
  char m2[GROUP_NAME_BYTES_MAX + 1];
  strcpy(m2, answers[2].member_id);
  struct group_join_member as[] = {{kstr_of(m1), KSTR_NULL, {(const uint8_t *)"a", 1}},
                                   {kstr_of(m2), KSTR_NULL, {(const uint8_t *)"b", 1}}};
  sync_as(4, m2, 2, 100, NULL, 0);
  sync_as(5, m1, 2, 100, as, 2);
  ck_assert_int_eq(the_group()->state, GROUP_STABLE);
  /* m2 keeps heartbeating; m1 goes silent (killed, no LeaveGroup). */
  ck_assert_int_eq(heartbeat(m2, 2, 5000), KERR_NONE);
  group_tick(&gc, 100 + SESSION_MS - 1, 0);
  ck_assert_int_eq(the_group()->member_count, 2);
  ck_assert_int_eq(heartbeat(m2, 2, 9000), KERR_NONE);
  group_tick(&gc, 100 + SESSION_MS, 0);
  ck_assert_int_eq(the_group()->member_count, 1);
  ck_assert_int_eq(the_group()->state, GROUP_PREPARING_REBALANCE);
  ck_assert_int_eq(heartbeat(m2, 2, 10200), KERR_REBALANCE_IN_PROGRESS);
  join(6, m2, 10300); /* the survivor takes everything */
  ck_assert_int_eq(answers[6].join.generation, 3);
  ck_assert_int_eq(answers[6].member_count, 1);
  ck_assert_int_eq(heartbeat(m1, 3, 10400), KERR_UNKNOWN_MEMBER_ID);
}
END_TEST

START_TEST(generation_fencing) {
  char m1[GROUP_NAME_BYTES_MAX + 1];
  one_stable_member(m1);
  ck_assert_int_eq(heartbeat(m1, 0, 20), KERR_ILLEGAL_GENERATION);
  ck_assert_int_eq(heartbeat("nobody", 1, 20), KERR_UNKNOWN_MEMBER_ID);
  struct group_member_ref old = {KSTR_LIT("test-group"), kstr_of(m1), KSTR_NULL, 0, 20};
  ck_assert_int_eq(group_commit_check(&gc, &old), KERR_ILLEGAL_GENERATION);
  struct group_member_ref cur = {KSTR_LIT("test-group"), kstr_of(m1), KSTR_NULL, 1, 20};
  ck_assert_int_eq(group_commit_check(&gc, &cur), KERR_NONE);
  struct group_member_ref simple = {KSTR_LIT("test-group"), KSTR_LIT(""), KSTR_NULL, -1, 20};
  ck_assert_int_eq(group_commit_check(&gc, &simple), KERR_UNKNOWN_MEMBER_ID);
  sync_as(2, m1, 0, 30, NULL, 0);
  ck_assert_int_eq(answers[2].sync_error, KERR_ILLEGAL_GENERATION);
  /* Between the join and the assignment, commits wait for the assignment. */
  join(3, "", 40);
  join(4, m1, 40);
  ck_assert_int_eq(the_group()->state, GROUP_COMPLETING_REBALANCE);
  struct group_member_ref now = {KSTR_LIT("test-group"), kstr_of(m1), KSTR_NULL, 2, 50};
  ck_assert_int_eq(group_commit_check(&gc, &now), KERR_REBALANCE_IN_PROGRESS);
  ck_assert_int_eq(group_commit_check(&gc, &cur), KERR_ILLEGAL_GENERATION);
  /* A sync of the ended generation's waiting follower is told to rejoin. */
  sync_as(5, answers[3].member_id, 2, 60, NULL, 0);
  ck_assert_int_eq(answers[5].syncs, 0);
  join(6, "", 70); /* a third member: generation 2 ends before its assignment */
  ck_assert_int_eq(answers[5].syncs, 1);
  ck_assert_int_eq(answers[5].sync_error, KERR_REBALANCE_IN_PROGRESS);
}
END_TEST

START_TEST(static_member_rejoins_without_rebalance) {
  join_as(0, "", "instance-1", 0, true); /* static members skip KIP-394 */
  ck_assert_int_eq(answers[0].join.error, KERR_NONE);
  char old_id[GROUP_NAME_BYTES_MAX + 1];
  strcpy(old_id, answers[0].member_id);
  struct group_join_member as[] = {{kstr_of(old_id), KSTR_NULL, {(const uint8_t *)"all", 3}}};
  sync_as(1, old_id, 1, 10, as, 1);
  ck_assert_int_eq(the_group()->state, GROUP_STABLE);
  /* Restarted: no member id, same instance id. */
  join_as(2, "", "instance-1", 5000, true);
  ck_assert_int_eq(answers[2].join.error, KERR_NONE);
  ck_assert_int_eq(answers[2].join.generation, 1); /* no rebalance */
  ck_assert_str_ne(answers[2].member_id, old_id);
  ck_assert(answers[2].join.skip_assignment); /* KIP-814: the leader keeps it */
  ck_assert_int_eq(the_group()->state, GROUP_STABLE);
  ck_assert_int_eq(heartbeat(answers[2].member_id, 1, 5100), KERR_NONE);
  /* The old incarnation is fenced. */
  struct group_member_ref ref = {KSTR_LIT("test-group"), kstr_of(old_id),
                                 KSTR_LIT("instance-1"), 1, 5200};
  ck_assert_int_eq(group_heartbeat(&gc, &ref), KERR_FENCED_INSTANCE_ID);
  sync_as(3, answers[2].member_id, 1, 5300, NULL, 0);
  ck_assert_str_eq(answers[3].assignment, "all");
}
END_TEST

START_TEST(rebalance_timeout_drops_who_did_not_rejoin) {
  char m1[GROUP_NAME_BYTES_MAX + 1];
  one_stable_member(m1);
  join(2, "", 1000); /* m1 heartbeats but never rejoins */
  for (int64_t t = 1000; t < 1000 + REBALANCE_MS; t += 3000) {
    ck_assert_int_eq(heartbeat(m1, 1, t), KERR_REBALANCE_IN_PROGRESS);
    group_tick(&gc, t, 0);
  }
  group_tick(&gc, 1000 + REBALANCE_MS - 1, 0);
  ck_assert_int_eq(answers[2].joins, 0);
  group_tick(&gc, 1000 + REBALANCE_MS, 0);
  ck_assert_int_eq(answers[2].joins, 1);
  ck_assert_int_eq(answers[2].join.generation, 2);
  ck_assert_int_eq(answers[2].member_count, 1);
  ck_assert_int_eq(the_group()->member_count, 1);
}
END_TEST

START_TEST(static_leader_that_does_not_rejoin_hands_over) {
  join_as(0, "", "instance-1", 0, true);
  char s1[GROUP_NAME_BYTES_MAX + 1];
  strcpy(s1, answers[0].member_id);
  struct group_join_member as[] = {{kstr_of(s1), KSTR_NULL, {(const uint8_t *)"all", 3}}};
  sync_as(1, s1, 1, 10, as, 1);
  join(2, "", 1000); /* a newcomer; the static leader keeps heartbeating only */
  for (int64_t t = 1000; t < 1000 + REBALANCE_MS; t += 3000) {
    ck_assert_int_eq(heartbeat(s1, 1, t), KERR_REBALANCE_IN_PROGRESS);
    group_tick(&gc, t, 0);
  }
  ck_assert_int_eq(answers[2].joins, 0);
  group_tick(&gc, 1000 + REBALANCE_MS, 0);
  ck_assert_int_eq(answers[2].joins, 1);
  ck_assert_int_eq(answers[2].join.generation, 2);
  ck_assert_str_eq(answers[2].leader, answers[2].member_id); /* it leads now */
  ck_assert_int_eq(answers[2].member_count, 2); /* the static member kept its place */
  char d[GROUP_NAME_BYTES_MAX + 1];
  strcpy(d, answers[2].member_id);
  sync_as(3, d, 2, 31000, NULL, 0);
  ck_assert_int_eq(the_group()->state, GROUP_STABLE);
  /* A member that neither rejoins nor heartbeats during a join phase ends
   * with its session (its deadline: the generation's start, 31000, plus
   * the session), and the join phase ends without it. */
  join(4, "", 40000);
  join(5, d, 40000);
  group_tick(&gc, 31000 + SESSION_MS - 1, 0);
  ck_assert_int_eq(answers[5].joins, 0);
  group_tick(&gc, 31000 + SESSION_MS, 0);
  ck_assert_int_eq(answers[5].joins, 1);
  ck_assert_int_eq(answers[5].join.generation, 3);
  ck_assert_int_eq(answers[5].member_count, 2);
  ck_assert_int_eq(the_group()->member_count, 2);
}
END_TEST

START_TEST(protocols_are_chosen_and_checked) {
  join(0, "", 0);
  char m1[GROUP_NAME_BYTES_MAX + 1];
  strcpy(m1, answers[0].member_id);
  struct group_join_args a = {.group_id = KSTR_LIT("test-group"),
                              .member_id = KSTR_LIT(""),
                              .instance_id = KSTR_NULL,
                              .client_id = KSTR_LIT("c2"),
                              .protocol_type = KSTR_LIT("consumer"),
                              .protocols = sticky_only,
                              .protocol_count = 1,
                              .session_timeout_ms = SESSION_MS,
                              .rebalance_timeout_ms = REBALANCE_MS,
                              .token = &answers[1],
                              .now_ms = 10};
  group_join(&gc, &a);
  ck_assert_int_eq(answers[1].join.error, KERR_INCONSISTENT_GROUP_PROTOCOL);
  a.protocol_type = KSTR_LIT("connect");
  a.protocols = rr_only;
  a.token = &answers[2];
  group_join(&gc, &a);
  ck_assert_int_eq(answers[2].join.error, KERR_INCONSISTENT_GROUP_PROTOCOL);
  a.protocol_type = KSTR_LIT("consumer");
  a.token = &answers[3];
  group_join(&gc, &a); /* roundrobin is the only protocol both have */
  join(4, m1, 20);
  ck_assert(kstr_eq(answers[3].join.protocol_name, "roundrobin"));
  ck_assert(kstr_eq(answers[4].join.protocol_name, "roundrobin"));
  a.session_timeout_ms = 5999; /* below group.min.session.timeout.ms */
  a.token = &answers[5];
  group_join(&gc, &a);
  ck_assert_int_eq(answers[5].join.error, KERR_INVALID_SESSION_TIMEOUT);
}
END_TEST

START_TEST(group_max_size) {
  join(0, "", 0);
  join(1, "", 0);
  join(2, "", 0);
  join(3, "", 0);
  ck_assert_int_eq(answers[3].join.error, KERR_GROUP_MAX_SIZE_REACHED);
  ck_assert_int_eq(the_group()->member_count, 3);
}
END_TEST

START_TEST(initial_delay_waits_for_more_members) {
  teardown();
  setup_with_delay(3000);
  join(0, "", 0);
  group_tick(&gc, 1000, 0);
  ck_assert_int_eq(answers[0].joins, 0);
  join(1, "", 1000); /* extends the wait to 4000 */
  group_tick(&gc, 3999, 0);
  ck_assert_int_eq(answers[0].joins + answers[1].joins, 0);
  group_tick(&gc, 4000, 0);
  ck_assert_int_eq(answers[0].joins, 1);
  ck_assert_int_eq(answers[1].joins, 1);
  ck_assert_int_eq(answers[0].join.generation, 1);
  ck_assert_int_eq(answers[0].member_count + answers[1].member_count, 2);
}
END_TEST

START_TEST(cancelled_join_is_not_answered) {
  char m1[GROUP_NAME_BYTES_MAX + 1];
  one_stable_member(m1);
  join(2, "", 100);
  group_cancel(&gc, KSTR_LIT("test-group"), &answers[2]); /* its connection closed */
  join(3, m1, 200);
  ck_assert_int_eq(answers[2].joins, 0);
  ck_assert_int_eq(answers[3].joins, 1);
  ck_assert_int_eq(answers[3].member_count, 2); /* it did join: its session decides */
}
END_TEST

START_TEST(offsets_delete_and_retention) {
  ck_assert_int_eq(
      group_offset_put(&gc, KSTR_LIT("solo"), KSTR_LIT("t"), 1, 42, 3, KSTR_LIT("meta"), 1000),
      KERR_NONE);
  ck_assert_int_eq(
      group_offset_put(&gc, KSTR_LIT("solo"), KSTR_LIT("t"), 0, 7, -1, KSTR_LIT(""), 2000),
      KERR_NONE);
  const struct group *g = group_find(&gc, KSTR_LIT("solo"));
  ck_assert_ptr_nonnull(g);
  ck_assert_int_eq(g->offset_count, 2);
  ck_assert_int_eq(g->offsets[0].partition, 0); /* sorted */
  const struct group_offset *o = group_offset_get(g, KSTR_LIT("t"), 1);
  ck_assert_int_eq(o->offset, 42);
  ck_assert_str_eq(o->metadata, "meta");
  ck_assert_ptr_null(group_offset_get(g, KSTR_LIT("t"), 2));
  /* Simple commits expire one by one, the retention after their commit. */
  int64_t keep = gc.cfg.offsets_retention_ms;
  group_tick(&gc, 0, 1000 + keep);
  ck_assert_int_eq(expired, 1);
  ck_assert_int_eq(group_find(&gc, KSTR_LIT("solo"))->offset_count, 1);
  group_tick(&gc, 600000, 2000 + keep);
  ck_assert_int_eq(expired, 2);
  ck_assert_int_eq(removed, 1);
  ck_assert_ptr_null(group_find(&gc, KSTR_LIT("solo")));
  /* DeleteGroups: not while members remain. */
  char m1[GROUP_NAME_BYTES_MAX + 1];
  one_stable_member(m1);
  ck_assert_int_eq(group_delete(&gc, KSTR_LIT("test-group")), KERR_NON_EMPTY_GROUP);
  ck_assert_int_eq(group_delete(&gc, KSTR_LIT("nope")), KERR_GROUP_ID_NOT_FOUND);
  group_leave(&gc, KSTR_LIT("test-group"), kstr_of(m1), KSTR_NULL, 100, 0);
  ck_assert_int_eq(the_group()->state, GROUP_EMPTY);
  ck_assert_int_eq(group_delete(&gc, KSTR_LIT("test-group")), KERR_NONE);
  ck_assert_ptr_null(the_group());
}
END_TEST

START_TEST(placement_is_kafkas) {
  /* abs(String.hashCode) % 50, as Kafka computes it (values from Java's
   * hashCode: "test-group" 627841412, "my-group" -1906497762). */
  ck_assert_int_eq(group_partition_for(KSTR_LIT("test-group"), 50), 12);
  ck_assert_int_eq(group_partition_for(KSTR_LIT("g1"), 50), 42);
  ck_assert_int_eq(group_partition_for(KSTR_LIT("my-group"), 50), 12);
  ck_assert_int_eq(group_partition_for(KSTR_LIT("my-group"), 7), 1906497762 % 7);
}
END_TEST

START_TEST(records_round_trip) {
  struct wr k, v;
  wr_init(&k);
  wr_init(&v);
  group_record_offset_key(&k, KSTR_LIT("grp"), KSTR_LIT("topic"), 5);
  struct group_record_offset in = {99, 4, KSTR_LIT("md"), 123456};
  group_record_offset_value(&v, &in);
  /* Kafka's bytes: key version 1, then int16-length strings. */
  static const uint8_t key_bytes[] = {0,   1,   0,   3,   'g', 'r', 'p', 0, 5,
                                      't', 'o', 'p', 'i', 'c', 0,   0,   0, 5};
  ck_assert_int_eq(k.mem.len, sizeof key_bytes);
  ck_assert(memcmp(k.mem.data, key_bytes, sizeof key_bytes) == 0);
  struct group_record_key key;
  ck_assert(group_record_key_decode((struct kbytes){k.mem.data, (int32_t)k.mem.len}, &key));
  ck_assert_int_eq(key.kind, GROUP_RECORD_OFFSET);
  ck_assert(kstr_eq(key.topic, "topic"));
  ck_assert_int_eq(key.partition, 5);
  struct group_record_offset out;
  ck_assert(group_record_offset_decode((struct kbytes){v.mem.data, (int32_t)v.mem.len}, &out));
  ck_assert_int_eq(out.offset, 99);
  ck_assert_int_eq(out.leader_epoch, 4);
  ck_assert(kstr_eq(out.metadata, "md"));
  ck_assert_int_eq(out.commit_wall_ms, 123456);
  ck_assert_int_eq(v.mem.len, 2 + 8 + 4 + 2 + 2 + 8);
  ck_assert(!group_record_key_decode((struct kbytes){(const uint8_t *)"\0\7", 2}, &key));
  wr_free(&k);
  wr_free(&v);
}
END_TEST

/* A coordinator failover: the GroupMetadata record written when generation
 * 2 became Stable, loaded by a fresh coordinator (the new leader), gives
 * back a Stable group with both members, their assignments and the leader;
 * members that heartbeat keep generation 2 with no rebalance, their
 * sessions start afresh from the load, and a member that never heartbeats
 * to the new coordinator is dropped after its session timeout. */
START_TEST(loaded_group_keeps_its_members) {
  char m1[GROUP_NAME_BYTES_MAX + 1], m2[GROUP_NAME_BYTES_MAX + 1];
  one_stable_member(m1);
  join(2, "", 100);
  join(3, m1, 100);
  strcpy(m2, answers[2].member_id);
  struct group_join_member as[] = {{kstr_of(m1), KSTR_NULL, {(const uint8_t *)"a", 1}},
                                   {kstr_of(m2), KSTR_NULL, {(const uint8_t *)"b", 1}}};
  sync_as(4, m2, 2, 100, NULL, 0);
  sync_as(5, m1, 2, 100, as, 2);
  ck_assert_int_eq(the_group()->state, GROUP_STABLE);
  struct wr v;
  wr_init(&v);
  group_record_metadata_value(&v, the_group());
  group_coordinator_free(&gc);
  setup();
  ck_assert_ptr_null(the_group());
  int64_t load_ms = 50000; /* long after the old sessions' last heartbeats */
  group_record_metadata_load(&gc, KSTR_LIT("test-group"),
                             (struct kbytes){v.mem.data, (int32_t)v.mem.len}, load_ms);
  wr_free(&v);
  struct group *g = the_group();
  ck_assert_ptr_nonnull(g);
  ck_assert_int_eq(g->state, GROUP_STABLE);
  ck_assert_int_eq(g->generation, 2);
  ck_assert_int_eq(g->member_count, 2);
  ck_assert_str_eq(g->leader_id, m1);
  ck_assert_str_eq(g->protocol_name, "range");
  ck_assert_int_eq(g->members[1]->assignment_len, 1);
  ck_assert_int_eq(g->members[1]->assignment[0], 'b');
  ck_assert_int_eq(g->members[0]->session_timeout_ms, SESSION_MS);
  ck_assert_int_eq(g->members[0]->rebalance_timeout_ms, REBALANCE_MS);
  /* Sessions start at the load: nothing expires before load + session. */
  group_tick(&gc, load_ms + SESSION_MS - 1, 0);
  ck_assert_int_eq(the_group()->member_count, 2);
  ck_assert_int_eq(heartbeat(m1, 2, load_ms + SESSION_MS - 1), KERR_NONE);
  ck_assert_int_eq(heartbeat(m2, 1, load_ms + 10), KERR_ILLEGAL_GENERATION);
  /* A repeated sync of the generation hands back the loaded assignment. */
  sync_as(6, m2, 2, load_ms + 20, NULL, 0);
  ck_assert_int_eq(answers[6].sync_error, KERR_NONE);
  ck_assert_str_eq(answers[6].assignment, "b");
  ck_assert_int_eq(changed, 0); /* no rebalance, nothing new to store */
  /* m2 never heartbeats again: its session (renewed by that sync) ends. */
  group_tick(&gc, load_ms + 20 + SESSION_MS, 0);
  ck_assert_int_eq(the_group()->member_count, 1);
  ck_assert_int_eq(the_group()->state, GROUP_PREPARING_REBALANCE);
  /* A tombstone (DeleteGroups) takes it away again. */
  group_coordinator_free(&gc);
  setup();
  struct wr e;
  wr_init(&e);
  group_record_metadata_value(&e, &(struct group){.id = "x", .generation = 7});
  group_record_metadata_load(&gc, KSTR_LIT("test-group"),
                             (struct kbytes){e.mem.data, (int32_t)e.mem.len}, 0);
  wr_free(&e);
  ck_assert_int_eq(the_group()->state, GROUP_EMPTY);
  ck_assert_int_eq(the_group()->generation, 7);
  group_load_tombstone(&gc, KSTR_LIT("test-group"));
  ck_assert_ptr_null(the_group());
}
END_TEST

static Suite *group_suite(void) {
  Suite *s = suite_create("group");
  TCase *tc = tcase_create("state machine");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, join_sync_round_trip);
  tcase_add_test(tc, member_id_required);
  tcase_add_test(tc, rebalance_on_join_and_leave);
  tcase_add_test(tc, session_expiry_moves_the_partitions);
  tcase_add_test(tc, generation_fencing);
  tcase_add_test(tc, static_member_rejoins_without_rebalance);
  tcase_add_test(tc, rebalance_timeout_drops_who_did_not_rejoin);
  tcase_add_test(tc, static_leader_that_does_not_rejoin_hands_over);
  tcase_add_test(tc, protocols_are_chosen_and_checked);
  tcase_add_test(tc, group_max_size);
  tcase_add_test(tc, initial_delay_waits_for_more_members);
  tcase_add_test(tc, cancelled_join_is_not_answered);
  tcase_add_test(tc, offsets_delete_and_retention);
  tcase_add_test(tc, placement_is_kafkas);
  tcase_add_test(tc, records_round_trip);
  tcase_add_test(tc, loaded_group_keeps_its_members);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(group_suite)
