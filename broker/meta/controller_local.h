/* The single-node controller: this node is the whole quorum. Calls queue up
 * and run, in order, on the next tick (a timer of zero delay), each against
 * the image the previous one left: validate, build the records, build the
 * next image, publish it, answer. Nothing is written here: the publisher
 * (the server's local log manager) makes storage match each image, and at
 * start the first image is read back from that storage (meta/bootstrap.h). */
#ifndef SLUICE_META_CONTROLLER_LOCAL_H
#define SLUICE_META_CONTROLLER_LOCAL_H

#include "env.h"
#include "meta/controller.h"
#include "server/config.h"

/* Builds the first image from log.dirs and publishes it (an error from the
 * publisher, such as a partition that cannot be recovered, is returned and
 * nothing is left behind). `cfg` is copied; the publisher is kept. */
int meta_controller_local_create(struct env *env, const struct config *cfg,
                                 const char *cluster_id, const struct meta_publisher *publisher,
                                 struct meta_controller **out);

#endif
