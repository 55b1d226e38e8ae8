/* cmd_analyze.c: `swan analyze MODEL_DIR [options]`: flags into swan_analyze_opts,
 * then the job (analyze.c). Flag conventions are those of cli.h. */
#include <stdio.h>
#include <string.h>

#include "coordinator/analyze.h"
#include "coordinator/cli.h"
#include "coordinator/policy_cli.h"

int swan_cmd_analyze(int argc, char **argv);

static const char help_text[] =
    "usage: swan analyze MODEL_DIR [options]\n"
    "\n"
    "Analyze a checkpoint (a folder with *.safetensors, BF16/F16/F32 or FP8 with scales;\n"
    "or a .gguf file, or a folder holding a split GGUF) and write OUT/manifest.json:\n"
    "the bit width SWAN gives every weight tensor.\n"
    "\n"
    "options:\n"
    "  -o, --out DIR           output folder (default swan-out): manifest.json, journal.jsonl\n"
    "  -j, --jobs N            local worker processes (default: one per online core / threads;\n"
    "                          0 = only remote workers, needs --listen)\n"
    "      --threads T         BLAS threads per worker, 1..1024 (default 1)\n"
    "      --seed S            run seed for every random number, 0..2^64-1 (default 0)\n"
    "      --listen ENDPOINT   also accept workers from other hosts, e.g. tcp://*:5555\n"
    "      --curve-secret KEY  this coordinator's secret key (swan keygen): CURVE on --listen\n"
    "      --allow DIR|FILE    worker public keys admitted (*.pub files, or one key a line)\n"
    "      --insecure          allow --listen off loopback without keys (trusted networks)\n"
    "      --worker-timeout S  drop a busy worker silent for S seconds, 1..86400 (default 120)\n"
    "      --fresh             ignore OUT/journal.jsonl and start over\n"
    "      --repair            drop damaged journal records and analyze those tensors again\n"
    "                          (default: refuse, naming the damaged line)\n"
    "      --keep-failed       if tensors fail on 3 workers, still write the manifest with\n"
    "                          them at 16 bits (reason analysis_failed); exit status stays 1\n"
    "  -q, --quiet             print neither progress nor the summary (errors still show)\n"
    "  -v, --verbose           also print how long each phase took, and each host's\n"
    "                          workers, tasks done and throughput in the progress line\n"
    "  -h, --help              this help\n"
    "\n"
    "%s"
    "\n"
    "Outputs: manifest.json, mlx_quant.json + swan_predicate.py (mlx_lm), llama_tensor_types.txt\n"
    "(llama-quantize --tensor-type-file), report.html; swan reduce OUT re-decides from the journal.\n"
    "Progress, the summary, warnings and errors go to standard error; -q hides the\n"
    "progress and the summary.\n"
    "An interrupted analyze resumes from OUT/journal.jsonl when run again.\n"
    "Exit status: 0 done, 1 failed, 2 input or flags refused, 130 interrupted.\n";

enum {
    OPT_THREADS = 1000, OPT_SEED, OPT_LISTEN, OPT_TIMEOUT, OPT_FRESH, OPT_KEEP_FAILED, OPT_REPAIR,
    OPT_CURVE_SECRET, OPT_ALLOW, OPT_INSECURE
};

typedef struct analyze_flags {
    swan_analyze_opts o;
    bool jobs_set;
} analyze_flags;

/* One of analyze's own flags into o; -1 after printing the refusal. */
static int apply_flag(void *ctx, int c, const char *arg) {
    analyze_flags *f = ctx;
    swan_analyze_opts *o = &f->o;
    switch (c) {
    case 'o': return swan_cli_check_out_dir("analyze", "--out", (o->out_dir = arg));
    case 'j':
        f->jobs_set = true;
        return swan_cli_flag_int("analyze", "--jobs", arg, 0, 4096, &o->jobs);
    case 'q': o->quiet = true; return 0;
    case 'v': o->verbose = true; return 0;
    case OPT_THREADS: return swan_cli_flag_int("analyze", "--threads", arg, 1, 1024, &o->threads);
    case OPT_SEED: return swan_cli_flag_u64("analyze", "--seed", arg, 0, UINT64_MAX, &o->seed);
    case OPT_LISTEN: o->listen = arg; return 0;
    case OPT_CURVE_SECRET: o->curve_secret = arg; return 0;
    case OPT_ALLOW: o->allow = arg; return 0;
    case OPT_INSECURE: o->insecure = true; return 0;
    case OPT_TIMEOUT:
        return swan_cli_flag_double("analyze", "--worker-timeout", arg, 1, 86400, &o->worker_timeout);
    case OPT_FRESH: o->fresh = true; return 0;
    case OPT_REPAIR: o->repair = true; return 0;
    case OPT_KEEP_FAILED: o->keep_failed = true; return 0;
    default: return -1;
    }
}

int swan_cmd_analyze(int argc, char **argv) {
    static const struct option longopts[] = {
        {"out", required_argument, 0, 'o'},         {"jobs", required_argument, 0, 'j'},
        {"quiet", no_argument, 0, 'q'},             {"threads", required_argument, 0, OPT_THREADS},
        {"seed", required_argument, 0, OPT_SEED},   SWAN_POLICY_LONGOPTS,
        {"listen", required_argument, 0, OPT_LISTEN},
        {"curve-secret", required_argument, 0, OPT_CURVE_SECRET},
        {"allow", required_argument, 0, OPT_ALLOW},
        {"insecure", no_argument, 0, OPT_INSECURE},
        {"worker-timeout", required_argument, 0, OPT_TIMEOUT},
        {"fresh", no_argument, 0, OPT_FRESH},       {"repair", no_argument, 0, OPT_REPAIR},
        {"help", no_argument, 0, 'h'},
        {"verbose", no_argument, 0, 'v'},
        {"keep-failed", no_argument, 0, OPT_KEEP_FAILED},
        {0, 0, 0, 0}};
    analyze_flags f = {.jobs_set = false};
    swan_analyze_opts *o = &f.o;
    swan_analyze_default_opts(o);
    o->argv0 = swan_cli_argv0();
    const swan_cli_spec spec = {.cmd = "analyze", .shortopts = "o:j:qvh", .longopts = longopts,
                                .help = help_text, .min_args = 1, .max_args = 1,
                                .args_hint = "one MODEL_DIR only",
                                .args_missing = "expected a MODEL_DIR",
                                .arg_names = {"MODEL_DIR"}, .policy = &o->policy,
                                .flag = apply_flag, .ctx = &f};
    const char *model;
    int nargs, st = swan_cli_parse(&spec, argc, argv, &model, &nargs);
    if (st != SWAN_CLI_GO) return st;
    o->model_dir = model;
    if (!f.jobs_set && o->threads > 1) o->jobs = o->jobs / o->threads > 0 ? o->jobs / o->threads : 1;
    if (o->jobs == 0 && !o->listen)
        return swan_cli_refuse("analyze", "--jobs: 0 means no local workers; give --listen so remote ones can join");
    if (f.jobs_set) swan_cli_warn_jobs("analyze", o->jobs);
    swan_error err = {{0}};
    int status = swan_analyze(o, swan_cli_stop_flag(), &err);
    if (status != SWAN_EXIT_OK) fprintf(stderr, "swan analyze: %s\n", err.msg);
    return status;
}
