/* What a partition's segment files on a simulated disk hold, read straight
 * from the disk model (sim_disk_view: no read counted, no read fault
 * applied), independently of the broker's own parser: the checkers' ground
 * truth for what a restart may keep. The rules are the ones recovery must
 * apply (docs/architecture.md, Durability): from the first segment on, in
 * base offset order, each batch must be whole (61-byte header, its length
 * inside the file), magic 2, its offsets increasing and below the next
 * segment's base, and its CRC-32C must match; the first batch that is not
 * ends the log, and every later segment goes with it. A batch that holds a
 * bit flipped at rest (sim_disk_rest_flip_in) ends it too, even where the
 * flip is outside the CRC (the base offset). A pending cut's marker,
 * "<base>.log.<cut>.truncating" beside the segment at base (a truncation or
 * recovery's own cut that no fsync has made durable yet), ends the log at
 * cut, and the later segments go with it: recovery must cut there. */
#ifndef SLUICE_SIM_ORACLE_H
#define SLUICE_SIM_ORACLE_H

#include <stdbool.h>
#include <stdint.h>

struct sim_node;

struct oracle_log {
  int64_t start; /* the first segment's base offset; -1: no segment at all */
  int64_t end;   /* one past the last offset of the valid batches */
  /* The batch at `end` that ended the log (false: the log ended with its
   * files), why, and whether a bit flipped at rest lies in it. */
  bool cut;
  bool flipped;
  int64_t cut_last; /* that batch's last offset (end + its last offset delta), else end */
  /* "torn", "malformed", "out of order", "CRC mismatch", "bit flipped",
   * "read fault pending", "a pending cut's marker" */
  const char *why;
};

/* Reads the partition directory dir (e.g. "/logs/t-0") of node n. With
 * read_flips, a read fault still pending in a batch (sim_disk_read_flip_in)
 * ends the log as a flip at rest does: the next reader of those bytes, such
 * as recovery, sees the bit flipped. */
void oracle_scan(struct sim_node *n, const char *dir, bool read_flips, struct oracle_log *out);

/* A batch that holds a bit flipped at rest: its offsets. */
struct oracle_flip {
  int64_t first, last;
};

/* Every batch of the partition directory dir that holds a bit flipped at
 * rest, in offset order, at most max; returns how many. Unlike
 * oracle_scan it goes on past such a batch while the framing holds (its
 * length field), since a reader may too: a flip outside the CRC (the
 * partition leader epoch) is served and read like any other batch, and
 * the reader stops only at a later one (swarm seed 335). Where the
 * framing is lost, the walk ends (no reader gets past that). */
int oracle_rest_flips(struct sim_node *n, const char *dir, struct oracle_flip *out, int max);

#endif
