/* scheduler.c: the coordinator's event loop over the ROUTER socket (see scheduler.h).
 *
 * State lives in one swan_sched struct owned by swan_sched_run: the known workers
 * (by ZeroMQ routing id), the queue of pending tasks, and counters for progress.
 * Every incoming frame is decoded strictly (proto/messages.c) and checked against
 * what that worker was asked to do before anything is believed. */
#include "coordinator/schedule/scheduler.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "common/clock.h"
#include "common/hash.h"
#include "proto/messages.h"
#include "proto/transport.h"
#include "coordinator/schedule/admission.h"
#include "coordinator/schedule/stream_server.h"

#define MAX_ID SWAN_TRANSPORT_MAX_ID
#define MAX_FAILERS 8                       /* distinct workers remembered per task */
#define MAX_REASONS 1200                    /* bytes of failure reasons per task    */
#define MAX_HOSTS 64                        /* more hosts are counted as "others"   */

/* A registry entry. LIVE: talking to us. DROPPED: lost (silence), forgotten for
 * scheduling, but recognized if it speaks again: it is used again at once and what
 * it was computing is taken back or accepted late. FREE: a slot to reuse. */
typedef enum worker_state { W_FREE = 0, W_LIVE, W_DROPPED } worker_state;

/* Quantize runs: what a worker has sent of one item of the task it computes. */
typedef struct qprog {
    uint64_t next[SWAN_QPARTS];          /* bytes received per part, in order */
    swan_xxh64_state st[SWAN_QPARTS];    /* their hash                        */
} qprog;

typedef struct worker {
    unsigned char id[MAX_ID];
    size_t idlen;
    worker_state state;
    uint64_t key;        /* hash of the routing id: "different workers"        */
    pid_t local_pid;     /* a process we started (from the pool), else 0       */
    uint32_t pid;        /* what the peer said: for display, never trusted     */
    char host[64];
    size_t host_ix;      /* into swan_sched.hosts                              */
    bool benched;        /* a task failed on this remote host: it gets work only
                            when no other idle worker can take it              */
    bool admitted;       /* its model copy passed the check (admission.c)      */
    bool streaming;      /* it has no copy: it FETCHes bytes (stream_server.c)  */
    swan_stream_credit *credit; /* its chunks in ZeroMQ's hands (streaming only;
                            owned by the entry, released when it is reused)    */
    int64_t task;        /* index into plan->tasks, -1 when idle               */
    int64_t queued;      /* a small task sent ahead (prefetch), or -1          */
    double last_seen;
    qprog *prog;         /* quantize runs: per item of task prog_task          */
    int64_t prog_task;   /* the task prog is about, or -1                       */
} worker;

/* The scheduler's own per-task bookkeeping (plan->tasks holds the shared part). */
typedef struct task_info {
    uint32_t holders;    /* workers computing it now (original and backups)    */
    double started;      /* when the current first holder got it               */
    uint32_t nfailed;    /* different workers it failed on                     */
    uint64_t failed_on[MAX_FAILERS];
    char *reasons;       /* what they said, "; "-separated, capped             */
    bool failed;         /* declared failed: DONE without results              */
} task_info;

/* At most burst lines, then one per 1/rate seconds; the rest are counted. A peer
 * that sends garbage in a loop must not be able to fill the log (3,891 lines in
 * one test before this). */
typedef struct limiter {
    double tokens, burst, rate, last;
    size_t suppressed;
} limiter;

typedef struct swan_sched {
    const swan_sched_opts *o;
    const swan_checkpoint *ck;
    swan_plan *plan;
    swan_local_pool *pool;
    const swan_sched_hooks *hooks;
    swan_transport *tr;  /* opened and owned by the caller (analyze.c) */
    swan_admission adm;  /* the model check before a worker's first task    */
    swan_stream_server stream; /* bytes for workers without the model         */
    worker *workers;
    size_t nworkers, capworkers;
    task_info *info;     /* one per plan task                                  */
    size_t next;         /* next task index in plan order                      */
    size_t *requeued;    /* stack of task indices taken back from lost workers */
    size_t nrequeued;
    size_t tasks_done;
    swan_host_stats hosts[MAX_HOSTS + 1];
    double host_since[MAX_HOSTS + 1];
    size_t nhosts;
    limiter noise;       /* malformed or unexpected messages                   */
    limiter comings;     /* joins, leaves, returns                             */
    swan_sched_stats st;
    double t0;
    char fail[SWAN_ERROR_MAX]; /* set when the run must stop */
} swan_sched;

static void vlog(swan_sched *s, const char *fmt, va_list ap) {
    char line[SWAN_ERROR_MAX];
    vsnprintf(line, sizeof line, fmt, ap);
    if (s->hooks->log) s->hooks->log(s->hooks->ctx, line);
}

static void logf_(swan_sched *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(swan_sched *s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vlog(s, fmt, ap);
    va_end(ap);
}

static bool limiter_allow(limiter *l) {
    double t = swan_now_s();
    l->tokens += (t - l->last) * l->rate;
    if (l->tokens > l->burst) l->tokens = l->burst;
    l->last = t;
    if (l->tokens < 1) {
        l->suppressed++;
        return false;
    }
    l->tokens -= 1;
    return true;
}

/* A line caused by a peer: rate-limited, and says how many were held back. */
static void peer_log(swan_sched *s, limiter *l, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void peer_log(swan_sched *s, limiter *l, const char *fmt, ...) {
    if (!limiter_allow(l)) return;
    if (l->suppressed) {
        logf_(s, "(%zu similar lines about workers were suppressed)", l->suppressed);
        l->suppressed = 0;
    }
    va_list ap;
    va_start(ap, fmt);
    vlog(s, fmt, ap);
    va_end(ap);
}

static void worker_label(const worker *w, char *out, size_t size) {
    if (w->local_pid)
        snprintf(out, size, "local worker %ld", (long)w->local_pid);
    else
        snprintf(out, size, "worker %s/%u", w->host[0] ? w->host : "?", w->pid);
}

static uint64_t hash_id(const unsigned char *id, size_t n) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ id[i]) * 1099511628211ull;
    return h;
}

/* ---- the pending queue ----------------------------------------------------
 * Tasks go out in plan order (largest first); a task taken back from a lost worker
 * goes on a stack that is served first, so a retry does not wait behind everything.
 * A worker is never given back a task that already failed on it. */

static bool failed_on(const swan_sched *s, size_t t, const worker *w) {
    const task_info *ti = &s->info[t];
    for (uint32_t k = 0; k < ti->nfailed && k < MAX_FAILERS; k++)
        if (ti->failed_on[k] == w->key) return true;
    return false;
}

static void queue_requeue(swan_sched *s, size_t t) {
    s->requeued[s->nrequeued++] = t;
}

static void queue_remove(swan_sched *s, size_t t) {
    for (size_t k = 0; k < s->nrequeued; k++)
        if (s->requeued[k] == t) {
            memmove(&s->requeued[k], &s->requeued[k + 1], (s->nrequeued - k - 1) * sizeof *s->requeued);
            s->nrequeued--;
            return;
        }
}

static void skip_started(swan_sched *s) {
    while (s->next < s->plan->ntasks && s->plan->tasks[s->next].state != SWAN_TASK_PENDING)
        s->next++;
}

/* The task w would get next (without taking it), or -1; *from_stack says where. */
static int64_t queue_peek_for(swan_sched *s, const worker *w, bool *from_stack) {
    *from_stack = true;
    for (size_t k = s->nrequeued; k-- > 0;)
        if (!failed_on(s, s->requeued[k], w)) return (int64_t)s->requeued[k];
    *from_stack = false;
    skip_started(s);
    return s->next < s->plan->ntasks ? (int64_t)s->next : -1;
}

static bool queue_pop_for(swan_sched *s, const worker *w, size_t *t) {
    bool from_stack;
    int64_t i = queue_peek_for(s, w, &from_stack);
    if (i < 0) return false;
    if (from_stack) queue_remove(s, (size_t)i);
    else s->next++;
    *t = (size_t)i;
    return true;
}

static bool queue_empty(swan_sched *s) {
    skip_started(s);
    return s->nrequeued == 0 && s->next >= s->plan->ntasks;
}

/* ---- hosts (what the user sees) --------------------------------------------- */

static size_t host_index(swan_sched *s, const char *name, bool local) {
    for (size_t i = 0; i < s->nhosts; i++)
        if (s->hosts[i].local == local && strcmp(s->hosts[i].name, name) == 0) return i;
    if (s->nhosts == MAX_HOSTS) { /* a flood of made-up names ends in one bucket */
        if (s->hosts[MAX_HOSTS].name[0] == '\0') {
            snprintf(s->hosts[MAX_HOSTS].name, sizeof s->hosts[0].name, "(other hosts)");
            s->host_since[MAX_HOSTS] = swan_now_s();
        }
        return MAX_HOSTS;
    }
    swan_host_stats *h = &s->hosts[s->nhosts];
    memset(h, 0, sizeof *h);
    snprintf(h->name, sizeof h->name, "%s", name);
    h->local = local;
    s->host_since[s->nhosts] = swan_now_s();
    return s->nhosts++;
}

/* ---- sending ------------------------------------------------------------- */

static int send_to(swan_sched *s, const worker *w, const swan_msg *m) {
    char *buf;
    size_t len;
    swan_error err;
    if (swan_msg_encode(m, &buf, &len, &err)) {
        snprintf(s->fail, sizeof s->fail, "cannot encode a %s message: %.400s",
                 swan_msg_type_name(m->type), err.msg);
        return -1;
    }
    /* Encoding can only fail on our own data (planning refuses what could not be
     * sent), so it ends the run rather than leaving a worker waiting forever. */
    int rc = swan_transport_server_send(s->tr, w->id, w->idlen, buf, len);
    free(buf);
    return rc;
}

static void send_shutdown(swan_sched *s, worker *w) {
    swan_msg m = {.type = SWAN_MSG_SHUTDOWN};
    send_to(s, w, &m);
}

static int send_task(swan_sched *s, worker *w, size_t ti) {
    const swan_task *t = &s->plan->tasks[ti];
    swan_task_item *items = calloc(t->count, sizeof *items);
    if (!items) return -1;
    for (uint32_t k = 0; k < t->count; k++) {
        uint32_t idx = s->plan->task_items[t->first + k];
        const swan_tensor *tn = &s->ck->tensors[idx];
        swan_task_item *it = &items[k];
        it->tensor_id = idx;
        it->name = tn->name;
        it->path = s->ck->shards[tn->shard].file; /* relative: each worker has its own root */
        it->dtype = swan_dtype_name(tn->dtype);
        it->ndim = (uint32_t)tn->ndim;
        memcpy(it->shape, tn->shape, sizeof it->shape);
        it->offset = tn->offset;
        it->nbytes = tn->nbytes;
        if (tn->has_scale) {
            const swan_tensor *sc = &s->ck->tensors[tn->scale_index];
            it->scale_path = s->ck->shards[sc->shard].file;
            it->scale_dtype = swan_dtype_name(sc->dtype);
            it->scale_offset = sc->offset;
            swan_tensor_scale_grid(tn, &it->scale_rows, &it->scale_cols);
            it->block_rows = tn->block_rows;
            it->block_cols = tn->block_cols;
        }
        if (s->o->quantize) {
            uint64_t sizes[SWAN_QPARTS];
            s->o->quantize->item(s->o->quantize->ctx, idx, &it->bits, &it->group, &it->qdtype, sizes);
        }
    }
    swan_msg m = {.type = SWAN_MSG_TASK};
    m.u.task.kind = s->o->quantize ? SWAN_TASK_QUANTIZE : SWAN_TASK_ANALYZE;
    m.u.task.task_id = ti + 1; /* 0 means "none" in heartbeats */
    m.u.task.seed = s->o->seed;
    m.u.task.nitems = t->count;
    m.u.task.items = items;
    int rc = send_to(s, w, &m);
    free(items);
    return rc;
}

/* ---- holding tasks --------------------------------------------------------
 * A task is PENDING (in the queue), RUNNING (held by one or more workers) or DONE
 * (results taken, or declared failed). */

static void hold(swan_sched *s, size_t t) {
    swan_task *tk = &s->plan->tasks[t];
    if (tk->state == SWAN_TASK_DONE) return; /* a late duplicate: nothing to track */
    if (tk->state == SWAN_TASK_PENDING) queue_remove(s, t);
    if (s->info[t].holders++ == 0) s->info[t].started = swan_now_s();
    tk->state = SWAN_TASK_RUNNING;
}

/* One holder let go of t (lost, or answered with failures). */
static void release(swan_sched *s, size_t t) {
    swan_task *tk = &s->plan->tasks[t];
    if (tk->state == SWAN_TASK_DONE) return;
    if (s->info[t].holders > 0) s->info[t].holders--;
    if (s->info[t].holders == 0 && tk->state == SWAN_TASK_RUNNING) {
        tk->state = SWAN_TASK_PENDING;
        queue_requeue(s, t);
    }
}

static const char *task_first_name(const swan_sched *s, size_t t) {
    return s->ck->tensors[s->plan->task_items[s->plan->tasks[t].first]].name;
}

/* Ends a task without results: each of its tensors not yet analyzed is reported. */
static void fail_task(swan_sched *s, size_t t) {
    swan_task *tk = &s->plan->tasks[t];
    task_info *ti = &s->info[t];
    if (tk->state == SWAN_TASK_DONE) return;
    if (tk->state == SWAN_TASK_PENDING) queue_remove(s, t);
    tk->state = SWAN_TASK_DONE;
    ti->failed = true;
    s->tasks_done++;
    s->st.tasks_failed++;
    s->st.cost_done += tk->cost;
    for (uint32_t k = 0; k < tk->count; k++) {
        uint32_t id = s->plan->task_items[tk->first + k];
        if (s->plan->recs[id].raw) continue;
        if (s->hooks->on_tensor_error)
            s->hooks->on_tensor_error(s->hooks->ctx, id, ti->reasons ? ti->reasons : "unknown");
        s->st.tensors_done++;
    }
}

/* Remembers that t failed on w and why; declares it failed after max_attempts
 * different workers. */
static void record_failure(swan_sched *s, size_t t, const worker *w, const char *why) {
    task_info *ti = &s->info[t];
    if (!failed_on(s, t, w)) {
        if (ti->nfailed < MAX_FAILERS) ti->failed_on[ti->nfailed] = w->key;
        ti->nfailed++;
    }
    char label[96];
    worker_label(w, label, sizeof label);
    size_t have = ti->reasons ? strlen(ti->reasons) : 0;
    if (have < MAX_REASONS) {
        char *r = realloc(ti->reasons, MAX_REASONS + 1);
        if (r) {
            ti->reasons = r;
            snprintf(r + have, MAX_REASONS + 1 - have, "%s%s: %s", have ? "; " : "", label, why);
        }
    }
    if (ti->nfailed >= s->o->max_attempts) fail_task(s, t);
}

/* ---- worker bookkeeping ---------------------------------------------------- */

static worker *find_worker(swan_sched *s, const unsigned char *id, size_t idlen) {
    for (size_t i = 0; i < s->nworkers; i++)
        if (s->workers[i].state != W_FREE && s->workers[i].idlen == idlen &&
            memcmp(s->workers[i].id, id, idlen) == 0)
            return &s->workers[i];
    return NULL;
}

static void prog_free(worker *w) {
    free(w->prog);
    w->prog = NULL;
    w->prog_task = -1;
}

static worker *add_worker(swan_sched *s, const unsigned char *id, size_t idlen) {
    worker *w = NULL;
    for (size_t i = 0; i < s->nworkers && !w; i++)
        if (s->workers[i].state == W_FREE) w = &s->workers[i];
    if (w) {
        swan_stream_credit_release(w->credit); /* a FREE entry is reused */
    } else {
        if (s->nworkers == s->capworkers) {
            size_t cap = s->capworkers ? 2 * s->capworkers : 16;
            worker *nw = realloc(s->workers, cap * sizeof *nw);
            if (!nw) return NULL;
            s->workers = nw;
            s->capworkers = cap;
        }
        w = &s->workers[s->nworkers++];
    }
    memset(w, 0, sizeof *w);
    w->prog_task = -1;
    memcpy(w->id, id, idlen);
    w->idlen = idlen;
    w->key = hash_id(id, idlen);
    w->state = W_LIVE;
    w->task = -1;
    w->queued = -1;
    w->last_seen = swan_now_s();
    return w;
}

/* Takes w out of the rotation; what it held goes back in line (unless another worker
 * holds a copy). blame: it died or hung while holding its task, which counts as a
 * failure of that task on this worker; a peer that merely broke the protocol or
 * reconnected says nothing about the task. forget: FREE the entry; otherwise it is
 * DROPPED and recognized if it speaks again. */
static void lose_worker(swan_sched *s, worker *w, const char *why, bool blame, bool forget) {
    char label[96];
    worker_label(w, label, sizeof label);
    if (w->task >= 0) {
        size_t t = (size_t)w->task;
        if (s->plan->tasks[t].state != SWAN_TASK_DONE)
            peer_log(s, &s->comings, "%s %s; re-queueing its task ('%s'%s)", label, why,
                     task_first_name(s, t), s->plan->tasks[t].count > 1 ? " and others" : "");
        else
            peer_log(s, &s->comings, "%s %s", label, why);
        release(s, t);
        if (blame) record_failure(s, t, w, why);
    } else {
        peer_log(s, &s->comings, "%s %s", label, why);
    }
    if (w->queued >= 0) release(s, (size_t)w->queued); /* sent ahead, never started */
    if (forget) {
        prog_free(w);
        w->state = W_FREE;
        w->idlen = 0;
        w->task = w->queued = -1;
    } else {
        w->state = W_DROPPED;
    }
    s->st.workers_lost++;
}

/* A DROPPED worker spoke: it is live again, and what it was computing is its own
 * again (taken off the queue if nobody else started it; otherwise a copy). */
static void revive(swan_sched *s, worker *w) {
    char label[96];
    worker_label(w, label, sizeof label);
    peer_log(s, &s->comings, "%s is back", label);
    w->state = W_LIVE;
    if (w->task >= 0) hold(s, (size_t)w->task);
    if (w->queued >= 0) hold(s, (size_t)w->queued);
}

/* A known worker spoke (a DROPPED one is live again); false, with one rate-limited
 * line, for a message from a peer we do not know ("a result", "a fetch", ...). */
static bool heard_from(swan_sched *s, worker *w, const char *what) {
    if (!w) {
        peer_log(s, &s->noise, "ignored %s from an unknown or dropped worker", what);
        return false;
    }
    if (w->state == W_DROPPED) revive(s, w);
    w->last_seen = swan_now_s();
    return true;
}

/* Sends task ti to w; false (and the task back in line) if w cannot be reached. */
static bool hand_over(swan_sched *s, worker *w, size_t ti) {
    hold(s, ti);
    s->plan->tasks[ti].attempts++;
    if (send_task(s, w, ti)) {
        release(s, ti);
        if (!s->fail[0]) lose_worker(s, w, "cannot be reached", false, true);
        return false;
    }
    return true;
}

/* True when the one worker holding task t runs on another host: the workers this
 * coordinator started all run on one machine at the same speed, so copying a task
 * from one of them to another would only burn a core. */
static bool held_remotely(const swan_sched *s, size_t t) {
    for (size_t i = 0; i < s->nworkers; i++) {
        const worker *h = &s->workers[i];
        if (h->state == W_LIVE && (h->task == (int64_t)t || h->queued == (int64_t)t))
            return h->local_pid == 0;
    }
    return false;
}

/* A backup copy for an idle w once the queue is empty: the task that has been
 * running longest on a single remote worker (for at least backup_after seconds),
 * which w has not failed. A slow host then no longer holds up the end of the job. */
static bool pick_backup(swan_sched *s, const worker *w, size_t *out) {
    double t = swan_now_s(), oldest = HUGE_VAL;
    bool found = false;
    for (size_t i = 0; i < s->plan->ntasks; i++) {
        const task_info *ti = &s->info[i];
        if (s->plan->tasks[i].state != SWAN_TASK_RUNNING || ti->holders != 1) continue;
        if (t - ti->started < s->o->backup_after || ti->started >= oldest || failed_on(s, i, w) ||
            !held_remotely(s, i))
            continue;
        oldest = ti->started;
        *out = i;
        found = true;
    }
    return found;
}

/* Gives w a task if it has none, and sends the next task ahead when that one is
 * small: between two small batches a worker would otherwise idle for a round trip,
 * while sending a big task ahead could leave it waiting behind another big one.
 * A benched worker is served only by dispatch_idle's second pass. */
static void dispatch_one(swan_sched *s, worker *w, bool benched_ok) {
    size_t ti;
    if (w->state != W_LIVE || !w->admitted || (w->benched && !benched_ok)) return;
    if (w->task < 0) {
        if (queue_pop_for(s, w, &ti)) {
            if (!hand_over(s, w, ti)) return;
        } else if (!w->benched && queue_empty(s) && pick_backup(s, w, &ti)) {
            if (!hand_over(s, w, ti)) return;
            s->st.backups++;
        } else {
            return; /* stays idle; more may be re-queued later */
        }
        w->task = (int64_t)ti;
    }
    if (w->queued >= 0 || w->benched) return;
    bool from_stack;
    int64_t next = queue_peek_for(s, w, &from_stack);
    if (next >= 0 && s->plan->tasks[next].cost <= s->o->prefetch_max_cost &&
        queue_pop_for(s, w, &ti) && hand_over(s, w, ti))
        w->queued = (int64_t)ti;
}

static void dispatch(swan_sched *s, worker *w) {
    dispatch_one(s, w, false);
}

/* Every idle worker gets work; benched ones only what no idle other one could take.
 * If then nobody is busy and tasks are still queued, no worker there is may take
 * them (each failed on all of them): they are declared failed rather than waited
 * for, so the job never hangs with work queued and workers idle. */
static void dispatch_idle(swan_sched *s) {
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < s->nworkers && !s->fail[0]; i++) {
            worker *w = &s->workers[i];
            if (w->state == W_LIVE && w->task < 0 && w->benched == (pass == 1))
                dispatch_one(s, w, pass == 1);
        }
    size_t live = 0, busy = 0;
    for (size_t i = 0; i < s->nworkers; i++)
        if (s->workers[i].state == W_LIVE && s->workers[i].admitted) {
            live++;
            busy += s->workers[i].task >= 0;
        }
    if (live == 0 || busy > 0 || queue_empty(s)) return;
    while (s->nrequeued) {
        size_t t = s->requeued[s->nrequeued - 1];
        logf_(s, "task '%s'%s failed on every worker available; giving up on it", task_first_name(s, t),
              s->plan->tasks[t].count > 1 ? " (and others in its batch)" : "");
        fail_task(s, t);
    }
}

/* ---- incoming messages ----------------------------------------------------- */

/* Checks a RESULT against the task the worker holds: same id, same tensors, once each. */
static int check_result(swan_sched *s, const worker *w, const swan_msg_result *r, swan_error *err) {
    if (w->task < 0) return swan_error_set(err, "sent a result but holds no task");
    if (r->task_id != (uint64_t)w->task + 1)
        return swan_error_set(err, "sent a result for task %llu but holds task %lld",
                              (unsigned long long)r->task_id, (long long)w->task + 1);
    const swan_task *t = &s->plan->tasks[w->task];
    if (r->nitems != t->count)
        return swan_error_set(err, "result has %u items, its task has %u", r->nitems, t->count);
    for (uint32_t k = 0; k < r->nitems; k++) {
        /* Items come back in task order; anything else is a confused or hostile peer. */
        if (r->items[k].tensor_id != s->plan->task_items[t->first + k])
            return swan_error_set(err, "result item %u is tensor %u, expected %u", k,
                                  r->items[k].tensor_id, s->plan->task_items[t->first + k]);
        if (r->items[k].ok && r->items[k].quantized != (s->o->quantize != NULL))
            return swan_error_set(err, "result item %u carries %s for %s task", k,
                                  r->items[k].quantized ? "output hashes" : "metrics",
                                  s->o->quantize ? "a quantize" : "an analyze");
        if (s->o->quantize) continue;
        const swan_tensor_rec *rec = &s->plan->recs[r->items[k].tensor_id];
        const swan_raw_metrics *raw = &r->items[k].raw;
        if (r->items[k].ok && raw->nonfinite == 0 &&
            (raw->rows != rec->rows || raw->cols != rec->cols))
            return swan_error_set(err, "result for tensor %u has shape %llux%llu, expected %llux%llu",
                                  r->items[k].tensor_id, (unsigned long long)raw->rows,
                                  (unsigned long long)raw->cols, (unsigned long long)rec->rows,
                                  (unsigned long long)rec->cols);
    }
    return 0;
}

/* Stores the analyzed items of a checked RESULT (those not already known from an
 * earlier, partly failed attempt); returns how many items failed. The worker has
 * already been given its next task (see on_result_msg), so the time spent here,
 * mostly journaling, is not its idle time. */
static int take_items(swan_sched *s, const worker *w, const swan_msg_result *r, uint32_t *nbad,
                      const char **first_error, swan_error *err) {
    swan_host_stats *h = &s->hosts[w->host_ix];
    *nbad = 0;
    *first_error = NULL;
    for (uint32_t k = 0; k < r->nitems; k++) {
        const swan_result_item *it = &r->items[k];
        if (!it->ok) {
            if ((*nbad)++ == 0) *first_error = it->error ? it->error : "unknown error";
            continue;
        }
        if (s->plan->recs[it->tensor_id].raw) continue;
        if (!s->o->quantize && s->hooks->on_result(s->hooks->ctx, it->tensor_id, &it->raw, err))
            return -1;
        const swan_tensor *tn = &s->ck->tensors[it->tensor_id];
        s->st.tensors_done++;
        s->st.bytes_done += tn->nbytes;
        s->st.params_done += tn->nelem;
        h->tensors_done++;
        h->params_done += tn->nelem;
    }
    if (s->hooks->on_task_done && s->hooks->on_task_done(s->hooks->ctx, err)) return -1;
    return 0;
}

/* ---- quantize runs: QCHUNKs and their RESULT ------------------------------- */

/* The index of tensor in task t, or -1. */
static int64_t item_index(const swan_sched *s, size_t t, uint32_t tensor) {
    const swan_task *tk = &s->plan->tasks[t];
    for (uint32_t k = 0; k < tk->count; k++)
        if (s->plan->task_items[tk->first + k] == tensor) return k;
    return -1;
}

static void part_bytes(const swan_sched *s, uint32_t tensor, uint64_t sizes[SWAN_QPARTS]) {
    uint32_t bits, group;
    const char *qdtype;
    s->o->quantize->item(s->o->quantize->ctx, tensor, &bits, &group, &qdtype, sizes);
}

static const char *const part_names[SWAN_QPARTS] = {"weight", "scales", "biases"};

/* Checks a QCHUNK against what w was asked and has sent so far; "" if it is fine,
 * else why (one line). */
static void check_qchunk(swan_sched *s, worker *w, const swan_msg_qchunk *c, int64_t *item, char *why,
                         size_t whylen) {
    int64_t t = (int64_t)c->task_id - 1;
    if (!s->o->quantize) {
        snprintf(why, whylen, "sent quantized bytes during an analysis");
        return;
    }
    if (c->task_id == 0 || t != w->task) {
        snprintf(why, whylen, "sent quantized bytes of task %" PRIu64 ", which it is not computing", c->task_id);
        return;
    }
    *item = item_index(s, (size_t)t, c->tensor_id);
    if (*item < 0) {
        snprintf(why, whylen, "sent quantized bytes of tensor %" PRIu32 ", not in its task", c->tensor_id);
        return;
    }
    if (w->prog_task != t) { /* the first chunk of this task */
        free(w->prog);
        w->prog = calloc(s->plan->tasks[t].count, sizeof *w->prog);
        w->prog_task = w->prog ? t : -1;
        if (!w->prog) {
            snprintf(why, whylen, "could not be tracked (out of memory)");
            return;
        }
        for (uint32_t k = 0; k < s->plan->tasks[t].count; k++)
            for (int p = 0; p < SWAN_QPARTS; p++) swan_xxh64_init(&w->prog[k].st[p], 0);
    }
    uint64_t sizes[SWAN_QPARTS];
    part_bytes(s, c->tensor_id, sizes);
    const qprog *pg = &w->prog[*item];
    const char *name = s->ck->tensors[c->tensor_id].name;
    if (c->offset != pg->next[c->part])
        snprintf(why, whylen, "sent %s bytes [%" PRIu64 ", %" PRIu64 ") of '%.200s' where byte %" PRIu64
                 " was due (%s)", part_names[c->part], c->offset, c->offset + c->nbytes, name,
                 pg->next[c->part], c->offset < pg->next[c->part] ? "an overlap or a duplicate" : "a gap");
    else if (c->offset + c->nbytes > sizes[c->part])
        snprintf(why, whylen, "sent %s bytes [%" PRIu64 ", %" PRIu64 ") of '%.200s', which has %" PRIu64
                 " (too many bytes)", part_names[c->part], c->offset, c->offset + c->nbytes, name,
                 sizes[c->part]);
}

/* QCHUNK: checked, written at its planned place (unless the task was finished by
 * another worker meanwhile), hashed, and acknowledged with a QACK (the worker's
 * credit). Anything out of line drops the worker and puts its task back in line. */
static void on_qchunk(swan_sched *s, worker *w, const swan_msg_qchunk *c) {
    if (!heard_from(s, w, "quantized bytes")) return;
    char why[SWAN_ERROR_MAX] = "";
    int64_t item = -1;
    check_qchunk(s, w, c, &item, why, sizeof why);
    if (why[0]) {
        char line[SWAN_ERROR_MAX];
        snprintf(line, sizeof line, "sent a bad quantized chunk and was dropped (%.400s)", why);
        lose_worker(s, w, line, false, true);
        return;
    }
    qprog *pg = &w->prog[item];
    pg->next[c->part] += c->nbytes;
    swan_xxh64_update(&pg->st[c->part], c->data, c->nbytes);
    swan_error err;
    if (s->plan->tasks[w->task].state != SWAN_TASK_DONE &&
        s->o->quantize->write(s->o->quantize->ctx, c->tensor_id, (int)c->part, c->offset, c->data,
                              c->nbytes, &err)) {
        snprintf(s->fail, sizeof s->fail, "%s", err.msg);
        return;
    }
    swan_msg ack = {.type = SWAN_MSG_QACK};
    ack.u.qack.task_id = c->task_id;
    send_to(s, w, &ack);
}

/* A quantize RESULT against the chunks received: each answered item complete in
 * every part, with the hashes of the bytes that came. */
static int check_qresult(swan_sched *s, const worker *w, const swan_msg_result *r, swan_error *err) {
    for (uint32_t k = 0; k < r->nitems; k++) {
        const swan_result_item *it = &r->items[k];
        if (!it->ok) continue;
        const char *name = s->ck->tensors[it->tensor_id].name;
        uint64_t sizes[SWAN_QPARTS];
        part_bytes(s, it->tensor_id, sizes);
        for (int p = 0; p < SWAN_QPARTS; p++) {
            uint64_t got = w->prog_task == w->task ? w->prog[k].next[p] : 0;
            if (got != sizes[p])
                return swan_error_set(err, "result for '%.200s' came with %" PRIu64 " of its %" PRIu64
                                      " %s bytes", name, got, sizes[p], part_names[p]);
            if (swan_xxh64_digest(&w->prog[k].st[p]) != it->qhash[p])
                return swan_error_set(err, "result for '%.200s': the hash of its %s differs from the "
                                      "bytes it sent", name, part_names[p]);
        }
    }
    return 0;
}

/* Every item of quantize task ti arrived complete: the writer reads the bytes back,
 * compares them with the hashes and journals the unit. 0 done, 1 the bytes in place
 * differ (why), -1 the run must stop (s->fail). */
static int finish_qtask(swan_sched *s, size_t ti, const swan_msg_result *r, char *why, size_t whylen) {
    uint32_t *tensors = malloc((r->nitems ? r->nitems : 1) * sizeof *tensors);
    uint64_t (*hashes)[3] = malloc((r->nitems ? r->nitems : 1) * sizeof *hashes);
    swan_error err;
    int rc = -1;
    if (!tensors || !hashes) {
        snprintf(s->fail, sizeof s->fail, "out of memory finishing a quantize task");
    } else {
        for (uint32_t k = 0; k < r->nitems; k++) {
            tensors[k] = r->items[k].tensor_id;
            memcpy(hashes[k], r->items[k].qhash, sizeof hashes[k]);
        }
        rc = s->o->quantize->task_done(s->o->quantize->ctx, tensors, r->nitems,
                                       (const uint64_t(*)[3])hashes, why, whylen, &err);
        if (rc < 0) snprintf(s->fail, sizeof s->fail, "%s", err.msg);
    }
    (void)ti;
    free(tensors);
    free(hashes);
    return rc;
}

/* One function per message type. Each gets the sender's registry entry (NULL for a
 * peer that never said HELLO, or was forgotten) and the decoded message, owned by
 * the caller. */

/* HELLO: a new connection. From a routing id we know, it is a worker that restarted
 * its session (it reconnected after a network outage, or its process was started
 * again): what it held is re-queued at once (the worker dropped it), without blame,
 * and it is used again like a new worker. Local workers are recognized here by the
 * identity they were started with; the pid a peer reports is only displayed. */
static void on_hello(swan_sched *s, worker *w, const unsigned char *id, size_t idlen,
                     const swan_msg_hello *h) {
    bool again = w != NULL;
    if (w && w->state == W_LIVE) {
        lose_worker(s, w, "reconnected", false, true);
    } else if (w) { /* DROPPED: its work was re-queued already */
        char label[96];
        worker_label(w, label, sizeof label);
        peer_log(s, &s->comings, "%s reconnected", label);
        prog_free(w);
        w->state = W_FREE;
    }
    w = add_worker(s, id, idlen);
    if (!w) {
        logf_(s, "out of memory registering a worker");
        return;
    }
    w->local_pid = s->pool ? swan_local_pool_find(s->pool, id, idlen) : 0;
    w->pid = h->pid;
    snprintf(w->host, sizeof w->host, "%s", h->host ? h->host : "");
    for (char *c = w->host; *c; c++) /* a peer's words go into our one-line logs */
        if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f) *c = '?';
    w->host_ix = host_index(s, w->local_pid ? "local" : (w->host[0] ? w->host : "?"), w->local_pid != 0);
    if (!w->local_pid && !again) {
        size_t n = 0;
        for (size_t i = 0; i < s->nworkers; i++)
            n += s->workers[i].state == W_LIVE && s->workers[i].host_ix == w->host_ix;
        peer_log(s, &s->comings, "worker %s/%u joined (%zu on that host)", w->host[0] ? w->host : "?",
                 w->pid, n);
    }
    if (queue_empty(s) && s->tasks_done == s->plan->ntasks) {
        send_shutdown(s, w);
        return;
    }
    /* No task before the worker proves its model copy is ours (on_identity). */
    swan_msg ch;
    swan_admission_challenge(&s->adm, &ch);
    send_to(s, w, &ch);
}

/* IDENTITY: the worker's answer to the CHALLENGE. A copy that differs is refused
 * with the first differing file named on both sides; it never gets a task. */
static void on_identity(swan_sched *s, worker *w, const swan_msg_identity *id) {
    if (!w || w->state != W_LIVE) {
        peer_log(s, &s->noise, "ignored a model identity from an unknown or dropped worker");
        return;
    }
    w->last_seen = swan_now_s();
    if (w->admitted) return;
    if (id->stream) {
        /* Nothing on that host can differ from our copy: ours is the one read. */
        char label[96];
        worker_label(w, label, sizeof label);
        peer_log(s, &s->comings, "%s has no copy of the model: its tensor bytes are streamed", label);
        w->streaming = true;
        w->credit = swan_stream_credit_new();
        if (!w->credit) {
            lose_worker(s, w, "cannot be streamed to (out of memory)", false, true);
            return;
        }
        w->admitted = true;
        dispatch(s, w);
        return;
    }
    char why[SWAN_ERROR_MAX / 2];
    swan_error err;
    int rc = swan_admission_check(&s->adm, id, why, sizeof why, &err);
    if (rc < 0) {
        snprintf(s->fail, sizeof s->fail, "cannot check workers' model copies: %.400s", err.msg);
        return;
    }
    if (rc > 0) {
        char reason[SWAN_ERROR_MAX];
        snprintf(reason, sizeof reason, "refused by the coordinator: %s", why);
        swan_msg m = {.type = SWAN_MSG_REFUSED};
        m.u.refused.reason = reason;
        send_to(s, w, &m);
        snprintf(reason, sizeof reason, "was refused: %.400s", why);
        lose_worker(s, w, reason, false, true);
        return;
    }
    w->admitted = true;
    dispatch(s, w);
}

static void on_heartbeat(swan_sched *s, worker *w) {
    if (w) heard_from(s, w, "a heartbeat");
}

/* RESULT: checked against the task the worker holds. A duplicate (a backup copy
 * already won, or a late result after the task was finished elsewhere) is ignored;
 * failed items count as a failure of the task on this worker, which is then asked
 * for nothing more while other workers can take the work (a remote host that cannot
 * read the files or runs out of memory); the task goes back in line for the others. */
static void on_result_msg(swan_sched *s, worker *w, const swan_msg_result *r) {
    swan_error err;
    if (!heard_from(s, w, "a result")) return;
    if (check_result(s, w, r, &err) || (s->o->quantize && check_qresult(s, w, r, &err))) {
        char line[SWAN_ERROR_MAX];
        snprintf(line, sizeof line, "sent an inconsistent result and was dropped (%.400s)", err.msg);
        lose_worker(s, w, line, false, true);
        return;
    }
    if (w->streaming && swan_stream_server_damaged(&s->stream, &err)) {
        /* Its chunks may have carried zeros where the shard lost its bytes. */
        snprintf(s->fail, sizeof s->fail, "%.400s; nothing computed from it since is kept", err.msg);
        return;
    }
    size_t ti = (size_t)w->task;
    swan_task *tk = &s->plan->tasks[ti];
    w->task = w->queued; /* the worker moves on to what was sent ahead */
    w->queued = -1;
    prog_free(w);
    if (tk->state == SWAN_TASK_DONE) { /* late duplicate: first result won */
        dispatch(s, w);
        return;
    }
    uint32_t nbad = 0;
    for (uint32_t k = 0; k < r->nitems; k++) nbad += !r->items[k].ok;
    if (nbad == 0 && s->o->quantize) {
        /* The worker computes its next task while the bytes are read back. */
        dispatch(s, w);
        char why[SWAN_ERROR_MAX / 2] = "";
        int q = finish_qtask(s, ti, r, why, sizeof why);
        if (q < 0) return;
        if (q > 0) {
            char label[96];
            worker_label(w, label, sizeof label);
            peer_log(s, &s->comings, "the output of '%s' from %s is not in place (%.300s); running it again",
                     task_first_name(s, ti), label, why);
            release(s, ti);
            record_failure(s, ti, w, why);
            return;
        }
    }
    if (nbad == 0) {
        tk->state = SWAN_TASK_DONE;
        s->info[ti].holders = 0;
        s->tasks_done++;
        s->st.cost_done += tk->cost;
        s->hosts[w->host_ix].tasks_done++;
    }
    if (nbad == 0 && !s->o->quantize) dispatch(s, w); /* first, so the worker computes while we journal */
    const char *why;
    if (take_items(s, w, r, &nbad, &why, &err)) {
        snprintf(s->fail, sizeof s->fail, "%s", err.msg);
        return;
    }
    if (nbad == 0) return;
    char label[96], reason[SWAN_ERROR_MAX];
    worker_label(w, label, sizeof label);
    snprintf(reason, sizeof reason, "%.300s%s", why, nbad > 1 ? " (and other tensors of its batch)" : "");
    if (!w->local_pid) w->benched = true; /* the host's fault, most likely */
    peer_log(s, &s->comings, "%s could not %s '%s': %s", label, s->o->quantize ? "quantize" : "analyze",
             task_first_name(s, ti), reason);
    release(s, ti);
    record_failure(s, ti, w, reason);
    dispatch(s, w);
}

/* FETCH: a streaming worker asks for bytes of an item of a task it holds (computing
 * or sent ahead). Anything else (not streaming, another task or tensor, a range
 * outside the tensor) drops it like any malformed message. */
static void on_fetch(swan_sched *s, worker *w, const swan_msg_chunk *req) {
    if (!heard_from(s, w, "a fetch")) return;
    char why[SWAN_ERROR_MAX / 2] = "";
    int64_t t = (int64_t)req->task_id - 1;
    if (!w->streaming) {
        snprintf(why, sizeof why, "asked for tensor bytes without saying it streams");
    } else if (req->task_id == 0 || req->task_id > s->plan->ntasks || (t != w->task && t != w->queued)) {
        snprintf(why, sizeof why, "asked for bytes of task %" PRIu64 ", which it does not hold", req->task_id);
    } else {
        const swan_task *tk = &s->plan->tasks[t];
        bool in_task = false;
        for (uint32_t k = 0; k < tk->count && !in_task; k++)
            in_task = s->plan->task_items[tk->first + k] == req->tensor_id;
        if (!in_task)
            snprintf(why, sizeof why, "asked for bytes of tensor %" PRIu32 ", not in its task", req->tensor_id);
    }
    swan_error err;
    int rc = why[0] ? SWAN_SERVE_REFUSED
                    : swan_stream_serve(&s->stream, s->tr, w->credit, w->id, w->idlen, req, why,
                                        sizeof why, &err);
    if (rc == SWAN_SERVE_OK) return;
    if (rc == SWAN_SERVE_MODEL_CHANGED) { /* no worker is at fault: the run stops */
        snprintf(s->fail, sizeof s->fail, "%s", err.msg);
        return;
    }
    char line[SWAN_ERROR_MAX];
    snprintf(line, sizeof line, "%s and was dropped (%.300s)",
             rc > 0 ? "sent a bad fetch" : "could not be sent a chunk", rc > 0 ? why : err.msg);
    lose_worker(s, w, line, false, true);
}

/* A worker that cannot work at all leaves; what it held goes back in line. */
static void on_fatal(swan_sched *s, worker *w, const swan_msg_fatal *f) {
    if (!w) return;
    char why[SWAN_ERROR_MAX];
    snprintf(why, sizeof why, "gave up: %.400s", f->reason ? f->reason : "");
    lose_worker(s, w, why, false, true);
}

/* TASK or SHUTDOWN from a peer: only the coordinator sends those. */
static void on_unexpected(swan_sched *s, worker *w, swan_msg_type type) {
    if (w)
        lose_worker(s, w, "sent a message only the coordinator may send, and was dropped", false, true);
    else
        peer_log(s, &s->noise, "ignored a '%s' message from an unknown peer", swan_msg_type_name(type));
}

static void on_malformed(swan_sched *s, worker *w, const swan_error *err) {
    if (w) {
        lose_worker(s, w, "sent a malformed message and was dropped", false, true);
        peer_log(s, &s->noise, "  (the message: %s)", err->msg);
    } else {
        peer_log(s, &s->noise, "ignored a malformed message from an unknown peer: %s", err->msg);
    }
}

/* Decodes one payload and hands it to the function for its type. */
static void handle_message(swan_sched *s, const unsigned char *id, size_t idlen, const void *buf,
                           size_t len) {
    worker *w = find_worker(s, id, idlen);
    swan_msg m;
    swan_error err;
    if (swan_msg_decode(buf, len, &m, &err)) {
        on_malformed(s, w, &err);
        return;
    }
    switch (m.type) {
    case SWAN_MSG_HELLO: on_hello(s, w, id, idlen, &m.u.hello); break;
    case SWAN_MSG_HEARTBEAT: on_heartbeat(s, w); break;
    case SWAN_MSG_RESULT: on_result_msg(s, w, &m.u.result); break;
    case SWAN_MSG_FATAL: on_fatal(s, w, &m.u.fatal); break;
    case SWAN_MSG_IDENTITY: on_identity(s, w, &m.u.identity); break;
    case SWAN_MSG_FETCH: on_fetch(s, w, &m.u.chunk); break;
    case SWAN_MSG_QCHUNK: on_qchunk(s, w, &m.u.qchunk); break;
    default: on_unexpected(s, w, m.type); break;
    }
    swan_msg_free(&m);
}

/* Reads one multipart message; anything but [identity][payload] is discarded. */
static void receive_one(swan_sched *s) {
    unsigned char id[MAX_ID];
    size_t idlen = 0, nframes = 0;
    zmq_msg_t payload;
    zmq_msg_init(&payload);
    int got = swan_transport_server_recv(s->tr, id, &idlen, &payload, &nframes);
    if (got == 1)
        handle_message(s, id, idlen, zmq_msg_data(&payload), zmq_msg_size(&payload));
    else if (got == -2)
        peer_log(s, &s->noise, "ignored a message of %zu frames (expected 1 from a worker)", nframes - 1);
    zmq_msg_close(&payload);
}

/* ---- liveness ---------------------------------------------------------------- */

static void on_child_exit(void *ctx, pid_t pid, const char *how) {
    swan_sched *s = ctx;
    for (size_t i = 0; i < s->nworkers; i++) {
        worker *w = &s->workers[i];
        if (w->state == W_FREE || w->local_pid != pid) continue;
        if (w->state == W_LIVE) {
            lose_worker(s, w, how, true, true);
        } else {
            w->state = W_FREE;
            w->idlen = 0;
        }
        return;
    }
    if (s->tasks_done < s->plan->ntasks) logf_(s, "worker process %ld %s", (long)pid, how);
}

static void check_liveness(swan_sched *s) {
    double t = swan_now_s();
    for (size_t i = 0; i < s->nworkers; i++) {
        worker *w = &s->workers[i];
        if (w->state == W_LIVE && w->task >= 0 && t - w->last_seen > s->o->worker_timeout) {
            char why[96];
            snprintf(why, sizeof why, "was silent for %.0f s", t - w->last_seen);
            pid_t ours = w->local_pid;
            /* A remote one stays known (DROPPED): if it speaks again it is used again.
             * A hung local process is ours to end; reaping it starts a replacement. */
            lose_worker(s, w, why, true, ours != 0);
            if (ours) kill(ours, SIGKILL);
        } else if (w->state == W_LIVE && w->admitted && w->task < 0 && !w->local_pid &&
                   t - w->last_seen > 3 * SWAN_IDLE_HEARTBEAT_S) {
            /* An idle remote host that vanished (power, cable, SIGSTOP) says nothing:
             * idle workers heartbeat every SWAN_IDLE_HEARTBEAT_S, so three missed ones
             * mean it left. It stays known (DROPPED) and is used again if it speaks. */
            char why[96];
            snprintf(why, sizeof why, "left: silent for %.0f s while idle", t - w->last_seen);
            lose_worker(s, w, why, false, false);
        }
    }
    if (!s->pool) return;
    swan_local_pool_reap(s->pool, on_child_exit, s);
    bool work_left = s->tasks_done < s->plan->ntasks;
    while (work_left && swan_local_pool_alive(s->pool) < s->pool->n &&
           s->pool->spawned_total < s->pool->n + s->o->max_respawns) {
        swan_error err;
        if (swan_local_pool_respawn(s->pool, &err)) {
            logf_(s, "%s", err.msg);
            break;
        }
    }
    if (work_left && swan_local_pool_alive(s->pool) == 0 && !s->fail[0])
        snprintf(s->fail, sizeof s->fail,
                 "all local workers died and the replacement budget (%zu) is spent",
                 s->o->max_respawns);
}

static void update_stats(swan_sched *s) {
    double t = swan_now_s();
    s->st.workers = s->st.workers_busy = 0;
    for (size_t h = 0; h <= MAX_HOSTS; h++) s->hosts[h].workers = s->hosts[h].workers_busy = 0;
    for (size_t i = 0; i < s->nworkers; i++) {
        const worker *w = &s->workers[i];
        if (w->state != W_LIVE) continue;
        s->st.workers++;
        s->st.workers_busy += w->task >= 0;
        s->hosts[w->host_ix].workers++;
        s->hosts[w->host_ix].workers_busy += w->task >= 0;
    }
    for (size_t h = 0; h <= MAX_HOSTS; h++) {
        double dt = t - s->host_since[h];
        s->hosts[h].params_per_s = dt > 0 ? (double)s->hosts[h].params_done / dt : 0;
    }
    s->st.hosts = s->hosts;
    s->st.nhosts = s->nhosts + (s->hosts[MAX_HOSTS].name[0] ? 1 : 0); /* the overflow last */
    s->st.elapsed = t - s->t0;
}

/* ---- the loop ------------------------------------------------------------------ */

static void init_stats(swan_sched *s) {
    memset(&s->st, 0, sizeof s->st);
    for (size_t i = 0; i < s->plan->ntasks; i++) {
        const swan_task *t = &s->plan->tasks[i];
        s->st.tensors_total += t->count;
        s->st.bytes_total += t->bytes;
        s->st.cost_total += t->cost;
    }
}

int swan_sched_run(const swan_sched_opts *o, const swan_checkpoint *ck, swan_plan *plan,
                   swan_local_pool *pool, const swan_sched_hooks *hooks, swan_error *err) {
    swan_sched s = {.o = o, .ck = ck, .plan = plan, .pool = pool, .hooks = hooks};
    s.requeued = malloc((plan->ntasks + 1) * sizeof *s.requeued);
    s.info = calloc(plan->ntasks + 1, sizeof *s.info);
    if (!s.requeued || !s.info) {
        free(s.requeued);
        free(s.info);
        return swan_error_set(err, "out of memory");
    }
    for (size_t i = 0; i < plan->ntasks; i++)
        if (plan->tasks[i].state == SWAN_TASK_DONE) s.tasks_done++;
    init_stats(&s);
    s.t0 = swan_now_s();
    s.noise = (limiter){.tokens = 10, .burst = 10, .rate = 0.2, .last = s.t0};
    s.comings = (limiter){.tokens = 40, .burst = 40, .rate = 1.0, .last = s.t0};
    s.tr = o->transport;
    int rc = swan_admission_init(&s.adm, ck, err);
    if (rc == 0) rc = swan_stream_server_init(&s.stream, ck, err);
    double last_progress = 0;
    while (rc == 0 && s.tasks_done < plan->ntasks && !s.fail[0]) {
        if (o->stop && *o->stop) {
            rc = swan_error_set(err, "interrupted");
            break;
        }
        /* The transport serves its ZAP handler (worker authentication) while polling. */
        int readable = swan_transport_poll(s.tr, NULL, 0, 100, NULL, err);
        if (readable < 0) {
            rc = -1;
            break;
        }
        /* Drain what is there, but bounded, so liveness checks still run under load. */
        for (int k = 0; k < 256 && readable; k++) {
            receive_one(&s);
            if (s.fail[0]) break;
            if (!swan_transport_readable(s.tr)) break;
        }
        check_liveness(&s);
        dispatch_idle(&s);
        double t = swan_now_s();
        if (hooks->on_progress && t - last_progress >= 0.2) {
            update_stats(&s);
            hooks->on_progress(hooks->ctx, &s.st);
            last_progress = t;
        }
    }
    if (rc == 0 && s.fail[0]) rc = swan_error_set(err, "%s", s.fail);
    if (s.stream.chunks_sent)
        logf_(&s, "streamed %.1f MB of tensor bytes in %" PRIu64 " chunks to workers without the model",
              (double)s.stream.bytes_sent / 1e6, s.stream.chunks_sent);
    if (s.noise.suppressed + s.comings.suppressed)
        logf_(&s, "(%zu more lines about workers were suppressed)", s.noise.suppressed + s.comings.suppressed);
    {
        /* A job finished in full sends everyone home. An interrupted one, or one with
         * failed tensors, only stops its own workers: the remote ones wait for the
         * same command to be run again and rejoin it (the journal resumes the job). */
        bool all_home = rc == 0 && s.st.tasks_failed == 0;
        for (size_t i = 0; i < s.nworkers; i++)
            if (s.workers[i].state != W_FREE && (all_home || s.workers[i].local_pid))
                send_shutdown(&s, &s.workers[i]);
        update_stats(&s);
        s.st.final = true;
        if (hooks->on_progress) hooks->on_progress(hooks->ctx, &s.st);
    }
    for (size_t i = 0; i < s.nworkers; i++) free(s.workers[i].prog);
    for (size_t i = 0; i < plan->ntasks; i++) free(s.info[i].reasons);
    free(s.info);
    swan_admission_free(&s.adm);
    swan_stream_server_free(&s.stream); /* mappings outlive it while chunks are queued */
    for (size_t i = 0; i < s.nworkers; i++) swan_stream_credit_release(s.workers[i].credit);
    free(s.workers);
    free(s.requeued);
    return rc;
}
