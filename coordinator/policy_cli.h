/* policy_cli.h: the reduce flags shared by `swan analyze`, `swan reduce` and `swan
 * quantize`.
 *
 * These commands take the same allocation settings; each puts SWAN_POLICY_LONGOPTS
 * into its getopt_long table, "%s" where swan_policy_cli_help goes into its help, and
 * its swan_policy into its swan_cli_spec (cli.h): swan_cli_parse then hands every
 * option in the SWAN_OPT_POLICY range here, so a flag is parsed, refused and
 * documented in one place. */
#ifndef SWAN_POLICY_CLI_H
#define SWAN_POLICY_CLI_H

#include <getopt.h>
#include <stdbool.h>

#include "common/checkpoint.h"
#include "common/error.h"
#include "coordinator/reduce/reduce.h"

enum {
    SWAN_OPT_POLICY_FIRST = 3000,
    SWAN_OPT_WEIGHTS = SWAN_OPT_POLICY_FIRST,
    SWAN_OPT_THRESHOLDS,
    SWAN_OPT_GROUPS,
    SWAN_OPT_PROTECT,
    SWAN_OPT_NO_DEFAULT_PROTECT,
    SWAN_OPT_QUANTIZE_PROTECTED,
    SWAN_OPT_POLICY,
    SWAN_OPT_NORMALIZE,
    SWAN_OPT_TARGET_BPW,
    SWAN_OPT_TARGET_SIZE,
    SWAN_OPT_POLICY_LAST
};

#define SWAN_POLICY_LONGOPTS                                                   \
    {"weights", required_argument, 0, SWAN_OPT_WEIGHTS},                       \
    {"thresholds", required_argument, 0, SWAN_OPT_THRESHOLDS},                 \
    {"group-sizes", required_argument, 0, SWAN_OPT_GROUPS},                    \
    {"protect", required_argument, 0, SWAN_OPT_PROTECT},                       \
    {"no-default-protect", no_argument, 0, SWAN_OPT_NO_DEFAULT_PROTECT},       \
    {"quantize-protected", no_argument, 0, SWAN_OPT_QUANTIZE_PROTECTED},       \
    {"policy", required_argument, 0, SWAN_OPT_POLICY},                         \
    {"normalize", required_argument, 0, SWAN_OPT_NORMALIZE},                   \
    {"target-bpw", required_argument, 0, SWAN_OPT_TARGET_BPW},                 \
    {"target-size", required_argument, 0, SWAN_OPT_TARGET_SIZE}

static inline bool swan_is_policy_opt(int c) {
    return c >= SWAN_OPT_POLICY_FIRST && c < SWAN_OPT_POLICY_LAST;
}

/* Applies one flag for command cmd: 0 applied, -1 refused after printing why (`swan
 * CMD: MESSAGE` naming the flag, and the hint) when arg is bad or the flag conflicts
 * with an earlier one. swan_cli_parse calls it for every command
 * whose swan_cli_spec has a policy. */
int swan_policy_cli_flag(const char *cmd, swan_policy *p, int opt, const char *arg);

/* The warnings about --protect patterns (beyond the built-in list) that match no tensor
 * name of ck, one line each ("warning: --protect 'x' matches no tensor name ..."):
 * call with *next = 0 and repeat while it returns 1 (line filled). Every command that
 * takes the flag prints them, however it prints a warning. */
int swan_policy_cli_unmatched(const swan_policy *p, const swan_checkpoint *ck, size_t *next,
                              char *line, size_t size);

/* The help text of these flags (lines starting with two spaces, ending in '\n'; under
 * 4 KiB, so a command can print it inside its own help). */
extern const char swan_policy_cli_help[];

#endif
