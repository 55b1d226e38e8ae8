/* quantize_journal.h: what makes `swan quantize` resumable.
 *
 * DIR/.swan-quantize.jsonl holds, under a header binding it to one layout (the
 * fingerprint below: every output tensor's name, dtype, shape, shard, offset and
 * width, and each source shard's stamp), one record per finished output unit (a
 * quantized module's weight + scales + biases, or a kept tensor) with the XXH64 of the
 * bytes it put in its shard, and one record per shard renamed into place. Lines follow
 * the analysis journal's conventions (docs/journal.md): JSON, each ending in
 * `,"crc":"xxxxxxxx"}` (CRC-32C of the bytes before), the newline as commit mark.
 *
 * A re-run of the same command opens the journal, keeps the records whose line CRC
 * is right, and the writer re-reads each recorded unit's bytes from the shard's .tmp
 * file: a unit whose bytes still hash to its record is not written again, any other
 * is. So a journal line written before its bytes reached the disk (power loss) costs a
 * recomputation, never a wrong model. A journal for another layout (other decisions,
 * other source) is discarded: that run starts over. Once the index is renamed into
 * place the journal is removed: the folder is complete.
 *
 * Durability (common/atomic_file.h's swan_fsync: F_FULLFSYNC where it exists): every
 * line is handed to the OS as it is written, and the file is synced in batches, at
 * the latest SWAN_QJOURNAL_SYNC_S seconds or SWAN_QJOURNAL_SYNC_LINES lines after a
 * unit's line, always before a shard's record (so a shard counts as done only with
 * all its units' lines on stable storage) and when the run stops or fails. A power
 * cut therefore loses at most about a second of finished units, which the next run
 * writes again; one fsync per unit instead would cost q06 about 300 of them (~4 ms
 * each here), a quarter of its 5 s budget. */
#ifndef SWAN_QUANTIZE_JOURNAL_H
#define SWAN_QUANTIZE_JOURNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/checkpoint.h"
#include "common/error.h"
#include "coordinator/quantize/mlx_layout.h"

#define SWAN_QJOURNAL_NAME ".swan-quantize.jsonl"

typedef struct swan_qjournal {
    FILE *f;               /* open for append                                  */
    pthread_mutex_t lock;  /* writer threads append concurrently               */
    bool *has;             /* per layout tensor: a record was found            */
    uint64_t *sum;         /* its XXH64                                        */
    bool *shard_done;      /* per shard: recorded as renamed into place        */
    size_t n;
    uint32_t nshards;
    size_t records;        /* unit records loaded                              */
    size_t unsynced;       /* lines appended since the last fsync              */
    double last_sync;      /* swan_now_s() of the last fsync                   */
} swan_qjournal;

#define SWAN_QJOURNAL_SYNC_S 1.0
#define SWAN_QJOURNAL_SYNC_LINES 128

/* The layout's fingerprint (XXH64 of everything above). */
uint64_t swan_qlayout_fingerprint(const swan_checkpoint *ck, const swan_qlayout *l);

/* Opens dir's journal for layout l: loads the records of a journal with this
 * fingerprint (a torn last line is dropped, a line with a wrong CRC ignored), then
 * rewrites it compactly (temp + rename) and keeps it open for appending. */
int swan_qjournal_open(swan_qjournal *j, const char *dir, uint64_t fingerprint,
                       const swan_qlayout *l, swan_error *err);

/* Appends one unit's record, hands it to the OS and syncs the file when the batch is
 * due (see above). Thread-safe. */
int swan_qjournal_unit(swan_qjournal *j, size_t t, uint64_t sum, swan_error *err);

/* Appends the record of shard k renamed into place and syncs the file: it and every
 * unit line before it are on stable storage when this returns 0. */
int swan_qjournal_shard(swan_qjournal *j, uint32_t k, swan_error *err);

/* Closes the journal (syncing lines not yet synced, so an interrupted or failed run
 * keeps them); with remove, deletes it instead (the folder is complete). */
void swan_qjournal_close(swan_qjournal *j, const char *dir, bool remove);

#endif
