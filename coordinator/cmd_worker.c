/* cmd_worker.c: `swan worker --connect ENDPOINT`: worker processes (worker_loop.c,
 * worker_procs.c), started by swan analyze for local cores (one each) or by hand on
 * another host (one per core by default, with CURVE keys on a LAN). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coordinator/cli.h"
#include "proto/curve_keys.h"
#include "worker/worker_procs.h"

int swan_cmd_worker(int argc, char **argv);

static const char help_text[] =
    "usage: swan worker --connect ENDPOINT [--curve-server C.pub --curve-secret W.key] [-j N]\n"
    "                   [--model-dir DIR | --stream]\n"
    "\n"
    "Run workers for a coordinator (swan analyze ... --listen ENDPOINT) on this host.\n"
    "The workers read tensors from the same checkpoint path as the coordinator.\n"
    "\n"
    "options:\n"
    "      --connect ENDPOINT  the coordinator, e.g. tcp://host:5555\n"
    "      --curve-server FILE the coordinator's public key (coordinator.pub)\n"
    "      --curve-secret FILE this host's secret key (swan keygen -o NAME; NAME.pub\n"
    "                          goes into the coordinator's --allow)\n"
    "      --model-dir DIR     this host's copy of the model (same file layout, any path);\n"
    "                          default: the coordinator's path. The copy is checked\n"
    "                          against the coordinator's before any task. A folder\n"
    "                          holding none of the model's files means --stream.\n"
    "      --stream            no copy of the model here: get each tensor's bytes from\n"
    "                          the coordinator (its own copy is the one read)\n"
    "      --stream-window MiB bytes in flight per worker process while streaming,\n"
    "                          1..1024 MiB (default 8)\n"
    "  -j, --jobs N            worker processes, 1..4096 (default: one per core)\n"
    "      --threads T         BLAS threads, 1..1024 (default 1)\n"
    "      --parent PID        exit when process PID is gone (set by swan analyze)\n"
    "  -h, --help              this help\n"
    "\n"
    "Exit status: 0 told to stop by the coordinator, 1 failed, 2 flags refused,\n"
    "143 stopped by a signal.\n";

enum { OPT_CONNECT = 1000, OPT_THREADS, OPT_PARENT, OPT_CURVE_SERVER, OPT_CURVE_SECRET, OPT_MODEL_DIR,
       OPT_STREAM, OPT_STREAM_WINDOW };

/* Fault injection for the integration tests, given through the environment so that
 * the workers `swan analyze` starts inherit it; it lives here in the program, the
 * worker library only offers the before_tensor hook:
 *   SWAN_TEST_WORKER_DELAY_MS=N  sleep N ms before each tensor, so a test can
 *                                interrupt or kill a run part-way reliably;
 *   SWAN_TEST_WORKER_FAIL=TEXT   tensors whose name contains TEXT fail as if
 *                                unreadable on this host. */
typedef struct test_faults {
    int delay_ms;
    const char *fail_pattern;
} test_faults;

static int inject_faults(void *ctx, const char *name, const atomic_bool *cancel, swan_error *err) {
    const test_faults *f = ctx;
    /* In slices short enough for a stop request to end the wait at once. */
    for (int left = f->delay_ms; left > 0 && !atomic_load(cancel); left -= 10) {
        struct timespec ts = {0, (long)(left < 10 ? left : 10) * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (f->fail_pattern && strstr(name, f->fail_pattern))
        return swan_error_set(err, "cannot read (failure injected by SWAN_TEST_WORKER_FAIL)");
    return 0;
}

static void set_test_faults(swan_worker_opts *o, test_faults *f) {
    const char *d = getenv("SWAN_TEST_WORKER_DELAY_MS"), *p = getenv("SWAN_TEST_WORKER_FAIL");
    f->delay_ms = d ? atoi(d) : 0;
    f->fail_pattern = p && *p ? p : NULL;
    if (f->delay_ms > 0 || f->fail_pattern) {
        o->before_tensor = inject_faults;
        o->hook_ctx = f;
    }
}

typedef struct worker_flags {
    swan_worker_opts o;
    int jobs;
    const char *server_pub, *secret;
} worker_flags;

static int nonempty(const char *flag, const char *what, const char *arg) {
    if (*arg) return 0;
    swan_cli_bad_value("worker", flag, what, arg);
    return -1;
}

/* One of the worker's flags; -1 after printing the refusal. */
static int worker_flag(void *ctx, int c, const char *arg) {
    worker_flags *f = ctx;
    uint64_t v;
    switch (c) {
    case OPT_CONNECT:
        if (nonempty("--connect", "an endpoint", arg)) return -1;
        f->o.endpoint = arg;
        return 0;
    case OPT_THREADS: return swan_cli_flag_int("worker", "--threads", arg, 1, 1024, &f->o.threads);
    case 'j': return swan_cli_flag_int("worker", "--jobs", arg, 1, 4096, &f->jobs);
    case OPT_CURVE_SERVER: f->server_pub = arg; return 0;
    case OPT_CURVE_SECRET: f->secret = arg; return 0;
    case OPT_MODEL_DIR:
        if (nonempty("--model-dir", "a folder", arg)) return -1;
        f->o.model_dir = arg;
        return 0;
    case OPT_STREAM: f->o.stream = true; return 0;
    case OPT_STREAM_WINDOW:
        if (swan_cli_flag_u64("worker", "--stream-window", arg, 1, 1024, &v)) return -1;
        f->o.stream_window = v << 20;
        return 0;
    case OPT_PARENT:
        if (swan_cli_flag_u64("worker", "--parent", arg, 1, 0x7fffffff, &v)) return -1;
        f->o.parent = (pid_t)v;
        return 0;
    default: return -1;
    }
}

int swan_cmd_worker(int argc, char **argv) {
    worker_flags f = {.jobs = -1};
    swan_worker_opts *o = &f.o;
    swan_worker_default_opts(o);
    test_faults faults;
    set_test_faults(o, &faults);
    static const struct option longopts[] = {{"connect", required_argument, 0, OPT_CONNECT},
                                             {"threads", required_argument, 0, OPT_THREADS},
                                             {"parent", required_argument, 0, OPT_PARENT},
                                             {"curve-server", required_argument, 0, OPT_CURVE_SERVER},
                                             {"curve-secret", required_argument, 0, OPT_CURVE_SECRET},
                                             {"jobs", required_argument, 0, 'j'},
                                             {"model-dir", required_argument, 0, OPT_MODEL_DIR},
                                             {"stream", no_argument, 0, OPT_STREAM},
                                             {"stream-window", required_argument, 0, OPT_STREAM_WINDOW},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    const swan_cli_spec spec = {.cmd = "worker", .shortopts = "j:h", .longopts = longopts,
                                .help = help_text, .flag = worker_flag, .ctx = &f};
    int nargs, st = swan_cli_parse(&spec, argc, argv, NULL, &nargs);
    if (st != SWAN_CLI_GO) return st;
    if (f.jobs >= 0) swan_cli_warn_jobs("worker", f.jobs);
    if (!o->endpoint) return swan_cli_refuse("worker", "--connect: expected an endpoint, got nothing");
    if ((f.server_pub != NULL) != (f.secret != NULL))
        return swan_cli_refuse("worker", "--curve-server and --curve-secret go together (the "
                                         "coordinator's public key and this host's secret key)");
    swan_error err = {{0}};
    swan_curve_keypair keys;
    char server_key[SWAN_Z85_KEY_LEN + 1];
    if (f.secret) {
        if (swan_key_load_secret(f.secret, &keys, &err) || swan_key_load_public(f.server_pub, server_key, &err)) {
            fprintf(stderr, "swan worker: %s\n", err.msg);
            return SWAN_EXIT_REFUSED;
        }
        o->curve = &keys;
        o->server_key = server_key;
    }
    /* Started by a local swan analyze (--parent): one process; by hand: one per core. */
    if (f.jobs < 0) f.jobs = o->parent ? 1 : swan_cli_cores();
    volatile sig_atomic_t *stop = swan_cli_stop_flag();
    int status = swan_worker_run_procs(o, f.jobs, stop, &err);
    memset(&keys, 0, sizeof keys);
    /* Stopped by a signal: the coordinator (or the user) asked; nothing to say. */
    if (*stop) return 128 + SIGTERM;
    if (status) fprintf(stderr, "swan worker: %s\n", err.msg);
    return status;
}
