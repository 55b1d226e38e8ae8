/* admission.h: the model check a worker passes before its first task.
 *
 * After HELLO the coordinator sends CHALLENGE (a nonce chosen once per run, its own
 * model folder, and every shard's name relative to it); the worker answers IDENTITY
 * with each shard's size, header hash and the hash of the data samples the nonce
 * picks, computed on its own copy (proto/model_identity.c). Here the coordinator
 * compares that with the same identities computed on its files (lazily, at the
 * first IDENTITY) and names the first file that differs. A worker that fails is
 * sent REFUSED and never gets a task (docs/protocol.md). */
#ifndef SWAN_ADMISSION_H
#define SWAN_ADMISSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/checkpoint.h"
#include "common/error.h"
#include "proto/messages.h"

typedef struct swan_admission {
    const swan_checkpoint *ck;
    uint64_t nonce;
    char *root;                    /* the folder the shard names are relative to */
    const char **names;            /* per shard: ck->shards[i].file              */
    swan_shard_identity *expected; /* per shard, once computed                   */
    bool computed;
} swan_admission;

int swan_admission_init(swan_admission *a, const swan_checkpoint *ck, swan_error *err);
void swan_admission_free(swan_admission *a);

/* Fills m with the CHALLENGE; its strings are borrowed from a and must not outlive it
 * (swan_msg_free on m frees nothing of them). */
void swan_admission_challenge(const swan_admission *a, swan_msg *m);

/* 0 when the worker's identity matches every shard; 1 with why set to one line
 * naming the first differing file; -1 with err set when our own files cannot be
 * read (the run cannot check anyone then). */
int swan_admission_check(swan_admission *a, const swan_msg_identity *id, char *why, size_t size,
                         swan_error *err);

#endif
