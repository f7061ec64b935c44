/* Admin calls the simulator's scenarios need: create a topic. */
#ifndef SLUICE_ADMIN_H
#define SLUICE_ADMIN_H

#include "net/kconn.h"

/* done(ctx, error): the topic's CreateTopics result (TOPIC_ALREADY_EXISTS
 * counts as done), or a negative ENV_E* when the connection failed. */
int kadmin_create_topic(struct kconn *conn, const char *name, int32_t partitions,
                        int16_t replication_factor, void (*done)(void *ctx, int error),
                        void *ctx);

#endif
