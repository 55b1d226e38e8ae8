/* fmt.c: printf-free number formatting (see fmt.h). */
#include "common/fmt.h"

size_t swan_fmt_u64(char *out, uint64_t v) {
    char d[20];
    size_t k = 0;
    do {
        d[k++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < k; i++) out[i] = d[k - 1 - i];
    out[k] = '\0';
    return k;
}
