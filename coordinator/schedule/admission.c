/* admission.c: the model check before a worker's first task (see admission.h). */
#include "coordinator/schedule/admission.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"

/* A nonce the worker cannot guess: /dev/urandom, or the clock and pid without it. */
static uint64_t pick_nonce(void) {
    uint64_t n = 0;
    int fd = open("/dev/urandom", O_RDONLY);
    if (fd < 0 || read(fd, &n, sizeof n) != (ssize_t)sizeof n)
        n = (uint64_t)(swan_now_s() * 1e9) ^ ((uint64_t)getpid() << 32) ^ (uint64_t)time(NULL);
    if (fd >= 0) close(fd);
    return n;
}

int swan_admission_init(swan_admission *a, const swan_checkpoint *ck, swan_error *err) {
    memset(a, 0, sizeof *a);
    a->ck = ck;
    a->nonce = pick_nonce();
    a->names = calloc(ck->nshards + 1, sizeof *a->names);
    a->expected = calloc(ck->nshards + 1, sizeof *a->expected);
    if (!a->names || !a->expected) return swan_error_set(err, "out of memory");
    for (size_t i = 0; i < ck->nshards; i++) a->names[i] = ck->shards[i].file;
    /* The root is the shards' folder: their full path minus the relative name. */
    const char *root = ck->dir;
    size_t rlen = strlen(root);
    if (ck->nshards) {
        const char *p = ck->shards[0].path, *f = ck->shards[0].file;
        size_t pl = strlen(p), fl = strlen(f);
        if (pl > fl && strcmp(p + pl - fl, f) == 0 && p[pl - fl - 1] == '/') root = p, rlen = pl - fl - 1;
    }
    a->root = strndup(root, rlen);
    if (!a->root) return swan_error_set(err, "out of memory");
    return 0;
}

void swan_admission_free(swan_admission *a) {
    free(a->expected); /* the names are a->names' */
    free(a->names);
    free(a->root);
    memset(a, 0, sizeof *a);
}

void swan_admission_challenge(const swan_admission *a, swan_msg *m) {
    memset(m, 0, sizeof *m);
    m->type = SWAN_MSG_CHALLENGE;
    m->u.challenge.nonce = a->nonce;
    m->u.challenge.root = a->root;
    m->u.challenge.nshards = (uint32_t)a->ck->nshards;
    m->u.challenge.shards = a->names;
}

static int compute_expected(swan_admission *a, swan_error *err) {
    for (size_t i = 0; i < a->ck->nshards; i++) {
        if (swan_shard_identity_compute(a->ck->shards[i].path, a->names[i], a->nonce, &a->expected[i], err))
            return -1;
        if (!a->expected[i].present)
            return swan_error_set(err, "%s: gone since the checkpoint was validated", a->ck->shards[i].path);
    }
    a->computed = true;
    return 0;
}

int swan_admission_check(swan_admission *a, const swan_msg_identity *id, char *why, size_t size,
                         swan_error *err) {
    if (!a->computed && compute_expected(a, err)) return -1;
    if (id->nshards != a->ck->nshards)
        return snprintf(why, size, "it reported %u shards, the model has %zu", id->nshards, a->ck->nshards), 1;
    for (size_t i = 0; i < a->ck->nshards; i++) {
        char diff[160];
        if (strcmp(id->shards[i].name, a->names[i]) != 0)
            return snprintf(why, size, "shard %zu is '%.200s' in its answer, '%.200s' here", i,
                            id->shards[i].name, a->names[i]),
                   1;
        if (swan_shard_identity_diff(&a->expected[i], &id->shards[i], diff, sizeof diff))
            return snprintf(why, size, "its copy of %.300s differs: %s", a->names[i], diff), 1;
    }
    return 0;
}
