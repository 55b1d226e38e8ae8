/* transport.c: ZeroMQ sockets, options, CURVE and the ZAP handler (see transport.h). */
#include "proto/transport.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"

#define ZAP_DOMAIN "swan"
#define REFUSAL_TABLE_MAX 256 /* distinct peer addresses logged; past that, only counted */

/* ---- endpoint checks --------------------------------------------------------------- */

static bool host_is_loopback(const char *host, size_t len) {
    if (len == 9 && strncmp(host, "localhost", 9) == 0) return true;
    if (len == 5 && strncmp(host, "[::1]", 5) == 0) return true;
    if (len >= 4 && strncmp(host, "127.", 4) == 0) {
        for (size_t i = 4; i < len; i++)
            if (!isdigit((unsigned char)host[i]) && host[i] != '.') return false;
        return true;
    }
    return false;
}

int swan_transport_check_listen(const char *ep, bool *is_loopback, swan_error *err) {
    *is_loopback = false;
    if (strncmp(ep, "ipc://", 6) == 0) {
        if (!ep[6]) return swan_error_set(err, "--listen: an ipc:// endpoint needs a path, got '%s'", ep);
        if (strlen(ep + 6) > 100)
            return swan_error_set(err, "--listen: ipc path longer than 100 bytes: '%.120s'", ep);
        *is_loopback = true; /* reachable only from this host */
        return 0;
    }
    if (strncmp(ep, "tcp://", 6) != 0)
        return swan_error_set(err, "--listen: expected tcp://HOST:PORT (e.g. tcp://*:5555), got '%.200s'",
                              ep);
    const char *host = ep + 6;
    const char *colon = strrchr(host, ':');
    if (!colon || colon == host)
        return swan_error_set(err, "--listen: expected tcp://HOST:PORT (e.g. tcp://*:5555), got '%.200s'",
                              ep);
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || *end || port < 1 || port > 65535)
        return swan_error_set(err, "--listen: port must be a number 1..65535, got '%.200s'", ep);
    *is_loopback = host_is_loopback(host, (size_t)(colon - host));
    return 0;
}

/* ---- common socket setup -------------------------------------------------------------- */

static void set_int(void *s, int opt, int v) { zmq_setsockopt(s, opt, &v, sizeof v); }

/* Options both sides share. Why each: MAXMSGSIZE makes libzmq drop a peer announcing
 * a frame larger than any real message before reading it; ZMTP heartbeats close a
 * connection to a host that vanished (power, cable) instead of one that looks open
 * forever; the HWMs bound what queues up for a slow peer. */
static void common_options(void *s) {
    int64_t maxmsg = SWAN_TRANSPORT_MAX_MSG;
    zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    set_int(s, ZMQ_SNDHWM, 1000);
    set_int(s, ZMQ_RCVHWM, 1000);
#ifdef ZMQ_HEARTBEAT_IVL
    set_int(s, ZMQ_HEARTBEAT_IVL, 2000);
    set_int(s, ZMQ_HEARTBEAT_TIMEOUT, 10000);
#endif
}

static int new_context(swan_transport *t, swan_error *err) {
    t->ctx = zmq_ctx_new();
    if (!t->ctx) return swan_error_set(err, "cannot create a ZeroMQ context: %s", zmq_strerror(errno));
    return 0;
}

/* ---- server ------------------------------------------------------------------------- */

int swan_transport_server_open(swan_transport *t, const swan_transport_server_opts *o,
                               swan_error *err) {
    memset(t, 0, sizeof *t);
    t->allowed = o->allowed;
    t->log = o->log;
    t->log_ctx = o->log_ctx;
    if (new_context(t, err)) return -1;
    t->sock = zmq_socket(t->ctx, ZMQ_ROUTER);
    if (!t->sock) return swan_error_set(err, "cannot create a ZeroMQ socket: %s", zmq_strerror(errno));
    common_options(t->sock);
    set_int(t->sock, ZMQ_ROUTER_MANDATORY, 1); /* a send to a gone peer fails, not vanishes */
    /* Workers keep one routing id across reconnections (worker_loop.c): a worker
     * coming back after a network outage takes its id over from the old connection
     * at once, instead of being refused until that one times out. */
    set_int(t->sock, ZMQ_ROUTER_HANDOVER, 1);
    set_int(t->sock, ZMQ_LINGER, 0);
    /* Listeners copy the socket's options when bound: the ipc endpoint is bound
     * before any CURVE option is set, so it stays plain (its 0700 directory is its
     * protection) while the TCP listener gets CURVE. */
    if (o->ipc_endpoint && zmq_bind(t->sock, o->ipc_endpoint) != 0)
        return swan_error_set(err, "cannot listen on %s: %s", o->ipc_endpoint, zmq_strerror(errno));
    if (!o->listen) return 0;
    if (o->curve) {
        if (!swan_curve_available())
            return swan_error_set(err, "this libzmq was built without CURVE support (libsodium)");
        if (!o->allowed || o->allowed->n == 0)
            return swan_error_set(err, "CURVE needs a list of allowed worker keys (--allow)");
        /* The ZAP handler must be there before the first peer arrives. */
        t->zap = zmq_socket(t->ctx, ZMQ_REP);
        if (!t->zap || zmq_bind(t->zap, "inproc://zeromq.zap.01") != 0)
            return swan_error_set(err, "cannot start the ZAP handler: %s", zmq_strerror(errno));
        set_int(t->zap, ZMQ_LINGER, 0);
        set_int(t->sock, ZMQ_CURVE_SERVER, 1);
        if (zmq_setsockopt(t->sock, ZMQ_CURVE_SECRETKEY, o->curve->secret_z85, SWAN_Z85_KEY_LEN) != 0)
            return swan_error_set(err, "cannot use the server's secret key: %s", zmq_strerror(errno));
        zmq_setsockopt(t->sock, ZMQ_ZAP_DOMAIN, ZAP_DOMAIN, strlen(ZAP_DOMAIN));
    }
    if (zmq_bind(t->sock, o->listen) != 0) {
        int e = errno;
        if (e == EADDRINUSE)
            return swan_error_set(err, "--listen %s: address already in use (another swan analyze, or "
                                       "another program, holds that port)",
                                  o->listen);
        return swan_error_set(err, "--listen %s: cannot listen there: %s", o->listen, zmq_strerror(e));
    }
    return 0;
}

/* Logs a refused peer once per address; past the table's size, only counts. */
static void note_refusal(swan_transport *t, const char *address, const char *why) {
    for (size_t i = 0; i < t->nrefused; i++)
        if (strcmp(t->refused[i].address, address) == 0) {
            t->refused[i].count++;
            return;
        }
    if (t->nrefused == REFUSAL_TABLE_MAX) {
        if (t->refused_unlogged++ == 0 && t->log)
            t->log(t->log_ctx, "refusing peers from more addresses than are logged; further refusals "
                               "are counted only");
        return;
    }
    if (!t->refused) {
        t->refused = calloc(REFUSAL_TABLE_MAX, sizeof *t->refused);
        if (!t->refused) return;
    }
    swan_transport_refusal *r = &t->refused[t->nrefused++];
    snprintf(r->address, sizeof r->address, "%s", address);
    for (char *c = r->address; *c; c++) /* a peer's words go into our one-line logs */
        if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f) *c = '?';
    r->count = 1;
    if (t->log) {
        char line[192];
        snprintf(line, sizeof line, "refused a connection from %s: %s (logged once per address)",
                 r->address, why);
        t->log(t->log_ctx, line);
    }
}

/* Reads the rest of a multipart message into frames (at most max); returns count. */
static int recv_frames(void *s, zmq_msg_t *frames, int max) {
    int n = 0, more = 1;
    while (more) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, s, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&part);
            break;
        }
        more = zmq_msg_more(&part);
        if (n < max) {
            zmq_msg_init(&frames[n]);
            zmq_msg_move(&frames[n], &part);
            n++;
        }
        zmq_msg_close(&part);
    }
    return n;
}

/* One ZAP request (RFC 27): version, request id, domain, address, identity,
 * mechanism, credentials... Answers 200 for an allowed CURVE key, 400 otherwise. */
static void serve_zap(swan_transport *t) {
    zmq_msg_t f[8];
    int n = recv_frames(t->zap, f, 8);
    if (n == 0) return;
    const char *status = "400", *text = "not allowed";
    char address[64] = "?", mech[16] = "";
    char z85[SWAN_Z85_KEY_LEN + 1] = "";
    if (n >= 6) {
        size_t al = zmq_msg_size(&f[3]) < sizeof address - 1 ? zmq_msg_size(&f[3]) : sizeof address - 1;
        memcpy(address, zmq_msg_data(&f[3]), al);
        address[al] = '\0';
        size_t ml = zmq_msg_size(&f[5]) < sizeof mech - 1 ? zmq_msg_size(&f[5]) : sizeof mech - 1;
        memcpy(mech, zmq_msg_data(&f[5]), ml);
        mech[ml] = '\0';
    }
    if (n >= 7 && strcmp(mech, "CURVE") == 0 && zmq_msg_size(&f[6]) == 32) {
        zmq_z85_encode(z85, zmq_msg_data(&f[6]), 32);
        if (t->allowed && swan_key_list_contains(t->allowed, z85)) status = "200", text = "OK";
    } else if (strcmp(mech, "NULL") == 0) {
        /* Only the plain ipc endpoint (0700 directory) can produce these. */
        status = "200", text = "OK";
    }
    if (strcmp(status, "200") != 0)
        note_refusal(t, address, z85[0] ? "its CURVE key is not in --allow" : "no CURVE key");
    if (n >= 2) {
        /* Reply: version, request id, status code, status text, user id, metadata. */
        zmq_send(t->zap, "1.0", 3, ZMQ_SNDMORE);
        zmq_send(t->zap, zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), ZMQ_SNDMORE);
        zmq_send(t->zap, status, 3, ZMQ_SNDMORE);
        zmq_send(t->zap, text, strlen(text), ZMQ_SNDMORE);
        zmq_send(t->zap, z85, strlen(z85), ZMQ_SNDMORE);
        zmq_send(t->zap, "", 0, 0);
    }
    for (int i = 0; i < n; i++) zmq_msg_close(&f[i]);
}

int swan_transport_server_recv(swan_transport *t, unsigned char *id, size_t *idlen, void *payload,
                               size_t *nframes) {
    zmq_msg_t part;
    size_t n = 0;
    int more = 1;
    *idlen = 0;
    while (more) {
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, t->sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&part);
            break;
        }
        more = zmq_msg_more(&part);
        if (n == 0) {
            *idlen = zmq_msg_size(&part) < SWAN_TRANSPORT_MAX_ID ? zmq_msg_size(&part)
                                                                  : SWAN_TRANSPORT_MAX_ID;
            memcpy(id, zmq_msg_data(&part), *idlen);
        } else if (n == 1) {
            zmq_msg_move((zmq_msg_t *)payload, &part);
        }
        n++;
        zmq_msg_close(&part);
    }
    *nframes = n;
    if (n == 0) return 0;
    return n == 2 ? 1 : -2;
}

int swan_transport_server_send(swan_transport *t, const unsigned char *id, size_t idlen,
                               const void *buf, size_t len) {
    int rc = zmq_send(t->sock, id, idlen, ZMQ_SNDMORE);
    if (rc >= 0) rc = zmq_send(t->sock, buf, len, 0);
    return rc < 0 ? -1 : 0;
}

/* ---- client ------------------------------------------------------------------------- */

/* This process's ZeroMQ routing id, the same on every (re)connection, so that the
 * coordinator knows a worker coming back after a network blip or a stop for the one
 * it had, and hands its work back at once instead of waiting out a timeout. Local
 * workers get theirs from `swan analyze` (a secret of the run: it is how the
 * coordinator recognizes its own children); others make a random one. */
static int set_routing_id(void *sock, const char *given, swan_error *err) {
    char id[80];
    if (given && *given) {
        size_t n = strlen(given);
        if (n > 64 || given[0] == '\0')
            return swan_error_set(err, "worker identity too long (%zu bytes, at most 64)", n);
        snprintf(id, sizeof id, "%s", given);
    } else {
        unsigned char r[16];
        int fd = open("/dev/urandom", O_RDONLY);
        ssize_t got = fd >= 0 ? read(fd, r, sizeof r) : -1;
        if (fd >= 0) close(fd);
        if (got != (ssize_t)sizeof r) { /* no urandom: still unique enough per host */
            uint64_t x = (uint64_t)getpid() * 0x9E3779B97F4A7C15ull ^ (uint64_t)(swan_now_s() * 1e9);
            for (size_t i = 0; i < sizeof r; i++, x = x * 6364136223846793005ull + 1442695040888963407ull)
                r[i] = (unsigned char)(x >> 56);
        }
        id[0] = 'R';
        for (size_t i = 0; i < sizeof r; i++) snprintf(id + 1 + 2 * i, 3, "%02x", r[i]);
    }
    if (zmq_setsockopt(sock, ZMQ_ROUTING_ID, id, strlen(id)) != 0)
        return swan_error_set(err, "cannot set the worker identity: %s", zmq_strerror(errno));
    return 0;
}


int swan_transport_client_open(swan_transport *t, const swan_transport_client_opts *o,
                               swan_error *err) {
    memset(t, 0, sizeof *t);
    if (new_context(t, err)) return -1;
    t->sock = zmq_socket(t->ctx, ZMQ_DEALER);
    if (!t->sock) return swan_error_set(err, "cannot create a ZeroMQ socket: %s", zmq_strerror(errno));
    common_options(t->sock);
    set_int(t->sock, ZMQ_LINGER, 2000);
    /* Local workers start before the coordinator binds: retry the connection after
     * 10 ms (libzmq's default is 100 ms, a visible idle start on short jobs), backing
     * off to 1 s for a coordinator that is really away. */
    set_int(t->sock, ZMQ_RECONNECT_IVL, 10);
    set_int(t->sock, ZMQ_RECONNECT_IVL_MAX, 1000);
    if (o->curve) {
        if (!swan_curve_available())
            return swan_error_set(err, "this libzmq was built without CURVE support (libsodium)");
        if (zmq_setsockopt(t->sock, ZMQ_CURVE_SERVERKEY, o->server_public_z85, SWAN_Z85_KEY_LEN) ||
            zmq_setsockopt(t->sock, ZMQ_CURVE_PUBLICKEY, o->curve->public_z85, SWAN_Z85_KEY_LEN) ||
            zmq_setsockopt(t->sock, ZMQ_CURVE_SECRETKEY, o->curve->secret_z85, SWAN_Z85_KEY_LEN))
            return swan_error_set(err, "cannot set the CURVE keys: %s", zmq_strerror(errno));
    }
    if (o->watch_connections) {
        /* Every (re)connection is a new conversation: the caller says HELLO on each. */
        char mon_ep[64];
        snprintf(mon_ep, sizeof mon_ep, "inproc://swan-monitor-%p", (void *)t);
        int events = ZMQ_EVENT_CONNECTED;
#ifdef ZMQ_EVENT_HANDSHAKE_FAILED_AUTH
        events |= ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
#endif
        if (zmq_socket_monitor(t->sock, mon_ep, events) == 0) {
            t->monitor = zmq_socket(t->ctx, ZMQ_PAIR);
            if (t->monitor && zmq_connect(t->monitor, mon_ep) != 0) {
                zmq_close(t->monitor);
                t->monitor = NULL;
            }
        }
    }
    if (set_routing_id(t->sock, o->routing_id, err)) return -1;
    if (zmq_connect(t->sock, o->endpoint) != 0)
        return swan_error_set(err, "cannot connect to %s: %s", o->endpoint, zmq_strerror(errno));
    return 0;
}

void swan_transport_set_linger(swan_transport *t, int ms) {
    if (t->sock) set_int(t->sock, ZMQ_LINGER, ms);
}

/* One monitor event; returns the event number (0 if none). */
static uint16_t read_monitor_event(swan_transport *t) {
    zmq_msg_t ev, addr;
    zmq_msg_init(&ev);
    zmq_msg_init(&addr);
    int got = zmq_msg_recv(&ev, t->monitor, ZMQ_DONTWAIT) >= 0;
    uint16_t event = 0;
    if (got && zmq_msg_size(&ev) >= 2) memcpy(&event, zmq_msg_data(&ev), 2);
    if (got && zmq_msg_more(&ev)) zmq_msg_recv(&addr, t->monitor, 0);
    zmq_msg_close(&ev);
    zmq_msg_close(&addr);
    return event;
}

int swan_transport_server_send_zc(swan_transport *t, const unsigned char *id, size_t idlen,
                                  const void *hdr, size_t hdrlen, void *data, size_t len,
                                  void (*free_fn)(void *data, void *hint), void *hint) {
    zmq_msg_t body;
    if (zmq_msg_init_data(&body, data, len, free_fn, hint) != 0) {
        free_fn(data, hint);
        return -1;
    }
    int rc = zmq_send(t->sock, id, idlen, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    if (rc >= 0) rc = zmq_send(t->sock, hdr, hdrlen, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    if (rc >= 0) rc = zmq_msg_send(&body, t->sock, ZMQ_DONTWAIT);
    if (rc < 0) zmq_msg_close(&body); /* not sent: ours to release (calls free_fn) */
    return rc < 0 ? -1 : 0;
}

int swan_transport_client_send(swan_transport *t, const void *buf, size_t len, swan_error *err) {
    if (zmq_send(t->sock, buf, len, 0) < 0)
        return swan_error_set(err, "send failed: %s", zmq_strerror(errno));
    return 0;
}

/* ---- both ---------------------------------------------------------------------------- */

int swan_transport_poll(swan_transport *t, void *extra_items, int nextra, long timeout_ms,
                        bool *connected, swan_error *err) {
    enum { MAX_ITEMS = 8 };
    zmq_pollitem_t items[MAX_ITEMS];
    zmq_pollitem_t *extra = extra_items;
    if (nextra > MAX_ITEMS - 2) nextra = MAX_ITEMS - 2;
    int n = 0;
    items[n++] = (zmq_pollitem_t){.socket = t->sock, .events = ZMQ_POLLIN};
    int aux = t->zap ? n : -1;
    if (t->zap) items[n++] = (zmq_pollitem_t){.socket = t->zap, .events = ZMQ_POLLIN};
    int mon = t->monitor ? n : -1;
    if (t->monitor) items[n++] = (zmq_pollitem_t){.socket = t->monitor, .events = ZMQ_POLLIN};
    int first_extra = n;
    for (int i = 0; i < nextra; i++) items[n++] = extra[i];
    if (connected) *connected = false;
    int rc = zmq_poll(items, n, timeout_ms);
    if (rc < 0 && errno != EINTR)
        return swan_error_set(err, "polling the socket failed: %s", zmq_strerror(errno));
    for (int i = 0; i < nextra; i++) extra[i].revents = rc > 0 ? items[first_extra + i].revents : 0;
    if (rc <= 0) return 0;
    if (aux >= 0 && (items[aux].revents & ZMQ_POLLIN))
        for (int k = 0; k < 64 && (k == 0 || (zmq_poll(&items[aux], 1, 0) > 0)); k++) serve_zap(t);
    if (mon >= 0 && (items[mon].revents & ZMQ_POLLIN)) {
        uint16_t ev;
        while ((ev = read_monitor_event(t)) != 0) {
            if (ev == ZMQ_EVENT_CONNECTED && connected) *connected = true;
#ifdef ZMQ_EVENT_HANDSHAKE_FAILED_AUTH
            if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) t->auth_failures++;
#endif
        }
    }
    return (items[0].revents & ZMQ_POLLIN) ? 1 : 0;
}

bool swan_transport_readable(swan_transport *t) {
    int ev = 0;
    size_t z = sizeof ev;
    zmq_getsockopt(t->sock, ZMQ_EVENTS, &ev, &z);
    return (ev & ZMQ_POLLIN) != 0;
}

void swan_transport_close(swan_transport *t) {
    if (t->monitor) zmq_close(t->monitor);
    if (t->zap) zmq_close(t->zap);
    if (t->sock) zmq_close(t->sock);
    if (t->ctx) zmq_ctx_term(t->ctx);
    free(t->refused);
    t->monitor = t->zap = t->sock = t->ctx = NULL;
    t->refused = NULL;
}
