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
 * place the journal is removed: the folder is complete. */
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
} swan_qjournal;

/* The layout's fingerprint (XXH64 of everything above). */
uint64_t swan_qlayout_fingerprint(const swan_checkpoint *ck, const swan_qlayout *l);

/* Opens dir's journal for layout l: loads the records of a journal with this
 * fingerprint (a torn last line is dropped, a line with a wrong CRC ignored), then
 * rewrites it compactly (temp + rename) and keeps it open for appending. */
int swan_qjournal_open(swan_qjournal *j, const char *dir, uint64_t fingerprint,
                       const swan_qlayout *l, swan_error *err);

/* Appends one record and flushes it to the OS (thread-safe). */
int swan_qjournal_unit(swan_qjournal *j, size_t t, uint64_t sum, swan_error *err);
int swan_qjournal_shard(swan_qjournal *j, uint32_t k, swan_error *err);

/* Closes the journal; with remove, deletes it (the folder is complete). */
void swan_qjournal_close(swan_qjournal *j, const char *dir, bool remove);

#endif
