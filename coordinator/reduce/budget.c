/* budget.c: convex-hull Lagrangian allocation plus greedy fix-up (see budget.h). */
#include "coordinator/reduce/budget.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void swan_budget_range(const swan_budget_problem *pb, double *min_cost, double *max_cost) {
    double lo = pb->fixed, hi = pb->fixed;
    for (size_t u = 0; u < pb->nunits; u++) {
        double mn = 0, mx = 0;
        for (size_t i = pb->first[u]; i < pb->first[u + 1]; i++) {
            double c = pb->opts[i].cost;
            if (i == pb->first[u] || c < mn) mn = c;
            if (i == pb->first[u] || c > mx) mx = c;
        }
        lo += mn;
        hi += mx;
    }
    *min_cost = lo;
    *max_cost = hi;
}

void swan_budget_eval(const swan_budget_problem *pb, const uint32_t *choice, double *cost,
                      double *damage) {
    double c = pb->fixed, d = 0;
    for (size_t u = 0; u < pb->nunits; u++) {
        const swan_budget_option *o = &pb->opts[pb->first[u] + choice[u]];
        c += o->cost;
        d += o->damage;
    }
    *cost = c;
    *damage = d;
}

/* ---- hull ------------------------------------------------------------------------ */

static const swan_budget_option *g_sort_opts; /* qsort has no context argument in C11 */

static int by_cost_then_damage(const void *a, const void *b) {
    const swan_budget_option *x = &g_sort_opts[*(const uint32_t *)a];
    const swan_budget_option *y = &g_sort_opts[*(const uint32_t *)b];
    if (x->cost != y->cost) return x->cost < y->cost ? -1 : 1;
    if (x->damage != y->damage) return x->damage < y->damage ? -1 : 1;
    return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

/* Writes unit u's lower convex hull (option indices within the unit, cost increasing,
 * damage strictly decreasing) to hull; returns its length. tmp holds nopt entries. */
static size_t unit_hull(const swan_budget_problem *pb, size_t u, uint32_t *hull, uint32_t *tmp) {
    const swan_budget_option *o = pb->opts + pb->first[u];
    size_t n = pb->first[u + 1] - pb->first[u];
    for (size_t i = 0; i < n; i++) tmp[i] = (uint32_t)i;
    g_sort_opts = o;
    qsort(tmp, n, sizeof *tmp, by_cost_then_damage);
    size_t h = 0;
    for (size_t i = 0; i < n; i++) {
        const swan_budget_option *p = &o[tmp[i]];
        if (h > 0 && !(p->damage < o[hull[h - 1]].damage)) continue; /* dominated */
        while (h >= 2) {
            const swan_budget_option *a = &o[hull[h - 2]], *b = &o[hull[h - 1]];
            /* drop b when it lies on or above the chord a -> p */
            if ((b->damage - a->damage) * (p->cost - b->cost) >=
                (p->damage - b->damage) * (b->cost - a->cost))
                h--;
            else
                break;
        }
        hull[h++] = tmp[i];
    }
    return h;
}

typedef struct segment {
    double slope;  /* damage saved per bit */
    uint32_t unit, to; /* moving unit to option `to` (index within the unit) */
    uint32_t step;     /* position on the unit's hull: steps are taken in order */
} segment;

static int by_slope_desc(const void *a, const void *b) {
    const segment *x = a, *y = b;
    if (x->slope != y->slope) return x->slope > y->slope ? -1 : 1;
    if (x->unit != y->unit) return x->unit < y->unit ? -1 : 1;
    return x->step < y->step ? -1 : x->step > y->step;
}

/* ---- fix-up ------------------------------------------------------------------------ */

typedef struct move {
    double ratio;
    uint32_t unit, to;
} move;

/* Best move of unit u under slack: any dearer option that saves damage and fits, by
 * damage saved per bit (ties: the cheaper one). false when none. */
static int best_move(const swan_budget_problem *pb, const uint32_t *choice, size_t u, double slack,
                     move *m) {
    const swan_budget_option *o = pb->opts + pb->first[u];
    size_t n = pb->first[u + 1] - pb->first[u];
    const swan_budget_option *cur = &o[choice[u]];
    int found = 0;
    for (size_t j = 0; j < n; j++) {
        double dc = o[j].cost - cur->cost, dd = cur->damage - o[j].damage;
        if (!(dc > 0) || !(dd > 0) || dc > slack) continue;
        double r = dd / dc;
        if (!found || r > m->ratio || (r == m->ratio && o[j].cost < o[m->to].cost)) {
            m->ratio = r;
            m->unit = (uint32_t)u;
            m->to = (uint32_t)j;
            found = 1;
        }
    }
    return found;
}

static int move_before(const move *a, const move *b) {
    if (a->ratio != b->ratio) return a->ratio > b->ratio;
    return a->unit < b->unit;
}

static void heap_push(move *h, size_t *n, move m) {
    size_t i = (*n)++;
    h[i] = m;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!move_before(&h[i], &h[p])) break;
        move t = h[i];
        h[i] = h[p];
        h[p] = t;
        i = p;
    }
}

static move heap_pop(move *h, size_t *n) {
    move top = h[0];
    h[0] = h[--(*n)];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, b = i;
        if (l < *n && move_before(&h[l], &h[b])) b = l;
        if (r < *n && move_before(&h[r], &h[b])) b = r;
        if (b == i) break;
        move t = h[i];
        h[i] = h[b];
        h[b] = t;
        i = b;
    }
    return top;
}

int swan_budget_fixup(const swan_budget_problem *pb, double budget, uint32_t *choice,
                      swan_error *err) {
    double cost, damage;
    swan_budget_eval(pb, choice, &cost, &damage);
    double slack = budget - cost;
    /* Each unit has at most one entry in the heap at any time. */
    move *heap = malloc((pb->nunits ? pb->nunits : 1) * sizeof *heap);
    if (!heap) return swan_error_set(err, "out of memory in the budget solver");
    size_t nh = 0;
    for (size_t u = 0; u < pb->nunits; u++) {
        move m;
        if (best_move(pb, choice, u, slack, &m)) heap_push(heap, &nh, m);
    }
    /* Slack only shrinks, so a unit's best ratio only falls: an entry whose recomputed
     * move is unchanged is the true best of all (lazy evaluation). */
    while (nh > 0) {
        move top = heap_pop(heap, &nh);
        move now;
        if (!best_move(pb, choice, top.unit, slack, &now)) continue;
        if (now.to != top.to || now.ratio != top.ratio) {
            heap_push(heap, &nh, now);
            continue;
        }
        const swan_budget_option *o = pb->opts + pb->first[top.unit];
        slack -= o[top.to].cost - o[choice[top.unit]].cost;
        choice[top.unit] = top.to;
        if (best_move(pb, choice, top.unit, slack, &now)) heap_push(heap, &nh, now);
    }
    free(heap);
    return 0;
}

/* Every unit's hull steps, sorted by slope; *cost and *damage the cheapest state and
 * choice[] its options. Returns the number of segments, or -1 (out of memory). */
static long build_segments(const swan_budget_problem *pb, uint32_t *choice, segment **out,
                           double *cost, double *damage) {
    size_t nopts = pb->nunits ? pb->first[pb->nunits] : 0;
    uint32_t *hull = malloc((nopts ? nopts : 1) * sizeof *hull);
    uint32_t *tmp = malloc((nopts ? nopts : 1) * sizeof *tmp);
    segment *seg = malloc((nopts ? nopts : 1) * sizeof *seg);
    if (!hull || !tmp || !seg) {
        free(hull), free(tmp), free(seg);
        return -1;
    }
    size_t nseg = 0;
    *cost = pb->fixed;
    *damage = 0;
    for (size_t u = 0; u < pb->nunits; u++) {
        size_t h = unit_hull(pb, u, hull, tmp);
        const swan_budget_option *o = pb->opts + pb->first[u];
        choice[u] = hull[0];
        *cost += o[hull[0]].cost;
        *damage += o[hull[0]].damage;
        for (size_t k = 0; k + 1 < h; k++) {
            const swan_budget_option *a = &o[hull[k]], *b = &o[hull[k + 1]];
            seg[nseg++] = (segment){(a->damage - b->damage) / (b->cost - a->cost), (uint32_t)u,
                                    hull[k + 1], (uint32_t)k};
        }
    }
    free(hull), free(tmp);
    qsort(seg, nseg, sizeof *seg, by_slope_desc);
    *out = seg;
    return (long)nseg;
}

int swan_budget_solve(const swan_budget_problem *pb, double budget, uint32_t *choice,
                      swan_error *err) {
    segment *seg;
    double cost, damage;
    long nseg = build_segments(pb, choice, &seg, &cost, &damage);
    if (nseg < 0) return swan_error_set(err, "out of memory in the budget solver");
    /* Lagrangian sweep: the multiplier falls through the slopes; stop at the first
     * upgrade that does not fit (everything taken so far is optimal for its cost). */
    for (long s = 0; s < nseg; s++) {
        const swan_budget_option *o = pb->opts + pb->first[seg[s].unit];
        double dc = o[seg[s].to].cost - o[choice[seg[s].unit]].cost;
        if (cost + dc > budget) break;
        cost += dc;
        choice[seg[s].unit] = seg[s].to;
    }
    free(seg);
    return swan_budget_fixup(pb, budget, choice, err);
}

int swan_budget_curve(const swan_budget_problem *pb, const double *budgets, size_t n,
                      double *cost_out, double *damage_out, swan_error *err) {
    uint32_t *choice = malloc((pb->nunits ? pb->nunits : 1) * sizeof *choice);
    if (!choice) return swan_error_set(err, "out of memory in the budget solver");
    segment *seg;
    double cost, damage;
    long nseg = build_segments(pb, choice, &seg, &cost, &damage);
    if (nseg < 0) {
        free(choice);
        return swan_error_set(err, "out of memory in the budget solver");
    }
    for (size_t k = 0; k < n; k++) cost_out[k] = damage_out[k] = NAN;
    /* One pass: walk the sorted upgrades once, recording the state at each budget. */
    size_t *order = malloc((n ? n : 1) * sizeof *order);
    if (!order) {
        free(seg), free(choice);
        return swan_error_set(err, "out of memory in the budget solver");
    }
    for (size_t k = 0; k < n; k++) order[k] = k;
    for (size_t a = 1; a < n; a++) /* n is small: insertion sort by budget */
        for (size_t b = a; b > 0 && budgets[order[b]] < budgets[order[b - 1]]; b--) {
            size_t t = order[b];
            order[b] = order[b - 1];
            order[b - 1] = t;
        }
    size_t k = 0;
    while (k < n && budgets[order[k]] < cost) k++;
    for (long s = 0; s <= nseg && k < n; s++) {
        double dc = 0, dd = 0;
        if (s < nseg) {
            const swan_budget_option *o = pb->opts + pb->first[seg[s].unit];
            dc = o[seg[s].to].cost - o[choice[seg[s].unit]].cost;
            dd = o[seg[s].to].damage - o[choice[seg[s].unit]].damage;
        }
        /* budgets that this upgrade would exceed stop here */
        while (k < n && (s == nseg || cost + dc > budgets[order[k]])) {
            cost_out[order[k]] = cost;
            damage_out[order[k]] = damage;
            k++;
        }
        if (s < nseg) {
            cost += dc;
            damage += dd;
            choice[seg[s].unit] = seg[s].to;
        }
    }
    free(order), free(seg), free(choice);
    return 0;
}
