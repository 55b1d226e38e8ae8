/* main.c: the `swan` command line.
 *
 *   swan analyze MODEL_DIR [-o OUT] [-j N] ...   the whole job (coordinator + local workers)
 *   swan inspect MODEL_DIR                       what is in a checkpoint
 *   swan worker --connect ENDPOINT               a worker (started by analyze, or by hand
 *                                                on another host)
 *   swan demo [DIR]                              write the built-in demo checkpoint and
 *                                                analyze it
 *
 * Only this file prints errors and chooses exit statuses; everything below returns
 * a swan_error. The one piece of global state is the signal flag, which a signal
 * handler can only reach through a global. */
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/checkpoint.h"
#include "coordinator/analyze.h"
#include "coordinator/demo_model.h"
#include "coordinator/inspect.h"
#include "worker/worker_loop.h"

#define SWAN_VERSION "0.1.0"

static volatile sig_atomic_t g_stop = 0;

static void on_signal(int sig) {
    (void)sig;
    g_stop = 1;
}

static void install_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static void usage(FILE *out) {
    fprintf(out,
            "swan %s: data-free mixed-precision bit allocation for LLM checkpoints (SWAN)\n"
            "\n"
            "usage:\n"
            "  swan analyze MODEL_DIR [options]   analyze a checkpoint, write OUT/manifest.json\n"
            "  swan inspect MODEL_DIR             list what the checkpoint holds\n"
            "  swan worker --connect ENDPOINT     run a worker for a coordinator (other hosts)\n"
            "  swan demo [DIR]                    write the built-in demo checkpoint and analyze it\n"
            "\n"
            "analyze options:\n"
            "  -o, --out DIR           output folder (default swan-out): manifest.json, journal.jsonl\n"
            "  -j, --jobs N            local worker processes (default: one per online core / threads;\n"
            "                          0 = only remote workers, needs --listen)\n"
            "      --threads T         BLAS threads per worker (default 1)\n"
            "      --seed S            run seed for every random number (default 0)\n"
            "      --weights A,B,C,D   composite weights svd,kurtosis,output,error (sum 1;\n"
            "                          default 0.20,0.45,0.15,0.20)\n"
            "      --thresholds L,M,H  2-bit <= L < 4-bit < M <= 8-bit < H <= 16-bit\n"
            "                          (default 0.10,0.65,0.90)\n"
            "      --group-sizes LIST  quantization group size per width (default 2:32,4:128,8:64)\n"
            "      --protect PATTERN   keep tensors whose name contains PATTERN at 16 bits\n"
            "                          (repeatable; adds to the built-in list)\n"
            "      --listen ENDPOINT   also accept workers from other hosts, e.g. tcp://*:5555\n"
            "      --worker-timeout S  drop a busy worker silent for S seconds (default 120)\n"
            "      --fresh             ignore OUT/journal.jsonl and start over\n"
            "  -q, --quiet             no progress or summary\n"
            "  -v, --verbose           also print how long each phase took\n"
            "\n"
            "An interrupted analyze resumes from OUT/journal.jsonl when run again.\n"
            "Exit status: 0 done, 1 failed, 2 input or flags refused, 130 interrupted.\n",
            SWAN_VERSION);
}

static int parse_uint(const char *s, long max, long *out) {
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < 0 || v > max) return -1;
    *out = v;
    return 0;
}

enum {
    OPT_THREADS = 1000, OPT_SEED, OPT_WEIGHTS, OPT_THRESHOLDS, OPT_GROUPS, OPT_PROTECT,
    OPT_LISTEN, OPT_TIMEOUT, OPT_FRESH, OPT_CONNECT, OPT_PARENT
};

static int cmd_analyze(int argc, char **argv, const char *argv0) {
    swan_analyze_opts o;
    swan_analyze_default_opts(&o);
    o.argv0 = argv0;
    bool jobs_set = false;
    static const struct option longopts[] = {
        {"out", required_argument, 0, 'o'},         {"jobs", required_argument, 0, 'j'},
        {"quiet", no_argument, 0, 'q'},             {"threads", required_argument, 0, OPT_THREADS},
        {"seed", required_argument, 0, OPT_SEED},   {"weights", required_argument, 0, OPT_WEIGHTS},
        {"thresholds", required_argument, 0, OPT_THRESHOLDS},
        {"group-sizes", required_argument, 0, OPT_GROUPS},
        {"protect", required_argument, 0, OPT_PROTECT},
        {"listen", required_argument, 0, OPT_LISTEN},
        {"worker-timeout", required_argument, 0, OPT_TIMEOUT},
        {"fresh", no_argument, 0, OPT_FRESH},       {"help", no_argument, 0, 'h'},
        {"verbose", no_argument, 0, 'v'},
        {0, 0, 0, 0}};
    swan_error err = {{0}};
    int c;
    long v;
    const char *model = NULL;
    int npositional = 0;
    /* A leading '-' in the option string hands each positional argument back as
     * option 1, in order, with both GNU and BSD (macOS) getopt_long: so
     * `swan analyze MODEL -o OUT` works everywhere, not only where getopt permutes. */
    while ((c = getopt_long(argc, argv, "-o:j:qvh", longopts, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 1:
            if (npositional++ == 0) model = optarg;
            break;
        case 'o': o.out_dir = optarg; break;
        case 'j':
            bad = parse_uint(optarg, 4096, &v);
            o.jobs = (int)v;
            jobs_set = true;
            if (bad) swan_error_set(&err, "-j needs a number of workers 0..4096, got '%s'", optarg);
            break;
        case 'q': o.quiet = true; break;
        case 'v': o.verbose = true; break;
        case OPT_THREADS:
            bad = parse_uint(optarg, 1024, &v) || v < 1;
            o.threads = (int)v;
            if (bad) swan_error_set(&err, "--threads needs a number 1..1024, got '%s'", optarg);
            break;
        case OPT_SEED: {
            char *end;
            o.seed = strtoull(optarg, &end, 10);
            if (end == optarg || *end || optarg[0] == '-')
                bad = swan_error_set(&err, "--seed needs a non-negative integer, got '%s'", optarg);
            break;
        }
        case OPT_WEIGHTS: bad = swan_policy_parse_weights(&o.policy, optarg, &err); break;
        case OPT_THRESHOLDS: bad = swan_policy_parse_thresholds(&o.policy, optarg, &err); break;
        case OPT_GROUPS: bad = swan_policy_parse_group_sizes(&o.policy, optarg, &err); break;
        case OPT_PROTECT: bad = swan_policy_add_protect(&o.policy, optarg, &err); break;
        case OPT_LISTEN: o.listen = optarg; break;
        case OPT_TIMEOUT: {
            char *end;
            o.worker_timeout = strtod(optarg, &end);
            if (end == optarg || *end || !(o.worker_timeout >= 1 && o.worker_timeout <= 86400))
                bad = swan_error_set(&err, "--worker-timeout needs seconds in 1..86400, got '%s'",
                                     optarg);
            break;
        }
        case OPT_FRESH: o.fresh = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return SWAN_EXIT_REFUSED;
        }
        if (bad) {
            fprintf(stderr, "swan: %s\n", err.msg);
            return SWAN_EXIT_REFUSED;
        }
    }
    if (npositional != 1) {
        fprintf(stderr, "swan: analyze needs exactly one MODEL_DIR (try swan analyze --help)\n");
        return SWAN_EXIT_REFUSED;
    }
    o.model_dir = model;
    if (!jobs_set && o.threads > 1) o.jobs = o.jobs / o.threads > 0 ? o.jobs / o.threads : 1;
    if (o.jobs == 0 && !o.listen) {
        fprintf(stderr, "swan: -j 0 means no local workers; give --listen so remote ones can join\n");
        return SWAN_EXIT_REFUSED;
    }
    int status = swan_analyze(&o, &g_stop, &err);
    if (status != SWAN_EXIT_OK) fprintf(stderr, "swan: %s\n", err.msg);
    return status;
}

static int cmd_inspect(int argc, char **argv) {
    if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: swan inspect MODEL_DIR\n");
        return SWAN_EXIT_REFUSED;
    }
    swan_checkpoint ck;
    swan_error err;
    if (swan_checkpoint_open(argv[1], &ck, &err)) {
        fprintf(stderr, "swan: %s\n", err.msg);
        return SWAN_EXIT_REFUSED;
    }
    swan_inspect_print(&ck, stdout);
    swan_checkpoint_free(&ck);
    return 0;
}

static int cmd_worker(int argc, char **argv) {
    swan_worker_opts o;
    swan_worker_default_opts(&o);
    static const struct option longopts[] = {{"connect", required_argument, 0, OPT_CONNECT},
                                             {"threads", required_argument, 0, OPT_THREADS},
                                             {"parent", required_argument, 0, OPT_PARENT},
                                             {0, 0, 0, 0}};
    int c;
    long v;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_CONNECT: o.endpoint = optarg; break;
        case OPT_THREADS:
            if (parse_uint(optarg, 1024, &v) || v < 1) goto bad;
            o.threads = (int)v;
            break;
        case OPT_PARENT:
            if (parse_uint(optarg, LONG_MAX, &v)) goto bad;
            o.parent = (pid_t)v;
            break;
        default: goto bad;
        }
    }
    if (!o.endpoint || optind != argc) goto bad;
    swan_error err;
    if (swan_worker_run(&o, &g_stop, &err)) {
        /* Stopped by a signal: the coordinator (or the user) asked; nothing to say. */
        if (g_stop) return 128 + SIGTERM;
        fprintf(stderr, "swan worker: %s\n", err.msg);
        return 1;
    }
    return 0;
bad:
    fprintf(stderr, "usage: swan worker --connect ENDPOINT [--threads T]\n");
    return SWAN_EXIT_REFUSED;
}

static int cmd_demo(int argc, char **argv, const char *argv0) {
    const char *dir = argc > 1 ? argv[1] : "swan-demo-model";
    const char *out = argc > 2 ? argv[2] : "swan-demo-out";
    swan_demo_opts d;
    swan_demo_default_opts(&d);
    swan_error err;
    char cfg[PATH_MAX + 32];
    snprintf(cfg, sizeof cfg, "%s/model.safetensors.index.json", dir);
    if (access(cfg, R_OK) != 0) {
        fprintf(stderr, "swan: writing the demo checkpoint to %s\n", dir);
        if (swan_demo_model_write(dir, &d, &err)) {
            fprintf(stderr, "swan: %s\n", err.msg);
            return SWAN_EXIT_FAILED;
        }
    }
    swan_analyze_opts o;
    swan_analyze_default_opts(&o);
    o.argv0 = argv0;
    o.model_dir = dir;
    o.out_dir = out;
    fprintf(stderr, "swan: analyzing %s with %d workers into %s\n", dir, o.jobs, out);
    int status = swan_analyze(&o, &g_stop, &err);
    if (status != SWAN_EXIT_OK) fprintf(stderr, "swan: %s\n", err.msg);
    return status;
}

int main(int argc, char **argv) {
    install_signals();
    if (argc < 2) {
        usage(stderr);
        return SWAN_EXIT_REFUSED;
    }
    const char *cmd = argv[1];
    /* Subcommands parse argv[1..] as their own argv. */
    if (strcmp(cmd, "analyze") == 0) return cmd_analyze(argc - 1, argv + 1, argv[0]);
    if (strcmp(cmd, "inspect") == 0) return cmd_inspect(argc - 1, argv + 1);
    if (strcmp(cmd, "worker") == 0) return cmd_worker(argc - 1, argv + 1);
    if (strcmp(cmd, "demo") == 0) return cmd_demo(argc - 1, argv + 1, argv[0]);
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("swan %s\n", SWAN_VERSION);
        return 0;
    }
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "swan: unknown command '%s' (try swan --help)\n", cmd);
    return SWAN_EXIT_REFUSED;
}
