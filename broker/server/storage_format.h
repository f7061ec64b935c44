/* Formatting a node's storage the way kafka-storage.sh format does (KIP-631):
 * meta.properties (version=1, node.id, cluster.id, directory.id per KIP-858)
 * in every log dir and in metadata.log.dir. sluicectl and the simulator
 * format through these functions, and a KRaft-mode node checks its
 * directories with storage_check before it starts. */
#ifndef SLUICE_STORAGE_FORMAT_H
#define SLUICE_STORAGE_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "env.h"
#include "server/config.h"

/* A fixed cluster id for the simulator and tests, whose nodes are formatted
 * as one cluster (Kafka's documentation uses the same example id). */
#define STORAGE_TEST_CLUSTER_ID "MkU3OEVBNTcwNTJENDM2Qg"

/* The metadata.version a new Kafka 3.9 cluster starts at. */
#define STORAGE_METADATA_VERSION "3.9-IV0"

enum {
  STORAGE_DIRS_MAX = 2,     /* the log dir and metadata.log.dir */
  STORAGE_NOTHING_TO_DO = 1 /* storage_format: every directory was formatted */
};

struct storage_meta {
  int64_t node_id;
  char cluster_id[64];
  char directory_id[64];
  int64_t version;
};

typedef void (*storage_say_fn)(void *ctx, const char *line);

/* Whether the config is for a KRaft-mode node (process.roles is set). */
bool storage_kraft_mode(const struct config *cfg);

/* The directories a node keeps meta.properties in, metadata dir first;
 * returns how many (1 or 2). */
int storage_dirs(const struct config *cfg, const char *dirs[STORAGE_DIRS_MAX]);

/* Reads <dir>/meta.properties: 0, ENV_ENOENT when missing (or empty, as a
 * crash during a format leaves it), ENV_EINVAL when malformed (why in err). */
int storage_meta_read(struct env *env, const char *dir, struct storage_meta *out, char *err,
                      size_t err_cap);

/* Formats every unformatted directory of cfg for cluster_id: says one line
 * per directory through say, then writes meta.properties and fsyncs it.
 * Every directory is checked before any is written, so a refusal changes
 * nothing. Returns 0 when writes are under way (done(ctx, err) runs once
 * they are durable), STORAGE_NOTHING_TO_DO when every directory is formatted
 * and ignore_formatted is set, or ENV_E* with Kafka's reason in err (done is
 * not called). Each directory is created if missing (not its parents). */
int storage_format(struct env *env, const struct config *cfg, const char *cluster_id,
                   bool ignore_formatted, storage_say_fn say, void *say_ctx, char *err,
                   size_t err_cap, env_fsync_fn done, void *done_ctx);

/* Before a KRaft-mode node starts: every directory formatted, for this
 * node.id and one cluster.id (and config's cluster.id, when set). Returns 0
 * with the cluster id in cluster_id_out, or ENV_E* with one line in err
 * that says what to run. */
int storage_check(struct env *env, const struct config *cfg, char *cluster_id_out,
                  size_t cluster_id_cap, char *err, size_t err_cap);

#endif
