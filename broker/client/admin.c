#include "client/admin.h"

#include <stdlib.h>

#include "base/assert.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"

enum { CREATE_TOPICS_VERSION = 5 };

struct create_call {
  void (*done)(void *ctx, int error);
  void *ctx;
};

static void on_created(void *ctx, int err, struct rd *body, struct arena *arena) {
  struct create_call call = *(struct create_call *)ctx;
  free(ctx);
  struct create_topics_response resp;
  if (err == 0 && !create_topics_response_decode(body, CREATE_TOPICS_VERSION, &resp, arena))
    err = ENV_EINVAL;
  if (err == 0)
    err = resp.topics_count == 1 ? resp.topics[0].error_code : KERR_UNKNOWN_SERVER_ERROR;
  call.done(call.ctx, err == KERR_TOPIC_ALREADY_EXISTS ? KERR_NONE : err);
}

static void encode_create(struct wr *w, int16_t version, const void *msg) {
  create_topics_request_encode(w, version, msg);
}

int kadmin_create_topic(struct kconn *conn, const char *name, int32_t partitions,
                        int16_t replication_factor, void (*done)(void *ctx, int error),
                        void *ctx) {
  struct create_topics_request_creatable_topic topic;
  create_topics_request_creatable_topic_init(&topic);
  topic.name = kstr_of(name);
  topic.num_partitions = partitions;
  topic.replication_factor = replication_factor;
  struct create_topics_request req;
  create_topics_request_init(&req);
  req.topics = &topic;
  req.topics_count = 1;
  struct create_call *call = malloc(sizeof *call);
  ASSERT(call != NULL);
  *call = (struct create_call){done, ctx};
  int rc = kconn_send(conn, API_CREATE_TOPICS, CREATE_TOPICS_VERSION, encode_create, &req,
                      on_created, call);
  if (rc != 0) free(call);
  return rc;
}
