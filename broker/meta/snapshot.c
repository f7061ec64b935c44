/* Snapshots of the metadata image (snapshot.h). */
#include "meta/snapshot.h"

#include <string.h>

#include "base/assert.h"
#include "base/str.h"
#include "log/atomic_file.h"
#include "meta/codec.h"

enum {
  NAME_OFFSET_DIGITS = 20,
  NAME_EPOCH_DIGITS = 10,
  PATH_BYTES = ATOMIC_FILE_PATH_BYTES,
};

static const char suffix[] = ".checkpoint";
static const char metadata_version[] = "metadata.version";

/* ---- names ---- */

struct meta_snapshot_id meta_snapshot_id_of(const struct meta_image *image, int32_t epoch) {
  ASSERT(image != NULL && image->offset >= -1 && epoch >= 0);
  return (struct meta_snapshot_id){.end_offset = image->offset + 1, .epoch = epoch};
}

void meta_snapshot_name(struct meta_snapshot_id id, char *out, size_t cap) {
  ASSERT(id.end_offset >= 0 && id.epoch >= 0 && cap >= META_SNAPSHOT_NAME_BYTES);
  size_t n =
      str_fmt(out, cap, "%020lld-%010d%s", (long long)id.end_offset, (int)id.epoch, suffix);
  ASSERT(n == NAME_OFFSET_DIGITS + 1 + NAME_EPOCH_DIGITS + sizeof suffix - 1);
}

/* n decimal digits at s, into *v (no overflow: callers bound n). */
static bool digits(const char *s, int n, int64_t *v) {
  *v = 0;
  for (int i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return false;
    int d = s[i] - '0';
    if (*v > (INT64_MAX - d) / 10) return false;
    *v = *v * 10 + d;
  }
  return true;
}

bool meta_snapshot_parse_name(const char *name, struct meta_snapshot_id *id) {
  ASSERT(name != NULL && id != NULL);
  const size_t len = NAME_OFFSET_DIGITS + 1 + NAME_EPOCH_DIGITS + sizeof suffix - 1;
  if (strlen(name) != len || name[NAME_OFFSET_DIGITS] != '-' ||
      strcmp(name + NAME_OFFSET_DIGITS + 1 + NAME_EPOCH_DIGITS, suffix) != 0)
    return false;
  int64_t end_offset, epoch;
  if (!digits(name, NAME_OFFSET_DIGITS, &end_offset) ||
      !digits(name + NAME_OFFSET_DIGITS + 1, NAME_EPOCH_DIGITS, &epoch) || epoch > INT32_MAX)
    return false;
  id->end_offset = end_offset;
  id->epoch = (int32_t)epoch;
  return true;
}

/* ---- the records of an image ---- */

struct emitter {
  struct meta_delta *out;
  int64_t next;
};

static struct meta_record *emit(struct emitter *e, enum meta_record_type type) {
  struct meta_record *r = meta_delta_add(e->out, type, e->next++);
  ASSERT(r != NULL); /* an image's records fit a delta's bound */
  return r;
}

static void emit_feature(struct emitter *e, const struct meta_feature *f) {
  struct meta_record *r = emit(e, META_FEATURE_LEVEL_RECORD);
  str_fmt(r->feature_level.name, sizeof r->feature_level.name, "%s", f->name);
  r->feature_level.feature_level = f->level;
}

static void emit_broker(struct emitter *e, const struct meta_broker *b) {
  struct meta_register_broker_record *r =
      &emit(e, META_REGISTER_BROKER_RECORD)->register_broker;
  r->broker_id = b->id;
  r->incarnation_id = b->incarnation_id;
  r->broker_epoch = b->epoch;
  str_fmt(r->listener, sizeof r->listener, "%s", b->listener);
  str_fmt(r->host, sizeof r->host, "%s", b->host);
  r->port = b->port;
  str_fmt(r->rack, sizeof r->rack, "%s", b->rack);
  r->fenced = b->fenced;
}

static void emit_topic(struct emitter *e, const struct meta_topic *t) {
  struct meta_record *r = emit(e, META_TOPIC_RECORD);
  str_fmt(r->topic.name, sizeof r->topic.name, "%s", t->name);
  r->topic.topic_id = t->id;
  for (int32_t i = 0; i < t->partition_count; i++) {
    const struct meta_partition *p = &t->partitions[i];
    ASSERT(p->partition_id == i);
    struct meta_partition_record *pr = &emit(e, META_PARTITION_RECORD)->partition;
    pr->partition_id = p->partition_id;
    pr->topic_id = t->id;
    pr->replica_count = p->replica_count;
    memcpy(pr->replicas, p->replicas, sizeof pr->replicas);
    pr->isr_count = p->isr_count;
    memcpy(pr->isr, p->isr, sizeof pr->isr);
    pr->leader = p->leader;
    pr->leader_epoch = p->leader_epoch;
    pr->partition_epoch = p->partition_epoch;
    pr->removing_count = p->removing_count;
    memcpy(pr->removing, p->removing, sizeof pr->removing);
    pr->adding_count = p->adding_count;
    memcpy(pr->adding, p->adding, sizeof pr->adding);
    pr->elr_count = p->elr_count;
    memcpy(pr->elr, p->elr, sizeof pr->elr);
    pr->last_known_elr_count = p->last_known_elr_count;
    memcpy(pr->last_known_elr, p->last_known_elr, sizeof pr->last_known_elr);
  }
}

static void emit_configs(struct emitter *e, const struct meta_topic *t) {
  for (int32_t i = 0; i < t->config_count; i++) {
    struct meta_config_record *c = &emit(e, META_CONFIG_RECORD)->config;
    c->resource_type = META_RESOURCE_TOPIC;
    str_fmt(c->resource_name, sizeof c->resource_name, "%s", t->name);
    str_fmt(c->name, sizeof c->name, "%s", t->configs[i].name);
    str_fmt(c->value, sizeof c->value, "%s", t->configs[i].value);
  }
}

void meta_snapshot_records(const struct meta_image *image, int64_t first_offset,
                           struct meta_delta *out) {
  ASSERT(image != NULL && out != NULL && first_offset >= 0);
  struct emitter e = {.out = out, .next = first_offset};
  for (int32_t i = 0; i < image->feature_count; i++) {
    if (strcmp(image->features[i].name, metadata_version) == 0)
      emit_feature(&e, &image->features[i]);
  }
  for (int32_t i = 0; i < image->feature_count; i++) {
    if (strcmp(image->features[i].name, metadata_version) != 0)
      emit_feature(&e, &image->features[i]);
  }
  for (int32_t i = 0; i < image->broker_count; i++) emit_broker(&e, &image->brokers[i]);
  for (int32_t i = 0; i < image->topic_count; i++) emit_topic(&e, image->topics_by_name[i]);
  for (int32_t i = 0; i < image->topic_count; i++) emit_configs(&e, image->topics_by_name[i]);
  for (int32_t i = 0; i < image->broker_config_count; i++) {
    const struct meta_broker_config *b = &image->broker_configs[i];
    struct meta_config_record *c = &emit(&e, META_CONFIG_RECORD)->config;
    c->resource_type = META_RESOURCE_BROKER;
    str_fmt(c->resource_name, sizeof c->resource_name, "%s", b->resource_name);
    str_fmt(c->name, sizeof c->name, "%s", b->name);
    str_fmt(c->value, sizeof c->value, "%s", b->value);
  }
  if (image->next_producer_id > 0) { /* no broker asked for this block: the image's */
    struct meta_producer_ids_record *p = &emit(&e, META_PRODUCER_IDS_RECORD)->producer_ids;
    p->broker_id = -1;
    p->broker_epoch = -1;
    p->next_producer_id = image->next_producer_id;
  }
}

/* ---- writing ---- */

static int write_control(struct buf *out, const struct meta_snapshot_opts *opts, int64_t offset,
                         enum meta_control_type type) {
  struct meta_control_record c;
  memset(&c, 0, sizeof c);
  c.type = type;
  c.offset = offset;
  c.last_contained_log_timestamp = opts->last_contained_log_timestamp;
  return meta_control_batch_write(out, offset, opts->epoch, opts->timestamp_ms, &c, 1);
}

/* The records in data batches of about batch_bytes each. */
static int write_records(struct buf *out, const struct meta_snapshot_opts *opts,
                         const struct meta_delta *d) {
  size_t batch_bytes = opts->batch_bytes ? opts->batch_bytes : META_SNAPSHOT_BATCH_BYTES;
  struct buf one;
  buf_init(&one);
  int rc = 0;
  int32_t start = 0;
  size_t bytes = 0;
  for (int32_t i = 0; i < d->count && rc == 0; i++) {
    buf_reset(&one);
    meta_record_encode(&d->records[i], &one);
    bytes += one.len;
    if (bytes >= batch_bytes || i == d->count - 1) {
      rc = meta_batch_write(out, d->records[start].offset, opts->epoch, opts->timestamp_ms,
                            &d->records[start], i - start + 1);
      start = i + 1;
      bytes = 0;
    }
  }
  buf_free(&one);
  return rc;
}

int meta_snapshot_write(const struct meta_image *image, const struct meta_snapshot_opts *opts,
                        struct buf *out) {
  ASSERT(image != NULL && opts != NULL && out != NULL && opts->epoch >= 0);
  size_t start = out->len;
  struct meta_delta d;
  meta_delta_init(&d);
  meta_snapshot_records(image, 1, &d); /* the header is at offset 0 */
  int rc = write_control(out, opts, 0, META_CONTROL_SNAPSHOT_HEADER);
  if (rc == 0) rc = write_records(out, opts, &d);
  if (rc == 0)
    rc = write_control(out, opts, (int64_t)d.count + 1, META_CONTROL_SNAPSHOT_FOOTER);
  meta_delta_free(&d);
  if (rc != 0) out->len = start;
  return rc;
}

/* ---- reading ---- */

/* Where a snapshot's reader is. */
struct reader {
  int64_t next_offset;
  bool header;
  bool footer;
  int64_t last_contained_log_timestamp;
};

/* The control records of one batch, in order. */
static int read_controls(struct reader *rd, const struct meta_controls *controls,
                         int32_t from) {
  for (int32_t i = from; i < controls->count; i++) {
    const struct meta_control_record *c = &controls->items[i];
    if (rd->footer) return META_CODEC_ESNAPSHOT; /* the footer is last */
    switch (c->type) {
    case META_CONTROL_SNAPSHOT_HEADER:
      if (rd->header || c->offset != 0) return META_CODEC_ESNAPSHOT;
      rd->header = true;
      rd->last_contained_log_timestamp = c->last_contained_log_timestamp;
      break;
    case META_CONTROL_SNAPSHOT_FOOTER:
      rd->footer = true;
      break;
    case META_CONTROL_KRAFT_VERSION:
    case META_CONTROL_VOTERS:
      break; /* the quorum's (kraft.version >= 1 writes them after the header) */
    case META_CONTROL_LEADER_CHANGE:
      return META_CODEC_ESNAPSHOT; /* a log's, never a snapshot's */
    }
  }
  return 0;
}

static int read_batches(const uint8_t *p, size_t len, struct meta_delta *d,
                        struct meta_snapshot_info *info, struct reader *rd) {
  struct meta_controls controls;
  meta_controls_init(&controls);
  int rc = 0;
  size_t pos = 0;
  while (pos < len && rc == 0) {
    if (rd->footer) {
      rc = META_CODEC_ESNAPSHOT; /* bytes after the footer */
      break;
    }
    struct meta_batch b;
    int32_t controls_before = controls.count;
    rc = meta_batch_read(p + pos, len - pos, &b, d, &controls);
    if (rc != 0) break;
    if (b.h.base_offset != rd->next_offset || (!rd->header && !b.control)) {
      rc = META_CODEC_ESNAPSHOT; /* offsets from 0 without a gap, the header first */
      break;
    }
    rd->next_offset = rb_header_last_offset(&b.h) + 1;
    if (b.control) rc = read_controls(rd, &controls, controls_before);
    info->batch_count++;
    pos += b.size;
  }
  meta_controls_free(&controls);
  if (rc == 0 && (!rd->header || !rd->footer)) rc = META_CODEC_ESNAPSHOT;
  return rc;
}

int meta_snapshot_read(const uint8_t *p, size_t len, struct meta_snapshot_id id,
                       const char *cluster_id, struct meta_image **out,
                       struct meta_snapshot_info *info) {
  ASSERT(cluster_id != NULL && out != NULL && (p != NULL || len == 0));
  struct meta_snapshot_info unused;
  if (!info) info = &unused;
  memset(info, 0, sizeof *info);
  if (id.end_offset < 0 || id.epoch < 0) return META_CODEC_ESNAPSHOT;
  struct meta_delta d;
  meta_delta_init(&d);
  struct reader rd = {.next_offset = 0};
  int rc = read_batches(p, len, &d, info, &rd);
  if (rc == 0) {
    struct meta_image *empty = meta_image_empty(cluster_id);
    struct meta_image *image = NULL;
    rc = meta_image_build(empty, &d, &image);
    meta_image_unref(empty);
    if (rc == 0) {
      /* Ours alone until returned: it takes the snapshot's place in the log. */
      ASSERT(image->refs == 1);
      image->offset = id.end_offset - 1;
      *out = image;
      info->record_count = d.count;
      info->last_contained_log_timestamp = rd.last_contained_log_timestamp;
    }
  }
  meta_delta_free(&d);
  return rc;
}

/* ---- files ---- */

static bool snapshot_path(const char *dir, struct meta_snapshot_id id, char *path) {
  char name[META_SNAPSHOT_NAME_BYTES];
  meta_snapshot_name(id, name, sizeof name);
  return str_fmt(path, PATH_BYTES, "%s/%s", dir, name) < PATH_BYTES;
}

int meta_snapshot_save(struct env *env, const char *dir, const struct meta_image *image,
                       const struct meta_snapshot_opts *opts, env_fsync_fn done, void *ctx) {
  ASSERT(env != NULL && dir != NULL && image != NULL && opts != NULL);
  char path[PATH_BYTES];
  if (!snapshot_path(dir, meta_snapshot_id_of(image, opts->epoch), path)) return ENV_EINVAL;
  struct buf bytes;
  buf_init(&bytes);
  int rc = meta_snapshot_write(image, opts, &bytes);
  if (rc == 0) rc = atomic_file_write(env, path, bytes.data, bytes.len, done, ctx);
  buf_free(&bytes);
  return rc;
}

int meta_snapshot_load(struct env *env, const char *dir, struct meta_snapshot_id id,
                       const char *cluster_id, struct meta_image **out,
                       struct meta_snapshot_info *info) {
  ASSERT(env != NULL && dir != NULL);
  char path[PATH_BYTES];
  if (!snapshot_path(dir, id, path)) return ENV_EINVAL;
  struct buf bytes;
  buf_init(&bytes);
  int rc = atomic_file_read(env, path, &bytes);
  if (rc == 0) rc = meta_snapshot_read(bytes.data, bytes.len, id, cluster_id, out, info);
  buf_free(&bytes);
  return rc;
}
