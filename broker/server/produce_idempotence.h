/* Produce from idempotent producers (KIP-98): each partition's batch is
 * judged against the log's producer state (log/producers.h) before it is
 * appended, in the same event, so nothing can come in between. */
#ifndef SLUICE_PRODUCE_IDEMPOTENCE_H
#define SLUICE_PRODUCE_IDEMPOTENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "env.h"
#include "proto/messages_gen.h"

struct partition;

/* KERR_NONE with *duplicate false: append the batches. KERR_NONE with
 * *duplicate true: they are a retry of a batch already in the log: not
 * appended again, pr holds the offsets it got then (its base offset, as
 * Kafka answers a duplicate). Otherwise the partition's error:
 * OUT_OF_ORDER_SEQUENCE_NUMBER (a gap in the producer's sequence),
 * INVALID_PRODUCER_EPOCH (an epoch older than the producer's: Kafka 2.7+
 * answers Produce with it in every version; PRODUCER_FENCED is
 * InitProducerId's and EndTxn's), INVALID_RECORD (more than one batch with a
 * producer id, or a negative epoch or sequence) or KAFKA_STORAGE_ERROR (the
 * state could not be rebuilt). */
int produce_idempotence_check(struct env *env, struct partition *p, const uint8_t *batches,
                              size_t len,
                              struct produce_response_partition_produce_response *pr,
                              bool *duplicate);

#endif
