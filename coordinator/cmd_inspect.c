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
    const char *model = NULL;
    int c;
    while ((c = swan_cli_next("inspect", argc, argv, "h", longopts)) != -1) {
        if (c == SWAN_CLI_BAD) return SWAN_EXIT_REFUSED;
        if (c == 'h') return swan_cli_print(help_text);
        if (model) return swan_cli_refuse("inspect", "unexpected argument '%s' (one MODEL_DIR only)", optarg);
        model = optarg;
    }
    for (; optind < argc; optind++) {
        if (model) return swan_cli_refuse("inspect", "unexpected argument '%s' (one MODEL_DIR only)", argv[optind]);
        model = argv[optind];
    }
    if (!model) return swan_cli_refuse("inspect", "expected a MODEL_DIR");
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
