#include "meta/producer_id_control.h"

#include "base/assert.h"
#include "proto/errors.h"

int16_t meta_rule_allocate_producer_ids(const struct meta_image *image, int32_t broker_id,
                                        int64_t broker_epoch, struct meta_delta *delta,
                                        int64_t *first_id_out) {
  ASSERT(image != NULL && delta != NULL && first_id_out != NULL);
  ASSERT(image->next_producer_id >= 0);
  const struct meta_broker *b = meta_image_broker(image, broker_id);
  if (!b) return KERR_BROKER_ID_NOT_REGISTERED;
  if (broker_epoch >= 0 && broker_epoch != b->epoch) return KERR_STALE_BROKER_EPOCH;
  int64_t first = image->next_producer_id;
  if (first > INT64_MAX - META_PRODUCER_ID_BLOCK_SIZE) return KERR_UNKNOWN_SERVER_ERROR;
  int64_t offset = image->offset + 1;
  if (delta->count > 0 && delta->records[delta->count - 1].offset >= offset)
    offset = delta->records[delta->count - 1].offset + 1;
  struct meta_record *r = meta_delta_add(delta, META_PRODUCER_IDS_RECORD, offset);
  if (!r) return KERR_UNKNOWN_SERVER_ERROR;
  r->producer_ids = (struct meta_producer_ids_record){
      .broker_id = broker_id,
      .broker_epoch = b->epoch,
      .next_producer_id = first + META_PRODUCER_ID_BLOCK_SIZE,
  };
  *first_id_out = first;
  return KERR_NONE;
}
