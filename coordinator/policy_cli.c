/* policy_cli.c: parsing and help of the shared reduce flags (see policy_cli.h). */
#include "coordinator/policy_cli.h"

#include <string.h>

#include <stdio.h>

#include "coordinator/cli.h"
#include "coordinator/model_info.h"

const char swan_policy_cli_help[] =
    "allocation (swan analyze, swan reduce, swan quantize):\n"
    "      --policy swan       the published thresholds (default)\n"
    "      --target-bpw B      instead: a size budget in bits per weight (MLX storage, scales\n"
    "                          included): each matrix gets the (bits, group size) that minimizes\n"
    "                          the total expected error within it (docs/allocation.md)\n"
    "      --target-size S     the same with a size: 192GB, 150GiB, 800MB, ...\n"
    "      --normalize MODE    fixed (default: the published ranges) or adaptive (the model's\n"
    "                          own 5%..95% quantiles, so no metric saturates)\n"
    "      --weights A,B,C,D   composite weights svd,kurtosis,output,error (sum 1;\n"
    "                          default 0.20,0.45,0.15,0.20)\n"
    "      --thresholds L,M,H  2-bit <= L < 4-bit < M <= 8-bit < H <= 16-bit\n"
    "                          (default 0.10,0.65,0.90)\n"
    "      --group-sizes LIST  group size per width for --policy swan, each 32, 64 or 128\n"
    "                          (default 2:32,4:128,8:64)\n"
    "      --protect PATTERN   keep tensors whose name contains PATTERN (case-insensitive\n"
    "                          substring, not a glob) at 16 bits; repeatable; warns if it\n"
    "                          matches no tensor; adds to the built-in list\n"
    "      --no-default-protect  drop the built-in protected list: embed_tokens, lm_head,\n"
    "                          layernorm, layer_norm, norm.weight, router.weight, vision_model,\n"
    "                          multi_modal_projector, positional_embedding, class_embedding,\n"
    "                          patch_embedding\n"
    "      --quantize-protected  decide protected tensors like any other\n";

/* Applies one flag; -1 with err set (one line naming the flag) when arg is bad or
 * the flag conflicts with an earlier one. */
static int swan_policy_cli_apply(swan_policy *p, int opt, const char *arg, swan_error *err) {
    switch (opt) {
    case SWAN_OPT_WEIGHTS: return swan_policy_parse_weights(p, arg, err);
    case SWAN_OPT_THRESHOLDS: return swan_policy_parse_thresholds(p, arg, err);
    case SWAN_OPT_GROUPS: return swan_policy_parse_group_sizes(p, arg, err);
    case SWAN_OPT_PROTECT: return swan_policy_add_protect(p, arg, err);
    case SWAN_OPT_NO_DEFAULT_PROTECT: p->builtin_protect = false; return 0;
    case SWAN_OPT_QUANTIZE_PROTECTED: p->quantize_protected = true; return 0;
    case SWAN_OPT_NORMALIZE: return swan_policy_parse_normalize(p, arg, err);
    case SWAN_OPT_POLICY:
        if (p->alloc != SWAN_ALLOC_THRESHOLDS)
            return swan_error_set(err, "--policy: a size target was already given, got '%s'", arg);
        return swan_policy_parse_name(p, arg, err);
    case SWAN_OPT_TARGET_BPW:
    case SWAN_OPT_TARGET_SIZE:
        if (p->alloc != SWAN_ALLOC_THRESHOLDS)
            return swan_error_set(err, "%s: only one of --target-bpw and --target-size, got '%s'",
                                  opt == SWAN_OPT_TARGET_BPW ? "--target-bpw" : "--target-size", arg);
        return opt == SWAN_OPT_TARGET_BPW ? swan_policy_parse_target_bpw(p, arg, err)
                                          : swan_policy_parse_target_size(p, arg, err);
    default: return swan_error_set(err, "unknown allocation flag");
    }
}

int swan_policy_cli_flag(const char *cmd, swan_policy *p, int opt, const char *arg) {
    swan_error err = {{0}};
    if (swan_policy_cli_apply(p, opt, arg, &err) == 0) return 0;
    swan_cli_refuse(cmd, "%s", err.msg);
    return -1;
}

int swan_policy_cli_unmatched(const swan_policy *p, const swan_checkpoint *ck, size_t *next,
                              char *line, size_t size) {
    swan_policy builtin;
    swan_policy_default(&builtin);
    if (*next < builtin.nprotect) *next = builtin.nprotect;
    for (; *next < p->nprotect; (*next)++) {
        if (swan_count_names_containing(ck, p->protect[*next]) > 0) continue;
        snprintf(line, size, "warning: --protect '%.300s' matches no tensor name (case-insensitive substring)",
                 p->protect[(*next)++]);
        return 1;
    }
    return 0;
}
