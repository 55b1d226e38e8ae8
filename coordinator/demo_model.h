/* demo_model.h: writes the built-in demo checkpoint that `swan demo` analyzes.
 *
 * A small Qwen3-shaped model (embeddings, attention, MLP, norms) in BF16, split into
 * two shards with a model.safetensors.index.json, whose weights have LLM-like
 * statistics (Gaussian bulk, a decaying low-rank part, sparse outliers, a few outlier
 * columns) with per-tensor random strengths so that the four metrics spread out and
 * the allocation uses several bit widths. Deterministic for a given seed. */
#ifndef SWAN_DEMO_MODEL_H
#define SWAN_DEMO_MODEL_H

#include <stdint.h>

#include "common/error.h"

typedef struct swan_demo_opts {
    uint32_t hidden;        /* default 512  */
    uint32_t intermediate;  /* default 1536 */
    uint32_t layers;        /* default 6    */
    uint32_t vocab;         /* default 8192 */
    uint64_t seed;          /* default 1    */
} swan_demo_opts;

void swan_demo_default_opts(swan_demo_opts *o);

/* Creates dir if needed and writes config.json, the shards and the index into it. */
int swan_demo_model_write(const char *dir, const swan_demo_opts *o, swan_error *err);

#endif
