/* checkpoint_build.h: what a format reader uses to fill a swan_checkpoint.
 *
 * Private to common/: checkpoint.c owns the tables and picks the format when a
 * checkpoint is opened; each reader in common/formats/ parses its files and adds
 * shards and tensors through these calls. A new input format is one new reader with
 * an open function declared here and one branch in swan_checkpoint_open. */
#ifndef SWAN_CHECKPOINT_BUILD_H
#define SWAN_CHECKPOINT_BUILD_H

#include "common/checkpoint.h"

#define SWAN_GGUF_SUFFIX ".gguf"

/* Registers a shard: file is the name shown (relative to the model), path the one
 * opened (NULL: ck->dir/file). */
int swan_checkpoint_add_shard(swan_checkpoint *ck, const char *file, const char *path,
                              swan_error *err);

/* A zeroed new entry at the end of ck->tensors (*cap tracks the allocation); NULL
 * when out of memory. */
swan_tensor *swan_checkpoint_new_tensor(swan_checkpoint *ck, size_t *cap, swan_error *err);

/* Makes block (malloc'd, holding tensor names) one of ck's name blocks, freed with
 * it; on failure (out of memory) block is freed at once. */
int swan_checkpoint_adopt_names(swan_checkpoint *ck, char *block, swan_error *err);

/* Every regular file of dir named *suffix, sorted; *out_n may be 0. Caller frees. */
int swan_checkpoint_list_files(const char *dir, const char *suffix, char ***out, size_t *out_n,
                               swan_error *err);

/* GGUF (gguf.c): ck->dir is one .gguf file, or a directory holding one GGUF model,
 * whole or split into NAME-00001-of-0000N.gguf parts. */
int swan_gguf_open_file(swan_checkpoint *ck, swan_error *err);
int swan_gguf_open_dir(swan_checkpoint *ck, swan_error *err);

#endif
