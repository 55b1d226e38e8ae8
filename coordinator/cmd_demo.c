/* cmd_demo.c: `swan demo [DIR [OUT]]`: writes the built-in synthetic checkpoint
 * (demo_model.c) unless DIR already holds it, then analyzes it like swan analyze. */
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

#include "coordinator/analyze.h"
#include "coordinator/cli.h"
#include "coordinator/demo_model.h"

int swan_cmd_demo(int argc, char **argv);

static const char help_text[] =
    "usage: swan demo [DIR [OUT]]\n"
    "\n"
    "Write a small synthetic checkpoint to DIR (default swan-demo-model; kept if it is\n"
    "already there) and analyze it into OUT (default swan-demo-out), with one worker\n"
    "per core: a first run of the whole pipeline in about a minute, no model needed.\n"
    "\n"
    "options:\n"
    "  -q, --quiet   print neither progress nor the summary (errors still show)\n"
    "  -h, --help    this help\n"
    "\n"
    "Exit status: 0 done, 1 failed, 2 flags refused, 130 interrupted.\n";

int swan_cmd_demo(int argc, char **argv) {
    static const struct option longopts[] = {{"quiet", no_argument, 0, 'q'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    bool quiet = false;
    const swan_cli_spec spec = {.cmd = "demo", .shortopts = "qh", .longopts = longopts,
                                .help = help_text, .max_args = 2, .args_hint = "DIR and OUT only",
                                .flag = swan_cli_quiet_flag, .ctx = &quiet};
    const char *pos[2];
    int npos, st = swan_cli_parse(&spec, argc, argv, pos, &npos);
    if (st != SWAN_CLI_GO) return st;
    const char *dir = npos > 0 ? pos[0] : "swan-demo-model", *out = npos > 1 ? pos[1] : "swan-demo-out";
    if (swan_cli_check_out_dir("demo", "DIR", dir) || swan_cli_check_out_dir("demo", "OUT", out))
        return SWAN_EXIT_REFUSED;
    swan_demo_opts d;
    swan_demo_default_opts(&d);
    swan_error err = {{0}};
    char cfg[PATH_MAX + 32];
    snprintf(cfg, sizeof cfg, "%s/model.safetensors.index.json", dir);
    if (access(cfg, R_OK) != 0) {
        if (!quiet) fprintf(stderr, "swan demo: writing the demo checkpoint to %s\n", dir);
        if (swan_demo_model_write(dir, &d, &err)) {
            fprintf(stderr, "swan demo: %s\n", err.msg);
            return SWAN_EXIT_FAILED;
        }
    }
    swan_analyze_opts o;
    swan_analyze_default_opts(&o);
    o.argv0 = swan_cli_argv0();
    o.model_dir = dir;
    o.out_dir = out;
    o.quiet = quiet;
    if (!quiet)
        fprintf(stderr, "swan demo: analyzing %s with %d worker%s into %s\n", dir, o.jobs,
                o.jobs == 1 ? "" : "s", out);
    int status = swan_analyze(&o, swan_cli_stop_flag(), &err);
    if (status != SWAN_EXIT_OK) fprintf(stderr, "swan demo: %s\n", err.msg);
    return status;
}
