/* local_workers.c: start, reap and stop the local worker processes (see header). */
#include "coordinator/schedule/local_workers.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifdef __APPLE__
#include <mach-o/dyld.h>
#endif

#include "worker/worker_loop.h"

extern char **environ;

static int is_executable(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0;
}

int swan_self_exe(const char *argv0, char *out, size_t size, swan_error *err) {
    char buf[PATH_MAX];
#ifdef __APPLE__
    uint32_t len = sizeof buf;
    if (_NSGetExecutablePath(buf, &len) == 0 && realpath(buf, out ? out : buf) && size >= PATH_MAX)
        return 0;
#else
    /* Linux has the answer in /proc; elsewhere (or without /proc) fall through. */
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n > 0 && (size_t)n < size) {
        buf[n] = '\0';
        if (is_executable(buf)) {
            memcpy(out, buf, (size_t)n + 1);
            return 0;
        }
    }
#endif
    /* argv[0] with a slash is a path; without one it was found on PATH. */
    if (argv0 && strchr(argv0, '/')) {
        if (realpath(argv0, buf) && strlen(buf) < size && is_executable(buf)) {
            strcpy(out, buf);
            return 0;
        }
    } else if (argv0) {
        const char *path = getenv("PATH");
        while (path && *path) {
            const char *colon = strchr(path, ':');
            size_t dl = colon ? (size_t)(colon - path) : strlen(path);
            if (snprintf(buf, sizeof buf, "%.*s/%s", (int)dl, path, argv0) < (int)sizeof buf &&
                is_executable(buf) && strlen(buf) < size) {
                strcpy(out, buf);
                return 0;
            }
            path = colon ? colon + 1 : NULL;
        }
    }
    return swan_error_set(err, "cannot find the swan executable to start workers (argv[0] '%s')",
                          argv0 ? argv0 : "");
}

static void identity_of(const swan_local_pool *pool, uint64_t spawn_no, char *out, size_t size) {
    snprintf(out, size, "L%s.%llu", pool->secret, (unsigned long long)spawn_no);
}

/* 128 random bits; refuses to run without a source of them, since a guessable
 * secret would let a peer pass for a local worker. */
static int make_secret(char out[33], swan_error *err) {
    unsigned char r[16];
    int fd = open("/dev/urandom", O_RDONLY);
    ssize_t got = fd >= 0 ? read(fd, r, sizeof r) : -1;
    if (fd >= 0) close(fd);
    if (got != (ssize_t)sizeof r)
        return swan_error_set(err, "cannot read /dev/urandom for the local workers' secret");
    for (size_t i = 0; i < sizeof r; i++) snprintf(out + 2 * i, 3, "%02x", r[i]);
    return 0;
}

pid_t swan_local_pool_find(const swan_local_pool *pool, const void *id, size_t idlen) {
    char want[96];
    for (size_t i = 0; i < pool->n; i++) {
        if (!pool->pids[i]) continue;
        identity_of(pool, pool->spawn_no[i], want, sizeof want);
        if (strlen(want) == idlen && memcmp(want, id, idlen) == 0) return pool->pids[i];
    }
    return 0;
}

static int spawn_one(swan_local_pool *pool, size_t slot, swan_error *err) {
    char threads[16], parent[32];
    snprintf(threads, sizeof threads, "%d", pool->threads);
    snprintf(parent, sizeof parent, "%ld", (long)getpid());
    char *argv[] = {pool->exe,  "worker",   "--connect", pool->endpoint, "--threads",
                    threads,    "--parent", parent,      NULL};
    /* BLAS libraries size their thread pools from the environment when they load,
     * before the worker's main() could change anything: give the child its own. */
    static const char *blas_vars[] = {"OPENBLAS_NUM_THREADS=", "VECLIB_MAXIMUM_THREADS=",
                                      "OMP_NUM_THREADS=", SWAN_WORKER_IDENTITY_ENV "="};
    enum { NVARS = 4 };
    size_t nenv = 0;
    while (environ[nenv]) nenv++;
    char **envp = calloc(nenv + NVARS + 1, sizeof *envp);
    char vars[NVARS][128];
    if (!envp) return swan_error_set(err, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < nenv; i++) {
        int ours = 0;
        for (int v = 0; v < NVARS; v++)
            ours |= strncmp(environ[i], blas_vars[v], strlen(blas_vars[v])) == 0;
        if (!ours) envp[k++] = environ[i];
    }
    char identity[96];
    identity_of(pool, pool->spawned_total, identity, sizeof identity);
    for (int v = 0; v < NVARS; v++) {
        snprintf(vars[v], sizeof vars[v], "%s%s", blas_vars[v], v == NVARS - 1 ? identity : threads);
        envp[k++] = vars[v];
    }
    pid_t pid;
    int rc = posix_spawn(&pid, pool->exe, NULL, NULL, argv, envp);
    free(envp);
    if (rc != 0)
        return swan_error_set(err, "cannot start worker %s: %s", pool->exe, strerror(rc));
    pool->pids[slot] = pid;
    pool->spawn_no[slot] = pool->spawned_total++;
    return 0;
}

int swan_local_pool_start(swan_local_pool *pool, const char *exe, const char *endpoint, size_t n,
                          int threads, swan_error *err) {
    memset(pool, 0, sizeof *pool);
    if (strlen(exe) >= sizeof pool->exe || strlen(endpoint) >= sizeof pool->endpoint)
        return swan_error_set(err, "worker path or endpoint too long");
    strcpy(pool->exe, exe);
    strcpy(pool->endpoint, endpoint);
    pool->threads = threads;
    pool->n = n;
    pool->pids = calloc(n ? n : 1, sizeof *pool->pids);
    pool->spawn_no = calloc(n ? n : 1, sizeof *pool->spawn_no);
    if (!pool->pids || !pool->spawn_no) return swan_error_set(err, "out of memory");
    if (make_secret(pool->secret, err)) return -1;
    for (size_t i = 0; i < n; i++)
        if (spawn_one(pool, i, err)) {
            swan_local_pool_stop(pool, 0);
            return -1;
        }
    return 0;
}

static void describe_status(int status, char *out, size_t size) {
    if (WIFEXITED(status))
        snprintf(out, size, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(out, size, "was killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(out, size, "stopped (status %d)", status);
}

size_t swan_local_pool_reap(swan_local_pool *pool,
                            void (*on_exit)(void *ctx, pid_t pid, const char *how), void *ctx) {
    size_t count = 0;
    for (size_t i = 0; i < pool->n; i++) {
        if (!pool->pids[i]) continue;
        int status;
        pid_t r = waitpid(pool->pids[i], &status, WNOHANG);
        if (r == pool->pids[i] || (r < 0 && errno == ECHILD)) {
            char how[128] = "vanished";
            if (r > 0) describe_status(status, how, sizeof how);
            pid_t pid = pool->pids[i];
            pool->pids[i] = 0;
            count++;
            if (on_exit) on_exit(ctx, pid, how);
        }
    }
    return count;
}

int swan_local_pool_respawn(swan_local_pool *pool, swan_error *err) {
    for (size_t i = 0; i < pool->n; i++)
        if (!pool->pids[i]) return spawn_one(pool, i, err);
    return swan_error_set(err, "no free worker slot");
}

size_t swan_local_pool_alive(const swan_local_pool *pool) {
    size_t a = 0;
    for (size_t i = 0; i < pool->n; i++) a += pool->pids[i] != 0;
    return a;
}

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Reaps for up to ms milliseconds or until every worker has exited. */
static void reap_for(swan_local_pool *pool, int ms) {
    for (int waited = 0; waited <= ms; waited += 10) {
        swan_local_pool_reap(pool, NULL, NULL);
        if (!swan_local_pool_alive(pool)) return;
        sleep_ms(10);
    }
}

void swan_local_pool_stop(swan_local_pool *pool, int grace_ms) {
    if (!pool->pids) return;
    /* Workers told to SHUT DOWN leave by themselves; give them grace_ms first. */
    reap_for(pool, grace_ms);
    for (size_t i = 0; i < pool->n; i++)
        if (pool->pids[i]) kill(pool->pids[i], SIGTERM);
    reap_for(pool, grace_ms > 0 ? 500 : 0);
    for (size_t i = 0; i < pool->n; i++)
        if (pool->pids[i]) {
            kill(pool->pids[i], SIGKILL);
            waitpid(pool->pids[i], NULL, 0);
            pool->pids[i] = 0;
        }
}

void swan_local_pool_free(swan_local_pool *pool) {
    swan_local_pool_stop(pool, 0);
    free(pool->pids);
    free(pool->spawn_no);
    pool->pids = NULL;
    pool->spawn_no = NULL;
    pool->n = 0;
}
