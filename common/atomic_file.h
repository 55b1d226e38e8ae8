/* atomic_file.h: output files that appear complete or not at all, and stay so.
 *
 * Every file swan writes for others to read (manifest, journal, the demo checkpoint,
 * later outputs) goes through here: written under PATH.tmp in the same folder,
 * flushed to stable storage, renamed onto PATH, and then the folder itself flushed
 * so the rename survives a power cut. A reader therefore sees either the previous
 * file or the whole new one, never a torn one under the final name.
 *
 * "Flushed to stable storage" means F_FULLFSYNC where the platform has it (macOS:
 * plain fsync there only reaches the drive's cache), fsync elsewhere. */
#ifndef SWAN_ATOMIC_FILE_H
#define SWAN_ATOMIC_FILE_H

#include <stdio.h>

#include "common/error.h"

#define SWAN_PATH_MAX 4096

typedef struct swan_atomic_file {
    FILE *f;                      /* write here between open and commit */
    char path[SWAN_PATH_MAX];     /* the final name                     */
    char tmp[SWAN_PATH_MAX + 8];  /* path + ".tmp"                      */
} swan_atomic_file;

/* Creates (truncates) PATH.tmp for writing. */
int swan_atomic_open(swan_atomic_file *af, const char *path, swan_error *err);

/* Flushes and syncs the stream, closes it, renames PATH.tmp onto PATH and syncs the
 * containing folder. On any failure the temporary is removed, PATH is untouched and
 * err names PATH and the reason. af->f is NULL afterwards either way. */
int swan_atomic_commit(swan_atomic_file *af, swan_error *err);

/* As swan_atomic_commit, but leaves af->f open on the renamed file for appending
 * (the journal keeps writing to the file it just published). */
int swan_atomic_commit_keep_open(swan_atomic_file *af, swan_error *err);

/* Closes and removes the temporary; PATH is untouched. Safe to call twice. */
void swan_atomic_abort(swan_atomic_file *af);

/* Flushes fd's data to stable storage: F_FULLFSYNC where defined (falling back to
 * fsync when the file system refuses it), fsync elsewhere. 0 or -1 with errno. */
int swan_fsync(int fd);

/* Syncs the folder holding path, so that a rename or creation in it is durable.
 * 0 or -1 with errno. */
int swan_fsync_parent(const char *path);

#endif
