/* budget.h: the size-budget solver behind --target-bpw / --target-size.
 *
 * A pure optimization over "units" (one matrix, or one stack of experts that must
 * share a width), each with a few options (cost in bits, expected damage): pick one
 * option per unit so that the total cost stays within the budget and the total
 * damage is as small as possible. Knows nothing about tensors: coordinator/reduce/
 * decisions.c builds the options (docs/allocation.md explains the objective).
 *
 * Method: each unit's options are reduced to the lower convex hull of (cost,
 * damage); every hull step of every unit is one "upgrade" with a damage-saved-per-bit
 * slope, and taking the upgrades in decreasing slope order while they fit is exactly
 * the Lagrangian solution for the largest multiplier that meets the budget. A greedy
 * fix-up then spends what is left on any option (hull or not) with the best saving
 * per bit that still fits. O(options log options). */
#ifndef SWAN_BUDGET_H
#define SWAN_BUDGET_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

typedef struct swan_budget_option {
    double cost;    /* bits this unit takes with the option                 */
    double damage;  /* expected damage (>= 0) with the option               */
} swan_budget_option;

typedef struct swan_budget_problem {
    const swan_budget_option *opts; /* all options, unit by unit                   */
    const size_t *first;            /* unit u's options: opts[first[u] .. first[u+1]) */
    size_t nunits;
    double fixed;                   /* bits of everything that is not a unit       */
} swan_budget_problem;

/* Smallest and largest total cost (fixed + each unit's cheapest / dearest option). */
void swan_budget_range(const swan_budget_problem *pb, double *min_cost, double *max_cost);

/* Chooses choice[u] (an index within unit u's options) minimizing total damage with
 * total cost <= budget. budget must be at least the minimum of swan_budget_range.
 * Returns 0, or -1 (out of memory) with err set. */
int swan_budget_solve(const swan_budget_problem *pb, double budget, uint32_t *choice,
                      swan_error *err);

/* Greedy fix-up alone: from a feasible choice, spends the slack left under budget on
 * the moves with the best damage saved per bit until nothing more fits. */
int swan_budget_fixup(const swan_budget_problem *pb, double budget, uint32_t *choice,
                      swan_error *err);

/* Size-versus-damage curve in one sweep: for each budgets[k] (any order), the cost
 * and damage of the Lagrangian solution for it (the hull sweep stopped at the first
 * upgrade that does not fit; no fix-up, so at most a few hull steps above what
 * swan_budget_solve reaches). NAN for a budget below the minimum cost. */
int swan_budget_curve(const swan_budget_problem *pb, const double *budgets, size_t n,
                      double *cost_out, double *damage_out, swan_error *err);

/* Total cost and damage of a choice. */
void swan_budget_eval(const swan_budget_problem *pb, const uint32_t *choice, double *cost,
                      double *damage);

#endif
