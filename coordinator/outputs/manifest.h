/* manifest.h: OUT/manifest.json (SWAN-METRICS.md section 5), one of the outputs.
 *
 * Streamed (common/json_writer.h) so its memory does not grow with the tensor count.
 * Serializes the decisions table only (nothing is decided here). Besides section 5's
 * fields it carries the swan version, every reduce setting, the checkpoint
 * fingerprint and the normalization in use, and keeps all timing in one "timing"
 * block, so two runs of the same command differ only there. */
#ifndef SWAN_MANIFEST_H
#define SWAN_MANIFEST_H

#include "coordinator/outputs/outputs.h"

/* Writes the manifest to path atomically (swan_write_file_atomic). */
int swan_manifest_write(const char *path, const swan_output_ctx *c, swan_error *err);

#endif
