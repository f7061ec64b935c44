#include "server/produce_idempotence.h"

#include "base/assert.h"
#include "log/producers.h"
#include "proto/errors.h"
#include "server/server.h"

static int verdict_error(enum producer_verdict v) {
  switch (v) {
  case PRODUCER_NEW:
  case PRODUCER_DUPLICATE:
    return KERR_NONE;
  case PRODUCER_OUT_OF_ORDER:
    return KERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
  case PRODUCER_STALE_EPOCH:
    return KERR_INVALID_PRODUCER_EPOCH;
  case PRODUCER_INVALID:
    return KERR_INVALID_RECORD;
  case PRODUCER_UNAVAILABLE:
    return KERR_KAFKA_STORAGE_ERROR;
  }
  UNREACHABLE();
}

int produce_idempotence_check(struct env *env, struct partition *p, const uint8_t *batches,
                              size_t len,
                              struct produce_response_partition_produce_response *pr,
                              bool *duplicate) {
  ASSERT(p != NULL && p->log != NULL && batches != NULL && len > 0 && duplicate != NULL);
  struct producer_batch original;
  enum producer_verdict v = plog_producer_check(p->log, batches, len, &original);
  *duplicate = v == PRODUCER_DUPLICATE;
  if (!*duplicate) return verdict_error(v);
  ASSERT(original.first_offset >= 0 && original.last_offset < plog_end_offset(p->log));
  env_log(env, ENV_LOG_INFO,
          "%s-%d: a retry of offsets %lld to %lld (sequences %d to %d): not stored again",
          p->topic->name, p->index, (long long)original.first_offset,
          (long long)original.last_offset, original.first_sequence, original.last_sequence);
#ifdef SLUICE_MUTANT_DUPLICATE_NEW_OFFSET /* mutant: answered as if appended now */
  pr->base_offset = plog_end_offset(p->log);
#else
  pr->base_offset = original.first_offset;
#endif
  pr->log_start_offset = plog_start_offset(p->log);
  return KERR_NONE;
}
