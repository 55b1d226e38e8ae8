/* str_index.h: strings to their numbers, through a hash table that holds numbers only.
 *
 * Matching 100,000 journal records to tensor names, or grouping 100,000 expert
 * tensors by stack key, by sorting the strings cost more than the rest of that work
 * (the names share long prefixes); one pass through an open-addressing table (FNV-1a)
 * is linear. The caller keeps the strings, numbered from 0, and says how to get one. */
#ifndef SWAN_STR_INDEX_H
#define SWAN_STR_INDEX_H

#include <stddef.h>
#include <stdint.h>

#define SWAN_STR_NONE UINT32_MAX

typedef struct swan_str_index {
    uint32_t *slot; /* string number + 1; 0 = empty */
    size_t mask;
} swan_str_index;

/* The string numbered k (valid for as long as the index is used). */
typedef const char *(*swan_str_of)(const void *ctx, uint32_t k);

/* Room for up to max_strings strings (the table is kept at most half full). */
int swan_str_index_init(swan_str_index *ix, size_t max_strings);
void swan_str_index_free(swan_str_index *ix);

/* The number of the string equal to s; when there is none, add_as is recorded for s
 * (unless it is SWAN_STR_NONE) and returned. So a first occurrence wins, and a lookup
 * passes SWAN_STR_NONE. The caller must not add more than max_strings. */
uint32_t swan_str_index_find(swan_str_index *ix, const char *s, swan_str_of str_of,
                             const void *ctx, uint32_t add_as);

#endif
