/* The metadata subsystem: the controller behind the seam in
 * meta/controller.h and the image it publishes to the server (topics.c).
 * With controller.quorum.voters set (KRaft mode) the image comes from the
 * metadata log (metadata_loader.h) and changes go through the Raft-backed
 * controller (controller_quorum.h); without, this node is the whole cluster
 * and the single-node controller (meta/controller_local.h) reads its first
 * image back from log.dirs. */
#include "base/assert.h"
#include "meta/controller_local.h"
#include "server/controller_quorum.h"
#include "server/metadata_loader.h"
#include "server/raft_node.h"
#include "server/server.h"
#include "server/subsystem.h"

/* KRaft mode: the empty image first (the log fills it as it commits), and
 * the controller that proposes to the log or forwards to whoever does. */
static int metadata_init_quorum(struct node *node) {
  int rc = metadata_loader_create(node, &node->loader);
  if (rc == 0) rc = controller_quorum_create(node, &node->controller);
  return rc;
}

/* KIP-630: the loader is the metadata log's state machine. Snapshots
 * (raft_snapshot.c) are images the loader applied; a snapshot read at start
 * or installed from the leader becomes the loader's base. */
static struct meta_image *fsm_applied_image(void *ctx) {
  return metadata_loader_image((struct node *)ctx);
}

static void fsm_restore(void *ctx, struct meta_image *image) {
  metadata_loader_set_base((struct node *)ctx, image);
}

/* After every init: the Raft subsystem (initialised after this one) has
 * read its snapshot, which the fsm receives now. A state machine set
 * before start stays: a test's, wrapping this loader to watch its restores. */
static int metadata_start(struct node *node) {
  if (node->loader == NULL || node->raft == NULL || raft_node_has_fsm(node)) return 0;
  struct raft_node_fsm fsm = {node, fsm_applied_image, fsm_restore};
  raft_node_set_fsm(node, &fsm);
  return 0;
}

/* The metadata: the local controller reads the first image back from
 * log.dirs and publishes it to topics.c, which opens (and recovers) every
 * log; later images come the same way (meta/controller.h). */
static int metadata_init(struct node *node) {
  if (node->cfg.voter_count > 0) return metadata_init_quorum(node);
  struct meta_publisher publisher = {.ctx = node, .publish = topics_publish};
  int rc = meta_controller_local_create(node->env, &node->cfg, node->cluster_id, &publisher,
                                        &node->controller);
  ASSERT(rc != 0 || (node->controller != NULL && node->image != NULL));
  return rc;
}

/* Destroying the controller answers what still waits on it (those
 * requests' connections are still open: the server is freed after this). */
static void metadata_free(struct node *node) {
  if (node->controller) node->controller->ops->destroy(node->controller);
  node->controller = NULL;
  metadata_loader_free(node->loader);
  node->loader = NULL;
  if (node->image) meta_image_unref(node->image);
  node->image = NULL;
}

/* Anything still pending is answered NOT_CONTROLLER, a retriable error. */
static void metadata_shutdown(struct node *node) {
  ASSERT(node->controller != NULL && node->shutting_down);
  node->controller->ops->close(node->controller);
  node_subsystem_stopped(node);
}

const struct subsystem subsystem_metadata = {
    .name = "metadata",
    .init = metadata_init,
    .start = metadata_start, /* the controller runs as calls come */
    .shutdown = metadata_shutdown,
    .free = metadata_free,
};
