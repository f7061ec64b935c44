/* The controller's rule for producer ids (Kafka's ProducerIdControlManager,
 * KIP-730): a broker asks for a block of ids for the InitProducerId requests
 * it answers, and the controller hands out the next
 * META_PRODUCER_ID_BLOCK_SIZE ids as a ProducerIdsRecord whose
 * next_producer_id is the block's end. The image keeps that watermark, so
 * once the record is committed no block is handed out twice. No I/O: the
 * local controller runs it on its tick, a quorum controller will run it on
 * the active controller. */
#ifndef SLUICE_META_PRODUCER_ID_CONTROL_H
#define SLUICE_META_PRODUCER_ID_CONTROL_H

#include <stdint.h>

#include "meta/image.h"
#include "meta/records.h"

enum { META_PRODUCER_ID_BLOCK_SIZE = 1000 }; /* Kafka's ProducerIdsBlock size */

/* Appends the ProducerIdsRecord and sets *first_id_out to the block's first
 * id; KERR_NONE, or BROKER_ID_NOT_REGISTERED, STALE_BROKER_EPOCH (an epoch
 * >= 0 that is not the registration's; -1 is not checked) or
 * UNKNOWN_SERVER_ERROR when the ids are exhausted, appending nothing. */
int16_t meta_rule_allocate_producer_ids(const struct meta_image *image, int32_t broker_id,
                                        int64_t broker_epoch, struct meta_delta *delta,
                                        int64_t *first_id_out);

#endif
