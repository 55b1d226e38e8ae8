/* scheduler.c: the coordinator's event loop over the ROUTER socket (see scheduler.h).
 *
 * State lives in one swan_sched struct owned by swan_sched_run: the known workers
 * (by ZeroMQ routing id), the queue of pending tasks, and counters for progress.
 * Every incoming frame is decoded strictly (proto/messages.c) and checked against
 * what that worker was asked to do before anything is believed. */
#include "coordinator/schedule/scheduler.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "common/clock.h"
#include "proto/messages.h"

#define MAX_ID 255
#define MAX_MSG_BYTES (64LL * 1024 * 1024) /* larger frames are refused by libzmq */

typedef struct worker {
    unsigned char id[MAX_ID];
    size_t idlen;
    bool alive;
    uint32_t pid;
    char host[64];
    int64_t task;        /* index into plan->tasks, -1 when idle           */
    int64_t queued;      /* a small task sent ahead (prefetch), or -1      */
    double last_seen;
} worker;

typedef struct swan_sched {
    const swan_sched_opts *o;
    const swan_checkpoint *ck;
    swan_plan *plan;
    swan_local_pool *pool;
    const swan_sched_hooks *hooks;
    void *zctx, *sock;
    worker *workers;
    size_t nworkers, capworkers;
    size_t next;         /* next task index in plan order                    */
    size_t *requeued;    /* stack of task indices taken back from lost workers */
    size_t nrequeued;
    size_t tasks_done;
    swan_sched_stats st;
    double t0;
    char fail[SWAN_ERROR_MAX]; /* set when the run must stop */
} swan_sched;

static void logf_(swan_sched *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(swan_sched *s, const char *fmt, ...) {
    char line[SWAN_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (s->hooks->log) s->hooks->log(s->hooks->ctx, line);
}

static void worker_label(const worker *w, char *out, size_t size) {
    if (w->pid)
        snprintf(out, size, "worker %s/%u", w->host[0] ? w->host : "?", w->pid);
    else
        snprintf(out, size, "worker (not yet identified)");
}

/* ---- the pending queue ----------------------------------------------------
 * Tasks go out in plan order (largest first); a task taken back from a lost worker
 * goes on a stack that is served first, so a retry does not wait behind everything. */

static void queue_requeue(swan_sched *s, size_t t) {
    s->requeued[s->nrequeued++] = t;
}

static bool queue_pop(swan_sched *s, size_t *t) {
    if (s->nrequeued) {
        *t = s->requeued[--s->nrequeued];
        return true;
    }
    while (s->next < s->plan->ntasks) {
        size_t i = s->next++;
        if (s->plan->tasks[i].state == SWAN_TASK_PENDING) {
            *t = i;
            return true;
        }
    }
    return false;
}

/* Estimated cost of the task queue_pop would return next; +inf if none. */
static double queue_peek_cost(swan_sched *s) {
    if (s->nrequeued) return s->plan->tasks[s->requeued[s->nrequeued - 1]].cost;
    while (s->next < s->plan->ntasks && s->plan->tasks[s->next].state != SWAN_TASK_PENDING)
        s->next++;
    return s->next < s->plan->ntasks ? s->plan->tasks[s->next].cost : HUGE_VAL;
}

static bool queue_empty(const swan_sched *s) {
    return s->nrequeued == 0 && s->next >= s->plan->ntasks;
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
    int rc = zmq_send(s->sock, w->id, w->idlen, ZMQ_SNDMORE);
    if (rc >= 0) rc = zmq_send(s->sock, buf, len, 0);
    free(buf);
    return rc < 0 ? -1 : 0;
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
        it->path = s->ck->shards[tn->shard].path;
        it->dtype = (char *)swan_dtype_name(tn->dtype);
        it->ndim = (uint32_t)tn->ndim;
        memcpy(it->shape, tn->shape, sizeof it->shape);
        it->offset = tn->offset;
        it->nbytes = tn->nbytes;
        if (tn->has_scale) {
            const swan_tensor *sc = &s->ck->tensors[tn->scale_index];
            it->scale_path = s->ck->shards[sc->shard].path;
            it->scale_dtype = (char *)swan_dtype_name(sc->dtype);
            it->scale_offset = sc->offset;
            it->scale_rows = sc->ndim == 2 ? sc->shape[0] : 1;
            it->scale_cols = sc->ndim == 2 ? sc->shape[1] : 1;
            it->block_rows = tn->block_rows;
            it->block_cols = tn->block_cols;
        }
    }
    swan_msg m = {.type = SWAN_MSG_TASK};
    m.u.task.task_id = ti + 1; /* 0 means "none" in heartbeats */
    m.u.task.seed = s->o->seed;
    m.u.task.nitems = t->count;
    m.u.task.items = items;
    int rc = send_to(s, w, &m);
    free(items);
    return rc;
}

/* ---- worker bookkeeping ---------------------------------------------------- */

static worker *find_worker(swan_sched *s, const unsigned char *id, size_t idlen) {
    for (size_t i = 0; i < s->nworkers; i++)
        if (s->workers[i].alive && s->workers[i].idlen == idlen &&
            memcmp(s->workers[i].id, id, idlen) == 0)
            return &s->workers[i];
    return NULL;
}

static worker *add_worker(swan_sched *s, const unsigned char *id, size_t idlen) {
    worker *w = NULL;
    for (size_t i = 0; i < s->nworkers && !w; i++)
        if (!s->workers[i].alive) w = &s->workers[i];
    if (!w) {
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
    memcpy(w->id, id, idlen);
    w->idlen = idlen;
    w->alive = true;
    w->task = -1;
    w->queued = -1;
    w->last_seen = swan_now_s();
    return w;
}

/* Forgets a worker; its task, if any, goes back to the front of the queue.
 * suspect_task: the worker died or hung while holding the task, which a task that
 * crashes workers would also cause; after max_attempts such losses the run stops
 * instead of killing workers forever. A peer that merely broke the protocol says
 * nothing about the task, so it does not count. */
static void lose_worker(swan_sched *s, worker *w, const char *why, bool suspect_task) {
    char label[96];
    worker_label(w, label, sizeof label);
    if (w->queued >= 0) { /* sent ahead, never started: back in line, no blame */
        s->plan->tasks[w->queued].state = SWAN_TASK_PENDING;
        queue_requeue(s, (size_t)w->queued);
    }
    if (w->task >= 0) {
        swan_task *t = &s->plan->tasks[w->task];
        t->state = SWAN_TASK_PENDING;
        const char *first = s->ck->tensors[s->plan->task_items[t->first]].name;
        if (suspect_task) t->losses++;
        if (t->losses >= s->o->max_attempts) {
            snprintf(s->fail, sizeof s->fail,
                     "tensor '%s'%s: %u workers died or hung while analyzing it (last: %s %s)", first,
                     t->count > 1 ? " (or another in its batch)" : "", t->losses, label, why);
        } else {
            logf_(s, "%s %s; re-queueing its task ('%s'%s)", label, why, first,
                  t->count > 1 ? " and others" : "");
            queue_requeue(s, (size_t)w->task);
        }
    } else {
        logf_(s, "%s %s", label, why);
    }
    w->alive = false;
    w->idlen = 0;
    w->task = w->queued = -1;
    s->st.workers_lost++;
}

/* Sends task ti to w; false (and the task back in line) if w cannot be reached. */
static bool hand_over(swan_sched *s, worker *w, size_t ti) {
    if (send_task(s, w, ti)) {
        queue_requeue(s, ti);
        if (!s->fail[0]) lose_worker(s, w, "cannot be reached", false);
        return false;
    }
    s->plan->tasks[ti].state = SWAN_TASK_RUNNING;
    s->plan->tasks[ti].attempts++;
    return true;
}

/* Gives w a task if it has none, and sends the next task ahead when that one is
 * small: between two small batches a worker would otherwise idle for a round trip,
 * while sending a big task ahead could leave it waiting behind another big one. */
static void dispatch(swan_sched *s, worker *w) {
    size_t ti;
    if (w->task < 0) {
        if (!queue_pop(s, &ti)) return; /* stays idle; more may be re-queued later */
        if (!hand_over(s, w, ti)) return;
        w->task = (int64_t)ti;
    }
    if (w->queued < 0 && queue_peek_cost(s) <= s->o->prefetch_max_cost && queue_pop(s, &ti) &&
        hand_over(s, w, ti))
        w->queued = (int64_t)ti;
}

static void dispatch_idle(swan_sched *s) {
    for (size_t i = 0; i < s->nworkers && !queue_empty(s); i++)
        if (s->workers[i].alive && s->workers[i].pid && s->workers[i].task < 0)
            dispatch(s, &s->workers[i]);
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

/* Stores a checked RESULT. The worker has already been given its next task (see
 * on_result_msg), so the time spent here, mostly journaling, is not its idle time. */
static int take_result(swan_sched *s, size_t ti, const swan_msg_result *r, swan_error *err) {
    swan_task *t = &s->plan->tasks[ti];
    for (uint32_t k = 0; k < r->nitems; k++) {
        const swan_result_item *it = &r->items[k];
        const swan_tensor *tn = &s->ck->tensors[it->tensor_id];
        if (it->ok) {
            if (s->hooks->on_result(s->hooks->ctx, it->tensor_id, &it->raw, err)) return -1;
        } else if (s->hooks->on_tensor_error) {
            s->hooks->on_tensor_error(s->hooks->ctx, it->tensor_id,
                                      it->error ? it->error : "unknown error");
        }
        s->st.tensors_done++;
        s->st.bytes_done += tn->nbytes;
        s->st.params_done += tn->nelem;
    }
    if (s->hooks->on_task_done && s->hooks->on_task_done(s->hooks->ctx, err)) return -1;
    s->st.cost_done += t->cost;
    return 0;
}

/* One function per message type. Each gets the sender's registry entry (NULL for a
 * peer that never said HELLO, or was dropped) and the decoded message, owned by the
 * caller. */

/* HELLO, on a new connection or again on a known one: harmless if the connection
 * holds nothing; if it held work, that work is lost to it and goes back in line. */
static void on_hello(swan_sched *s, worker *w, const unsigned char *id, size_t idlen,
                     const swan_msg_hello *h) {
    if (w && (w->task >= 0 || w->queued >= 0)) lose_worker(s, w, "said hello again", false);
    else if (w) w->alive = false;
    w = add_worker(s, id, idlen);
    if (!w) {
        logf_(s, "out of memory registering a worker");
        return;
    }
    w->pid = h->pid;
    snprintf(w->host, sizeof w->host, "%s", h->host ? h->host : "");
    for (char *c = w->host; *c; c++) /* a peer's words go into our one-line logs */
        if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f) *c = '?';
    w->last_seen = swan_now_s();
    if (queue_empty(s) && s->tasks_done == s->plan->ntasks)
        send_shutdown(s, w);
    else
        dispatch(s, w);
}

static void on_heartbeat(swan_sched *s, worker *w) {
    (void)s;
    if (w) w->last_seen = swan_now_s();
}

/* RESULT: checked against the task the worker holds, then the worker is given its
 * next task before the results are journaled, so it computes while we write. */
static void on_result_msg(swan_sched *s, worker *w, const swan_msg_result *r) {
    swan_error err;
    if (!w) {
        logf_(s, "ignored a result from an unknown or dropped worker");
        return;
    }
    w->last_seen = swan_now_s();
    if (check_result(s, w, r, &err)) {
        lose_worker(s, w, "sent an inconsistent result and was dropped", false);
        logf_(s, "  (%s)", err.msg);
        return;
    }
    size_t ti = (size_t)w->task;
    s->plan->tasks[ti].state = SWAN_TASK_DONE;
    s->tasks_done++;
    w->task = w->queued; /* the worker moves on to what was sent ahead */
    w->queued = -1;
    dispatch(s, w);
    if (take_result(s, ti, r, &err)) snprintf(s->fail, sizeof s->fail, "%s", err.msg);
}

static void on_fatal(swan_sched *s, worker *w, const swan_msg_fatal *f) {
    if (!w) return;
    char why[SWAN_ERROR_MAX];
    snprintf(why, sizeof why, "gave up: %.400s", f->reason ? f->reason : "");
    lose_worker(s, w, why, false);
}

/* TASK or SHUTDOWN from a peer: only the coordinator sends those. */
static void on_unexpected(swan_sched *s, worker *w, swan_msg_type type) {
    if (w)
        lose_worker(s, w, "sent a message only the coordinator may send, and was dropped", false);
    else
        logf_(s, "ignored a '%s' message from an unknown peer", swan_msg_type_name(type));
}

static void on_malformed(swan_sched *s, worker *w, const swan_error *err) {
    if (w) {
        lose_worker(s, w, "sent a malformed message and was dropped", false);
        logf_(s, "  (the message: %s)", err->msg);
    } else {
        logf_(s, "ignored a malformed message from an unknown peer: %s", err->msg);
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
    default: on_unexpected(s, w, m.type); break;
    }
    swan_msg_free(&m);
}

/* Reads one multipart message; anything but [identity][payload] is discarded. */
static void receive_one(swan_sched *s) {
    zmq_msg_t part;
    unsigned char id[MAX_ID];
    size_t idlen = 0, nparts = 0;
    zmq_msg_t payload;
    zmq_msg_init(&payload);
    int more = 1;
    while (more) {
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, s->sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&part);
            break;
        }
        more = zmq_msg_more(&part);
        if (nparts == 0) {
            idlen = zmq_msg_size(&part) < MAX_ID ? zmq_msg_size(&part) : MAX_ID;
            memcpy(id, zmq_msg_data(&part), idlen);
        } else if (nparts == 1) {
            zmq_msg_move(&payload, &part);
        }
        nparts++;
        zmq_msg_close(&part);
    }
    if (nparts == 2)
        handle_message(s, id, idlen, zmq_msg_data(&payload), zmq_msg_size(&payload));
    else if (nparts > 0)
        logf_(s, "ignored a message of %zu frames (expected 1 from a worker)", nparts - 1);
    zmq_msg_close(&payload);
}

/* ---- liveness ---------------------------------------------------------------- */

static void on_child_exit(void *ctx, pid_t pid, const char *how) {
    swan_sched *s = ctx;
    for (size_t i = 0; i < s->nworkers; i++)
        if (s->workers[i].alive && s->workers[i].pid == (uint32_t)pid) {
            char why[160];
            snprintf(why, sizeof why, "%s", how);
            lose_worker(s, &s->workers[i], why, true);
            return;
        }
    if (s->tasks_done < s->plan->ntasks) logf_(s, "worker process %ld %s", (long)pid, how);
}

static void check_liveness(swan_sched *s) {
    double t = swan_now_s();
    for (size_t i = 0; i < s->nworkers; i++) {
        worker *w = &s->workers[i];
        if (w->alive && w->task >= 0 && t - w->last_seen > s->o->worker_timeout) {
            char why[96];
            snprintf(why, sizeof why, "was silent for %.0f s", t - w->last_seen);
            uint32_t pid = w->pid;
            bool local = false;
            if (s->pool)
                for (size_t k = 0; k < s->pool->n; k++) local |= s->pool->pids[k] == (pid_t)pid;
            lose_worker(s, w, why, true);
            /* A hung local process is ours to end; reaping it then starts a replacement. */
            if (local) kill((pid_t)pid, SIGKILL);
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
    s->st.workers = s->st.workers_busy = 0;
    for (size_t i = 0; i < s->nworkers; i++)
        if (s->workers[i].alive && s->workers[i].pid) {
            s->st.workers++;
            s->st.workers_busy += s->workers[i].task >= 0;
        }
    s->st.elapsed = swan_now_s() - s->t0;
}

/* ---- the loop ------------------------------------------------------------------ */

static int open_socket(swan_sched *s, swan_error *err) {
    s->zctx = zmq_ctx_new();
    if (!s->zctx) return swan_error_set(err, "cannot create a ZeroMQ context: %s", zmq_strerror(errno));
    s->sock = zmq_socket(s->zctx, ZMQ_ROUTER);
    if (!s->sock) return swan_error_set(err, "cannot create a ZeroMQ socket: %s", zmq_strerror(errno));
    int one = 1, zero = 0;
    int64_t maxmsg = MAX_MSG_BYTES;
    zmq_setsockopt(s->sock, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    zmq_setsockopt(s->sock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(s->sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
#ifdef ZMQ_HEARTBEAT_IVL
    /* ZMTP pings drop connections to hosts that vanished without closing them. */
    int hb_ivl = 2000, hb_timeout = 10000;
    zmq_setsockopt(s->sock, ZMQ_HEARTBEAT_IVL, &hb_ivl, sizeof hb_ivl);
    zmq_setsockopt(s->sock, ZMQ_HEARTBEAT_TIMEOUT, &hb_timeout, sizeof hb_timeout);
#endif
    if (zmq_bind(s->sock, s->o->endpoint) != 0)
        return swan_error_set(err, "cannot listen on %s: %s", s->o->endpoint, zmq_strerror(errno));
    return 0;
}

static void close_socket(swan_sched *s) {
    if (s->sock) zmq_close(s->sock);
    if (s->zctx) zmq_ctx_term(s->zctx);
    s->sock = s->zctx = NULL;
}

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
    if (!s.requeued) return swan_error_set(err, "out of memory");
    for (size_t i = 0; i < plan->ntasks; i++)
        if (plan->tasks[i].state == SWAN_TASK_DONE) s.tasks_done++;
    init_stats(&s);
    s.t0 = swan_now_s();
    int rc = open_socket(&s, err);
    double last_progress = 0;
    while (rc == 0 && s.tasks_done < plan->ntasks && !s.fail[0]) {
        if (o->stop && *o->stop) {
            rc = swan_error_set(err, "interrupted");
            break;
        }
        zmq_pollitem_t item = {.socket = s.sock, .events = ZMQ_POLLIN};
        int n = zmq_poll(&item, 1, 100);
        if (n < 0 && errno != EINTR) {
            rc = swan_error_set(err, "polling the worker socket failed: %s", zmq_strerror(errno));
            break;
        }
        /* Drain what is there, but bounded, so liveness checks still run under load. */
        for (int k = 0; k < 256 && (item.revents & ZMQ_POLLIN); k++) {
            receive_one(&s);
            if (s.fail[0]) break;
            size_t z = sizeof(int);
            int ev = 0;
            zmq_getsockopt(s.sock, ZMQ_EVENTS, &ev, &z);
            if (!(ev & ZMQ_POLLIN)) break;
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
    if (s.sock) {
        for (size_t i = 0; i < s.nworkers; i++)
            if (s.workers[i].alive) send_shutdown(&s, &s.workers[i]);
        update_stats(&s);
        if (hooks->on_progress) hooks->on_progress(hooks->ctx, &s.st);
    }
    close_socket(&s);
    free(s.workers);
    free(s.requeued);
    return rc;
}
