/* broker/meta/: the metadata image built from deltas (lookups by name and by
 * id, growth, removal, partition changes, and the old image unchanged after
 * a new one is built), and the local controller in the simulated world
 * (bootstrap from disk, answers that come later and in order, validation,
 * deadlines, close). */
#include <stdio.h>
#include <string.h>

#include "image_fixture.h"
#include "meta/controller_local.h"
#include "meta/image.h"
#include "proto/errors.h"
#include "server/files.h"
#include "sim/world.h"
#include "testing.h"

/* ---- building deltas ---- */

static struct kuuid id_of(uint8_t n) {
  struct kuuid id = {{0}};
  id.b[0] = n;
  id.b[15] = (uint8_t)(255 - n);
  return id;
}

static void add_topic(struct meta_delta *d, const struct meta_image *base, const char *name,
                      uint8_t id) {
  struct meta_record *r = image_record_add(d, base, META_TOPIC_RECORD);
  snprintf(r->topic.name, sizeof r->topic.name, "%s", name);
  r->topic.topic_id = id_of(id);
}

static void add_partition(struct meta_delta *d, const struct meta_image *base, uint8_t id,
                          int32_t partition, int32_t leader) {
  struct meta_record *r = image_record_add(d, base, META_PARTITION_RECORD);
  r->partition.topic_id = id_of(id);
  r->partition.partition_id = partition;
  r->partition.replica_count = r->partition.isr_count = 1;
  r->partition.replicas[0] = r->partition.isr[0] = leader;
  r->partition.leader = leader;
}

static void add_config(struct meta_delta *d, const struct meta_image *base, const char *topic,
                       const char *name, const char *value) {
  struct meta_record *r = image_record_add(d, base, META_CONFIG_RECORD);
  r->config.resource_type = META_RESOURCE_TOPIC;
  snprintf(r->config.resource_name, sizeof r->config.resource_name, "%s", topic);
  snprintf(r->config.name, sizeof r->config.name, "%s", name);
  if (value)
    snprintf(r->config.value, sizeof r->config.value, "%s", value);
  else
    r->config.value_null = true;
}

static struct meta_image *build(struct meta_image *prev, struct meta_delta *d) {
  struct meta_image *next = NULL;
  ck_assert_int_eq(meta_image_build(prev, d, &next), 0);
  ck_assert_ptr_nonnull(next);
  meta_delta_free(d);
  return next;
}

/* b (2 partitions), a (1), c (1); ids out of name order. */
static struct meta_image *three_topics(void) {
  struct meta_image *empty = meta_image_empty("cluster-1");
  struct meta_delta d;
  meta_delta_init(&d);
  add_topic(&d, empty, "b", 9);
  add_partition(&d, empty, 9, 0, 1);
  add_partition(&d, empty, 9, 1, 1);
  add_topic(&d, empty, "a", 30);
  add_partition(&d, empty, 30, 0, 1);
  add_config(&d, empty, "a", "retention.ms", "1000");
  add_topic(&d, empty, "c", 2);
  add_partition(&d, empty, 2, 0, 1);
  struct meta_image *image = build(empty, &d);
  meta_image_unref(empty);
  return image;
}

/* ---- the image ---- */

START_TEST(empty_image) {
  struct meta_image *image = meta_image_empty("xyz");
  ck_assert_int_eq(image->offset, -1);
  ck_assert_int_eq(image->topic_count, 0);
  ck_assert_int_eq(image->broker_count, 0);
  ck_assert_str_eq(image->cluster_id, "xyz");
  ck_assert_ptr_null(meta_image_topic(image, "a", 1));
  ck_assert_ptr_null(meta_image_topic_by_id(image, id_of(1)));
  meta_image_unref(image);
}
END_TEST

START_TEST(lookup_by_name_and_id) {
  struct meta_image *image = three_topics();
  ck_assert_int_eq(image->offset, 7); /* eight records, offsets 0..7 */
  ck_assert_int_eq(image->topic_count, 3);
  const char *names[] = {"a", "b", "c"};
  for (int i = 0; i < 3; i++) ck_assert_str_eq(image->topics_by_name[i]->name, names[i]);
  const char *by_id[] = {"c", "b", "a"}; /* ids 2, 9, 30 */
  for (int i = 0; i < 3; i++) ck_assert_str_eq(image->topics_by_id[i]->name, by_id[i]);
  const struct meta_topic *b = meta_image_topic(image, "b", 1);
  ck_assert_ptr_nonnull(b);
  ck_assert_ptr_eq(meta_image_topic_by_id(image, id_of(9)), b);
  ck_assert_int_eq(b->partition_count, 2);
  ck_assert_int_eq(meta_topic_partition(b, 1)->leader, 1);
  ck_assert_ptr_null(meta_topic_partition(b, 2));
  ck_assert_ptr_null(meta_image_topic(image, "bb", 2));
  ck_assert_ptr_null(meta_image_topic(image, "", 0));
  ck_assert_ptr_null(meta_image_topic_by_id(image, id_of(10)));
  const struct meta_topic *a = meta_image_topic(image, "a-long-name", 1); /* a slice: "a" */
  ck_assert_ptr_nonnull(a);
  ck_assert_str_eq(meta_topic_config(a, "retention.ms"), "1000");
  ck_assert_ptr_null(meta_topic_config(a, "segment.ms"));
  meta_image_unref(image);
}
END_TEST

START_TEST(many_topics_found_by_both_indexes) {
  struct meta_image *empty = meta_image_empty("c");
  struct meta_delta d;
  meta_delta_init(&d);
  uint32_t x = 12345;
  for (int i = 0; i < 250; i++) {
    x = x * 1103515245u + 12345u;
    char name[32];
    snprintf(name, sizeof name, "t%u-%d", x % 1000, i);
    add_topic(&d, empty, name, (uint8_t)i);
    add_partition(&d, empty, (uint8_t)i, 0, 1);
  }
  struct meta_image *image = build(empty, &d);
  ck_assert_int_eq(image->topic_count, 250);
  for (int32_t i = 1; i < image->topic_count; i++) {
    ck_assert_int_lt(strcmp(image->topics_by_name[i - 1]->name, image->topics_by_name[i]->name),
                     0);
    ck_assert_int_lt(meta_uuid_cmp(image->topics_by_id[i - 1]->id, image->topics_by_id[i]->id),
                     0);
  }
  for (int i = 0; i < 250; i++) {
    const struct meta_topic *t = meta_image_topic_by_id(image, id_of((uint8_t)i));
    ck_assert_ptr_nonnull(t);
    ck_assert_ptr_eq(meta_image_topic(image, t->name, strlen(t->name)), t);
  }
  meta_image_unref(image);
  meta_image_unref(empty);
}
END_TEST

START_TEST(old_image_unchanged_by_a_new_one) {
  struct meta_image *v1 = three_topics();
  struct meta_delta d;
  meta_delta_init(&d);
  add_partition(&d, v1, 30, 1, 1);                     /* a grows to 2 */
  add_config(&d, v1, "a", "retention.ms", "2000");     /* a's override changes */
  add_config(&d, v1, "a", "cleanup.policy", "delete"); /* and gains one */
  add_topic(&d, v1, "aa", 40);                         /* a new topic */
  add_partition(&d, v1, 40, 0, 1);
  struct meta_image *v2 = build(v1, &d);
  const struct meta_topic *a1 = meta_image_topic(v1, "a", 1);
  const struct meta_topic *a2 = meta_image_topic(v2, "a", 1);
  ck_assert_ptr_ne(a1, a2); /* copied on write */
  ck_assert_int_eq(a1->partition_count, 1);
  ck_assert_int_eq(a2->partition_count, 2);
  ck_assert_str_eq(meta_topic_config(a1, "retention.ms"), "1000");
  ck_assert_ptr_null(meta_topic_config(a1, "cleanup.policy"));
  ck_assert_str_eq(meta_topic_config(a2, "retention.ms"), "2000");
  ck_assert_str_eq(meta_topic_config(a2, "cleanup.policy"), "delete");
  ck_assert_int_eq(v1->topic_count, 3);
  ck_assert_ptr_null(meta_image_topic(v1, "aa", 2));
  ck_assert_int_eq(v2->topic_count, 4);
  ck_assert_ptr_nonnull(meta_image_topic_by_id(v2, id_of(40)));
  /* Topics the delta did not touch are shared, not copied. */
  ck_assert_ptr_eq(meta_image_topic(v1, "b", 1), meta_image_topic(v2, "b", 1));
  ck_assert_int_eq(meta_image_topic(v2, "b", 1)->refs, 2);
  ck_assert_int_eq(v1->offset, 7);
  ck_assert_int_eq(v2->offset, 12);
  /* The old image can go first; the new one keeps what it shares. */
  meta_image_unref(v1);
  ck_assert_int_eq(meta_image_topic(v2, "b", 1)->refs, 1);
  ck_assert_int_eq(meta_image_topic(v2, "b", 1)->partition_count, 2);
  meta_image_unref(v2);
}
END_TEST

START_TEST(removal) {
  struct meta_image *v1 = three_topics();
  struct meta_delta d;
  meta_delta_init(&d);
  struct meta_record *r = image_record_add(&d, v1, META_REMOVE_TOPIC_RECORD);
  r->remove_topic.topic_id = id_of(9);
  struct meta_image *v2 = build(v1, &d);
  ck_assert_int_eq(v2->topic_count, 2);
  ck_assert_ptr_null(meta_image_topic(v2, "b", 1));
  ck_assert_ptr_null(meta_image_topic_by_id(v2, id_of(9)));
  ck_assert_str_eq(v2->topics_by_name[0]->name, "a");
  ck_assert_str_eq(v2->topics_by_name[1]->name, "c");
  ck_assert_str_eq(v2->topics_by_id[0]->name, "c");
  ck_assert_str_eq(v2->topics_by_id[1]->name, "a");
  ck_assert_ptr_nonnull(meta_image_topic(v1, "b", 1)); /* still there for its readers */
  ck_assert_int_eq(meta_image_topic(v1, "b", 1)->partition_count, 2);
  /* The name can be taken again, under a new id, overrides gone. */
  meta_delta_init(&d);
  r = image_record_add(&d, v2, META_REMOVE_TOPIC_RECORD);
  r->remove_topic.topic_id = id_of(30);
  add_topic(&d, v2, "a", 31);
  add_partition(&d, v2, 31, 0, 1);
  struct meta_image *v3 = build(v2, &d);
  const struct meta_topic *a = meta_image_topic(v3, "a", 1);
  ck_assert_int_eq(meta_uuid_cmp(a->id, id_of(31)), 0);
  ck_assert_int_eq(a->config_count, 0);
  ck_assert_ptr_null(meta_image_topic_by_id(v3, id_of(30)));
  meta_image_unref(v2);
  meta_image_unref(v1);
  meta_image_unref(v3);
}
END_TEST

START_TEST(partition_change_moves_the_epochs) {
  struct meta_image *v1 = three_topics();
  struct meta_delta d;
  meta_delta_init(&d);
  struct meta_record *r = image_record_add(&d, v1, META_PARTITION_CHANGE_RECORD);
  r->partition_change = (struct meta_partition_change_record){.topic_id = id_of(9),
                                                              .partition_id = 1,
                                                              .leader = META_LEADER_UNCHANGED,
                                                              .isr_count = 0,
                                                              .replica_count = -1};
  r = image_record_add(&d, v1, META_PARTITION_CHANGE_RECORD);
  r->partition_change = (struct meta_partition_change_record){.topic_id = id_of(9),
                                                              .partition_id = 0,
                                                              .leader = 2,
                                                              .isr_count = -1,
                                                              .replica_count = 2,
                                                              .replicas = {1, 2}};
  struct meta_image *v2 = build(v1, &d);
  const struct meta_partition *p1 = meta_topic_partition(meta_image_topic(v2, "b", 1), 1);
  ck_assert_int_eq(p1->isr_count, 0);
  ck_assert_int_eq(p1->leader, 1);
  ck_assert_int_eq(p1->leader_epoch, 0);    /* the leader stayed */
  ck_assert_int_eq(p1->partition_epoch, 1); /* but the partition changed */
  const struct meta_partition *p0 = meta_topic_partition(meta_image_topic(v2, "b", 1), 0);
  ck_assert_int_eq(p0->leader, 2);
  ck_assert_int_eq(p0->leader_epoch, 1);
  ck_assert_int_eq(p0->partition_epoch, 1);
  ck_assert_int_eq(p0->replica_count, 2);
  ck_assert(meta_partition_has_replica(p0, 2));
  ck_assert_int_eq(p0->isr_count, 1); /* unchanged */
  const struct meta_partition *old = meta_topic_partition(meta_image_topic(v1, "b", 1), 0);
  ck_assert_int_eq(old->leader, 1);
  ck_assert_int_eq(old->leader_epoch, 0);
  meta_image_unref(v1);
  meta_image_unref(v2);
}
END_TEST

START_TEST(config_override_removed) {
  struct meta_image *v1 = three_topics();
  struct meta_delta d;
  meta_delta_init(&d);
  add_config(&d, v1, "a", "retention.ms", NULL);
  struct meta_image *v2 = build(v1, &d);
  ck_assert_ptr_null(meta_topic_config(meta_image_topic(v2, "a", 1), "retention.ms"));
  ck_assert_str_eq(meta_topic_config(meta_image_topic(v1, "a", 1), "retention.ms"), "1000");
  meta_image_unref(v1);
  meta_image_unref(v2);
}
END_TEST

START_TEST(brokers_by_id_and_reregistered) {
  struct meta_image *v1 = meta_image_empty("c");
  struct meta_delta d;
  meta_delta_init(&d);
  int32_t ids[] = {3, 1, 2};
  for (int i = 0; i < 3; i++) {
    struct meta_record *r = image_record_add(&d, v1, META_REGISTER_BROKER_RECORD);
    r->register_broker.broker_id = ids[i];
    snprintf(r->register_broker.host, sizeof r->register_broker.host, "h%d", ids[i]);
    r->register_broker.port = (uint16_t)(9000 + ids[i]);
    r->register_broker.broker_epoch = r->offset;
    r->register_broker.fenced = ids[i] == 3;
  }
  struct meta_image *v2 = build(v1, &d);
  ck_assert_int_eq(v2->broker_count, 3);
  for (int i = 0; i < 3; i++) ck_assert_int_eq(v2->brokers[i].id, i + 1);
  ck_assert_int_eq(meta_image_usable_brokers(v2), 2);
  ck_assert_str_eq(meta_image_broker(v2, 2)->host, "h2");
  meta_delta_init(&d);
  struct meta_record *r = image_record_add(&d, v2, META_REGISTER_BROKER_RECORD);
  r->register_broker.broker_id = 2;
  snprintf(r->register_broker.host, sizeof r->register_broker.host, "moved");
  r->register_broker.broker_epoch = r->offset;
  struct meta_image *v3 = build(v2, &d);
  ck_assert_int_eq(v3->broker_count, 3);
  ck_assert_str_eq(meta_image_broker(v3, 2)->host, "moved");
  ck_assert_int_eq(meta_image_broker(v3, 2)->epoch, 3);
  ck_assert_str_eq(meta_image_broker(v2, 2)->host, "h2");
  meta_image_unref(v1);
  meta_image_unref(v2);
  meta_image_unref(v3);
}
END_TEST

static int build_error(struct meta_image *prev, struct meta_delta *d) {
  struct meta_image *out = NULL;
  int rc = meta_image_build(prev, d, &out);
  ck_assert_ptr_null(out);
  meta_delta_free(d);
  return rc;
}

START_TEST(records_that_do_not_apply) {
  struct meta_image *v1 = three_topics();
  struct meta_delta d;
  meta_delta_init(&d);
  add_topic(&d, v1, "new", 50);
  add_topic(&d, v1, "b", 51); /* the name is taken */
  ck_assert_int_eq(build_error(v1, &d), ENV_EEXIST);
  meta_delta_init(&d);
  add_topic(&d, v1, "other", 9); /* the id is taken */
  ck_assert_int_eq(build_error(v1, &d), ENV_EEXIST);
  meta_delta_init(&d);
  add_partition(&d, v1, 77, 0, 1); /* no such topic */
  ck_assert_int_eq(build_error(v1, &d), ENV_ENOENT);
  meta_delta_init(&d);
  add_partition(&d, v1, 9, 3, 1); /* a gap after partition 1 */
  ck_assert_int_eq(build_error(v1, &d), ENV_EINVAL);
  meta_delta_init(&d);
  add_config(&d, v1, "zzz", "retention.ms", "1");
  ck_assert_int_eq(build_error(v1, &d), ENV_ENOENT);
  meta_delta_init(&d);
  ck_assert_ptr_nonnull(meta_delta_add(&d, META_TOPIC_RECORD, 3)); /* behind the image */
  snprintf(d.records[0].topic.name, sizeof d.records[0].topic.name, "late");
  ck_assert_int_eq(build_error(v1, &d), ENV_EINVAL);
  /* Nothing changed, nothing leaked (ASan would say). */
  ck_assert_int_eq(v1->topic_count, 3);
  ck_assert_int_eq(meta_image_topic(v1, "b", 1)->refs, 1);
  meta_image_unref(v1);
}
END_TEST

/* ---- the local controller, in the simulated world ---- */

enum { STEPS_MAX = 100000 };

struct harness {
  struct sim_world *w;
  struct env *env;
  struct config cfg;
  struct meta_controller *ctl;
  struct meta_image *published; /* the latest, one reference */
  int publishes;
  bool hold_landing; /* keep the next landing for the test to release */
  meta_landed_fn held;
  void *held_arg;
  /* the last answer */
  int answers;
  int32_t result_count;
  struct meta_topic_result results[8];
  int16_t code;
};

static struct harness h;

static int publish(void *ctx, struct meta_image *image, const struct meta_delta *delta,
                   meta_landed_fn landed, void *arg) {
  ck_assert_ptr_eq(ctx, &h);
  /* Only the first image (an empty disk) may come without records. */
  ck_assert(delta->count > 0 || h.publishes == 0);
  if (delta->count > 0)
    ck_assert_int_eq(image->offset, delta->records[delta->count - 1].offset);
  meta_image_ref(image);
  if (h.published) meta_image_unref(h.published);
  h.published = image;
  h.publishes++;
  if (h.hold_landing) {
    h.held = landed;
    h.held_arg = arg;
  } else {
    landed(arg, 0);
  }
  return 0;
}

static void topics_done(void *ctx, const struct meta_topic_result *results, int32_t count) {
  ck_assert_ptr_eq(ctx, &h);
  ck_assert_int_le(count, 8);
  h.answers++;
  h.result_count = count;
  memcpy(h.results, results, (size_t)count * sizeof *results);
}

static void done(void *ctx, int16_t code) {
  ck_assert_ptr_eq(ctx, &h);
  h.answers++;
  h.code = code;
}

static void run_world(void) {
  for (int i = 0; i < STEPS_MAX && sim_step(h.w); i++) {
  }
}

static void write_file(const char *path, const char *text) {
  env_file f;
  ck_assert_int_eq(h.env->open(h.env, path, ENV_O_CREATE | ENV_O_TRUNC, &f), 0);
  ck_assert_int_eq(h.env->pwrite(h.env, f, text, strlen(text), 0), (int64_t)strlen(text));
  h.env->file_close(h.env, f);
}

static void controller_up(void) {
  struct meta_publisher p = {.ctx = &h, .publish = publish};
  ck_assert_int_eq(meta_controller_local_create(h.env, &h.cfg, "cid", &p, &h.ctl), 0);
  ck_assert_int_eq(h.publishes, 1); /* the first image, before anything asks */
}

static void setup(void) {
  memset(&h, 0, sizeof h);
  h.w = sim_world_create(7);
  h.env = sim_node_env(sim_node_add(h.w, 1, "n1"));
  config_defaults(&h.cfg);
  h.cfg.node_id = 1;
  snprintf(h.cfg.log_dirs, sizeof h.cfg.log_dirs, "/logs");
  ck_assert_int_eq(h.env->mkdir(h.env, "/logs"), 0);
}

static void teardown(void) {
  if (h.ctl) h.ctl->ops->destroy(h.ctl);
  if (h.published) meta_image_unref(h.published);
  sim_world_destroy(h.w);
}

static void register_self(void) {
  struct meta_broker_registration r = {.broker_id = 1, .port = 9092};
  snprintf(r.host, sizeof r.host, "n1");
  snprintf(r.listener, sizeof r.listener, "PLAINTEXT");
  h.ctl->ops->register_broker(h.ctl, &r, done, &h);
  ck_assert_int_eq(h.answers, 0); /* never inside the call */
  run_world();
  ck_assert_int_eq(h.answers, 1);
  ck_assert_int_eq(h.code, KERR_NONE);
  ck_assert_int_eq(h.published->broker_count, 1);
  ck_assert_int_eq(h.published->brokers[0].epoch, h.published->offset);
  h.answers = 0;
}

static struct meta_create_topic topic(const char *name, int32_t partitions, int16_t rf) {
  return (struct meta_create_topic){
      .name = kstr_of(name), .partition_count = partitions, .replication_factor = rf};
}

START_TEST(bootstrap_reads_the_disk) {
  ck_assert_int_eq(h.env->mkdir(h.env, "/logs/orders-0"), 0);
  ck_assert_int_eq(h.env->mkdir(h.env, "/logs/orders-2"), 0); /* partition 1 is missing */
  ck_assert_int_eq(h.env->mkdir(h.env, "/logs/orders-10"), 0);
  ck_assert_int_eq(h.env->mkdir(h.env, "/logs/auto-0"), 0);
  ck_assert_int_eq(h.env->mkdir(h.env, "/logs/topic-configs"), 0);
  ck_assert_int_eq(h.env->mkdir(h.env, "/logs/not a topic-0"), 0);
  struct kuuid id = id_of(77);
  char text[64], idtext[23];
  uuid_to_string(id, idtext);
  snprintf(text, sizeof text, "version: 0\ntopic_id: %s\n", idtext);
  write_file("/logs/orders-0/partition.metadata", text);
  write_file("/logs/topic-configs/orders.properties", "retention.ms=5000\nbogus=1\n");
  write_file("/logs/orders-2/leader-epoch-checkpoint", "0\n2\n3 0\n5 100\n");
  controller_up();
  const struct meta_image *image = h.published;
  ck_assert_int_eq(image->topic_count, 2);
  ck_assert_str_eq(image->cluster_id, "cid");
  const struct meta_topic *orders = meta_image_topic(image, "orders", 6);
  ck_assert_ptr_nonnull(orders);
  ck_assert_int_eq(meta_uuid_cmp(orders->id, id), 0);
  ck_assert_int_eq(orders->partition_count, 11);
  ck_assert_int_eq(orders->partitions[2].leader_epoch, 5);
  ck_assert_int_eq(orders->partitions[0].leader_epoch, 0);
  ck_assert_int_eq(orders->partitions[1].leader, 1);
  ck_assert_str_eq(meta_topic_config(orders, "retention.ms"), "5000");
  ck_assert_int_eq(orders->config_count, 1);
  const struct meta_topic *a = meta_image_topic(image, "auto", 4);
  ck_assert_ptr_nonnull(a); /* no partition.metadata: a new id */
  ck_assert_int_ne(meta_uuid_cmp(a->id, id), 0);
  ck_assert_int_eq(image->offset, 14); /* 2 + 13 records, offsets from 0 */
}
END_TEST

START_TEST(create_answers_later_with_the_image_published) {
  controller_up();
  register_self();
  struct meta_config_entry cfg[] = {{KSTR_LIT("retention.ms"), KSTR_LIT("60000")}};
  struct meta_create_topic t[] = {topic("x", 3, 1), topic("y", -1, -1)};
  t[0].configs = cfg;
  t[0].config_count = 1;
  h.ctl->ops->create_topics(h.ctl, t, 2, false, META_NO_DEADLINE, topics_done, &h);
  ck_assert_int_eq(h.answers, 0);
  run_world();
  ck_assert_int_eq(h.answers, 1);
  ck_assert_int_eq(h.result_count, 2);
  ck_assert_int_eq(h.results[0].error_code, KERR_NONE);
  ck_assert_int_eq(h.results[0].partition_count, 3);
  ck_assert_int_eq(h.results[1].partition_count, h.cfg.num_partitions);
  const struct meta_topic *x = meta_image_topic(h.published, "x", 1);
  ck_assert_ptr_nonnull(x);
  ck_assert_int_eq(meta_uuid_cmp(x->id, h.results[0].topic_id), 0);
  ck_assert_int_eq(x->partition_count, 3);
  ck_assert_int_eq(x->partitions[2].leader, 1);
  ck_assert_str_eq(meta_topic_config(x, "retention.ms"), "60000");
  ck_assert_ptr_nonnull(meta_image_topic(h.published, "y", 1));
  ck_assert_int_eq(h.publishes, 3); /* first image, registration, one for both topics */
}
END_TEST

START_TEST(create_refusals_are_kafkas) {
  controller_up();
  register_self();
  struct meta_create_topic ok = topic("taken", 1, 1);
  h.ctl->ops->create_topics(h.ctl, &ok, 1, false, META_NO_DEADLINE, topics_done, &h);
  run_world();
  struct meta_config_entry bad_cfg[] = {{KSTR_LIT("no.such"), KSTR_LIT("1")}};
  int32_t brokers[] = {7};
  struct meta_assignment bad_assign[] = {{0, brokers, 1}};
  struct meta_create_topic t[] = {topic("taken", 1, 1), topic("bad name!", 1, 1),
                                  topic("rf3", 1, 3),   topic("zero", 0, 1),
                                  topic("cfg", 1, 1),   topic("assign", -1, -1)};
  t[4].configs = bad_cfg;
  t[4].config_count = 1;
  t[5].assignments = bad_assign;
  t[5].assignment_count = 1;
  int publishes = h.publishes;
  h.ctl->ops->create_topics(h.ctl, t, 6, false, META_NO_DEADLINE, topics_done, &h);
  run_world();
  int16_t want[] = {
      KERR_TOPIC_ALREADY_EXISTS, KERR_INVALID_TOPIC_EXCEPTION, KERR_INVALID_REPLICATION_FACTOR,
      KERR_INVALID_PARTITIONS,   KERR_INVALID_CONFIG,          KERR_INVALID_REPLICA_ASSIGNMENT};
  for (int i = 0; i < 6; i++) {
    ck_assert_int_eq(h.results[i].error_code, want[i]);
    ck_assert(h.results[i].error_message[0] != 0 || i == 0);
  }
  ck_assert_int_eq(h.publishes, publishes); /* nothing changed, nothing published */
}
END_TEST

START_TEST(validate_only_creates_nothing) {
  controller_up();
  register_self();
  struct meta_create_topic t = topic("v", 2, 1);
  int publishes = h.publishes;
  h.ctl->ops->create_topics(h.ctl, &t, 1, true, META_NO_DEADLINE, topics_done, &h);
  run_world();
  ck_assert_int_eq(h.results[0].error_code, KERR_NONE);
  ck_assert_int_eq(h.results[0].partition_count, 2);
  ck_assert(uuid_is_zero(h.results[0].topic_id));
  ck_assert_ptr_null(meta_image_topic(h.published, "v", 1));
  ck_assert_int_eq(h.publishes, publishes);
}
END_TEST

START_TEST(grow_and_delete) {
  controller_up();
  register_self();
  struct meta_create_topic t = topic("g", 1, 1);
  h.ctl->ops->create_topics(h.ctl, &t, 1, false, META_NO_DEADLINE, topics_done, &h);
  run_world();
  struct kuuid id = h.results[0].topic_id;
  struct meta_create_partitions grow[] = {
      {.name = KSTR_LIT("g"), .count = 4, .assignment_count = -1},
      {.name = KSTR_LIT("g"), .count = 2, .assignment_count = -1},
      {.name = KSTR_LIT("none"), .count = 2, .assignment_count = -1}};
  h.ctl->ops->create_partitions(h.ctl, grow, 3, false, META_NO_DEADLINE, topics_done, &h);
  run_world();
  ck_assert_int_eq(h.results[0].error_code, KERR_NONE);
  ck_assert_int_eq(h.results[1].error_code, KERR_INVALID_PARTITIONS); /* it has 4 now */
  ck_assert_int_eq(h.results[2].error_code, KERR_UNKNOWN_TOPIC_OR_PARTITION);
  ck_assert_int_eq(meta_image_topic(h.published, "g", 1)->partition_count, 4);
  struct meta_delete_topic del[] = {{.id = id, .by_id = true}, {.name = KSTR_LIT("g")}};
  h.ctl->ops->delete_topics(h.ctl, del, 2, META_NO_DEADLINE, topics_done, &h);
  run_world();
  ck_assert_int_eq(h.results[0].error_code, KERR_NONE);
  ck_assert_str_eq(h.results[0].name, "g"); /* named, though asked by id */
  ck_assert_int_eq(h.results[1].error_code, KERR_UNKNOWN_TOPIC_OR_PARTITION);
  ck_assert_ptr_null(meta_image_topic(h.published, "g", 1));
  ck_assert_int_eq(h.published->topic_count, 0);
}
END_TEST

START_TEST(deletion_disabled) {
  h.cfg.delete_topic_enable = false;
  controller_up();
  register_self();
  struct meta_create_topic t = topic("keep", 1, 1);
  h.ctl->ops->create_topics(h.ctl, &t, 1, false, META_NO_DEADLINE, topics_done, &h);
  run_world();
  struct meta_delete_topic del = {.name = KSTR_LIT("keep")};
  h.ctl->ops->delete_topics(h.ctl, &del, 1, META_NO_DEADLINE, topics_done, &h);
  run_world();
  ck_assert_int_eq(h.results[0].error_code, 73); /* TOPIC_DELETION_DISABLED */
  ck_assert_ptr_nonnull(meta_image_topic(h.published, "keep", 4));
}
END_TEST

START_TEST(deadline_passed_changes_nothing) {
  controller_up();
  register_self();
  sim_run_until(h.w, sim_now_ns(h.w) + NS_PER_S);
  struct meta_create_topic t = topic("late", 1, 1);
  uint64_t deadline = h.env->now_ns(h.env); /* timeout_ms 0 */
  h.ctl->ops->create_topics(h.ctl, &t, 1, false, deadline, topics_done, &h);
  run_world();
  ck_assert_int_eq(h.results[0].error_code, KERR_REQUEST_TIMED_OUT);
  ck_assert_ptr_null(meta_image_topic(h.published, "late", 4));
}
END_TEST

START_TEST(answers_wait_for_the_landing_and_keep_their_order) {
  controller_up();
  register_self();
  h.hold_landing = true;
  struct meta_create_topic a = topic("first", 1, 1), b = topic("second", 1, 1);
  h.ctl->ops->create_topics(h.ctl, &a, 1, false, META_NO_DEADLINE, topics_done, &h);
  h.ctl->ops->create_topics(h.ctl, &b, 1, false, META_NO_DEADLINE, topics_done, &h);
  run_world();
  ck_assert_int_eq(h.answers, 0); /* published, not yet durable */
  ck_assert_ptr_nonnull(meta_image_topic(h.published, "first", 5));
  ck_assert_ptr_null(meta_image_topic(h.published, "second", 6)); /* waits its turn */
  h.hold_landing = false;
  h.held(h.held_arg, 0);
  ck_assert_int_eq(h.answers, 1);
  ck_assert_str_eq(h.results[0].name, "first");
  run_world();
  ck_assert_int_eq(h.answers, 2);
  ck_assert_str_eq(h.results[0].name, "second");
  ck_assert_int_eq(h.results[0].error_code, KERR_NONE);
}
END_TEST

START_TEST(a_failed_landing_is_a_storage_error) {
  controller_up();
  register_self();
  h.hold_landing = true;
  struct meta_create_topic t = topic("t", 1, 1);
  h.ctl->ops->create_topics(h.ctl, &t, 1, false, META_NO_DEADLINE, topics_done, &h);
  run_world();
  h.held(h.held_arg, ENV_EIO);
  ck_assert_int_eq(h.answers, 1);
  ck_assert_int_eq(h.results[0].error_code, KERR_KAFKA_STORAGE_ERROR);
}
END_TEST

START_TEST(close_answers_not_controller) {
  controller_up();
  register_self();
  h.hold_landing = true;
  struct meta_create_topic a = topic("a", 1, 1), b = topic("b", 1, 1);
  h.ctl->ops->create_topics(h.ctl, &a, 1, false, META_NO_DEADLINE, topics_done, &h);
  run_world(); /* a is landing */
  h.ctl->ops->create_topics(h.ctl, &b, 1, false, META_NO_DEADLINE, topics_done, &h);
  h.ctl->ops->close(h.ctl);
  ck_assert_int_eq(h.answers, 2);
  ck_assert_int_eq(h.results[0].error_code, KERR_NOT_CONTROLLER);
  h.held(h.held_arg, 0); /* lands after the close: nobody is told twice */
  ck_assert_int_eq(h.answers, 2);
  struct meta_create_topic c = topic("c", 1, 1);
  h.ctl->ops->create_topics(h.ctl, &c, 1, false, META_NO_DEADLINE, topics_done, &h);
  ck_assert_int_eq(h.answers, 2);
  run_world();
  ck_assert_int_eq(h.answers, 3);
  ck_assert_int_eq(h.results[0].error_code, KERR_NOT_CONTROLLER);
}
END_TEST

/* ---- producer id blocks (KIP-730) ---- */

static int64_t ids_first;
static int32_t ids_count;

static void ids_done(void *ctx, int16_t code, int64_t first_id, int32_t count) {
  ck_assert_ptr_eq(ctx, &h);
  h.answers++;
  h.code = code;
  ids_first = first_id;
  ids_count = count;
}

static void allocate(int32_t broker_id, int64_t broker_epoch) {
  int before = h.answers;
  h.ctl->ops->allocate_producer_ids(h.ctl, broker_id, broker_epoch, ids_done, &h);
  ck_assert_int_eq(h.answers, before); /* never inside the call */
  run_world();
  ck_assert_int_eq(h.answers, before + 1);
}

START_TEST(producer_id_blocks) {
  controller_up();
  register_self();
  int64_t epoch = h.published->brokers[0].epoch;
  allocate(1, epoch);
  ck_assert_int_eq(h.code, KERR_NONE);
  ck_assert_int_eq(ids_first, 0);
  ck_assert_int_eq(ids_count, 1000);
  ck_assert_int_eq(h.published->next_producer_id, 1000);
  allocate(1, -1);
  ck_assert_int_eq(h.code, KERR_NONE);
  ck_assert_int_eq(ids_first, 1000);
  allocate(2, -1);
  ck_assert_int_eq(h.code, KERR_BROKER_ID_NOT_REGISTERED);
  allocate(1, epoch + 5);
  ck_assert_int_eq(h.code, KERR_STALE_BROKER_EPOCH);
  ck_assert_int_eq(h.published->next_producer_id, 2000); /* refusals hand out nothing */
  /* A block whose record did not land is not handed out. */
  h.hold_landing = true;
  h.ctl->ops->allocate_producer_ids(h.ctl, 1, -1, ids_done, &h);
  run_world();
  h.held(h.held_arg, ENV_EIO);
  ck_assert_int_eq(h.code, KERR_KAFKA_STORAGE_ERROR);
  ck_assert_int_eq(ids_count, 0);
}
END_TEST

START_TEST(producer_id_watermark_from_the_disk) {
  write_file("/logs/producer-ids", "version: 0\nnext_producer_id: 5000\n");
  controller_up();
  ck_assert_int_eq(h.published->next_producer_id, 5000);
  register_self();
  allocate(1, -1);
  ck_assert_int_eq(ids_first, 5000);
  h.ctl->ops->destroy(h.ctl);
  h.ctl = NULL;
  /* Unreadable: ids could be handed out twice, so the node does not start. */
  write_file("/logs/producer-ids", "version: 0\nnext_producer_id: x\n");
  struct meta_publisher p = {.ctx = &h, .publish = publish};
  ck_assert_int_eq(meta_controller_local_create(h.env, &h.cfg, "cid", &p, &h.ctl), ENV_EINVAL);
  ck_assert_ptr_null(h.ctl);
}
END_TEST

static Suite *meta_suite(void) {
  Suite *s = suite_create("meta");
  TCase *image = tcase_create("image");
  tcase_add_test(image, empty_image);
  tcase_add_test(image, lookup_by_name_and_id);
  tcase_add_test(image, many_topics_found_by_both_indexes);
  tcase_add_test(image, old_image_unchanged_by_a_new_one);
  tcase_add_test(image, removal);
  tcase_add_test(image, partition_change_moves_the_epochs);
  tcase_add_test(image, config_override_removed);
  tcase_add_test(image, brokers_by_id_and_reregistered);
  tcase_add_test(image, records_that_do_not_apply);
  suite_add_tcase(s, image);
  TCase *ctl = tcase_create("controller_local");
  tcase_add_checked_fixture(ctl, setup, teardown);
  tcase_add_test(ctl, bootstrap_reads_the_disk);
  tcase_add_test(ctl, create_answers_later_with_the_image_published);
  tcase_add_test(ctl, create_refusals_are_kafkas);
  tcase_add_test(ctl, validate_only_creates_nothing);
  tcase_add_test(ctl, grow_and_delete);
  tcase_add_test(ctl, deletion_disabled);
  tcase_add_test(ctl, deadline_passed_changes_nothing);
  tcase_add_test(ctl, answers_wait_for_the_landing_and_keep_their_order);
  tcase_add_test(ctl, a_failed_landing_is_a_storage_error);
  tcase_add_test(ctl, close_answers_not_controller);
  tcase_add_test(ctl, producer_id_blocks);
  tcase_add_test(ctl, producer_id_watermark_from_the_disk);
  suite_add_tcase(s, ctl);
  return s;
}

TEST_MAIN(meta_suite)
