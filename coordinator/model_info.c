/* model_info.c: what tensor names say about a model's structure (see model_info.h). */
#include "coordinator/model_info.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

typedef enum index_role { ROLE_OTHER, ROLE_LAYER, ROLE_EXPERT } index_role;

/* What a numeric component means, judging by the component before it. */
static index_role role_after(const char *prev, size_t len) {
    static const char *const layer_words[] = {"layers", "layer", "h", "blocks", "blk" /* GGUF */};
    for (size_t i = 0; i < sizeof layer_words / sizeof layer_words[0]; i++)
        if (strlen(layer_words[i]) == len && memcmp(prev, layer_words[i], len) == 0) return ROLE_LAYER;
    if (len == 7 && memcmp(prev, "experts", 7) == 0) return ROLE_EXPERT;
    return ROLE_OTHER;
}

static bool all_digits(const char *s, size_t len) {
    if (len == 0) return false;
    for (size_t i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9') return false;
    return true;
}

/* Appends len bytes to out[*pos] while room remains (one byte kept for the NUL). */
static void append(char *out, size_t size, size_t *pos, const char *s, size_t len) {
    size_t room = *pos + 1 < size ? size - 1 - *pos : 0;
    size_t k = len < room ? len : room;
    memcpy(out + *pos, s, k);
    *pos += k;
}

/* Only whole dot-separated numeric components are folded: a digit inside a word
 * (fc1, w2, conv1d) names a different tensor, not an index. */
void swan_name_pattern(const char *name, char *out, size_t size) {
    if (size == 0) return;
    size_t pos = 0;
    const char *prev = NULL, *p = name;
    size_t prev_len = 0;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        if (all_digits(p, len)) {
            index_role r = prev ? role_after(prev, prev_len) : ROLE_OTHER;
            append(out, size, &pos, r == ROLE_LAYER ? "{N}" : r == ROLE_EXPERT ? "{E}" : "{#}", 3);
        } else {
            append(out, size, &pos, p, len);
        }
        if (!dot) break;
        append(out, size, &pos, ".", 1);
        prev = p;
        prev_len = len;
        p = dot + 1;
    }
    out[pos] = '\0';
}

/* The first index of the given role in name, if any (and if it fits 64 bits). */
static bool find_index(const char *name, index_role want, uint64_t *value) {
    const char *prev = NULL, *p = name;
    size_t prev_len = 0;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        if (prev && all_digits(p, len) && len <= 19 && role_after(prev, prev_len) == want) {
            uint64_t v = 0;
            for (size_t i = 0; i < len; i++) v = v * 10 + (uint64_t)(p[i] - '0');
            *value = v;
            return true;
        }
        if (!dot) return false;
        prev = p;
        prev_len = len;
        p = dot + 1;
    }
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Number of distinct indices of a role over all tensor names (sort + unique). */
static size_t count_distinct(const swan_checkpoint *ck, index_role role) {
    uint64_t *v = malloc((ck->ntensors ? ck->ntensors : 1) * sizeof *v);
    if (!v) return 0;
    size_t n = 0;
    for (size_t i = 0; i < ck->ntensors; i++)
        if (find_index(ck->tensors[i].name, role, &v[n])) n++;
    qsort(v, n, sizeof *v, cmp_u64);
    size_t distinct = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || v[i] != v[i - 1]) distinct++;
    free(v);
    return distinct;
}

int swan_count_layers(const swan_checkpoint *ck) {
    return (int)count_distinct(ck, ROLE_LAYER);
}

int swan_count_experts(const swan_checkpoint *ck) {
    return (int)count_distinct(ck, ROLE_EXPERT);
}

/* The rule of --protect (reduce.c: swan_policy_is_protected): ASCII case-insensitive
 * substring. */
static bool contains_nocase(const char *hay, const char *needle) {
    size_t n = strlen(needle);
    if (n == 0) return true;
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] && tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i])) i++;
        if (i == n) return true;
    }
    return false;
}

size_t swan_count_names_containing(const swan_checkpoint *ck, const char *pattern) {
    size_t n = 0;
    for (size_t i = 0; i < ck->ntensors; i++) n += contains_nocase(ck->tensors[i].name, pattern);
    return n;
}
