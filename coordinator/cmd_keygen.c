/* cmd_keygen.c: `swan keygen -o NAME`: a CurveZMQ key pair for a coordinator or a
 * worker host (NAME.key, secret, mode 0600; NAME.pub, public). The key files and
 * their checks are proto/curve_keys.c; this is only the command line around them. */
#include <stdio.h>
#include <string.h>

#include "coordinator/cli.h"
#include "proto/curve_keys.h"

int swan_cmd_keygen(int argc, char **argv);

static const char keygen_help[] =
    "usage: swan keygen -o NAME\n"
    "\n"
    "Writes a CURVE key pair for `swan analyze --listen` and `swan worker`:\n"
    "  NAME.key  the secret key (mode 0600): stays on this host\n"
    "  NAME.pub  the public key: copy it to the other side\n"
    "\n"
    "  coordinator:  swan keygen -o coordinator\n"
    "                swan analyze MODEL --listen tcp://*:5555 --curve-secret coordinator.key \\\n"
    "                     --allow workers/        (a folder of the workers' .pub files)\n"
    "  worker host:  swan keygen -o studio2       (copy studio2.pub into workers/)\n"
    "                swan worker --connect tcp://HOST:5555 --curve-server coordinator.pub \\\n"
    "                     --curve-secret studio2.key\n"
    "\n"
    "Existing files are never overwritten.\n";

static int name_flag(void *ctx, int c, const char *arg) {
    if (c != 'o') return -1;
    *(const char **)ctx = arg;
    return 0;
}

int swan_cmd_keygen(int argc, char **argv) {
    static const struct option longopts[] = {
        {"out", required_argument, 0, 'o'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *name = NULL;
    const swan_cli_spec spec = {.cmd = "keygen", .shortopts = "o:h", .longopts = longopts,
                                .help = keygen_help, .args_hint = "the name goes after -o",
                                .flag = name_flag, .ctx = &name};
    int nargs, st = swan_cli_parse(&spec, argc, argv, NULL, &nargs);
    if (st != SWAN_CLI_GO) return st;
    if (!name || !*name) return swan_cli_refuse("keygen", "-o: expected a NAME for NAME.key and NAME.pub");
    size_t len = strlen(name);
    if (len > 4 && (strcmp(name + len - 4, ".key") == 0 || strcmp(name + len - 4, ".pub") == 0))
        return swan_cli_refuse("keygen", "-o: expected a NAME without .key/.pub, got '%s'", name);
    swan_curve_keypair kp;
    swan_error err;
    int rc = swan_keygen_write(name, &kp, &err);
    if (rc) {
        fprintf(stderr, "swan keygen: %s\n", err.msg);
        return rc == -2 ? SWAN_EXIT_REFUSED : SWAN_EXIT_FAILED;
    }
    fprintf(stderr, "swan keygen: wrote %s.key (secret, mode 0600) and %s.pub (public)\n", name, name);
    return 0;
}
