/* Shared by group.c and group_offsets.c; not for the rest of the broker. */
#ifndef SLUICE_GROUP_INTERNAL_H
#define SLUICE_GROUP_INTERNAL_H

#include "group/group.h"

void copy_name(char *dst, struct kstr s);
bool name_eq(const char *name, struct kstr s);
struct group *group_create(struct group_coordinator *gc, struct kstr id, int64_t wall_ms);
void group_destroy(struct group_coordinator *gc, struct group *g);
/* Frees every member and pending id (loading: nothing waits on them). */
void group_clear_members(struct group *g);
void group_maybe_complete_join(struct group_coordinator *gc, struct group *g, int64_t now_ms,
                               int64_t wall_ms);
void group_expire_offsets(struct group_coordinator *gc, int64_t now_ms, int64_t wall_ms);

#endif
