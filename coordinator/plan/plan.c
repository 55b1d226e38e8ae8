/* plan.c: tensor classification, cost estimates, task packing, and the raw metrics
 * each tensor gets once analyzed (see plan.h). */
#include "coordinator/plan/plan.h"

#include <stdlib.h>
#include <string.h>

void swan_plan_default_opts(swan_plan_opts *o) {
    /* ~0.1 GFLOP is a few ms of work: far above a message round trip (~50 us). */
    o->batch_cost = 4e8;
    o->batch_max_items = 4096;
}

/* The worker's cost is dominated by the Gram product (rows*cols*small side) and its
 * eigen-decomposition (~small^3 * 4/3 at level-2 speed, weighted x4), plus a linear
 * term for the single-pass statistics and the noise generation. Above 4096 the
 * randomized method costs ~16 passes of rank ~288. Only ratios matter here. */
double swan_plan_cost(uint64_t rows, uint64_t cols) {
    double m = (double)rows, n = (double)cols;
    double s = m < n ? m : n;
    double elems = m * n;
    if (s > 4096) return elems * (16.0 * 288.0 + 200.0);
    return elems * (s + 200.0) + 4.0 * (4.0 / 3.0) * s * s * s;
}

int swan_plan_init(swan_plan *plan, const swan_checkpoint *ck, swan_error *err) {
    memset(plan, 0, sizeof *plan);
    plan->nrecs = ck->ntensors;
    plan->recs = calloc(ck->ntensors ? ck->ntensors : 1, sizeof *plan->recs);
    if (!plan->recs) return swan_error_set(err, "out of memory planning %zu tensors", ck->ntensors);
    for (size_t i = 0; i < ck->ntensors; i++) {
        const swan_tensor *t = &ck->tensors[i];
        swan_tensor_rec *r = &plan->recs[i];
        swan_view2d view;
        r->kind = swan_tensor_classify(t, &view);
        if (r->kind == SWAN_KIND_MATRIX) {
            r->rows = view.rows;
            r->cols = view.cols;
            r->cost = swan_plan_cost(r->rows, r->cols);
            plan->analyzed++;
        }
    }
    return 0;
}

typedef struct {
    uint32_t idx;
    double cost;
} cost_entry;

static int by_cost_desc(const void *a, const void *b) {
    const cost_entry *x = a, *y = b;
    if (x->cost != y->cost) return x->cost < y->cost ? 1 : -1;
    return x->idx < y->idx ? -1 : x->idx > y->idx; /* stable, deterministic */
}

static int task_by_cost_desc(const void *a, const void *b) {
    const swan_task *x = a, *y = b;
    if (x->cost != y->cost) return x->cost < y->cost ? 1 : -1;
    return x->first < y->first ? -1 : x->first > y->first;
}

int swan_plan_build_tasks(swan_plan *plan, const swan_checkpoint *ck, const swan_plan_opts *o,
                          swan_error *err) {
    free(plan->task_items); /* building again replaces the previous tasks */
    free(plan->tasks);
    plan->task_items = NULL;
    plan->tasks = NULL;
    plan->ntasks = 0;
    size_t n = 0;
    for (size_t i = 0; i < plan->nrecs; i++)
        if (plan->recs[i].kind == SWAN_KIND_MATRIX && !plan->recs[i].raw) n++;
    plan->pending_tensors = n;
    plan->total_cost = 0;
    cost_entry *e = malloc((n ? n : 1) * sizeof *e);
    plan->task_items = malloc((n ? n : 1) * sizeof *plan->task_items);
    plan->tasks = malloc((n ? n : 1) * sizeof *plan->tasks);
    if (!e || !plan->task_items || !plan->tasks) {
        free(e);
        return swan_error_set(err, "out of memory planning %zu tasks", n);
    }
    size_t k = 0;
    for (size_t i = 0; i < plan->nrecs; i++)
        if (plan->recs[i].kind == SWAN_KIND_MATRIX && !plan->recs[i].raw)
            e[k++] = (cost_entry){(uint32_t)i, plan->recs[i].cost};
    qsort(e, n, sizeof *e, by_cost_desc);

    /* Walk from the most expensive; a cheap tensor opens a batch that collects the
     * following (cheaper still) tensors until the batch is worth one message. */
    plan->ntasks = 0;
    for (size_t i = 0; i < n;) {
        swan_task *t = &plan->tasks[plan->ntasks++];
        memset(t, 0, sizeof *t);
        t->first = (uint32_t)i;
        do {
            plan->task_items[i] = e[i].idx;
            t->cost += e[i].cost;
            t->bytes += ck->tensors[e[i].idx].nbytes;
            t->count++;
            i++;
        } while (i < n && t->cost + e[i].cost <= o->batch_cost && t->count < o->batch_max_items);
        plan->total_cost += t->cost;
    }
    qsort(plan->tasks, plan->ntasks, sizeof *plan->tasks, task_by_cost_desc);
    free(e);
    return 0;
}

int swan_plan_set_raw(swan_plan *plan, size_t i, const swan_raw_metrics *raw, swan_error *err) {
    swan_tensor_rec *r = &plan->recs[i];
    if (!r->raw && !(r->raw = malloc(sizeof *r->raw)))
        return swan_error_set(err, "out of memory storing the result of tensor %zu", i);
    *r->raw = *raw;
    return 0;
}

void swan_plan_adopt_raw(swan_plan *plan, size_t i, swan_raw_metrics *raw) {
    free(plan->recs[i].raw);
    plan->recs[i].raw = raw;
}

void swan_plan_forget_raw(swan_plan *plan) {
    for (size_t i = 0; i < plan->nrecs; i++) {
        free(plan->recs[i].raw);
        plan->recs[i].raw = NULL;
    }
}

void swan_plan_free(swan_plan *plan) {
    if (plan->recs) swan_plan_forget_raw(plan);
    free(plan->recs);
    free(plan->task_items);
    free(plan->tasks);
    memset(plan, 0, sizeof *plan);
}
