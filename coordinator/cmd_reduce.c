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
#include "coordinator/journal/finished_analysis.h"
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
    swan_finished_analysis a;
    int status = swan_finished_analysis_load(out, &a, err);
    if (status != SWAN_EXIT_OK) return status;
    char line[SWAN_ERROR_MAX];
    size_t next = 0;
    while (swan_policy_cli_unmatched(pol, &a.ck, &next, line, sizeof line))
        fprintf(stderr, "swan reduce: %s\n", line);
    swan_run_info info = {.model_name = a.info.model_name,
                          .swan_version = SWAN_VERSION,
                          .seed = a.info.seed,
                          .fingerprint = a.info.fingerprint,
                          .total_layers = swan_count_layers(&a.ck),
                          .analysis_seconds = -1};
    status = swan_outputs_run(out, &a.ck, &a.plan, pol, &info, quiet, err);
    swan_finished_analysis_free(&a);
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
    const swan_cli_spec spec = {.cmd = "reduce", .shortopts = "qh", .longopts = longopts,
                                .help = help_text, .min_args = 1, .max_args = 1,
                                .args_hint = "one OUT folder only",
                                .args_missing = "expected the OUT folder of a swan analyze",
                                .arg_names = {"OUT"},
                                .policy = &pol, .flag = swan_cli_quiet_flag, .ctx = &quiet};
    const char *out;
    int nargs, st = swan_cli_parse(&spec, argc, argv, &out, &nargs);
    if (st != SWAN_CLI_GO) return st;
    swan_error err = {{0}};
    if (swan_policy_validate(&pol, &err)) return swan_cli_refuse("reduce", "%s", err.msg);
    int status = run_reduce(out, &pol, quiet, &err);
    if (status != SWAN_EXIT_OK) fprintf(stderr, "swan reduce: %s\n", err.msg);
    return status;
}
