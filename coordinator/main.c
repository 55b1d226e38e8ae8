/* main.c: the `swan` command: picks the subcommand and returns its exit status.
 *
 * Each subcommand lives in its own file as `int swan_cmd_X(int argc, char **argv)`
 * (argv[0] == "X") and follows the conventions of cli.h: -h/--help to stdout, one-line
 * refusals with exit 2. Adding one is a declaration and a line in `commands` below.
 * Only the subcommands print errors and choose exit statuses; everything below them
 * returns a swan_error. */
#include <stdio.h>
#include <string.h>

#include "coordinator/cli.h"

int swan_cmd_analyze(int argc, char **argv); /* cmd_analyze.c */
int swan_cmd_inspect(int argc, char **argv); /* cmd_inspect.c */
int swan_cmd_worker(int argc, char **argv);  /* cmd_worker.c  */
int swan_cmd_demo(int argc, char **argv);    /* cmd_demo.c    */
int swan_cmd_quantize(int argc, char **argv); /* cmd_quantize.c */
int swan_cmd_reduce(int argc, char **argv);  /* cmd_reduce.c  */
int swan_cmd_keygen(int argc, char **argv);  /* cmd_keygen.c  */
int swan_cmd_verify(int argc, char **argv);  /* cmd_verify.c  */

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *synopsis; /* one line of `swan --help` */
} command;

static const command commands[] = {
    {"analyze", swan_cmd_analyze, "analyze MODEL_DIR [options]   analyze a checkpoint, write OUT/manifest.json"},
    {"inspect", swan_cmd_inspect, "inspect MODEL_DIR             list what the checkpoint holds"},
    {"worker", swan_cmd_worker, "worker --connect ENDPOINT     run a worker for a coordinator (other hosts)"},
    {"quantize", swan_cmd_quantize, "quantize MODEL_DIR -o DIR ...  write the quantized MLX model (--from OUT or --bits B)"},
    {"demo", swan_cmd_demo, "demo [DIR [OUT]]              write the built-in demo checkpoint and analyze it"},
    {"reduce", swan_cmd_reduce, "reduce OUT [options]          re-decide and rewrite OUT's outputs from its journal"},
    {"keygen", swan_cmd_keygen, "keygen -o NAME                write a CURVE key pair NAME.key / NAME.pub"},
    {"verify", swan_cmd_verify, "verify OUT MODEL              re-read MODEL, compare every tensor with OUT's checksums"},
};
#define NCOMMANDS (sizeof commands / sizeof *commands)

static void usage(FILE *out) {
    fprintf(out,
            "swan %s: data-free mixed-precision bit allocation for LLM checkpoints (SWAN)\n"
            "\n"
            "usage:\n",
            SWAN_VERSION);
    for (size_t i = 0; i < NCOMMANDS; i++) fprintf(out, "  swan %s\n", commands[i].synopsis);
    fprintf(out,
            "  swan --version                print the version\n"
            "\n"
            "Run 'swan COMMAND --help' for a command's options; see also swan(1).\n"
            "Exit status: 0 done, 1 failed, 2 input or flags refused, 130 interrupted.\n");
}

static const command *find(const char *name) {
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0) return &commands[i];
    return NULL;
}

static int dispatch(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return SWAN_EXIT_REFUSED;
    }
    const char *name = argv[1];
    const command *cmd = find(name);
    if (cmd) return cmd->run(argc - 1, argv + 1); /* subcommands parse argv[1..] as their own argv */
    if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0 || strcmp(name, "version") == 0) {
        printf("swan %s\n", SWAN_VERSION);
        return SWAN_EXIT_OK;
    }
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        if (argc > 2 && strcmp(name, "help") == 0) { /* swan help CMD == swan CMD --help */
            cmd = find(argv[2]);
            if (!cmd) goto unknown_help;
            char *help_argv[] = {argv[2], "--help", NULL};
            return cmd->run(2, help_argv);
        }
        usage(stdout);
        return SWAN_EXIT_OK;
    }
    fprintf(stderr, "swan: unknown command '%s'\ntry 'swan --help'\n", name);
    return SWAN_EXIT_REFUSED;
unknown_help:
    fprintf(stderr, "swan: help: unknown command '%s'\ntry 'swan --help'\n", argv[2]);
    return SWAN_EXIT_REFUSED;
}

int main(int argc, char **argv) {
    swan_cli_init(argv[0]);
    return swan_cli_finish(dispatch(argc, argv));
}
