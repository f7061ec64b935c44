/* The controller seam: how the server asks for metadata to change, and how
 * it hears about every change that happened.
 *
 *   handler --create_topics()--> controller --records--> image --publish()--> server
 *      ^                                                                         |
 *      +------------------------- done(results) ---------------------------------+
 *
 * The server never changes metadata itself. A handler that wants a change
 * (CreateTopics, CreatePartitions, DeleteTopics, Metadata's auto-create)
 * calls the controller and answers its client from `done`. The controller
 * validates the request against its latest state, turns it into records
 * (meta/records.h), and a new image built from them reaches the server
 * through its meta_publisher, which makes local storage match.
 *
 * The contract, which every implementation keeps and callers rely on:
 *  - `done` runs exactly once per call, never inside the call itself (always
 *    from a later event), with one result per topic in the order asked.
 *  - When `done` reports a change, the image holding it has already been
 *    published to this node: the caller may read the result from the
 *    node's current image.
 *  - Calls are handled in the order they were made.
 *  - The inputs (arrays and the strings they point into) stay valid until
 *    `done` runs; requests keep them in their arena.
 *  - deadline_ns (env->now_ns time): an operation that has not started by
 *    then fails with REQUEST_TIMED_OUT and changes nothing, as KRaft's
 *    controller queue does; META_NO_DEADLINE waits as long as it takes.
 *  - close() answers every pending call with NOT_CONTROLLER (a retriable
 *    error) and every later call the same way; destroy() closes first.
 *
 * Implementations: controller_local.c, the single-node one (validate, build
 * the records, apply them on the next tick). The quorum issue (KIP-595,
 * KIP-631) adds a Raft-backed one behind this same vtable: it forwards the
 * call to the active controller, which appends the records to
 * __cluster_metadata; this node's metadata loader replays committed records
 * into images and publishes them; `done` runs once the local image has
 * reached the offset of the change. Callers do not change then. */
#ifndef SLUICE_META_CONTROLLER_H
#define SLUICE_META_CONTROLLER_H

#include <stdbool.h>
#include <stdint.h>

#include "meta/image.h"
#include "meta/records.h"

#define META_NO_DEADLINE UINT64_MAX

enum { META_ERROR_MESSAGE_BYTES = 256 };

/* A broker's replicas for one partition (CreateTopics / CreatePartitions
 * manual assignment). partition_index is CreateTopics' (-1 elsewhere). */
struct meta_assignment {
  int32_t partition_index;
  const int32_t *broker_ids;
  int32_t broker_count;
};

/* A config override; value.len < 0 is null. */
struct meta_config_entry {
  struct kstr name;
  struct kstr value;
};

struct meta_create_topic {
  struct kstr name;
  int32_t partition_count;    /* -1: num.partitions */
  int16_t replication_factor; /* -1: default.replication.factor */
  const struct meta_assignment *assignments;
  int32_t assignment_count; /* 0: place replicas automatically */
  const struct meta_config_entry *configs;
  int32_t config_count;
};

struct meta_create_partitions {
  struct kstr name;
  int32_t count; /* the new total */
  const struct meta_assignment *assignments;
  int32_t assignment_count; /* -1: place replicas automatically */
};

/* By id when by_id, else by name. */
struct meta_delete_topic {
  struct kstr name;
  struct kuuid id;
  bool by_id;
};

/* KIP-631 BrokerRegistration: the endpoint clients are told about. */
struct meta_broker_registration {
  int32_t broker_id;
  struct kuuid incarnation_id;
  char listener[META_LISTENER_NAME_BYTES];
  char host[META_HOST_BYTES];
  uint16_t port;
  char rack[META_RACK_BYTES]; /* "" for none */
  /* KIP-966: the epoch of its last clean shutdown, -1 if it did not shut
   * down cleanly (or never ran). */
  int64_t previous_broker_epoch;
};

struct meta_topic_result {
  int16_t error_code;                           /* KERR_* */
  char error_message[META_ERROR_MESSAGE_BYTES]; /* "" for null */
  char name[META_TOPIC_NAME_BYTES];             /* the topic's name, if known */
  struct kuuid topic_id;                        /* zero unless it exists (or was created) */
  int32_t partition_count;
  int16_t replication_factor;
};

/* results[count] live only during the call. */
typedef void (*meta_topics_done_fn)(void *ctx, const struct meta_topic_result *results,
                                    int32_t count);
typedef void (*meta_done_fn)(void *ctx, int16_t error_code);
/* A block of producer ids [first_id, first_id + count), or an error. */
typedef void (*meta_producer_ids_fn)(void *ctx, int16_t error_code, int64_t first_id,
                                     int32_t count);

struct meta_controller;

struct meta_controller_ops {
  void (*register_broker)(struct meta_controller *ctl,
                          const struct meta_broker_registration *registration,
                          meta_done_fn done, void *ctx);
  /* Auto-creation (Metadata, KIP-590's AutoTopicCreationManager) is this
   * call with partition_count and replication_factor -1 and no configs. */
  void (*create_topics)(struct meta_controller *ctl, const struct meta_create_topic *topics,
                        int32_t count, bool validate_only, uint64_t deadline_ns,
                        meta_topics_done_fn done, void *ctx);
  void (*create_partitions)(struct meta_controller *ctl,
                            const struct meta_create_partitions *topics, int32_t count,
                            bool validate_only, uint64_t deadline_ns, meta_topics_done_fn done,
                            void *ctx);
  void (*delete_topics)(struct meta_controller *ctl, const struct meta_delete_topic *topics,
                        int32_t count, uint64_t deadline_ns, meta_topics_done_fn done,
                        void *ctx);
  /* KIP-730 AllocateProducerIds: the next block of producer ids for
   * broker_id (broker_epoch -1: not checked), as a ProducerIdsRecord; done
   * runs once the record is committed (for the local controller: durable
   * on this node's disk), so no id is ever handed out twice, across
   * restarts too. NULL in a controller that cannot yet: InitProducerId
   * answers COORDINATOR_NOT_AVAILABLE. */
  void (*allocate_producer_ids)(struct meta_controller *ctl, int32_t broker_id,
                                int64_t broker_epoch, meta_producer_ids_fn done, void *ctx);
  void (*close)(struct meta_controller *ctl);
  void (*destroy)(struct meta_controller *ctl);
};

struct meta_controller {
  const struct meta_controller_ops *ops;
};

/* Runs once what a publish wrote to storage is durable (err 0), or failed. */
typedef void (*meta_landed_fn)(void *arg, int err);

/* What the server gives the image builder: publish() runs with each new
 * image (one reference lent for the call: take your own to keep it) and the
 * delta it was built with, makes local storage match, and calls
 * landed(arg, err) once what it wrote is durable (inside publish() when it
 * wrote nothing). Until __cluster_metadata exists those files are where a
 * change is committed, so the local controller answers only then. The
 * first image (what storage held at start) comes with every record; an
 * error returned for it stops the node from starting. Later errors are the
 * server's to retry: the image stands. */
struct meta_publisher {
  void *ctx;
  int (*publish)(void *ctx, struct meta_image *image, const struct meta_delta *delta,
                 meta_landed_fn landed, void *arg);
};

#endif
