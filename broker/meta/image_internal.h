/* Shared by image.c and image_build.c. */
#ifndef SLUICE_META_IMAGE_INTERNAL_H
#define SLUICE_META_IMAGE_INTERNAL_H

#include "meta/image.h"

void meta_topic_unref(struct meta_topic *topic);
/* strcmp of a NUL-terminated name with a (name, len) slice. */
int meta_name_cmp(const char *a, const char *b, size_t b_len);
/* Index of the first topic whose name (or id) is >= the one given. */
int32_t meta_image_name_lower_bound(const struct meta_image *image, const char *name,
                                    size_t len);
int32_t meta_image_id_lower_bound(const struct meta_image *image, struct kuuid id);

#endif
