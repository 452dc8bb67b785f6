/* test_vectors.c: the C codec against the hand-made golden vectors (firmware_protocol/vectors/).
 *
 * The same checks as tests/firmware_protocol/test_vectors.py makes of the Python codec: every vector
 * is decoded fed whole, byte by byte and in chunks of 5 bytes, then flushed (the line went quiet);
 * valid frames must give the listed type, seq and fields and encode back to the very same bytes;
 * invalid input must give an invalid frame with the listed reason first, and still find the frames
 * listed after it. Prints one line per failed check and a summary; exits 1 on any failure.
 */
#include <stdio.h>
#include <string.h>

#include "../scs_codec.h"
#include "vectors.h"

#define MAX_ITEMS 16
#define MAX_INPUT 1024

typedef struct run {
    scs_decoder d;
    scs_item items[MAX_ITEMS];
    size_t n;
    int overflow;
} run;

static unsigned checks;
static unsigned failures;

static void fail(const char *name, const char *mode, const char *what)
{
    failures++;
    printf("FAIL %s (%s): %s\n", name, mode, what);
}

static size_t unhex(const char *hex, uint8_t *out)
{
    size_t n = 0;
    for (; hex[0] != '\0' && hex[1] != '\0' && n < MAX_INPUT; hex += 2) {
        unsigned v = 0;
        int k;
        for (k = 0; k < 2; k++) {
            char c = hex[k];
            v = v * 16u + (unsigned)(c >= 'a' ? c - 'a' + 10 : c >= 'A' ? c - 'A' + 10 : c - '0');
        }
        out[n++] = (uint8_t)v;
    }
    return n;
}

static void keep(run *r, const scs_item *item)
{
    if (r->n < MAX_ITEMS) {
        r->items[r->n++] = *item;
    } else {
        r->overflow = 1;
    }
}

/* mode 0: whole (scs_decoder_feed); 1: byte by byte (put, then next until none); 2: chunks of 5. */
static void decode(const uint8_t *data, size_t len, int mode, run *r)
{
    scs_item item;
    size_t at = 0;
    memset(r, 0, sizeof *r);
    scs_decoder_init(&r->d);
    if (mode == 1) {
        for (at = 0; at < len; at++) {
            if (!scs_decoder_put(&r->d, data[at])) {
                r->overflow = 1;
                return;
            }
            while (scs_decoder_next(&r->d, &item) != SCS_ITEM_NONE) {
                keep(r, &item);
            }
        }
    } else {
        size_t chunk = mode == 0 ? len : 5u;
        while (at < len) {
            size_t end = at + chunk < len ? at + chunk : len;
            while (at < end) {
                size_t used = 0;
                scs_item_kind kind = scs_decoder_feed(&r->d, data + at, end - at, &used, &item);
                at += used;
                if (kind != SCS_ITEM_NONE) {
                    keep(r, &item);
                }
            }
        }
        while (scs_decoder_next(&r->d, &item) != SCS_ITEM_NONE) {
            keep(r, &item);
        }
    }
    scs_decoder_flush(&r->d);
    while (scs_decoder_next(&r->d, &item) != SCS_ITEM_NONE) {
        keep(r, &item);
    }
}

static int same_frame(const scs_item *it, const vec_frame *f, char *why, size_t why_size)
{
    uint32_t values[SCS_MAX_VALUES];
    size_t n, i;
    const char *type = scs_type_name(it->msg.type);
    if (it->kind != SCS_ITEM_FRAME) {
        snprintf(why, why_size, "expected a %s frame, got an invalid frame (%s)", f->type,
                 scs_invalid_reason_name(it->reason));
        return 0;
    }
    if (type == NULL || strcmp(type, f->type) != 0 || it->seq != f->seq) {
        snprintf(why, why_size, "expected %s seq %u, got type 0x%02X seq %u", f->type, (unsigned)f->seq,
                 (unsigned)it->msg.type, (unsigned)it->seq);
        return 0;
    }
    if (f->values == NULL) {
        return 1;
    }
    n = scs_message_values(&it->msg, values);
    if (n != f->n_values) {
        snprintf(why, why_size, "%s: %u values, expected %u", f->type, (unsigned)n, (unsigned)f->n_values);
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (values[i] != f->values[i]) {
            snprintf(why, why_size, "%s: value %u is %lu, expected %lu", f->type, (unsigned)i,
                     (unsigned long)values[i], (unsigned long)f->values[i]);
            return 0;
        }
    }
    return 1;
}

static void check_vector(const vec *v, int mode)
{
    static const char *const modes[3] = {"whole", "bytewise", "chunks of 5"};
    uint8_t data[MAX_INPUT];
    size_t len = unhex(v->hex, data);
    char why[256];
    run r;
    size_t i, found = 0;
    decode(data, len, mode, &r);
    checks++;
    if (r.overflow) {
        fail(v->name, modes[mode], "more items than the test keeps, or put refused a byte");
        return;
    }
    if (v->expect == VEC_FRAME || v->expect == VEC_FRAMES) {
        if (r.n != v->n_frames || r.d.invalid_frames != 0u) {
            snprintf(why, sizeof why, "%u items and %u invalid frames, expected %u frames", (unsigned)r.n,
                     (unsigned)r.d.invalid_frames, (unsigned)v->n_frames);
            fail(v->name, modes[mode], why);
            return;
        }
        for (i = 0; i < r.n; i++) {
            if (!same_frame(&r.items[i], &v->frames[i], why, sizeof why)) {
                fail(v->name, modes[mode], why);
                return;
            }
        }
        return;
    }
    /* VEC_INVALID: the bad part first, with the listed reason; then exactly the frames listed. */
    if (r.n == 0u || r.items[0].kind != SCS_ITEM_INVALID) {
        fail(v->name, modes[mode], r.n == 0u ? "nothing reported" : "the bad part decoded as a frame");
        return;
    }
    {
        const char *got = scs_invalid_reason_name(r.items[0].reason);
        /* A frame cut short and completed by later bytes fails its CRC: a receiver cannot tell. */
        int accepted = strcmp(got, v->reason) == 0 ||
                       (strcmp(v->reason, "truncated") == 0 && strcmp(got, "bad_crc") == 0);
        if (!accepted) {
            snprintf(why, sizeof why, "reason %s, expected %s", got, v->reason);
            fail(v->name, modes[mode], why);
            return;
        }
    }
    if (v->field != NULL) {
        const char *field = scs_field_name(r.items[0].field);
        if (field == NULL || strcmp(field, v->field) != 0) {
            snprintf(why, sizeof why, "names field %s, expected %s", field ? field : "(none)", v->field);
            fail(v->name, modes[mode], why);
            return;
        }
    }
    if (r.d.invalid_frames < 1u) {
        fail(v->name, modes[mode], "the invalid-frame count did not go up");
        return;
    }
    for (i = 0; i < r.n; i++) {
        if (r.items[i].kind != SCS_ITEM_FRAME) {
            continue;
        }
        if (found >= v->n_frames || !same_frame(&r.items[i], &v->frames[found], why, sizeof why)) {
            fail(v->name, modes[mode], found >= v->n_frames ? "a frame decoded that is not listed" : why);
            return;
        }
        found++;
    }
    if (found != v->n_frames) {
        fail(v->name, modes[mode], "a frame listed after the bad part was not found");
    }
}

/* Valid frames encode back to the very bytes they came from, from the decoded message and from the
 * expected value vector (scs_message_from_values, then scs_encode). */
static void check_encoding(const vec *v)
{
    uint8_t data[MAX_INPUT], out[SCS_MAX_FRAME * MAX_ITEMS];
    size_t len = unhex(v->hex, data), at = 0, i;
    char why[256];
    run r;
    if (v->expect == VEC_INVALID) {
        return;
    }
    decode(data, len, 0, &r);
    for (i = 0; i < r.n && i < v->n_frames; i++) {
        scs_message m;
        size_t n = 0, n2 = 0;
        uint8_t again[SCS_MAX_FRAME];
        scs_result res = scs_encode(&r.items[i].msg, r.items[i].seq, out + at, sizeof out - at, &n);
        checks++;
        if (res != SCS_OK) {
            snprintf(why, sizeof why, "frame %u does not encode (error %d)", (unsigned)i, (int)res);
            fail(v->name, "encode", why);
            return;
        }
        res = scs_message_from_values(r.items[i].msg.type, v->frames[i].values, v->frames[i].n_values, &m);
        if (res == SCS_OK) {
            res = scs_encode(&m, v->frames[i].seq, again, sizeof again, &n2);
        }
        if (res != SCS_OK || n2 != n || memcmp(again, out + at, n) != 0) {
            snprintf(why, sizeof why, "frame %u from its expected values encodes differently (error %d)", (unsigned)i,
                     (int)res);
            fail(v->name, "encode", why);
            return;
        }
        at += n;
    }
    /* frame: exactly the bytes; frames: the vector may open with noise, so its tail. */
    if (at > len || memcmp(out, data + (len - at), at) != 0 || (v->expect == VEC_FRAME && at != len)) {
        fail(v->name, "encode", "the encoded frames differ from the vector's bytes");
    }
}

int main(void)
{
    static const uint8_t check[9] = {'1', '2', '3', '4', '5', '6', '7', '8', '9'};
    size_t i;
    int mode;
    const size_t count = sizeof VECTORS / sizeof VECTORS[0];
    checks++;
    if (scs_crc16(check, sizeof check) != 0x29B1u) {
        fail("crc", "check value", "CRC of \"123456789\" is not 0x29B1");
    }
    for (i = 0; i < count; i++) {
        for (mode = 0; mode < 3; mode++) {
            check_vector(&VECTORS[i], mode);
        }
        check_encoding(&VECTORS[i]);
    }
    printf("%u vectors, %u checks, %u failures\n", (unsigned)count, checks, failures);
    return failures == 0u ? 0 : 1;
}
