#include "image_fixture.h"

#include "testing.h"

struct meta_record *image_record_add(struct meta_delta *d, const struct meta_image *base,
                                     enum meta_record_type type) {
  int64_t next = d->count ? d->records[d->count - 1].offset + 1 : base->offset + 1;
  struct meta_record *r = meta_delta_add(d, type, next);
  ck_assert_ptr_nonnull(r);
  return r;
}

struct meta_image *image_apply(struct meta_image *prev, struct meta_delta *d) {
  struct meta_image *next = NULL;
  ck_assert_int_eq(meta_image_build(prev, d, &next), 0);
  meta_image_unref(prev);
  meta_delta_free(d);
  return next;
}

void image_brokers_add(struct meta_delta *d, const struct meta_image *base, int32_t count,
                       const bool *fenced) {
  for (int32_t b = 1; b <= count; b++) {
    struct meta_record *r = image_record_add(d, base, META_REGISTER_BROKER_RECORD);
    r->register_broker.broker_id = b;
    r->register_broker.broker_epoch = r->offset;
    r->register_broker.incarnation_id.b[0] = (uint8_t)b;
    r->register_broker.fenced = fenced != NULL && fenced[b - 1];
  }
}
