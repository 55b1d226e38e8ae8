/* workforce.c: endpoints, keys and local workers of one coordinator run (see
 * workforce.h). Moved out of analyze.c so that swan quantize gets its workers the
 * same way. */
#include "coordinator/schedule/workforce.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Creates the private endpoint of the local workers: a socket in a 0700 directory,
 * so no other user of the machine can pose as a worker. Local workers always use it,
 * whatever --listen says (they need no keys and no network). */
static int make_ipc_endpoint(swan_workforce *wf, swan_error *err) {
    /* ipc:// paths must stay under ~100 bytes (macOS sun_path is 104). */
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp || strlen(tmp) > 60) tmp = "/tmp";
    snprintf(wf->ipc_dir, sizeof wf->ipc_dir, "%s/swan-XXXXXX", tmp);
    if (!mkdtemp(wf->ipc_dir)) {
        wf->ipc_dir[0] = '\0';
        return swan_error_set(err, "cannot create a private directory in %s: %s", tmp,
                              strerror(errno));
    }
    snprintf(wf->ipc_ep, sizeof wf->ipc_ep, "ipc://%s/w", wf->ipc_dir);
    return 0;
}

/* Checks --listen and the keys, then binds. Plain TCP that other hosts can reach is
 * refused unless --insecure: any host could then pose as a worker and put made-up
 * numbers (or bytes) in the outputs. */
int swan_workforce_open(swan_workforce *wf, const swan_workforce_opts *o, swan_error *err) {
    bool loopback = true;
    if (o->listen && swan_transport_check_listen(o->listen, &loopback, err)) return -1;
    if ((o->curve_secret != NULL) != (o->allow != NULL))
        return swan_error_set(err, "--curve-secret and --allow go together (the coordinator's key, "
                                   "and the worker keys it admits)");
    if (o->curve_secret && !o->listen)
        return swan_error_set(err, "--curve-secret and --allow secure a --listen endpoint; give one");
    if (o->listen && !loopback && !o->curve_secret && !o->insecure)
        return swan_error_set(err, "--listen %s: other hosts could connect without keys and send made-up "
                                   "results; give --curve-secret KEY --allow DIR (see swan keygen), or "
                                   "--insecure on a network you trust",
                              o->listen);
    if (o->curve_secret && (swan_key_load_secret(o->curve_secret, &wf->curve, err) ||
                            swan_key_list_load(&wf->allowed, o->allow, err)))
        return -1;
    if (make_ipc_endpoint(wf, err)) return -1;
    swan_transport_server_opts so = {.ipc_endpoint = wf->ipc_ep,
                                     .listen = o->listen,
                                     .curve = o->curve_secret ? &wf->curve : NULL,
                                     .allowed = &wf->allowed,
                                     .log = o->log,
                                     .log_ctx = o->log_ctx};
    return swan_transport_server_open(&wf->transport, &so, err);
}

int swan_workforce_start(swan_workforce *wf, const swan_workforce_opts *o, swan_error *err) {
    char exe[PATH_MAX];
    if (o->jobs <= 0) return 0;
    if (swan_self_exe(o->argv0, exe, sizeof exe, err)) return -1;
    return swan_local_pool_start(&wf->pool, exe, wf->ipc_ep, (size_t)o->jobs, o->threads, err);
}

swan_local_pool *swan_workforce_pool(swan_workforce *wf) {
    return wf->pool.n ? &wf->pool : NULL;
}

void swan_workforce_free(swan_workforce *wf) {
    swan_local_pool_free(&wf->pool);
    swan_transport_close(&wf->transport);
    swan_key_list_free(&wf->allowed);
    memset(&wf->curve, 0, sizeof wf->curve);
    if (wf->ipc_dir[0]) {
        char sock[PATH_MAX + 8];
        snprintf(sock, sizeof sock, "%s/w", wf->ipc_dir);
        unlink(sock);
        rmdir(wf->ipc_dir);
        wf->ipc_dir[0] = '\0';
    }
}
