/* One small file per API (api_*.c); this is their table. The versions here
 * are what ApiVersions advertises: contiguous ranges the handlers serve. */
#ifndef SLUICE_HANDLERS_H
#define SLUICE_HANDLERS_H

#include <stdbool.h>
#include <stdint.h>

struct request;

struct handler {
  int16_t api_key;
  int16_t version_min;
  int16_t version_max;
  /* Decode, act, respond (now or later). Returns false if the body did not
   * decode: the connection is closed, as Kafka does with a malformed request. */
  bool (*handle)(struct request *req);
};

const struct handler *handler_find(int16_t api_key);
const struct handler *handler_at(int index); /* NULL past the end; in api_key order */

bool handle_api_versions(struct request *req);
bool handle_metadata(struct request *req);
bool handle_produce(struct request *req);
bool handle_fetch(struct request *req);
bool handle_list_offsets(struct request *req);
bool handle_create_topics(struct request *req);
bool handle_delete_topics(struct request *req);
bool handle_create_partitions(struct request *req);
bool handle_describe_configs(struct request *req);
bool handle_describe_cluster(struct request *req);

/* ApiVersions answer to a request whose version we do not serve (KIP-511):
 * v0 format, UNSUPPORTED_VERSION, with our ranges so the client can retry. */
void api_versions_respond_unsupported(struct request *req);

#endif
