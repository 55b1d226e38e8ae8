/* map_guard.c: the SIGBUS guard over streamed mappings (see map_guard.h). */
#define _DEFAULT_SOURCE /* glibc: MAP_ANONYMOUS (the build asks for plain XSI otherwise) */
#include "coordinator/schedule/map_guard.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if !defined(MAP_ANONYMOUS) && defined(MAP_ANON)
#define MAP_ANONYMOUS MAP_ANON /* older macOS headers */
#endif

/* One slot per mapped shard streamed at once; a 400B checkpoint has ~200 shards. */
#define GUARD_SLOTS 4096

/* Slots are claimed with a compare-and-swap on `used` and published by storing
 * `start` last, so the handler (which may run on any thread, at any moment) sees
 * either nothing or a whole range. Everything it touches is lock-free atomics. */
struct swan_map_guard {
    atomic_int used;
    atomic_uintptr_t start;
    atomic_size_t len;
    atomic_int damaged;
};

static struct swan_map_guard g_slots[GUARD_SLOTS];
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static int g_install_errno;
static struct sigaction g_previous;

/* Replaces the faulting page with zeros when it lies in a guarded range; otherwise
 * puts back the previous action, so that returning re-raises the fault as before. */
static void on_sigbus(int sig, siginfo_t *info, void *uctx) {
    (void)uctx;
    uintptr_t a = (uintptr_t)info->si_addr;
    for (size_t i = 0; i < GUARD_SLOTS; i++) {
        uintptr_t s = atomic_load(&g_slots[i].start);
        if (!s || a < s || a - s >= atomic_load(&g_slots[i].len)) continue;
        long page = sysconf(_SC_PAGESIZE);
        uintptr_t p = a - a % (uintptr_t)(page > 0 ? page : 4096);
        void *z = mmap((void *)p, (size_t)(page > 0 ? page : 4096), PROT_READ,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        if (z == MAP_FAILED) break; /* cannot repair: take the default action */
        atomic_store(&g_slots[i].damaged, 1);
        return;
    }
    sigaction(sig, &g_previous, NULL);
}

static void install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGBUS, &sa, &g_previous) != 0) g_install_errno = errno ? errno : EINVAL;
}

swan_map_guard *swan_map_guard_add(void *addr, size_t len, swan_error *err) {
    pthread_once(&g_once, install);
    if (g_install_errno)
        return swan_error_set(err, "cannot guard streamed shards against truncation: %s",
                              strerror(g_install_errno)),
               NULL;
    for (size_t i = 0; i < GUARD_SLOTS; i++) {
        int expect = 0;
        if (!atomic_compare_exchange_strong(&g_slots[i].used, &expect, 1)) continue;
        atomic_store(&g_slots[i].damaged, 0);
        atomic_store(&g_slots[i].len, len);
        atomic_store(&g_slots[i].start, (uintptr_t)addr);
        return &g_slots[i];
    }
    swan_error_set(err, "more than %d shards streamed at once: the rest are not guarded against truncation",
                   GUARD_SLOTS);
    return NULL;
}

bool swan_map_guard_damaged(const swan_map_guard *g) {
    return g && atomic_load(&((swan_map_guard *)g)->damaged) != 0;
}

void swan_map_guard_remove(swan_map_guard *g) {
    if (!g) return;
    atomic_store(&g->start, 0);
    atomic_store(&g->len, 0);
    atomic_store(&g->used, 0);
}
