#include "server/handlers.h"

#include <stdbool.h>
#include <stddef.h>

#include "base/assert.h"
#include "proto/api.h"

/* In api_key order. */
static const struct handler handlers[] = {
    {API_PRODUCE, 3, 9, handle_produce},
    {API_FETCH, 4, 13, handle_fetch},
    {API_LIST_OFFSETS, 1, 7, handle_list_offsets},
    {API_METADATA, 0, 12, handle_metadata},
    {API_API_VERSIONS, 0, 3, handle_api_versions},
    {API_CREATE_TOPICS, 2, 7, handle_create_topics},
    {API_DELETE_TOPICS, 1, 6, handle_delete_topics},
    {API_DESCRIBE_CONFIGS, 0, 4, handle_describe_configs},
    {API_CREATE_PARTITIONS, 0, 3, handle_create_partitions},
    {API_DESCRIBE_CLUSTER, 0, 1, handle_describe_cluster},
};

const struct handler *handler_find(int16_t api_key) {
  for (size_t i = 0; i < ARRAY_LEN(handlers); i++)
    if (handlers[i].api_key == api_key) return &handlers[i];
  return NULL;
}

const struct handler *handler_at(int index) {
  if (index < 0 || (size_t)index >= ARRAY_LEN(handlers)) return NULL;
  return &handlers[index];
}
