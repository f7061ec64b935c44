/* The metadata loader (metadata_loader.h). */
#include "server/metadata_loader.h"

#include <stdlib.h>

#include "base/assert.h"
#include "base/endian.h"
#include "meta/codec.h"
#include "meta/snapshot.h"
#include "server/controller_quorum.h"
#include "server/raft_node.h"
#include "server/server.h"

enum {
  LOADER_ROUNDS_MAX = 64, /* re-entries (a proposal that commits at once) per call */
};

/* A publish whose writes have not landed yet; the oldest first. */
struct landing {
  struct landing *next;
  struct metadata_loader *l; /* NULL once the loader is gone */
  int64_t offset;
  bool landed;
};

struct metadata_loader {
  struct node *node;
  /* Publishes in flight, and the offset up to which every one landed. */
  struct landing *landing_head, *landing_tail;
  int32_t landing_count;
  int64_t landed_offset;
  struct meta_image *image; /* the last published; one reference */
  /* The first entry not read yet: past the image's offset while a
   * transaction is open (its records wait in txn, the image does not move
   * into it). */
  int64_t next_offset;
  /* KIP-868: the records of the transaction open at next_offset, and the
   * offset of its BeginTransactionRecord (-1: none open). */
  struct meta_delta txn;
  int64_t txn_begin;
  int32_t leader_epoch, leader_id; /* the last LeaderChange read */
  /* At start (a restart), nothing is published until the log this node
   * holds is read up to the high watermark: the snapshot restored, if any
   * (its records kept), and the log above it go out in one publish, as
   * Kafka's loader publishes only once caught up. Published step by step,
   * a topic the log deletes and creates again under the same name would
   * have its directory (the new topic's, on disk) deleted. */
  bool deferred;
  struct meta_delta deferred_records;
  /* The local log's end when the core started: the replay is
   * caught up once the high watermark, learnt from the leader, reaches it
   * (or the log's end, if the leader cut a divergent tail); -1 until the
   * core runs. */
  int64_t replay_end;
  bool busy, again;
};

static struct metadata_loader *loader_of(const struct node *node) {
  ASSERT(node != NULL && node->loader != NULL);
  struct metadata_loader *l = node->loader;
  ASSERT(l->image != NULL && l->next_offset > l->image->offset);
  return l;
}

static void landed_nothing(void *arg, int err) {
  (void)arg, (void)err; /* the first image: storage already held it */
}

/* The oldest publishes that landed move landed_offset; the controller
 * answers a change once its files are written too (partition.metadata,
 * topic configs), as the local controller does. A storage error is the
 * server's to retry (topics.c): the change is committed in the log. */
static void publish_landed(void *arg, int err) {
  struct landing *g = arg;
  struct metadata_loader *l = g->l;
  g->landed = true;
  if (l == NULL) {
    free(g);
    return;
  }
  if (err != 0)
    env_log(l->node->env, ENV_LOG_ERROR, "metadata offset %lld: storing it failed (error %d)",
            (long long)g->offset, err);
  bool moved = false;
  while (l->landing_head && l->landing_head->landed) {
    struct landing *done = l->landing_head;
    l->landing_head = done->next;
    if (!l->landing_head) l->landing_tail = NULL;
    l->landing_count--;
    l->landed_offset = done->offset;
    free(done);
    moved = true;
  }
  if (moved && l->node->controller && !l->busy) controller_quorum_changed(l->node->controller);
}

/* The image moves on; a publisher error is the server's to retry. A
 * deferred snapshot image may be published as it stands (next == l->image:
 * no new reference). */
static void publish(struct metadata_loader *l, struct meta_image *next,
                    const struct meta_delta *delta) {
  ASSERT(next->offset > l->image->offset || (l->deferred && next == l->image));
  ASSERT(l->txn_begin < 0 || next->offset < l->txn_begin); /* never inside a transaction */
  if (next != l->image) {
    meta_image_unref(l->image);
    l->image = next; /* the reference built for us */
  }
  l->deferred = false;
  struct landing *g = calloc(1, sizeof *g);
  ASSERT(g != NULL);
  *g = (struct landing){.l = l, .offset = next->offset};
  if (l->landing_tail)
    l->landing_tail->next = g;
  else
    l->landing_head = g;
  l->landing_tail = g;
  l->landing_count++;
  (void)topics_publish(l->node, next, delta, publish_landed, g); /* may land at once */
  broker_lifecycle_published(l->node);
}

static void txn_drop(struct metadata_loader *l, const char *why) {
  if (l->txn_begin < 0) return;
  env_log(l->node->env, ENV_LOG_WARN,
          "metadata: the transaction begun at offset %lld is dropped (%s)",
          (long long)l->txn_begin, why);
  meta_delta_truncate(&l->txn, 0);
  l->txn_begin = -1;
}

static void noop_at(struct meta_delta *out, int64_t offset) {
  struct meta_record *r = meta_delta_add(out, META_NO_OP_RECORD, offset);
  ASSERT(r != NULL);
}

/* One committed data entry into out (or the open transaction). A record
 * that does not decode is skipped, the same way on every node. */
static void read_data(struct metadata_loader *l, const struct raft_entry *e, int64_t offset,
                      struct meta_delta *out) {
  struct meta_record rec;
  int rc = meta_record_decode(e->payload, e->size, offset, &rec);
  if (rc != 0) {
    env_log(l->node->env, ENV_LOG_ERROR, "metadata: the record at offset %lld is skipped: %s",
            (long long)offset, meta_codec_strerror(rc));
    noop_at(l->txn_begin >= 0 ? &l->txn : out, offset);
    return;
  }
  switch (rec.type) {
  case META_BEGIN_TRANSACTION_RECORD:
    /* The marker waits with the transaction: the image (and so a snapshot
     * taken of it) never ends inside one, else a node that installs that
     * snapshot would apply the rest record by record (a broker fenced while
     * it still leads). */
    txn_drop(l, "a new one begins");
    l->txn_begin = offset;
    noop_at(&l->txn, offset);
    return;
  case META_ABORT_TRANSACTION_RECORD:
    txn_drop(l, "aborted");
    noop_at(out, offset);
    return;
  case META_END_TRANSACTION_RECORD:
    for (int32_t i = 0; i < l->txn.count; i++)
      *meta_delta_add(out, l->txn.records[i].type, l->txn.records[i].offset) =
          l->txn.records[i];
    meta_delta_truncate(&l->txn, 0);
    l->txn_begin = -1;
    noop_at(out, offset);
    return;
  default:
    break;
  }
  struct meta_record *slot =
      meta_delta_add(l->txn_begin >= 0 ? &l->txn : out, rec.type, rec.offset);
  ASSERT(slot != NULL);
  *slot = rec;
}

/* The committed entries [next, hw) as one delta; records of a transaction
 * still open at the end are kept for the next call. */
static void read_committed(struct metadata_loader *l, const struct raft *core,
                           struct meta_delta *out) {
  int64_t hw = raft_high_watermark(core);
  int64_t from = l->next_offset;
  if (from < raft_log_start_offset(core)) {
    env_log(l->node->env, ENV_LOG_ERROR,
            "metadata: entries from %lld are gone from the log (it starts at %lld): a "
            "snapshot must be loaded first",
            (long long)from, (long long)raft_log_start_offset(core));
    return;
  }
  int64_t o = from;
  for (; o < hw && o < from + RAFT_LOG_ENTRIES_MAX; o++) {
    const struct raft_entry *e = raft_entry_at(core, o);
    if (e->type == RAFT_ENTRY_LEADER_CHANGE) {
      /* KIP-868: a new epoch never finishes the last one's transaction. */
      txn_drop(l, "a new leader");
      l->leader_epoch = e->epoch;
      l->leader_id = e->size == 4 ? (int32_t)be32_get(e->payload) : -1;
      noop_at(out, o);
    } else {
      read_data(l, e, o, out);
    }
  }
  l->next_offset = o;
}

/* Applies delta record by record, skipping (as a NoOp) a record the image
 * refuses: every node skips the same ones. */
static struct meta_image *build_each(struct metadata_loader *l, struct meta_delta *delta) {
  struct meta_image *image = l->image;
  meta_image_ref(image);
  for (int32_t i = 0; i < delta->count; i++) {
    struct meta_delta one = {&delta->records[i], 1, 1};
    struct meta_image *next;
    int rc = meta_image_build(image, &one, &next);
    if (rc != 0) {
      env_log(l->node->env, ENV_LOG_ERROR,
              "metadata: the record at offset %lld (type %d) does not apply: error %d",
              (long long)delta->records[i].offset, (int)delta->records[i].type, rc);
      int64_t offset = delta->records[i].offset;
      delta->records[i] = (struct meta_record){.type = META_NO_OP_RECORD, .offset = offset};
      rc = meta_image_build(image, &one, &next);
      ASSERT(rc == 0);
    }
    meta_image_unref(image);
    image = next;
  }
  return image;
}

/* The deferred snapshot with what the log added to it, in one publish: the
 * publisher sees the snapshot's records, then the log's. */
static void publish_deferred(struct metadata_loader *l, struct meta_image *next,
                             const struct meta_delta *delta) {
  if (next->offset <= l->node->image->offset) { /* an empty log: nothing to publish */
    ASSERT(next == l->image && delta->count == 0);
    l->deferred = false;
    return;
  }
  struct meta_delta *all = &l->deferred_records;
  for (int32_t i = 0; i < delta->count; i++) {
    struct meta_record *r =
        meta_delta_add(all, delta->records[i].type, delta->records[i].offset);
    ASSERT(r != NULL);
    *r = delta->records[i];
  }
  env_log(l->node->env, ENV_LOG_INFO,
          "metadata: caught up at offset %lld: publishing the snapshot with %d records of the "
          "log",
          (long long)next->offset, delta->count);
  publish(l, next, all);
  meta_delta_truncate(all, 0);
}

static void load(struct metadata_loader *l) {
  const struct raft *core = raft_node_core(l->node);
  if (core == NULL) return;
  int64_t hw = raft_high_watermark(core);
  if (hw < l->next_offset || (hw == l->next_offset && !l->deferred)) return;
  struct meta_delta delta;
  meta_delta_init(&delta);
  if (hw > l->next_offset) read_committed(l, core, &delta);
  struct meta_image *next = l->image;
  if (delta.count > 0 && meta_image_build(l->image, &delta, &next) != 0)
    next = build_each(l, &delta);
  /* Deferred: published once the log is read up to the high watermark (a
   * round that stops short of it, bounded by the in-memory log, waits). */
  if (l->deferred && (l->replay_end < 0 || raft_end_offset(core) < l->replay_end))
    l->replay_end = raft_end_offset(core);
  if (l->deferred && l->next_offset >= hw && hw >= l->replay_end)
    publish_deferred(l, next, &delta);
  else if (l->deferred && next != l->image)
    meta_image_unref(l->image), l->image = next;
  else if (!l->deferred && delta.count > 0)
    publish(l, next, &delta);
  meta_delta_free(&delta);
}

void metadata_raft_changed(struct node *node) {
  if (node->loader == NULL) return;
  struct metadata_loader *l = loader_of(node);
  if (l->busy) { /* a proposal made from below committed at once */
    l->again = true;
    return;
  }
  l->busy = true;
  int rounds = 0;
  do {
    l->again = false;
    load(l);
    if (node->controller) controller_quorum_changed(node->controller);
  } while (l->again && ++rounds < LOADER_ROUNDS_MAX);
  l->busy = false;
}

int metadata_loader_create(struct node *node, struct metadata_loader **out) {
  ASSERT(node != NULL && out != NULL && node->image == NULL);
  struct metadata_loader *l = calloc(1, sizeof *l);
  ASSERT(l != NULL);
  l->node = node;
  l->image = meta_image_empty(node->cluster_id);
  l->next_offset = 0;
  l->txn_begin = -1;
  l->leader_epoch = l->leader_id = -1;
  l->landed_offset = -1;
  l->deferred = true; /* a restart replays its log before publishing */
  l->replay_end = -1;
  meta_delta_init(&l->txn);
  meta_delta_init(&l->deferred_records);
  struct meta_delta none;
  meta_delta_init(&none);
  int rc = topics_publish(node, l->image, &none, landed_nothing, NULL);
  meta_delta_free(&none);
  if (rc != 0) {
    metadata_loader_free(l);
    return rc;
  }
  *out = l;
  return 0;
}

void metadata_loader_free(struct metadata_loader *l) {
  if (l == NULL) return;
  for (int32_t n = l->landing_count; n > 0; n--) { /* landings still to come free theirs */
    struct landing *g = l->landing_head;
    l->landing_head = g->next;
    if (g->landed)
      free(g);
    else
      g->l = NULL;
  }
  meta_image_unref(l->image);
  meta_delta_free(&l->txn);
  meta_delta_free(&l->deferred_records);
  free(l);
}

void metadata_loader_set_base(struct node *node, struct meta_image *image) {
  struct metadata_loader *l = loader_of(node);
  ASSERT(image != NULL);
  if (image->offset <= l->image->offset) return;
  txn_drop(l, "a snapshot replaces the image");
  struct meta_delta delta;
  meta_delta_init(&delta);
  meta_snapshot_records(image, 0, &delta); /* what the publisher follows: topics, configs */
  meta_image_ref(image);
  l->next_offset = image->offset + 1;
  if (l->deferred || l->node->image->offset < 0) {
    /* Nothing published yet (a restart): wait for the log (see deferred). */
    meta_delta_truncate(&l->deferred_records, 0);
    for (int32_t i = 0; i < delta.count; i++)
      *meta_delta_add(&l->deferred_records, delta.records[i].type, delta.records[i].offset) =
          delta.records[i];
    meta_image_unref(l->image);
    l->image = image;
    l->deferred = true;
    const struct raft *core = raft_node_core(l->node);
    l->replay_end = core ? raft_end_offset(core) : -1; /* -1: read at the first load */
    metadata_raft_changed(l->node); /* published at once if the log is there already */
  } else {
    publish(l, image, &delta);
  }
  meta_delta_free(&delta);
}

struct meta_image *metadata_loader_image(const struct node *node) {
  struct metadata_loader *l = loader_of(node);
  return l->image->offset >= 0 ? l->image : NULL;
}

int64_t metadata_loader_offset(const struct node *node) {
  return loader_of(node)->image->offset;
}

int64_t metadata_loader_landed_offset(const struct node *node) {
  return loader_of(node)->landed_offset;
}

void metadata_loader_leader(const struct node *node, int32_t *epoch, int32_t *leader_id) {
  const struct metadata_loader *l = loader_of(node);
  *epoch = l->leader_epoch;
  *leader_id = l->leader_id;
}
