/* stacks.h: tensors that MLX and llama.cpp store as one stacked tensor.
 *
 * Per-expert weights `...experts.<E>.<proj>.weight` of one layer become one tensor in
 * both formats (mlx_lm's sanitize stacks them into `switch_mlp.<proj>`, llama.cpp
 * into `ffn_<proj>_exps`), and a stacked tensor has one width and group size. The
 * stack key is the name with the expert index replaced by `*`; every policy decides
 * all tensors of one key together. Pure string functions. */
#ifndef SWAN_STACKS_H
#define SWAN_STACKS_H

#include <stdbool.h>
#include <stddef.h>

/* If name has a `.experts.<digits>.` component, writes the key (`.experts.*.`) to
 * key and returns true; also returns the expert index in *expert when not NULL. */
bool swan_stack_key(const char *name, char *key, size_t size, long *expert);

#endif
