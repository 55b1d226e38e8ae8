/* test_proto_keys.c: CURVE key files (proto/curve_keys.c): keygen writes a 0600
 * secret and a public key that loading the secret derives again, never overwrites;
 * a readable secret, a malformed file, a secret given as a public key and an empty
 * allow folder are refused, and no message ever contains a key. Every reader goes
 * through the one key-file check: a FIFO, a folder or a missing file in place of a
 * secret, a public key or an allowed key is refused at once, naming it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "proto/curve_keys.h"

static char dir[64];

static void path_of(char *out, size_t size, const char *name) { snprintf(out, size, "%s/%s", dir, name); }

static void test_keys(void **state) {
    (void)state;
    if (!swan_curve_available()) skip();
    snprintf(dir, sizeof dir, "/tmp/swan-keys-XXXXXX");
    assert_non_null(mkdtemp(dir));
    char base[128], key[128], pub[128], bad[128], sub[128];
    path_of(base, sizeof base, "w1");
    path_of(key, sizeof key, "w1.key");
    path_of(pub, sizeof pub, "w1.pub");
    swan_curve_keypair kp, loaded;
    swan_error err;
    assert_int_equal(swan_keygen_write(base, &kp, &err), 0);
    struct stat st;
    assert_int_equal(stat(key, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(swan_keygen_write(base, NULL, &err), -2); /* never overwrites */
    assert_non_null(strstr(err.msg, "already exists"));
    assert_int_equal(swan_key_load_secret(key, &loaded, &err), 0);
    char p[SWAN_Z85_KEY_LEN + 1];
    assert_int_equal(swan_key_load_public(pub, p, &err), 0);
    assert_string_equal(p, loaded.public_z85);
    assert_string_equal(p, kp.public_z85);

    chmod(key, 0640);
    assert_int_not_equal(swan_key_load_secret(key, &kp, &err), 0);
    assert_non_null(strstr(err.msg, "chmod 600"));
    assert_null(strstr(err.msg, loaded.secret_z85));
    chmod(key, 0600);

    path_of(bad, sizeof bad, "bad.key");
    FILE *f = fopen(bad, "w");
    fprintf(f, "# comment\n%.39s\n", loaded.secret_z85); /* one character short */
    fclose(f);
    chmod(bad, 0600);
    assert_int_not_equal(swan_key_load_secret(bad, &kp, &err), 0);
    assert_non_null(strstr(err.msg, "line 2 is not a CURVE key"));
    assert_null(strstr(err.msg, "%.39s"));
    char prefix[40];
    memcpy(prefix, loaded.secret_z85, 39);
    prefix[39] = '\0';
    assert_null(strstr(err.msg, prefix));

    swan_key_list list = {0};
    assert_int_not_equal(swan_key_list_load(&list, key, &err), 0); /* a secret is not a public key */
    assert_non_null(strstr(err.msg, "secret key file"));
    path_of(sub, sizeof sub, "empty");
    mkdir(sub, 0700);
    assert_int_not_equal(swan_key_list_load(&list, sub, &err), 0);
    assert_non_null(strstr(err.msg, "no public keys"));
    assert_int_equal(swan_key_list_load(&list, dir, &err), 0); /* the folder: w1.pub */
    assert_int_equal(list.n, 1);
    assert_true(swan_key_list_contains(&list, p));
    assert_false(swan_key_list_contains(&list, loaded.secret_z85));
    swan_key_list_free(&list);

    /* not regular files: refused without blocking (a FIFO has no writer here) */
    char fifo[128];
    path_of(fifo, sizeof fifo, "fifo.pub");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    const char *not_regular[] = {fifo, sub};
    for (int i = 0; i < 2; i++) {
        const char *what = i == 0 ? "not a regular file (a FIFO)" : "not a regular file (a directory)";
        assert_int_not_equal(swan_key_load_secret(not_regular[i], &kp, &err), 0);
        assert_non_null(strstr(err.msg, what));
        assert_int_not_equal(swan_key_load_public(not_regular[i], p, &err), 0);
        assert_non_null(strstr(err.msg, what));
    }
    swan_key_list fl = {0};
    assert_int_not_equal(swan_key_list_load(&fl, fifo, &err), 0);
    assert_non_null(strstr(err.msg, "not a regular file (a FIFO)"));
    swan_key_list_free(&fl);
    unlink(fifo);
    assert_int_not_equal(swan_key_load_public(fifo, p, &err), 0);
    assert_non_null(strstr(err.msg, "cannot open"));

    unlink(key);
    unlink(pub);
    unlink(bad);
    rmdir(sub);
    rmdir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_keys)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
