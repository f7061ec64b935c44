/* Metadata images built from records, as the controller builds them, for
 * the unit tests of broker/meta's rules. Linked into every unit test binary
 * (the Makefile). */
#ifndef SLUICE_TEST_IMAGE_FIXTURE_H
#define SLUICE_TEST_IMAGE_FIXTURE_H

#include <stdbool.h>

#include "meta/image.h"
#include "meta/records.h"

/* A record of `type` appended to d, its offset after base's and d's last. */
struct meta_record *image_record_add(struct meta_delta *d, const struct meta_image *base,
                                     enum meta_record_type type);

/* RegisterBrokerRecords for brokers 1..count, each epoch its record's
 * offset, incarnation id {b, 0...}, fenced as fenced[b - 1] (NULL: none). */
void image_brokers_add(struct meta_delta *d, const struct meta_image *base, int32_t count,
                       const bool *fenced);

/* prev plus d (which must apply); prev's reference and d are consumed. */
struct meta_image *image_apply(struct meta_image *prev, struct meta_delta *d);

#endif
