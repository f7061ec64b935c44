/* The scenario action delete-records (faults/grammar.h): an admin client
 * sends DeleteRecords (v2, KIP-107) for leader(topic,p) below `amount`
 * (-1: the high watermark) to that partition's leader. An answer of NONE
 * goes into the history (HISTORY_DELETE) with the offset asked, or the
 * low watermark answered for -1: the checkers' allowance "delete-records"
 * lets records below it go, and nothing at or above it. */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "proto/api.h"
#include "proto/errors.h"
#include "proto/messages_gen.h"
#include "sim/runner_internal.h"

enum { DELETE_RECORDS_TIMEOUT_MS = 30000 };

struct delete_op {
  struct client *c;
  int stream;
  int64_t offset; /* asked; -1: the high watermark */
};

/* The client that speaks for the admin: the scenario's first admin client,
 * else the first client. */
static struct client *admin_client(struct runner *r) {
  for (int i = 0; i < r->client_count; i++)
    if (r->clients[i]->admin) return r->clients[i];
  return r->client_count > 0 ? r->clients[0] : NULL;
}

static void encode(struct wr *w, int16_t v, const void *m) {
  delete_records_request_encode(w, v, m);
}

static void answered(void *ctx, int err, struct rd *body, struct arena *arena) {
  struct delete_op *op = ctx;
  struct runner *r = op->c->r;
  struct delete_records_response m;
  if (err == 0 && (!delete_records_response_decode(body, 2, &m, arena) || m.topics_count != 1 ||
                   m.topics[0].partitions_count != 1))
    err = ENV_EINVAL;
  if (err != 0) {
    runner_trace(r, "delete-records %s: no answer (%d)", r->labels[op->stream], err);
    free(op);
    return;
  }
  const struct delete_records_response_delete_records_partition_result *pr =
      &m.topics[0].partitions[0];
  runner_trace(r, "delete-records %s below %lld: error %d, low watermark %lld",
               r->labels[op->stream], (long long)op->offset, pr->error_code,
               (long long)pr->low_watermark);
  if (pr->error_code == KERR_NONE)
    runner_record_delete(op->c, op->stream, op->offset >= 0 ? op->offset : pr->low_watermark);
  free(op);
}

void runner_delete_records(struct runner *r, const struct fault *f, int broker) {
  ASSERT(f->action == FAULT_DELETE_RECORDS && f->target.kind == TARGET_LEADER);
  struct client *c = admin_client(r);
  int topic = -1;
  for (int t = 0; t < r->sc->topic_count; t++)
    if (!strcmp(r->sc->topics[t].name, f->target.topic)) topic = t;
  if (c == NULL || broker < 0 || topic < 0 || sim_node_paused(c->node)) {
    runner_trace(r, "delete-records: no admin, leader or topic %s", f->target.topic);
    return;
  }
  struct kconn *conn =
      kclient_conn(&c->kc, sim_node_host(r->brokers[broker].node), BROKER_PORT, "sim-admin");
  int16_t version = kconn_version(conn, API_DELETE_RECORDS, 0, 2);
  if (!kconn_connected(conn) || version != 2) {
    kconn_connect(conn);
    runner_trace(r, "delete-records: not connected to %s, skipped",
                 sim_node_host(r->brokers[broker].node));
    return;
  }
  struct delete_records_request_delete_records_partition p;
  delete_records_request_delete_records_partition_init(&p);
  p.partition_index = f->target.partition;
  p.offset = f->amount;
  struct delete_records_request_delete_records_topic t;
  delete_records_request_delete_records_topic_init(&t);
  t.name = kstr_of(f->target.topic);
  t.partitions = &p;
  t.partitions_count = 1;
  struct delete_records_request m;
  delete_records_request_init(&m);
  m.topics = &t;
  m.topics_count = 1;
  m.timeout_ms = DELETE_RECORDS_TIMEOUT_MS;
  struct delete_op *op = calloc(1, sizeof *op);
  ASSERT(op != NULL);
  *op = (struct delete_op){
      .c = c, .stream = r->stream_base[topic] + f->target.partition, .offset = f->amount};
  if (kconn_send(conn, API_DELETE_RECORDS, 2, encode, &m, answered, op) != 0) {
    runner_trace(r, "delete-records: send failed");
    free(op);
  }
}
