/* progress.c: live or periodic progress lines (see progress.h). */
#include "coordinator/progress.h"

#include <string.h>
#include <unistd.h>

void swan_progress_init(swan_progress *p, FILE *out, bool quiet) {
    p->out = out;
    p->quiet = quiet;
    p->tty = isatty(fileno(out));
    p->last_plain = 0;
    p->plain_every = 5.0;
    p->line_open = false;
    p->verbose = false;
}

static void eta_text(double s, char *out, size_t size) {
    if (s < 0) snprintf(out, size, "--");
    else if (s < 90) snprintf(out, size, "%.0fs", s);
    else if (s < 5400) {
        long t = (long)(s + 0.5);
        snprintf(out, size, "%ldm%02lds", t / 60, t % 60);
    }
    else snprintf(out, size, "%.1fh", s / 3600);
}

void swan_progress_format(const swan_sched_stats *st, char *out, size_t size) {
    double frac = st->cost_total > 0 ? st->cost_done / st->cost_total : 1.0;
    double eta = frac > 0.02 && st->elapsed > 1 ? st->elapsed * (1 - frac) / frac : -1;
    char eta_s[32];
    eta_text(eta, eta_s, sizeof eta_s);
    double pps = st->elapsed > 0 ? (double)st->params_done / st->elapsed : 0;
    snprintf(out, size,
             "[%zu/%zu tensors] %.2f/%.2f GB  %.1fM params/s  ETA %s  workers %zu/%zu busy",
             st->tensors_done, st->tensors_total, (double)st->bytes_done / 1e9,
             (double)st->bytes_total / 1e9, pps / 1e6, eta_s, st->workers_busy, st->workers);
}

void swan_progress_format_hosts(const swan_sched_stats *st, char *out, size_t size) {
    size_t len = (size_t)snprintf(out, size, "hosts:");
    for (size_t i = 0; i < st->nhosts && len < size; i++) {
        const swan_host_stats *h = &st->hosts[i];
        len += (size_t)snprintf(out + len, size - len, "%s %s %zuw %zut %.1fM/s", i ? "," : "",
                                h->name, h->workers, h->tasks_done, h->params_per_s / 1e6);
    }
    if (st->nhosts == 0 && len < size) snprintf(out + len, size - len, " none yet");
}

/* The status line, plus the hosts part in the verbose form. */
static void format_line(const swan_progress *p, const swan_sched_stats *st, char *out, size_t size) {
    swan_progress_format(st, out, size);
    if (!p->verbose) return;
    size_t len = strlen(out);
    if (len + 3 < size) {
        memcpy(out + len, "  ", 3);
        swan_progress_format_hosts(st, out + len + 2, size - len - 2);
    }
}

void swan_progress_update(swan_progress *p, const swan_sched_stats *st) {
    if (p->quiet) return;
    char line[1024];
    if (p->tty) {
        format_line(p, st, line, sizeof line);
        fprintf(p->out, "\r\033[K%s", line);
        p->line_open = true;
        fflush(p->out);
    } else if (st->elapsed - p->last_plain >= p->plain_every ||
               st->tensors_done == st->tensors_total) {
        if (st->tensors_done == st->tensors_total && p->last_plain < 0) return; /* once */
        format_line(p, st, line, sizeof line);
        fprintf(p->out, "swan: %s\n", line);
        fflush(p->out);
        p->last_plain = st->tensors_done == st->tensors_total ? -1 : st->elapsed;
    }
}

void swan_progress_log(swan_progress *p, const char *line) {
    if (p->line_open) {
        fputs("\r\033[K", p->out);
        p->line_open = false;
    }
    /* One line each, whatever a peer put into it (reasons come from the network). */
    fputs("swan: ", p->out);
    for (const char *c = line; *c; c++)
        fputc((unsigned char)*c < 0x20 ? '?' : *c, p->out);
    fputc('\n', p->out);
    fflush(p->out);
}

void swan_progress_finish(swan_progress *p) {
    if (p->line_open) fputc('\n', p->out);
    p->line_open = false;
    fflush(p->out);
}
