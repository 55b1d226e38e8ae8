/* cli.h: what every `swan` subcommand shares on the command line.
 *
 * The conventions (README "Command line", swan(1)):
 *   - `swan CMD --help` / `-h` prints CMD's help to standard output and exits 0;
 *   - a bad flag or value prints ONE line and a hint to standard error and exits 2:
 *         swan analyze: --jobs: expected a number 0..4096, got 'x'
 *         try 'swan analyze --help'
 *     never the whole help;
 *   - numbers are parsed strictly: digits only, in range, never wrapped;
 *   - messages that are not errors go to standard error, results to standard output,
 *     and a failed write to standard output (a full disk, `> /dev/full`) is exit 1.
 *
 * A subcommand is `int swan_cmd_X(int argc, char **argv)` with argv[0] == "X"; it
 * declares its command line in a swan_cli_spec (its flags, its help, how many
 * positional arguments it takes, and the reduce settings if it has them) and calls
 * swan_cli_parse, which runs the option loop every subcommand shares. Its own flags go
 * to its callback, which uses the swan_cli_flag_* parsers; those print the refusal
 * themselves, so the callback only has to return -1. */
#ifndef SWAN_CLI_H
#define SWAN_CLI_H

#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "coordinator/exit_status.h"
#include "coordinator/version.h"

/* Process-wide state, set once by main() before any subcommand runs: the flag that
 * SIGINT/SIGTERM/SIGHUP set (a signal handler can only reach a global) and argv[0]
 * (local workers are this same executable). Also ignores SIGPIPE. */
void swan_cli_init(const char *argv0);
volatile sig_atomic_t *swan_cli_stop_flag(void);
const char *swan_cli_argv0(void);

/* What swan_cli_next returns besides an option's value. */
enum {
    SWAN_CLI_POSITIONAL = 1, /* optarg is a positional argument (in command-line order) */
    SWAN_CLI_BAD = -2        /* unknown option or missing value: already reported      */
};

/* getopt_long for subcommand cmd: positional arguments come back in order as
 * SWAN_CLI_POSITIONAL with optarg set (with GNU and BSD getopt alike, so flags may
 * follow them), an unknown flag or a flag missing its value is reported in one line
 * and comes back as SWAN_CLI_BAD. -1 at the end; arguments after `--` are then at
 * argv[optind..argc). Call with optind = 1 before the first call (a fresh process
 * has it). shortopts is the usual getopt string without leading '-', '+' or ':'. */
int swan_cli_next(const char *cmd, int argc, char **argv, const char *shortopts,
                  const struct option *longopts);

/* Prints `swan CMD: MESSAGE` and `try 'swan CMD --help'` to stderr; returns
 * SWAN_EXIT_REFUSED so that `return swan_cli_refuse(...)` reads naturally. */
int swan_cli_refuse(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* `swan CMD: FLAG: expected EXPECTED, got 'VALUE'` plus the hint; returns SWAN_EXIT_REFUSED. */
int swan_cli_bad_value(const char *cmd, const char *flag, const char *expected, const char *value);

/* `swan CMD: warning: MESSAGE` to stderr (a warning does not change the exit status). */
void swan_cli_warn(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Strict parsers: the whole string must be the number, in [min, max]; no sign on the
 * unsigned one, no wrap-around, no hex, no leading blanks. 0 on success, -1 otherwise
 * (nothing printed). */
int swan_cli_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
int swan_cli_parse_double(const char *s, double min, double max, double *out);

/* The same, reporting a refusal for FLAG of CMD on failure (returns -1 then):
 *   swan CMD: FLAG: expected a number MIN..MAX, got 'S'. */
int swan_cli_flag_u64(const char *cmd, const char *flag, const char *s, uint64_t min,
                      uint64_t max, uint64_t *out);
int swan_cli_flag_int(const char *cmd, const char *flag, const char *s, int min, int max,
                      int *out);
int swan_cli_flag_double(const char *cmd, const char *flag, const char *s, double min, double max,
                         double *out);

/* Prints text to stdout (help, version) and returns 0; a write error is caught and
 * reported by swan_cli_finish. */
int swan_cli_print(const char *text);

/* Flushes standard output and turns a write error into status 1 (with a one-line
 * message), unless status already says something worse. main() returns through it. */
int swan_cli_finish(int status);

/* An output folder given as FLAG: refuses (one line, returns -1) an empty name, or a
 * path that exists and is not a folder, before anything is created. */
int swan_cli_check_out_dir(const char *cmd, const char *flag, const char *path);

/* The number of online cores (at least 1). */
int swan_cli_cores(void);

/* Warns once when -j asks for far more worker processes than there are cores (they
 * would only share them, using more memory for nothing). */
void swan_cli_warn_jobs(const char *cmd, int jobs);

struct swan_policy;

/* One subcommand's command line, declared. */
typedef struct swan_cli_spec {
    const char *cmd;                /* "analyze": names the command in every message        */
    const char *shortopts;          /* getopt letters of the command's own flags ('h' too)  */
    const struct option *longopts;  /* its long flags, {"help", ..., 'h'} and, with policy,
                                       SWAN_POLICY_LONGOPTS (policy_cli.h)                  */
    const char *help;               /* printed for -h/--help; with policy, its "%s" takes
                                       the shared allocation flags' help                    */
    int max_args;                   /* positional arguments taken, in order, wherever they
                                       stand (also after "--")                              */
    int min_args;
    const char *args_hint;          /* why one more is unexpected, "one MODEL_DIR only"
                                       (NULL: nothing said)                                 */
    const char *args_missing;       /* the refusal when fewer than min_args                 */
    const char *arg_names[2];       /* folder arguments by position, "MODEL_DIR": an empty
                                       one is refused naming it (NULL: not checked)         */
    struct swan_policy *policy;     /* non-NULL: the reduce settings (policy_cli.h) go here */
    bool *policy_given;             /* with policy, non-NULL: set when any allocation flag
                                       is given (a command whose decisions come from
                                       elsewhere without them)                             */
    /* One of the command's own flags (c as getopt returns it, arg its value or NULL):
     * 0, or -1 after printing the refusal (the swan_cli_flag_* parsers do). */
    int (*flag)(void *ctx, int c, const char *arg);
    void *ctx;
} swan_cli_spec;

/* The flag callback of a command whose only flag of its own is -q/--quiet: ctx is a
 * bool *, set by -q. */
int swan_cli_quiet_flag(void *ctx, int c, const char *arg);

/* What swan_cli_parse returns when the command should go on. */
#define SWAN_CLI_GO (-1)

/* Runs the option loop of spec over argv: -h/--help prints the help (stdout) and
 * returns 0; an unknown flag, a bad value, one positional argument too many or too
 * few prints one line and the hint and returns SWAN_EXIT_REFUSED; otherwise the
 * positional arguments are in args[0..*nargs) (args has room for max_args) and
 * SWAN_CLI_GO comes back. So a command reads
 *     int st = swan_cli_parse(&spec, argc, argv, args, &nargs);
 *     if (st != SWAN_CLI_GO) return st; */
int swan_cli_parse(const swan_cli_spec *spec, int argc, char **argv, const char **args, int *nargs);

#endif
