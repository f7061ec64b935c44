/* The simulated disk: an in-memory file system per node.
 *
 * Each file has two layers: the page cache (what pread sees) and the durable
 * copy (what survives a power loss). pwrite and truncate change the page
 * cache. An fsync completes after a seeded latency and then makes the
 * file's content as of that moment durable (for a file only appended to
 * since, just the new tail is copied). A power loss keeps, for each file,
 * its durable copy plus a seeded prefix of what was appended past it, in
 * whole 512-byte sectors (the page cache reached the platter partly);
 * unsynced overwrites inside the durable part are lost. There is no
 * background writeback: what was not fsynced is at the seed's mercy. In a
 * torn-write mode (sim_disk_set_torn) the tail keeps its length but lands
 * damaged: zeroed past some sectors, or one sector of garbage.
 *
 * Names (create, rename, unlink, mkdir, rmdir) are durable at once: the
 * model loses data, not names, which is the harder case for recovery code
 * (a file exists, its bytes do not). */
#ifndef SLUICE_SIM_DISK_H
#define SLUICE_SIM_DISK_H

#include <stdbool.h>
#include <stdint.h>

struct sim_node;

/* ---- faults ---- */

/* ENOSPC once the page cache would hold more than this (0: unlimited); the
 * failing pwrite or truncate changes nothing. */
void sim_disk_set_capacity(struct sim_node *n, uint64_t bytes);
/* The node's descriptor table: open fails with ENV_EMFILE beyond `count`
 * open files (0: SIM_FDS_MAX), as a process's ulimit -n would. */
void sim_disk_set_fds_max(struct sim_node *n, uint32_t count);
/* Descriptors open now (a closed file that a power loss killed counts
 * until the broker closes it). */
uint32_t sim_disk_fds_open(const struct sim_node *n);
uint64_t sim_disk_used(const struct sim_node *n);
/* The next `count` fsyncs fail with ENV_EIO (count < 0: every one until
 * sim_disk_clear_faults); nothing of theirs becomes durable. */
void sim_disk_fail_fsyncs(struct sim_node *n, int count);
/* The next `count` pwrites / truncates fail with ENV_EIO and write nothing
 * (count < 0: until cleared). */
void sim_disk_fail_writes(struct sim_node *n, int count);
/* A failed fsync also forgets the unsynced writes (Linux marks the pages
 * clean after a writeback error, "fsyncgate"): pread still sees them, a
 * later fsync does not make them durable, a power loss loses them. */
void sim_disk_set_fsync_error_forgets(struct sim_node *n, bool forgets);
/* fsync latency times this (1: normal). */
void sim_disk_set_fsync_slowdown(struct sim_node *n, uint32_t multiplier);
/* How a power loss treats the unsynced tail appended past a file's durable
 * bytes. CLEAN (the default): a seeded prefix of it survives, in whole
 * sectors, as written. In the torn-write modes the file keeps its whole
 * length (its size reached the platter) but not all of its data landed
 * intact: ZEROS: past a seeded number of whole sectors the tail reads as
 * zeros; GARBAGE: one seeded sector of the tail holds seeded garbage (the
 * drive wrote sectors out of order and lost power mid-sector), the others
 * hold what was written. So a batch can be whole in length and wrong in
 * content: recovery must find it by its CRC. Durable bytes are never
 * touched. */
enum sim_torn { SIM_TORN_CLEAN, SIM_TORN_ZEROS, SIM_TORN_GARBAGE };
void sim_disk_set_torn(struct sim_node *n, enum sim_torn torn);
/* Flips one bit at rest, in both layers (where the offset exists); false if
 * the file is missing or too short. */
bool sim_disk_flip_bit(struct sim_node *n, const char *path, uint64_t offset, int bit);
/* The next pread that covers offset returns that bit flipped, once; the
 * stored bytes stay good. */
bool sim_disk_flip_bit_on_read(struct sim_node *n, const char *path, uint64_t offset, int bit);
/* The whole disk is gone at the next crash or restart (a replaced machine):
 * the node comes back with an empty file system. */
void sim_disk_lose_all(struct sim_node *n);
/* Ends the faults that are settings: capacity, EIO counts, slowdown,
 * forgetting, torn writes (bit flips, at rest or pending on read, are data and stay). */
void sim_disk_clear_faults(struct sim_node *n);

/* ---- inspection (tests, checkers) ---- */

/* Sizes of both layers of a file by path; false if there is no such file. */
bool sim_disk_file_sizes(const struct sim_node *n, const char *path, uint64_t *cache_bytes,
                         uint64_t *durable_bytes);
/* Copies up to len bytes of a file's page cache from offset (after a power
 * loss: what it kept) without counting a read or applying pending read
 * faults; the bytes copied, 0 past the end, -1 if there is no such file. */
int64_t sim_disk_peek(const struct sim_node *n, const char *path, uint64_t offset, void *buf,
                      size_t len);
/* The same bytes as sim_disk_peek, without a copy: the file's page cache,
 * valid until the next call that changes this disk. False if there is no
 * such file. (A checker walking many small headers of one file looks the
 * path up once instead of once per header.) */
bool sim_disk_view(const struct sim_node *n, const char *path, const uint8_t **data,
                   uint64_t *len);
/* sim_disk_view with what lets a checker resume where it stopped: while
 * serial and rewrites are unchanged the file is the same one and its bytes
 * below the length seen then are unchanged (only appends happened). */
struct sim_disk_file_view {
  const uint8_t *data;
  uint64_t len;
  uint64_t serial;   /* the file's identity on this disk, never reused */
  uint64_t rewrites; /* grows when bytes below the end change or it shrinks */
};
bool sim_disk_view_versioned(const struct sim_node *n, const char *path,
                             struct sim_disk_file_view *out);
/* Whether a bit flipped at rest (sim_disk_flip_bit) lies in [lo, hi) of the
 * file as it is now (a flip in bytes since cut off or lost is gone). Only
 * the latest SIM_REST_FLIPS_MAX flips of a file are remembered. */
bool sim_disk_rest_flip_in(const struct sim_node *n, const char *path, uint64_t lo,
                           uint64_t hi);
/* Whether a read fault (sim_disk_flip_bit_on_read) is still pending in
 * [lo, hi) of the file: the next read there returns a flipped bit. */
bool sim_disk_read_flip_in(const struct sim_node *n, const char *path, uint64_t lo,
                           uint64_t hi);

struct sim_disk_stats {
  uint64_t writes, bytes_written; /* pwrites that succeeded */
  uint64_t reads, bytes_read;
  uint64_t fsyncs, fsync_errors, fsync_bytes; /* completed fsyncs; bytes made durable */
  uint64_t write_errors, enospc;
  uint64_t dir_syncs;
  uint64_t crashes, bytes_lost; /* unsynced bytes a power loss threw away */
  uint64_t torn_sectors;        /* sectors a torn power loss damaged (zeros, garbage) */
  uint64_t bits_flipped;        /* at rest and on read */
  uint64_t disks_lost;          /* whole-disk losses that happened (sim_disk_lose_all) */
};
void sim_disk_stats(const struct sim_node *n, struct sim_disk_stats *out);

#endif
