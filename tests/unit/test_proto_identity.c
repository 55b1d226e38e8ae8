/* test_proto_identity.c: the model check (proto/model_identity.c) and its messages
 * (CHALLENGE, IDENTITY, REFUSED in proto/messages.c): identities of equal files are
 * equal, a changed data byte region, header or size is told apart and named, a
 * missing file is "absent", the nonce moves the samples; the messages round-trip and
 * every truncation of them is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "proto/messages.h"
#include "proto/model_identity.h"

static char dir[64];

/* A fake safetensors shard: 8-byte length, header, then data of `n` bytes. */
static void write_shard(const char *name, const char *header, size_t n, unsigned char fill_xor) {
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    uint64_t hl = strlen(header);
    unsigned char len[8];
    for (int i = 0; i < 8; i++) len[i] = (unsigned char)(hl >> (8 * i));
    fwrite(len, 1, 8, f);
    fwrite(header, 1, hl, f);
    for (size_t i = 0; i < n; i++) fputc((int)((i * 131 + 7) & 0xff) ^ fill_xor, f);
    fclose(f);
}

static void identity_of(const char *name, uint64_t nonce, swan_shard_identity *out) {
    char path[128];
    swan_error err;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(swan_shard_identity_compute(path, name, nonce, out, &err), 0);
}

static void test_identity(void **state) {
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/swan-idt-XXXXXX");
    assert_non_null(mkdtemp(dir));
    write_shard("a", "{\"w\":1}", 100000, 0);
    write_shard("same", "{\"w\":1}", 100000, 0);
    write_shard("finetune", "{\"w\":1}", 100000, 0x55); /* same header, other data */
    write_shard("hdr", "{\"w\":2}", 100000, 0);
    write_shard("short", "{\"w\":1}", 99999, 0);
    swan_shard_identity a, same, ft, hdr, shrt, missing, other_nonce;
    identity_of("a", 42, &a);
    identity_of("same", 42, &same);
    identity_of("finetune", 42, &ft);
    identity_of("hdr", 42, &hdr);
    identity_of("short", 42, &shrt);
    identity_of("nope", 42, &missing);
    identity_of("a", 43, &other_nonce);
    char why[160];
    assert_true(a.present);
    assert_int_equal(a.size, 8 + 7 + 100000);
    /* The name seeds the samples: "same" is checked under the name "a". */
    swan_shard_identity same_as_a;
    char path[128];
    swan_error err;
    snprintf(path, sizeof path, "%s/same", dir);
    assert_int_equal(swan_shard_identity_compute(path, "a", 42, &same_as_a, &err), 0);
    assert_int_equal(swan_shard_identity_diff(&a, &same_as_a, why, sizeof why), 0);
    snprintf(path, sizeof path, "%s/finetune", dir);
    swan_shard_identity ft_as_a;
    assert_int_equal(swan_shard_identity_compute(path, "a", 42, &ft_as_a, &err), 0);
    assert_int_equal(swan_shard_identity_diff(&a, &ft_as_a, why, sizeof why), 1);
    assert_non_null(strstr(why, "tensor data differs"));
    assert_int_equal(a.header_hash, ft_as_a.header_hash);
    assert_int_equal(swan_shard_identity_diff(&a, &hdr, why, sizeof why), 1);
    assert_non_null(strstr(why, "header differs"));
    assert_int_equal(swan_shard_identity_diff(&a, &shrt, why, sizeof why), 1);
    assert_non_null(strstr(why, "size"));
    assert_false(missing.present);
    assert_int_equal(swan_shard_identity_diff(&a, &missing, why, sizeof why), 1);
    assert_string_equal(why, "missing");
    assert_int_equal(a.header_hash, other_nonce.header_hash);
    assert_true(a.sample_hash != other_nonce.sample_hash);
    const char *files[] = {"a", "same", "finetune", "hdr", "short"};
    for (size_t i = 0; i < 5; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
}

static void roundtrip(const swan_msg *in, swan_msg *out) {
    char *buf;
    size_t len;
    swan_error err;
    assert_int_equal(swan_msg_encode(in, &buf, &len, &err), 0);
    assert_int_equal(swan_msg_decode(buf, len, out, &err), 0);
    for (size_t cut = 0; cut < len; cut++) { /* every prefix is refused, nothing leaks */
        swan_msg m;
        assert_int_not_equal(swan_msg_decode(buf, cut, &m, &err), 0);
    }
    free(buf);
}

static void test_messages(void **state) {
    (void)state;
    const char *names[] = {"model-00001-of-00002.safetensors", "sub/model-00002-of-00002.safetensors"};
    swan_msg in = {.type = SWAN_MSG_CHALLENGE}, out;
    in.u.challenge.nonce = 0xfedcba9876543210ULL;
    in.u.challenge.root = "/models/Qwen3";
    in.u.challenge.nshards = 2;
    in.u.challenge.shards = names;
    roundtrip(&in, &out);
    assert_int_equal(out.type, SWAN_MSG_CHALLENGE);
    assert_true(out.u.challenge.nonce == 0xfedcba9876543210ULL);
    assert_string_equal(out.u.challenge.root, "/models/Qwen3");
    assert_int_equal(out.u.challenge.nshards, 2);
    assert_string_equal(out.u.challenge.shards[1], names[1]);
    swan_msg_free(&out);

    swan_shard_identity ids[2] = {{.name = names[0], .present = true, .size = 123, .header_hash = 1,
                                   .sample_hash = UINT64_MAX},
                                  {.name = names[1], .present = false}};
    in = (swan_msg){.type = SWAN_MSG_IDENTITY};
    in.u.identity.nshards = 2;
    in.u.identity.shards = ids;
    roundtrip(&in, &out);
    assert_int_equal(out.type, SWAN_MSG_IDENTITY);
    assert_int_equal(out.u.identity.nshards, 2);
    assert_true(out.u.identity.shards[0].present);
    assert_true(out.u.identity.shards[0].size == 123);
    assert_true(out.u.identity.shards[0].sample_hash == UINT64_MAX);
    assert_false(out.u.identity.shards[1].present);
    assert_string_equal(out.u.identity.shards[1].name, names[1]);
    swan_msg_free(&out);

    in = (swan_msg){.type = SWAN_MSG_REFUSED};
    in.u.refused.reason = "its copy of x differs: missing";
    roundtrip(&in, &out);
    assert_int_equal(out.type, SWAN_MSG_REFUSED);
    assert_string_equal(out.u.refused.reason, "its copy of x differs: missing");
    swan_msg_free(&out);
    assert_string_equal(swan_msg_type_name(SWAN_MSG_CHALLENGE), "challenge");
    assert_string_equal(swan_msg_type_name(SWAN_MSG_IDENTITY), "identity");
    assert_string_equal(swan_msg_type_name(SWAN_MSG_REFUSED), "refused");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identity),
        cmocka_unit_test(test_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
