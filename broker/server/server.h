/* The server layer's shared state: the node, its topics and partitions, its
 * client connections and the requests in flight. Private to broker/server/. */
#ifndef SLUICE_SERVER_H
#define SLUICE_SERVER_H

#include "base/arena.h"
#include "base/join.h"
#include "env.h"
#include "log/log.h"
#include "log/segment_cache.h"
#include "meta/controller.h"
#include "net/dispatch.h"
#include "proto/wire.h"
#include "server/config.h"
#include "server/limits.h"
#include "server/metrics.h"
#include "server/node.h"
#include "server/producer_ids.h"
#include "server/purgatory.h"
#include "server/topic_config.h"

enum {
  TOPIC_NAME_BYTES_MAX = 249,
  PARTITIONS_MAX = META_PARTITIONS_MAX,
  TOPICS_MAX = META_TOPICS_MAX,
  CONN_QUEUED_FRAMES_MAX = 4096,
  FETCH_WAITERS_MAX = 65536,   /* parked requests; past it a fetch answers at once */
  CONN_READY_DRAIN_MAX = 1024, /* connections resumed per drain of the ready list */
  CONN_OUTPUT_POLL_MS = 5,     /* how often a connection over its response budget is
                                  looked at again (env has no "drained" event) */
};

/* One partition of a topic as this node sees it. Every partition of the
 * image has one, whether or not this node holds a replica of it: `log` is
 * NULL when it does not (a client that asks gets NOT_LEADER_OR_FOLLOWER).
 * The image's leadership fields are copied at each publish (topics.c,
 * partition_follow_image), so the data path needs no second lookup; a
 * change of leader or leader epoch is a role change
 * (partition_role_changed). */
struct partition {
  struct topic *topic;
  int32_t index;
  struct plog *log;  /* NULL: no replica here */
  int32_t leader_id; /* -1: none */
  int32_t leader_epoch;
  int32_t partition_epoch;
  int32_t replica_count;
  int32_t isr_count;
  int32_t replicas[META_REPLICAS_MAX];
  int32_t isr[META_REPLICAS_MAX];
  struct watch_list watches; /* parked requests waiting on this partition */
  /* Role state (server/replication.h), each non-NULL only while this node
   * plays that role in the current leader epoch. */
  struct partition_leader *leader;
  struct replica_follower *follower;
};

struct topic {
  char name[TOPIC_NAME_BYTES_MAX + 1];
  size_t name_len; /* strlen(name): lookups by name compare lengths first */
  struct kuuid id;
  int32_t partition_count;
  struct partition *partitions; /* [partition_count] */
  struct topic_config config;
  struct metrics_topic traffic; /* client bytes in and out (server/metrics.h) */
};

struct request;
struct handler_table;
struct group_glue;

/* log_manager.c's state. */
struct log_manager {
  env_timer_id maintain_timer; /* rolls and retention */
  struct join checkpoints;     /* a round of both offset checkpoint files */
  bool checkpoints_again;      /* asked for while a round was in flight */
  struct join flushes;         /* the shutdown's fsync of every log */
  bool stopping;               /* shutdown: stopped once the checkpoints land */
  /* The open segments of every partition log (sluice.open.segments.max). */
  struct seg_cache segments;
  /* Shutdown flushes a window of logs at a time, so that the segments
   * their fsyncs pin open stay near the cache's limit: the next log. */
  int flush_topic;
  int32_t flush_partition;
  int flushes_in_flight;
  bool flush_starting;        /* flush_next is in its loop */
  bool flush_cursor_done;     /* every log's flush has started */
  env_timer_id cleaner_timer; /* the log cleaner's next step (log_manager.c) */
  char cleaning_topic[TOPIC_NAME_BYTES_MAX + 1]; /* the partition a pass is under way in */
  int32_t cleaning_partition;
};

/* broker_lifecycle.c's state (KIP-631). */
struct broker_lifecycle {
  int64_t broker_epoch; /* -1 until registered */
  /* KIP-966: the epoch of the last clean shutdown, from its marker
   * (clean_shutdown_take), -1 after a crash. */
  int64_t previous_broker_epoch;
  struct kuuid incarnation_id;
  env_timer_id timer; /* the next heartbeat, or registration retry */
  bool waiting;       /* a registration or heartbeat is with the controller */
  bool fenced;        /* as the controller last answered */
  bool roles_on;      /* partitions have taken their roles (broker_registered) */
  bool stopping;      /* controlled shutdown: until told to go, or the deadline */
  bool stopped;       /* reported stopped, or freed: answers are ignored */
  uint64_t stop_deadline_ns;
  struct watch_list ready_watches; /* Metadata requests waiting for broker_ready */
};

struct conn {
  env_conn_id id;
  uint32_t listener;
  const struct handler_table *table;       /* what its listener answers */
  bool closed;                             /* we closed it: run nothing more */
  bool pumping;                            /* in conn_pump: a finish returns to its loop */
  bool ready;                              /* on the node's ready list */
  struct conn *ready_prev, *ready_next;    /* the node's ready list */
  struct request *active;                  /* being handled; answers go out in order */
  struct request *queue_head, *queue_tail; /* received, not yet handled */
  int queue_count;
  bool read_paused;    /* we asked the world not to read it (env->read_pause) */
  bool output_waiting; /* its next request waits for its responses to drain */
};

/* One request from a client, from its frame to its response. */
struct request {
  struct node *node;
  env_conn_id conn_id;
  struct request *next;
  uint8_t *frame; /* owned */
  size_t frame_len;
  const struct handler_table *table; /* its connection's */
  int16_t api_key;
  int16_t api_version;
  int32_t correlation_id;
  struct kstr client_id;
  struct rd body; /* positioned after the request header */
  struct arena arena;
  uint64_t received_ns;
  bool budgeted; /* frame_len counts in node->request_bytes */
  /* Deferred work (long-poll fetch, produce waiting for fsync). */
  void *pending;
  /* Parked in the node's purgatory; cancelled if the connection goes. */
  struct waiter *waiter;
  /* Waits elsewhere (a group's join or sync phase): called, then the
   * request freed, if the connection goes first. */
  void (*cancel)(struct request *req);
};

struct node {
  struct env *env;
  /* The chunks of finished requests' arenas, for the next requests. */
  struct arena_pool arena_pool;
  struct config cfg;
  char cluster_id[64];
  struct log_config log_cfg;
  /* Metadata: the image handlers read (one reference held), the controller
   * that changes it (meta/controller.h), and the retry of local storage
   * that does not match it yet. */
  struct meta_image *image;
  struct meta_controller *controller;
  struct metadata_loader *loader; /* KRaft mode: images from the metadata log */
  env_timer_id storage_retry_timer;
  struct metrics metrics; /* what an operator watches (server/metrics.h) */
  /* Opening many partitions' logs goes in bounded slices (topics.c); the
   * publishes waiting for the rest, and the timer that runs the next. */
  struct topics_slices {
    env_timer_id timer;
    bool running;
    struct slice_chain *inflight; /* the last slice's files, until they land */
    struct publish_landing **holds;
    int32_t hold_count, hold_cap;
    int err; /* the first storage error of the run */
  } slices;
  struct topic **topics; /* sorted by name; the image's, in step with it */
  int topic_count;
  int topic_cap;
  /* The last topic topic_find_by_id found, with the image it looked in:
   * every Fetch from v13 names its topics by id, several times a request. */
  struct {
    int64_t image_offset;
    struct kuuid id;
    struct topic *topic; /* NULL: nothing remembered */
  } topic_by_id_last;
  /* The last topic partition_any found by name: a Produce and its acks=all
   * waits name the same topic over and over. NULL: nothing remembered. */
  struct topic *topic_by_name_last;
  struct conn **conns; /* sorted by id (ids only grow) */
  int conn_count;
  int conn_cap;
  /* The last connection conn_find found: a request looks its own up on
   * arrival, answer and finish. NULL: nothing remembered. */
  struct conn *conn_last;
  /* Freed requests kept for the next frames (linked by next, at most
   * REQUESTS_SPARE_MAX): a malloc and a free fewer per request. */
  struct request *requests_spare;
  int requests_spare_count;
  /* The buffers a response is encoded into, kept for the next one (empty
   * while a response holds them): a malloc, growth and free fewer each. */
  struct wr response_scratch;
  struct net_dispatch net; /* env's network handler: sessions and peer channels */
  uint32_t listener_ids[CONFIG_LISTENERS_MAX];
  const struct handler_table *listener_tables[CONFIG_LISTENERS_MAX];
  int listener_count;
  struct raft_node *raft; /* the Raft subsystem (raft_node.h); NULL without voters */
  struct log_manager logs;
  struct broker_lifecycle lifecycle;
  bool started;
  bool shutting_down;
  bool stopped;
  struct purgatory purgatory;                 /* long-polling fetches, by partition */
  struct fetch_session_cache *fetch_sessions; /* KIP-227 (fetch_session.h); NULL until used */
  struct producer_ids producer_ids;           /* InitProducerId's block of ids */
  /* replica_follower.c: one replica fetcher per leader broker; NULL when
   * this node follows no partition. */
  struct replica_fetchers *fetchers;
  struct group_glue *groups;  /* the group coordinator (group_coordinator.h) */
  struct limits_state limits; /* budgets on what requests create (limits.h) */
  /* Connections whose deferred request finished, oldest first; a zero-delay
   * timer drains them from the loop, never from inside a callback. */
  struct conn *ready_first, *ready_last;
  int ready_count;
  env_timer_id ready_timer;
  /* Budgets (conn.c, issue 13): bytes of request frames received and not
   * yet answered (queued.max.request.bytes), and the timer that looks
   * again at connections waiting for their responses to drain. */
  uint64_t request_bytes;
  env_timer_id output_timer;
  /* Shutdown progress: subsystems[shutdown_next] is stopping (node.c). */
  int shutdown_next;
  bool subsystem_stopping;
  void (*shutdown_done)(void *ctx);
  void *shutdown_ctx;
};

/* topics.c: local storage in step with the image */
struct topic *topic_find(const struct node *node, const char *name, size_t len);
/* topic_find, remembering its answer for the next lookup of the same name
 * (node->topic_by_name_last). */
struct topic *topic_find_remembered(struct node *node, const char *name, size_t len);
struct topic *topic_find_by_id(struct node *node, struct kuuid id);
/* A partition this node holds a replica of (its log is here), or NULL. */
struct partition *partition_find(struct node *node, struct kstr topic, int32_t index);
/* Any partition of a known topic, hosted here or not, or NULL. */
struct partition *partition_any(struct node *node, struct kstr topic, int32_t index);
bool partition_hosted(const struct partition *p);
/* This node leads the partition (and holds its log). */
bool partition_is_leader(const struct node *node, const struct partition *p);
/* topics.c calls it when a publish changed p's leader or leader epoch
 * (was_leader: this node led it before), after p's fields follow the new
 * image. Where leaders start tracking their followers and followers start
 * fetching (the replication issue). */
void partition_role_changed(struct node *node, struct partition *p, int32_t old_leader_id,
                            int32_t old_leader_epoch);
bool topic_name_valid(const char *name, size_t len);
int topic_delete(struct node *node, struct topic *t);
/* The controller's meta_publisher: makes local storage match each image. */
int topics_publish(void *node, struct meta_image *image, const struct meta_delta *delta,
                   meta_landed_fn landed, void *arg);
/* A topic's effective configs: its overrides in the image over our defaults. */
void topic_config_from_image(const struct node *node, const struct meta_topic *mt,
                             struct topic_config *out);
void topics_close_all(struct node *node);
/* What consumers may read: the leader's high watermark over the ISR, a
 * follower's from its leader (server/replication.h); without a role, the
 * local end of a sole replica, else the log start. */
int64_t partition_high_watermark(const struct partition *p);
/* What this replica alone holds for readers: its end offset, or in
 * fsync-before-ack mode what is on disk. */
int64_t partition_local_end(const struct partition *p);
bool partition_flushes_before_ack(const struct partition *p);
/* Starts a flush of the partition that nobody waits for (recovered data,
 * acks=0 produces in fsync-before-ack mode); its fetch waiters wake when
 * it completes. */
void partition_flush_unwaited(struct node *node, struct partition *p);

/* conn.c: the owner of the listeners' connections (net/dispatch.h) */
extern const struct net_owner_ops conn_owner_ops;
struct conn *conn_find(struct node *node, env_conn_id id);
void conns_close_all(struct node *node);
/* Frees the spare requests and the response scratch (node teardown, after
 * every request is freed). */
void requests_spare_free(struct node *node);

/* conn.c: begin a response (writes the response header), send it, and
 * let the connection go on with its next request (a deferred one through
 * the ready list). */
void request_respond(struct request *req, struct wr *body_and_header);
void response_begin(struct request *req, struct wr *w);
/* Done without a response (acks=0). */
void request_done_silent(struct request *req);
/* Finishes a request without an answer and closes its connection (acks=0
 * Produce that failed: the client's only signal). */
void request_done_close(struct request *req, const char *why);

/* api_fetch.c: the partition's end offset or high watermark moved; wakes
 * the requests parked on it (and only those). */
void partition_wake_waiters(struct node *node, struct partition *p);

/* broker_lifecycle.c: this node serves clients (KIP-631: in KRaft mode,
 * once its image shows it registered and unfenced; always without a
 * quorum); the loader published an image: wake who waits for that. */
bool broker_ready(const struct node *node);
/* This incarnation's registration is in the image (always without a
 * quorum): only then does the node act on its partitions' roles. */
bool broker_registered(const struct node *node);
void broker_lifecycle_published(struct node *node);

/* node.c */
void node_write_checkpoints(struct node *node);
int32_t node_id(const struct node *node);
void node_endpoint(struct node *node, struct kstr *host, int32_t *port);

/* KIP-966's clean shutdown marker (clean_shutdown.c). take: the broker
 * epoch a clean shutdown left, or -1; the marker is deleted. mark: writes
 * it atomically; done runs once it is durable (not on a nonzero return). */
int64_t clean_shutdown_take(struct node *node);
int clean_shutdown_mark(struct node *node, int64_t broker_epoch, env_fsync_fn done, void *ctx);

#endif
