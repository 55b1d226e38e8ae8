/* cmd_reduce.c: `swan reduce OUT [flags]`: re-decide from a finished journal.
 *
 * Reads OUT/tensors.json (the tensor table swan analyze wrote) and the records of
 * OUT/journal.jsonl that belong to it, then runs the reduce and writes every output
 * again with the given allocation flags: no workers, no access to the model. The
 * outputs equal those of a fresh `swan analyze` with the same flags, except the
 * manifest's "timing" block. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "coordinator/analyze.h"
#include "coordinator/cli.h"
#include "coordinator/model_info.h"
#include "coordinator/journal/journal.h"
#include "coordinator/journal/tensor_table.h"
#include "coordinator/outputs/outputs.h"
#include "coordinator/plan/plan.h"
#include "coordinator/policy_cli.h"
#include "coordinator/version.h"

int swan_cmd_reduce(int argc, char **argv);

static const char help_text[] =
    "usage: swan reduce OUT [options]\n"
    "\n"
    "Re-runs the reduce and writes every output of OUT again from OUT/journal.jsonl and\n"
    "OUT/tensors.json (written by swan analyze): no workers, no model needed.\n"
    "\n"
    "%s"
    "  -q, --quiet             no summary\n"
    "  -h, --help              this help\n"
    "\n"
    "Exit status: 0 done, 1 failed, 2 refused (bad flags, incomplete journal, or a\n"
    "budget the model cannot reach: the message gives the reachable range).\n";

static int run_reduce(const char *out, const swan_policy *pol, bool quiet, swan_error *err) {
    char path[PATH_MAX + 32];
    swan_checkpoint ck;
    swan_tensor_table_info ti;
    swan_plan plan;
    memset(&plan, 0, sizeof plan);
    snprintf(path, sizeof path, "%s/tensors.json", out);
    if (access(path, F_OK) != 0) {
        swan_error_set(err, "%s has no tensors.json: run swan analyze into it first", out);
        return SWAN_EXIT_REFUSED;
    }
    if (swan_tensor_table_read(path, &ck, &ti, err)) return SWAN_EXIT_REFUSED;
    int status = SWAN_EXIT_REFUSED, lock_fd = -1;
    size_t loaded = 0;
    if (swan_plan_init(&plan, &ck, err)) {
        status = SWAN_EXIT_FAILED;
        goto done;
    }
    if (swan_out_dir_lock(out, &lock_fd, err)) goto done;
    snprintf(path, sizeof path, "%s/journal.jsonl", out);
    swan_journal_info ji;
    memset(&ji, 0, sizeof ji);
    int jrc = swan_journal_read(path, ti.fingerprint, &ck, &plan, &ji, err);
    free(ji.stamps);
    if (jrc) goto done;
    loaded = ji.loaded;
    if (loaded < plan.analyzed) {
        swan_error_set(err, "%s holds %zu of the %zu analyzed tensors: finish the analysis with swan analyze first",
                       path, loaded, plan.analyzed);
        goto done;
    }
    swan_run_info info = {.model_name = ti.model_name,
                          .swan_version = SWAN_VERSION,
                          .seed = ti.seed,
                          .fingerprint = ti.fingerprint,
                          .total_layers = swan_count_layers(&ck),
                          .analysis_seconds = -1};
    status = swan_outputs_run(out, &ck, &plan, pol, &info, quiet, err);
done:
    if (lock_fd >= 0) close(lock_fd);
    swan_plan_free(&plan);
    swan_checkpoint_free(&ck);
    free(ti.model_name);
    return status;
}

int swan_cmd_reduce(int argc, char **argv) {
    static const struct option longopts[] = {SWAN_POLICY_LONGOPTS,
                                             {"quiet", no_argument, 0, 'q'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    swan_policy pol;
    swan_policy_default(&pol);
    bool quiet = false;
    const char *out = NULL;
    int c;
    swan_error err = {{0}};
    while ((c = swan_cli_next("reduce", argc, argv, "qh", longopts)) != -1) {
        if (c == SWAN_CLI_BAD) return SWAN_EXIT_REFUSED;
        if (c == 'h') {
            char text[sizeof help_text + 4096];
            snprintf(text, sizeof text, help_text, swan_policy_cli_help);
            return swan_cli_print(text);
        }
        if (c == SWAN_CLI_POSITIONAL) {
            if (out) return swan_cli_refuse("reduce", "unexpected argument '%s' (one OUT folder only)", optarg);
            out = optarg;
            continue;
        }
        if (c == 'q') {
            quiet = true;
            continue;
        }
        if (swan_is_policy_opt(c) && swan_policy_cli_apply(&pol, c, optarg, &err) == 0) continue;
        return swan_cli_refuse("reduce", "%s", err.msg[0] ? err.msg : "unknown option");
    }
    for (; optind < argc; optind++) { /* after "--" */
        if (out) return swan_cli_refuse("reduce", "unexpected argument '%s' (one OUT folder only)", argv[optind]);
        out = argv[optind];
    }
    if (!out) return swan_cli_refuse("reduce", "expected the OUT folder of a swan analyze");
    if (swan_policy_validate(&pol, &err)) return swan_cli_refuse("reduce", "%s", err.msg);
    int status = run_reduce(out, &pol, quiet, &err);
    if (status != SWAN_EXIT_OK) fprintf(stderr, "swan reduce: %s\n", err.msg);
    return status;
}
