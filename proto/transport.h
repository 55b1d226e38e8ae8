/* transport.h: the one place that owns ZeroMQ sockets, for both sides.
 *
 * The coordinator opens a server (a ROUTER bound to the private ipc endpoint of its
 * local workers and, with --listen, to a TCP endpoint for other hosts); a worker opens
 * a client (a DEALER connected to one endpoint). Everything about how those sockets
 * behave lives here: the ZeroMQ context, message size cap, linger, reconnect
 * intervals, high-water marks, ZMTP heartbeats, CurveZMQ encryption and the ZAP
 * handler that admits only allowlisted worker keys.
 *
 * Security model: the ipc endpoint lives in a 0700 directory (only this user can
 * connect), so it stays plain; a TCP endpoint uses CURVE when keys are given. The
 * ZAP handler is a REP socket on inproc://zeromq.zap.01 inside this transport's own
 * context, served from swan_transport_poll on the caller's thread (no hidden thread,
 * no global): a connection whose key is not allowed fails its handshake, so that
 * peer never gets to send or receive a single message. Refusals are logged once per
 * peer address (and then counted), so a scanner cannot flood the log. */
#ifndef SWAN_TRANSPORT_H
#define SWAN_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "proto/curve_keys.h"

#include <zmq.h>

#define SWAN_TRANSPORT_MAX_MSG (64LL * 1024 * 1024) /* larger frames are refused by libzmq */
#define SWAN_TRANSPORT_MAX_ID 255                   /* routing id bytes kept by the server */

typedef void (*swan_transport_log_fn)(void *ctx, const char *line);

typedef struct swan_transport_server_opts {
    const char *ipc_endpoint;    /* private endpoint of the local workers (may be NULL) */
    const char *listen;          /* --listen endpoint for other hosts, or NULL           */
    const swan_curve_keypair *curve;   /* server keys for `listen`; NULL = no CURVE     */
    const swan_key_list *allowed;      /* worker keys admitted (required with curve)    */
    swan_transport_log_fn log;   /* one line per refused peer address                   */
    void *log_ctx;
} swan_transport_server_opts;

typedef struct swan_transport_client_opts {
    const char *endpoint;
    const swan_curve_keypair *curve;   /* this worker's keys; NULL = no CURVE          */
    const char *server_public_z85;     /* the coordinator's public key (with curve)    */
    const char *routing_id;            /* kept across reconnections; NULL = random      */
    bool watch_connections;            /* report (re)connections, see poll below       */
} swan_transport_client_opts;

typedef struct swan_transport_refusal { /* one peer address refused by ZAP */
    char address[64];
    uint64_t count;
} swan_transport_refusal;

typedef struct swan_transport {
    void *ctx;                   /* this transport's own ZeroMQ context             */
    void *sock;                  /* ROUTER (server) or DEALER (client)              */
    void *zap;                   /* server with CURVE: the ZAP handler's REP socket  */
    void *monitor;               /* client: PAIR receiving connection events        */
    const swan_key_list *allowed;
    swan_transport_log_fn log;
    void *log_ctx;
    swan_transport_refusal *refused; /* addresses already logged (bounded)          */
    size_t nrefused;
    uint64_t refused_unlogged;   /* refusals past the table's capacity               */
    int auth_failures;           /* client: handshakes the server refused           */
} swan_transport;

/* Checks an endpoint before anything is created: 0 if it is one this transport can
 * bind. is_loopback says whether only this host can reach it (ipc, 127.x, ::1,
 * localhost), i.e. whether it may go without keys. */
int swan_transport_check_listen(const char *endpoint, bool *is_loopback, swan_error *err);

/* Creates the server socket and binds it (ipc endpoint first, plain; then listen,
 * with CURVE and the ZAP handler when keys are given). Errors say which endpoint
 * failed and why (bad address, port in use...). */
int swan_transport_server_open(swan_transport *t, const swan_transport_server_opts *o,
                               swan_error *err);

/* Creates the client socket and connects (ZeroMQ reconnects by itself after). */
int swan_transport_client_open(swan_transport *t, const swan_transport_client_opts *o,
                               swan_error *err);

/* Waits up to timeout_ms for a message on the socket or on the extra poll items, and
 * serves the ZAP handler and connection events meanwhile. Returns 1 when the main
 * socket is readable, 0 when not, -1 with err set if polling failed. On a client
 * created with watch_connections, *connected (if not NULL) is set when a connection
 * was (re)established since the last call. extra items' revents are filled. */
int swan_transport_poll(swan_transport *t, void *extra_items, int nextra, long timeout_ms,
                        bool *connected, swan_error *err);

/* Server: receives one [routing id][payload] message without blocking. Returns 1 with
 * the id copied and *payload initialised (zmq_msg_t, the caller closes it), 0 when
 * nothing was waiting, and -2 when a message of another shape was discarded
 * (*nframes says how many frames it had). */
int swan_transport_server_recv(swan_transport *t, unsigned char *id, size_t *idlen,
                               void *payload, size_t *nframes);

/* Server: sends one message to a routing id. Client: sends one message. */
int swan_transport_server_send(swan_transport *t, const unsigned char *id, size_t idlen,
                               const void *buf, size_t len);
int swan_transport_client_send(swan_transport *t, const void *buf, size_t len, swan_error *err);

/* Server: sends [routing id][header][data] without copying data: ZeroMQ keeps the
 * pointer and calls free_fn(data, hint) once it no longer needs it (sent, or
 * dropped with the connection), exactly once, also when this call fails. Never
 * blocks: a peer whose queue is full fails the send (-1). */
int swan_transport_server_send_zc(swan_transport *t, const unsigned char *id, size_t idlen,
                                  const void *hdr, size_t hdrlen, void *data, size_t len,
                                  void (*free_fn)(void *data, void *hint), void *hint);

/* True when more input is waiting on the main socket (drain loops). */
bool swan_transport_readable(swan_transport *t);

/* Sets how long pending output may delay swan_transport_close. */
void swan_transport_set_linger(swan_transport *t, int ms);

/* Closes sockets (pending output dropped after linger) and the context. */
void swan_transport_close(swan_transport *t);

#endif
