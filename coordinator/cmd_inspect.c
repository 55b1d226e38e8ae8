/* cmd_inspect.c: `swan inspect MODEL_DIR`: what a checkpoint holds (inspect.c), on
 * standard output. */
#include <stdio.h>

#include "common/checkpoint.h"
#include "coordinator/cli.h"
#include "coordinator/inspect.h"

int swan_cmd_inspect(int argc, char **argv);

static const char help_text[] =
    "usage: swan inspect MODEL_DIR\n"
    "\n"
    "Print what a checkpoint (a safetensors folder, a .gguf file or a split-GGUF folder)\n"
    "holds, before any work: its format (FP8 block size, GGUF metadata), shards,\n"
    "tensor-name patterns with layer and expert numbers folded to {N} and {E} (count, shapes, dtypes, params),\n"
    "dtype totals, and how many tensors SWAN would analyze or keep.\n"
    "\n"
    "options:\n"
    "  -h, --help   this help\n"
    "\n"
    "Exit status: 0 done, 1 output could not be written, 2 checkpoint refused.\n";

int swan_cmd_inspect(int argc, char **argv) {
    static const struct option longopts[] = {{"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const swan_cli_spec spec = {.cmd = "inspect", .shortopts = "h", .longopts = longopts,
                                .help = help_text, .min_args = 1, .max_args = 1,
                                .args_hint = "one MODEL_DIR only",
                                .args_missing = "expected a MODEL_DIR", .arg_names = {"MODEL_DIR"}};
    const char *model;
    int nargs, st = swan_cli_parse(&spec, argc, argv, &model, &nargs);
    if (st != SWAN_CLI_GO) return st;
    swan_checkpoint ck;
    swan_error err = {{0}};
    if (swan_checkpoint_open(model, &ck, &err)) {
        fprintf(stderr, "swan inspect: %s\n", err.msg);
        return SWAN_EXIT_REFUSED;
    }
    swan_inspect_print(&ck, stdout);
    swan_checkpoint_free(&ck);
    return SWAN_EXIT_OK; /* a failed write to stdout is caught by swan_cli_finish */
}
