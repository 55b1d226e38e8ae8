/* stacks.c: expert-stack keys (see stacks.h). */
#include "coordinator/reduce/stacks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool swan_stack_key(const char *name, char *key, size_t size, long *expert) {
    const char *p = name;
    while ((p = strstr(p, "experts.")) != NULL) {
        /* whole component: at the start or after a '.' ("shared_experts." is not one) */
        bool starts = p == name || p[-1] == '.';
        const char *d = p + 8, *e = d;
        while (*e >= '0' && *e <= '9') e++;
        if (starts && e > d && *e == '.') {
            size_t pre = (size_t)(d - name);
            if (pre + 1 + strlen(e) + 1 > size) return false;
            memcpy(key, name, pre);
            key[pre] = '*';
            strcpy(key + pre + 1, e);
            if (expert) *expert = strtol(d, NULL, 10);
            return true;
        }
        p += 8;
    }
    return false;
}
