/* The metadata subsystem: the controller behind the seam in
 * meta/controller.h (today the single-node one) and the image it publishes
 * to the server (topics.c). */
#include "base/assert.h"
#include "meta/controller_local.h"
#include "server/server.h"
#include "server/subsystem.h"

/* The metadata: the local controller reads the first image back from
 * log.dirs and publishes it to topics.c, which opens (and recovers) every
 * log; later images come the same way (meta/controller.h). */
static int metadata_init(struct node *node) {
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
    .start = NULL, /* the controller runs as calls come */
    .shutdown = metadata_shutdown,
    .free = metadata_free,
};
