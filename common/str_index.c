/* str_index.c: the string-number hash table (see str_index.h). */
#include "common/str_index.h"

#include <stdlib.h>
#include <string.h>

static uint64_t hash(const char *s) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) h = (h ^ *p) * 0x100000001b3ull;
    return h ^ (h >> 29); /* the low bits pick the slot: fold the high ones in */
}

int swan_str_index_init(swan_str_index *ix, size_t max_strings) {
    size_t size = 16;
    while (size < 2 * max_strings) size *= 2;
    ix->mask = size - 1;
    ix->slot = calloc(size, sizeof *ix->slot);
    return ix->slot ? 0 : -1;
}

void swan_str_index_free(swan_str_index *ix) {
    free(ix->slot);
    ix->slot = NULL;
}

uint32_t swan_str_index_find(swan_str_index *ix, const char *s, swan_str_of str_of,
                             const void *ctx, uint32_t add_as) {
    size_t k = (size_t)hash(s) & ix->mask;
    for (; ix->slot[k]; k = (k + 1) & ix->mask)
        if (strcmp(str_of(ctx, ix->slot[k] - 1), s) == 0) return ix->slot[k] - 1;
    if (add_as != SWAN_STR_NONE) ix->slot[k] = add_as + 1;
    return add_as;
}
