/* cmd_quantize.c: `swan quantize MODEL -o DIR (--from OUT | --bits B --group-size G |
 * allocation flags such as --target-bpw)`: writes the quantized MLX model folder
 * (SWAN-METRICS.md section 8) that mlx_lm loads, with no Python. The decisions come
 * from a finished analysis (OUT/manifest.json: decision.bits and decision.group_size
 * per tensor, pulled by common/json_scan.h's strict scanner: no tree, so a manifest of a
 * million tensors costs its text and one byte per tensor), or are one uniform width, or, with allocation flags (`swan reduce`'s:
 * --target-bpw, --target-size, --policy ...), are decided again from OUT's journal by
 * the one reduce path (swan_reduce_run), analyzing into OUT first when it holds no
 * finished analysis (OUT defaults to DIR.analysis). The
 * layout (names, stacks, shards, config) is coordinator/quantize/mlx_layout.c; the bytes
 * are quantized by `swan worker` processes (worker/quantize.c's kernel) and written by
 * coordinator/quantize/mlx_writer.c, resumably (coordinator/quantize/quantize_journal.h): an interrupted run (exit 130)
 * is finished by running the same command again.
 *
 * Test hook: SWAN_TEST_QUANTIZE_DELAY_MS=N sleeps N ms before each tensor journaled, so
 * a test can interrupt a run part-way. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/regular_file.h"
#include "common/checkpoint.h"
#include "common/json_scan.h"
#include "common/mlx_affine.h"
#include "coordinator/analyze.h"
#include "coordinator/cli.h"
#include "coordinator/journal/finished_analysis.h"
#include "coordinator/journal/journal.h"
#include "coordinator/policy_cli.h"
#include "coordinator/reduce/decisions.h"
#include "coordinator/quantize/mlx_layout.h"
#include "coordinator/quantize/mlx_writer.h"
#include "coordinator/quantize/quantize_journal.h"
#include "proto/transport.h"

int swan_cmd_quantize(int argc, char **argv);

static const char help_text[] =
    "usage: swan quantize MODEL_DIR -o DIR (--from OUT | --bits B [--group-size G] |\n"
    "                     --target-bpw B | --target-size S | other allocation flags) [-j N] [-q]\n"
    "\n"
    "Write the MLX model itself: packed uint32 weights, scales and biases exactly as MLX's\n"
    "affine quantization computes them, kept tensors unchanged, per-expert tensors stacked\n"
    "under mlx_lm's module paths (switch_mlp), tied lm_head dropped, config.json with the\n"
    "`quantization` block, shards of at most 5 GB with model.safetensors.index.json,\n"
    "tokenizer and generation files copied. The folder is complete when its index exists;\n"
    "an interrupted run (exit 130) resumes when the same command is run again.\n"
    "Architectures: llama, mistral, qwen2, qwen3, qwen3_moe, mixtral, deepseek_v3.\n"
    "\n"
    "options:\n"
    "  -o, --output DIR     the MLX model folder to write (required)\n"
    "  -j, --jobs N         local worker processes (default: online cores; 0: only remote\n"
    "                       ones, with --listen); the bytes do not depend on N or on\n"
    "                       which workers did the work\n"
    "      --listen ENDPOINT   also accept `swan worker`s of other hosts, e.g. tcp://*:5555\n"
    "      --curve-secret KEY  this coordinator's secret key (swan keygen): CURVE on --listen\n"
    "      --allow DIR|FILE    worker public keys admitted\n"
    "      --insecure          allow --listen off loopback without keys (trusted networks)\n"
    "      --worker-timeout S  drop a busy worker silent for S seconds (default 120)\n"
    "      --from OUT       use the decisions of a finished `swan analyze ... -o OUT`;\n"
    "                       with allocation flags, decide again from OUT's journal (as\n"
    "                       `swan reduce` does; OUT itself is not rewritten)\n"
    "      --bits B         instead: every matrix at B bits (2, 3, 4, 5, 6, 8)\n"
    "      --group-size G   with --bits: group size 32, 64 or 128 (default 64)\n"
    "  -q, --quiet          print neither progress nor the summary (warnings and errors\n"
    "                       still show)\n"
    "  -h, --help           this help\n"
    "\n"
    "%s"
    "Allocation flags decide as swan reduce does; given without --from, MODEL_DIR is\n"
    "analyzed into DIR.analysis first (or that analysis resumed or reused).\n"
    "\n"
    "Exit status: 0 done, 1 failed, 2 input or flags refused (a budget the model cannot\n"
    "reach gives the reachable range), 130 interrupted.\n";

/* Sorted (name, index) pairs of the checkpoint's tensors. */
typedef struct name_ix {
    const char *name;
    size_t idx;
} name_ix;
static int by_name(const void *a, const void *b) {
    return strcmp(((const name_ix *)a)->name, ((const name_ix *)b)->name);
}

/* The manifest read by the pull scanner (common/json_scan.h): no tree, only the
 * decision of each tensor is kept. */
typedef struct manifest_scan {
    swan_js js;
    const char *path;
    const swan_checkpoint *ck;
    const name_ix *ix;
    swan_qchoice *choice;
    char *seen;
    char *name;        /* decoded tensor name (as long as the longest key so far) */
    size_t name_cap;
} manifest_scan;

static int scan_error(manifest_scan *m, swan_error *err) {
    return swan_error_set(err, "%s is not valid JSON (byte %zu: %s)", m->path, m->js.err_pos,
                          m->js.err_what ? m->js.err_what : "unexpected token");
}

static int expect_object(manifest_scan *m, const char *what, swan_error *err) {
    swan_js_tok t = swan_js_next(&m->js);
    if (t == SWAN_JS_ERROR) return scan_error(m, err);
    return t == SWAN_JS_OBJECT ? 0 : swan_error_set(err, "%s: %s is not an object", m->path, what);
}

/* decision {bits, group_size}: the OBJECT token is read. */
static int scan_decision(manifest_scan *m, int *bits, int *group, swan_error *err) {
    swan_js_tok t;
    while ((t = swan_js_next(&m->js)) == SWAN_JS_KEY) {
        bool is_bits = swan_js_equals(&m->js, "bits"), is_group = swan_js_equals(&m->js, "group_size");
        t = swan_js_next(&m->js);
        if (t == SWAN_JS_ERROR) return scan_error(m, err);
        uint64_t v;
        if ((is_bits || is_group) && t == SWAN_JS_NUMBER && swan_js_uint53(&m->js, &v) && v <= 1024) {
            *(is_bits ? bits : group) = (int)v;
        } else if (is_bits || is_group) {
            return swan_error_set(err, "%s: '%s': decision.%s is not a small whole number", m->path, m->name,
                                  is_bits ? "bits" : "group_size");
        } else if (swan_js_skip(&m->js, t)) {
            return scan_error(m, err);
        }
    }
    return t == SWAN_JS_OBJECT_END ? 0 : scan_error(m, err);
}

/* One tensor entry; its KEY is the current token. */
static int scan_tensor(manifest_scan *m, swan_error *err) {
    if (m->js.tok_len + 1 > m->name_cap) {
        char *n = realloc(m->name, m->js.tok_len + 1);
        if (!n) return swan_error_set(err, "out of memory");
        m->name = n;
        m->name_cap = m->js.tok_len + 1;
    }
    bool has_nul = false;
    swan_js_decode(&m->js, m->name, &has_nul);
    name_ix key = {m->name, 0};
    const name_ix *hit = has_nul ? NULL : bsearch(&key, m->ix, m->ck->ntensors, sizeof *m->ix, by_name);
    if (!hit) return swan_error_set(err, "%s lists '%s', which this checkpoint does not hold", m->path, m->name);
    if (m->seen[hit->idx]) return swan_error_set(err, "%s lists '%s' twice", m->path, m->name);
    if (expect_object(m, m->name, err)) return -1;
    int bits = -1, group = 0;
    swan_js_tok t;
    while ((t = swan_js_next(&m->js)) == SWAN_JS_KEY) {
        if (swan_js_equals(&m->js, "decision")) {
            if (expect_object(m, "a decision", err) || scan_decision(m, &bits, &group, err)) return -1;
        } else if (swan_js_skip(&m->js, swan_js_next(&m->js))) {
            return scan_error(m, err);
        }
    }
    if (t != SWAN_JS_OBJECT_END) return scan_error(m, err);
    if (bits < 0) return swan_error_set(err, "%s: '%s' has no decision.bits", m->path, m->name);
    if (bits < 16 && (swan_mlx_bits_index(bits) < 0 || swan_mlx_group_index(group) < 0))
        return swan_error_set(err, "%s: '%s': %d bits with group size %d is not an MLX width", m->path,
                              m->name, bits, group);
    m->choice[hit->idx] = (swan_qchoice){bits >= 16 ? 16 : bits, group};
    m->seen[hit->idx] = 1;
    return 0;
}

/* shards: {FILE: {"tensors": {NAME: {... "decision": {...}}}}}; the KEY "shards" is read. */
static int scan_shards(manifest_scan *m, swan_error *err) {
    if (expect_object(m, "shards", err)) return -1;
    swan_js_tok t;
    while ((t = swan_js_next(&m->js)) == SWAN_JS_KEY) {
        if (expect_object(m, "a shard entry", err)) return -1;
        while ((t = swan_js_next(&m->js)) == SWAN_JS_KEY) {
            if (!swan_js_equals(&m->js, "tensors")) {
                if (swan_js_skip(&m->js, swan_js_next(&m->js))) return scan_error(m, err);
                continue;
            }
            if (expect_object(m, "tensors", err)) return -1;
            while ((t = swan_js_next(&m->js)) == SWAN_JS_KEY)
                if (scan_tensor(m, err)) return -1;
            if (t != SWAN_JS_OBJECT_END) return scan_error(m, err);
        }
        if (t != SWAN_JS_OBJECT_END) return scan_error(m, err);
    }
    return t == SWAN_JS_OBJECT_END ? 0 : scan_error(m, err);
}

/* The writer's lines about workers, printed here (nothing below main prints). */
static void print_log(void *ctx, const char *line) {
    (void)ctx;
    fprintf(stderr, "swan quantize: %s\n", line);
}

/* Decisions from OUT/manifest.json; every tensor of the checkpoint must be listed. */
static int choices_from_manifest(const swan_checkpoint *ck, const char *out_dir,
                                 swan_qchoice *choice, swan_error *err) {
    char path[4224];
    snprintf(path, sizeof path, "%s/manifest.json", out_dir);
    size_t len = 0;
    char *text = swan_read_regular_file(path, &len, err);
    if (!text) return -1;
    manifest_scan m;
    memset(&m, 0, sizeof m);
    m.path = path;
    m.ck = ck;
    m.choice = choice;
    name_ix *ix = malloc((ck->ntensors ? ck->ntensors : 1) * sizeof *ix);
    m.seen = calloc(ck->ntensors ? ck->ntensors : 1, 1);
    int rc = 0;
    if (!ix || !m.seen) rc = swan_error_set(err, "out of memory");
    for (size_t i = 0; rc == 0 && i < ck->ntensors; i++) ix[i] = (name_ix){ck->tensors[i].name, i};
    if (rc == 0) qsort(ix, ck->ntensors, sizeof *ix, by_name);
    m.ix = ix;
    swan_js_init(&m.js, text, len);
    bool shards = false;
    if (rc == 0 && swan_js_next(&m.js) != SWAN_JS_OBJECT)
        rc = swan_error_set(err, "%s is not a swan manifest", path);
    swan_js_tok t = SWAN_JS_ERROR;
    while (rc == 0 && (t = swan_js_next(&m.js)) == SWAN_JS_KEY) {
        if (swan_js_equals(&m.js, "shards")) {
            shards = true;
            rc = scan_shards(&m, err);
        } else if (swan_js_skip(&m.js, swan_js_next(&m.js))) {
            rc = scan_error(&m, err);
        }
    }
    if (rc == 0 && t != SWAN_JS_OBJECT_END) rc = scan_error(&m, err);
    if (rc == 0 && !shards) rc = swan_error_set(err, "%s is not a swan manifest (no shards)", path);
    for (size_t i = 0; rc == 0 && i < ck->ntensors; i++)
        if (!m.seen[i])
            rc = swan_error_set(err, "%s does not list '%s': it was written for another checkpoint",
                                path, ck->tensors[i].name);
    free(ix);
    free(m.seen);
    free(m.name);
    free(text);
    return rc;
}

/* Decisions of the allocation flags: the reduce of OUT's analysis (run first when OUT
 * holds none; its progress and summary shown unless quiet). Returns a SWAN_EXIT_*
 * status. */
static int choices_from_policy(const swan_checkpoint *ck, const char *model, const char *out_dir,
                               const swan_policy *pol, int jobs, bool quiet, swan_qchoice *choice,
                               double *bpw, swan_error *err) {
    char path[4224];
    snprintf(path, sizeof path, "%s/manifest.json", out_dir);
    if (access(path, F_OK) == 0) { /* the analysis warns about them when it runs */
        char line[SWAN_ERROR_MAX];
        size_t next = 0;
        while (swan_policy_cli_unmatched(pol, ck, &next, line, sizeof line))
            fprintf(stderr, "swan quantize: %s\n", line);
    } else { /* no finished analysis: analyze (or resume) into OUT */
        swan_analyze_opts o;
        swan_analyze_default_opts(&o);
        o.model_dir = model;
        o.out_dir = out_dir;
        o.argv0 = swan_cli_argv0();
        o.jobs = jobs;
        o.quiet = quiet;
        o.policy = *pol;
        int st = swan_analyze(&o, swan_cli_stop_flag(), err);
        if (st != SWAN_EXIT_OK) return st;
    }
    swan_finished_analysis a;
    int st = swan_finished_analysis_load(out_dir, &a, err);
    if (st != SWAN_EXIT_OK) return st;
    bool same = swan_journal_fingerprint(ck, a.info.seed) == a.info.fingerprint && a.ck.ntensors == ck->ntensors;
    for (size_t i = 0; same && i < ck->ntensors; i++) same = strcmp(a.ck.tensors[i].name, ck->tensors[i].name) == 0;
    if (!same) {
        swan_finished_analysis_free(&a);
        swan_error_set(err, "%s was analyzed from another checkpoint than %s", out_dir, model);
        return SWAN_EXIT_REFUSED;
    }
    swan_reduction red;
    int rc = swan_reduce_run(&a.ck, &a.plan, pol, &red, err);
    if (rc == 0) {
        for (size_t i = 0; i < ck->ntensors; i++)
            choice[i] = (swan_qchoice){red.d[i].bits >= 16 ? 16 : red.d[i].bits, red.d[i].group_size};
        *bpw = red.effective_bpw;
    }
    swan_reduction_free(&red);
    swan_finished_analysis_free(&a);
    return rc == 0 ? SWAN_EXIT_OK : rc == SWAN_REDUCE_UNREACHABLE ? SWAN_EXIT_REFUSED : SWAN_EXIT_FAILED;
}

/* Bits per weight of the written folder: its tensor bytes over the source's weights. */
static double written_bpw(const swan_checkpoint *ck, const swan_qlayout *l) {
    double params = 0;
    for (size_t i = 0; i < ck->ntensors; i++) params += (double)ck->tensors[i].nelem;
    return params > 0 ? (double)l->total_bytes * 8.0 / params : 0;
}

/* What quantize's own flags set (the allocation flags go to pol through swan_cli_parse). */
typedef struct quantize_flags {
    const char *out, *from;
    int bits, group, jobs;
    bool quiet, jobs_set;
    const char *listen, *curve_secret, *allow; /* workers of other hosts (as analyze) */
    bool insecure;
    double worker_timeout;
} quantize_flags;

enum { OPT_LISTEN = 1100, OPT_CURVE_SECRET, OPT_ALLOW, OPT_INSECURE, OPT_TIMEOUT };

/* One of quantize's own flags; -1 after printing the refusal. */
static int apply_flag(void *ctx, int c, const char *arg) {
    quantize_flags *f = ctx;
    switch (c) {
    case 'o': /* a name that cannot be a folder is refused now, nothing created */
        return swan_cli_check_out_dir("quantize", "--output", (f->out = arg));
    case 'F': f->from = arg; return 0;
    case 'q': f->quiet = true; return 0;
    case 'j':
        if (swan_cli_flag_int("quantize", "--jobs", arg, 0, 64, &f->jobs)) return -1;
        f->jobs_set = true;
        swan_cli_warn_jobs("quantize", f->jobs);
        return 0;
    case OPT_LISTEN: f->listen = arg; return 0;
    case OPT_CURVE_SECRET: f->curve_secret = arg; return 0;
    case OPT_ALLOW: f->allow = arg; return 0;
    case OPT_INSECURE: f->insecure = true; return 0;
    case OPT_TIMEOUT:
        return swan_cli_flag_double("quantize", "--worker-timeout", arg, 1, 86400, &f->worker_timeout);
    case 'b':
        if (swan_cli_flag_int("quantize", "--bits", arg, 2, 8, &f->bits)) return -1;
        if (swan_mlx_bits_index(f->bits) < 0) {
            swan_cli_bad_value("quantize", "--bits", "2, 3, 4, 5, 6 or 8", arg);
            return -1;
        }
        return 0;
    case 'g':
        if (swan_cli_flag_int("quantize", "--group-size", arg, 32, 128, &f->group)) return -1;
        if (swan_mlx_group_index(f->group) < 0) {
            swan_cli_bad_value("quantize", "--group-size", "32, 64 or 128", arg);
            return -1;
        }
        return 0;
    default: return -1;
    }
}

int swan_cmd_quantize(int argc, char **argv) {
    static const struct option longopts[] = {
        {"output", required_argument, 0, 'o'}, {"from", required_argument, 0, 'F'},
        {"bits", required_argument, 0, 'b'},   {"group-size", required_argument, 0, 'g'},
        {"jobs", required_argument, 0, 'j'},   {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},         SWAN_POLICY_LONGOPTS,
        {"listen", required_argument, 0, OPT_LISTEN},
        {"curve-secret", required_argument, 0, OPT_CURVE_SECRET},
        {"allow", required_argument, 0, OPT_ALLOW},
        {"insecure", no_argument, 0, OPT_INSECURE},
        {"worker-timeout", required_argument, 0, OPT_TIMEOUT},
        {0, 0, 0, 0}};
    quantize_flags f = {.out = NULL};
    swan_policy pol;
    swan_policy_default(&pol);
    bool policy_given = false;
    const swan_cli_spec spec = {.cmd = "quantize", .shortopts = "ho:j:q", .longopts = longopts,
                                .help = help_text, .min_args = 1, .max_args = 1,
                                .args_hint = "one MODEL_DIR only",
                                .args_missing = "expected a MODEL_DIR",
                                .arg_names = {"MODEL_DIR"}, .policy = &pol,
                                .policy_given = &policy_given, .flag = apply_flag, .ctx = &f};
    const char *model;
    int nargs, st = swan_cli_parse(&spec, argc, argv, &model, &nargs);
    if (st != SWAN_CLI_GO) return st;
    const char *out = f.out, *from = f.from;
    int bits = f.bits, group = f.group, jobs = f.jobs;
    swan_error perr = {{0}};
    if (!out) return swan_cli_refuse("quantize", "-o DIR is required");
    if (bits && (from || policy_given))
        return swan_cli_refuse("quantize", "--bits B gives every matrix one width: it goes without --from and allocation flags");
    if (!from && !bits && !policy_given)
        return swan_cli_refuse("quantize", "give --from OUT, --bits B or a budget (--target-bpw B, --target-size S)");
    if (group && !bits) return swan_cli_refuse("quantize", "--group-size goes with --bits");
    if (policy_given && swan_policy_validate(&pol, &perr)) return swan_cli_refuse("quantize", "%s", perr.msg);
    char analysis[4200];
    if (policy_given && !from) { /* the analysis the budget is solved from, beside DIR */
        snprintf(analysis, sizeof analysis, "%s.analysis", out);
        from = analysis;
    }
    if (!group) group = 64;
    if (f.jobs_set && jobs == 0 && !f.listen)
        return swan_cli_refuse("quantize", "--jobs: 0 means no local workers; give --listen so remote ones can join");
    if ((f.curve_secret != NULL) != (f.allow != NULL))
        return swan_cli_refuse("quantize", "--curve-secret and --allow go together");
    if (f.listen) { /* the rest of the endpoint and key checks come when it is bound */
        bool loopback = true;
        if (swan_transport_check_listen(f.listen, &loopback, &perr))
            return swan_cli_refuse("quantize", "--listen: %s", perr.msg);
        if (!loopback && !f.curve_secret && !f.insecure)
            return swan_cli_refuse("quantize", "--listen %s: other hosts could connect without keys; give "
                                               "--curve-secret KEY --allow DIR, or --insecure", f.listen);
    }
    int cores = swan_cli_cores() > 64 ? 64 : swan_cli_cores();
    if (!f.jobs_set) jobs = cores;
    char idx[4200];
    snprintf(idx, sizeof idx, "%s/model.safetensors.index.json", out);
    if (access(idx, F_OK) == 0)
        return swan_cli_refuse("quantize", "%s already holds a complete model; remove it or pick another -o", out);

    swan_checkpoint ck;
    swan_error err = {{0}};
    if (swan_checkpoint_open(model, &ck, &err)) {
        fprintf(stderr, "swan quantize: %s\n", err.msg);
        return SWAN_EXIT_REFUSED;
    }
    int status = SWAN_EXIT_OK;
    double decided_bpw = -1;
    swan_qchoice *choice = calloc(ck.ntensors ? ck.ntensors : 1, sizeof *choice);
    swan_qlayout lay;
    memset(&lay, 0, sizeof lay);
    if (!choice) {
        fprintf(stderr, "swan quantize: out of memory\n");
        status = SWAN_EXIT_FAILED;
    } else if (policy_given) {
        status = choices_from_policy(&ck, model, from, &pol, jobs ? jobs : cores, f.quiet, choice,
                                     &decided_bpw, &err);
        if (status != SWAN_EXIT_OK) fprintf(stderr, "swan quantize: %s\n", err.msg);
    } else if (from) {
        if (choices_from_manifest(&ck, from, choice, &err)) {
            fprintf(stderr, "swan quantize: %s\n", err.msg);
            status = SWAN_EXIT_REFUSED;
        }
    } else {
        for (size_t i = 0; i < ck.ntensors; i++) choice[i] = (swan_qchoice){bits, group};
    }
    if (status == SWAN_EXIT_OK && swan_qlayout_build(&ck, choice, &lay, &err)) {
        fprintf(stderr, "swan quantize: %s\n", err.msg);
        status = SWAN_EXIT_REFUSED;
    }
    swan_mlx_write_stats ws = {0, 0};
    if (status == SWAN_EXIT_OK) {
        const char *delay = getenv("SWAN_TEST_QUANTIZE_DELAY_MS");
        swan_mlx_write_opts wo = {.argv0 = swan_cli_argv0(),
                                  .jobs = jobs,
                                  .listen = f.listen,
                                  .curve_secret = f.curve_secret,
                                  .allow = f.allow,
                                  .insecure = f.insecure,
                                  .worker_timeout = f.worker_timeout,
                                  .stop = swan_cli_stop_flag(),
                                  .delay_ms = delay ? atoi(delay) : 0,
                                  .log = print_log};
        int wrc = swan_mlx_write(&ck, &lay, out, &wo, &ws, &err);
        if (wrc == SWAN_MLX_WRITE_STOPPED) {
            fprintf(stderr, "swan quantize: interrupted; finished tensors are journaled in %s/%s: "
                            "run the same command again to resume\n", out, SWAN_QJOURNAL_NAME);
            status = SWAN_EXIT_INTERRUPTED;
        } else if (wrc) {
            fprintf(stderr, "swan quantize: %s (finished tensors are kept: run the same command again to resume)\n",
                    err.msg);
            status = SWAN_EXIT_FAILED;
        }
    }
    if (status == SWAN_EXIT_OK && ws.resumed && !f.quiet)
        fprintf(stderr, "swan quantize: resumed: %zu of %zu tensors were already written\n", ws.resumed, ws.units);
    if (status == SWAN_EXIT_OK && !f.quiet) {
        /* MB below 1 GB: a small model must not read "0.00 GB" */
        bool gb = lay.total_bytes >= 1000000000ull;
        fprintf(stderr, "swan quantize: wrote %s (%s, %zu tensors in %u shard%s, %.2f %s, %.4f bits per weight; %llu params quantized, %llu kept)\n",
                out, lay.arch, lay.n, lay.nshards, lay.nshards == 1 ? "" : "s",
                (double)lay.total_bytes / (gb ? 1e9 : 1e6), gb ? "GB" : "MB", written_bpw(&ck, &lay),
                (unsigned long long)lay.quantized_params, (unsigned long long)lay.kept_params);
        if (decided_bpw >= 0)
            fprintf(stderr, "swan quantize: the decisions of %s give %.4f bits per weight\n", from, decided_bpw);
    }
    swan_qlayout_free(&lay);
    free(choice);
    swan_checkpoint_free(&ck);
    return status;
}
