/* curve_keys.h: CurveZMQ key files (`swan keygen`, --curve-secret, --curve-server, --allow).
 *
 * A key pair is two text files: NAME.pub holds the public key and NAME.key the
 * secret key, each as one line of 40 Z85 characters (ZeroMQ's printable encoding of
 * 32 bytes) after optional '#' comment lines. The secret file must not be readable by
 * group or others (it is written 0600 and refused otherwise, like ssh does), and its
 * content never appears in any message or log: errors name the file, not the key.
 * The public key is derived from the secret one when loading, so a .key file alone
 * is a complete identity. */
#ifndef SWAN_CURVE_KEYS_H
#define SWAN_CURVE_KEYS_H

#include <stddef.h>

#include "common/error.h"

#define SWAN_Z85_KEY_LEN 40

typedef struct swan_curve_keypair {
    char public_z85[SWAN_Z85_KEY_LEN + 1];
    char secret_z85[SWAN_Z85_KEY_LEN + 1];
} swan_curve_keypair;

/* A set of allowed public keys (the coordinator's --allow). */
typedef struct swan_key_list {
    char (*keys)[SWAN_Z85_KEY_LEN + 1];
    size_t n, cap;
} swan_key_list;

/* True when libzmq was built with CURVE (libsodium). */
int swan_curve_available(void);

/* Writes BASE.key (0600) and BASE.pub with a fresh key pair. Returns 0; -2 when
 * either file exists (never replaced); -1 on other failures. On failure nothing is
 * left behind. out (may be NULL) receives the public key only. */
int swan_keygen_write(const char *base, swan_curve_keypair *out, swan_error *err);

/* Loads a secret key file: checks permissions and format, derives the public key. */
int swan_key_load_secret(const char *path, swan_curve_keypair *out, swan_error *err);

/* Loads a public key file (one key) into out (41 bytes). */
int swan_key_load_public(const char *path, char out[SWAN_Z85_KEY_LEN + 1], swan_error *err);

/* Adds every key of path: a directory (each *.pub file in it) or one file holding
 * one or more public keys, one per line. Refuses a path that yields no key. */
int swan_key_list_load(swan_key_list *list, const char *path, swan_error *err);
int swan_key_list_contains(const swan_key_list *list, const char *z85);
void swan_key_list_free(swan_key_list *list);

#endif
