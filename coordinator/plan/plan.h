/* plan.h: from a validated checkpoint to the list of tasks the workers run.
 *
 * Every tensor gets a small record (kind, 2-D view, estimated cost, and later a
 * pointer to its raw metrics, allocated when they arrive: a 1,000,000-tensor plan
 * costs 40 bytes per tensor before any result exists, not the 240 of a result). Tensors that are analyzed become tasks, largest estimated cost first so
 * the long ones start early and the tail is short; tensors too small to be worth a
 * message of their own are packed together into batches, because on a 100,000-tensor
 * MoE checkpoint one round trip per tensor would cost more than the tensor. */
#ifndef SWAN_PLAN_H
#define SWAN_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/checkpoint.h"
#include "common/error.h"
#include "common/raw_metrics.h"
#include "common/view2d.h"

typedef struct swan_tensor_rec {
    swan_tensor_kind kind;
    uint64_t rows, cols;  /* the 2-D view's shape (matrices only); the segments are
                             recomputed by the worker from the tensor's shape     */
    double cost;          /* estimated flops of the analysis (0 if not analyzed) */
    /* The raw metrics once known (computed now or from the journal), else NULL.
     * Owned by the plan: set through swan_plan_set_raw, freed by swan_plan_free. */
    swan_raw_metrics *raw;
} swan_tensor_rec;

typedef enum swan_task_state { SWAN_TASK_PENDING = 0, SWAN_TASK_RUNNING, SWAN_TASK_DONE } swan_task_state;

typedef struct swan_task {
    uint32_t first;       /* items are plan->task_items[first .. first+count) */
    uint32_t count;
    double cost;
    uint64_t bytes;
    swan_task_state state;
    uint32_t attempts;    /* times handed to a worker                        */
    uint32_t losses;      /* workers that died or hung while holding it      */
} swan_task;

typedef struct swan_plan {
    swan_tensor_rec *recs;  /* one per checkpoint tensor, same index          */
    size_t nrecs;
    uint32_t *task_items;   /* tensor indices, grouped by task                */
    swan_task *tasks;       /* sorted by decreasing cost                      */
    size_t ntasks;
    size_t analyzed;        /* tensors of kind MATRIX                         */
    size_t pending_tensors; /* analyzed tensors without raw metrics yet       */
    double total_cost;
} swan_plan;

typedef struct swan_plan_opts {
    double batch_cost;      /* pack tensors cheaper than this together        */
    uint32_t batch_max_items;
} swan_plan_opts;

void swan_plan_default_opts(swan_plan_opts *o);

/* Classifies every tensor. Call swan_plan_build_tasks after setting the raw metrics
 * already known (e.g. from the journal). */
int swan_plan_init(swan_plan *plan, const swan_checkpoint *ck, swan_error *err);
int swan_plan_build_tasks(swan_plan *plan, const swan_checkpoint *ck,
                          const swan_plan_opts *o, swan_error *err);
void swan_plan_free(swan_plan *plan);

/* Tensor i's raw metrics become a copy of *raw (a later result replaces an earlier
 * one). Fails only when out of memory. */
int swan_plan_set_raw(swan_plan *plan, size_t i, const swan_raw_metrics *raw, swan_error *err);

/* As swan_plan_set_raw, but the plan takes raw itself (malloc'd; freed with the plan
 * or when replaced): no copy, for a reader that stored results before the plan
 * existed (the journal parsed while the tensor table is read, swan reduce). */
void swan_plan_adopt_raw(swan_plan *plan, size_t i, swan_raw_metrics *raw);

/* Forgets every tensor's raw metrics (a journal that could not be trusted). */
void swan_plan_forget_raw(swan_plan *plan);

/* Estimated cost (flops) of analyzing a rows x cols view. */
double swan_plan_cost(uint64_t rows, uint64_t cols);

#endif
