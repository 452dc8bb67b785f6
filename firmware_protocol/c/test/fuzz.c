/* fuzz.c: inputs for the differential fuzz of the C decoder against the Python one.
 *
 * Input i of a run with seed S is made by splitmix64 (below) started at S ^ (i + 1) x 0xD1B54A32D192ED03,
 * so any input can be made again from (S, i) alone: `fuzz --seed S --first i --count 1`. An input is
 * one to four pieces: golden-vector frames as they are, with payload bytes changed (CRC made right
 * again, so the payload checks are reached), frames of every type with random fields and sizes, frames
 * damaged after their CRC (bits flipped, cut short, bytes dropped or inserted, a false length), line
 * noise rich in sync bytes, and the invalid golden vectors. It is then cut at up to four random points.
 *
 * For each input the C decoder is fed the pieces between the cuts (scs_decoder_feed), then flushed,
 * and writes (stdout, little-endian):
 *
 *     u32 input length | u8 cuts | u16 cut positions | input bytes | u32 words | u32 words[]
 *
 * where the words are, per item: kind (1 frame, 2 invalid), stream offset (0 for frames: the Python
 * decoder does not report one), seq, type, has_header, reason, field, param, value count, then a
 * frame's value vector; and after the items the decoder's frames, invalid_frames and discarded_bytes.
 * firmware_protocol/kit/difffuzz.py decodes the same bytes with the same cuts in Python, builds the
 * same words and compares.
 *
 * Checks made here as well, on every input: the same items whether the bytes are fed byte by byte or
 * between the cuts, and every valid frame encodes back to exactly the bytes it was decoded from.
 * --self-check writes no records (the sanitizer build runs that way). Exit 1 on any difference.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../scs_codec.h"
#include "vectors.h"

#define MAX_INPUT 4096
#define MAX_WORDS 65536
#define MAX_CUTS 4

static uint64_t rng;

static uint64_t next64(void)
{
    uint64_t z = (rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint32_t below(uint32_t n)
{
    return (uint32_t)(next64() % n);
}

/* Bytes that hit the interesting values of fields and frames more often than uniform ones would. */
static uint8_t biased_byte(void)
{
    uint32_t r = below(100);
    if (r < 30) {
        return (uint8_t)below(8);
    }
    if (r < 35) {
        return 0xFFu;
    }
    if (r < 40) {
        return r < 38 ? SCS_SYNC0 : SCS_SYNC1;
    }
    if (r < 75) {
        return (uint8_t)(0x20u + below(0x5Fu));
    }
    return (uint8_t)below(256);
}

/* --- the dictionary: golden-vector frames, split out of the vectors, and the raw invalid vectors --- */

typedef struct piece {
    uint8_t bytes[SCS_MAX_FRAME * 4];
    size_t len;
} piece;

#define MAX_DICT 512
static piece frames_dict[MAX_DICT];
static size_t n_frames_dict;
static piece invalid_dict[MAX_DICT];
static size_t n_invalid_dict;
static uint8_t defined_types[256];
static size_t n_defined_types;

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    for (; hex[0] != '\0' && hex[1] != '\0' && n < cap; hex += 2) {
        unsigned v = 0;
        int k;
        for (k = 0; k < 2; k++) {
            char c = hex[k];
            v = v * 16u + (unsigned)(c >= 'a' ? c - 'a' + 10 : c - '0');
        }
        out[n++] = (uint8_t)v;
    }
    return n;
}

static void load_dictionary(void)
{
    size_t i;
    unsigned t;
    for (i = 0; i < sizeof VECTORS / sizeof VECTORS[0]; i++) {
        uint8_t data[SCS_MAX_FRAME * 4];
        size_t len = unhex(VECTORS[i].hex, data, sizeof data);
        if (VECTORS[i].expect == VEC_INVALID) {
            if (n_invalid_dict < MAX_DICT) {
                memcpy(invalid_dict[n_invalid_dict].bytes, data, len);
                invalid_dict[n_invalid_dict++].len = len;
            }
            continue;
        }
        { /* each valid frame of the vector on its own */
            scs_decoder d;
            scs_item item;
            size_t at = 0;
            scs_decoder_init(&d);
            while (at < len) {
                size_t used = 0;
                scs_item_kind kind = scs_decoder_feed(&d, data + at, len - at, &used, &item);
                at += used;
                if (kind == SCS_ITEM_FRAME && n_frames_dict < MAX_DICT) {
                    piece *p = &frames_dict[n_frames_dict++];
                    scs_encode(&item.msg, item.seq, p->bytes, sizeof p->bytes, &p->len);
                }
            }
        }
    }
    for (t = 0; t < 256u; t++) {
        if (scs_payload_shape_of((uint8_t)t) != NULL) {
            defined_types[n_defined_types++] = (uint8_t)t;
        }
    }
}

/* --- pieces ------------------------------------------------------------------------------------ */

static size_t finish_frame(uint8_t type, const uint8_t *payload, size_t len, uint8_t *out, int crc_right)
{
    size_t n = 0;
    scs_frame_encode(type, (uint8_t)below(256), payload, len, out, SCS_MAX_FRAME, &n);
    if (!crc_right) {
        out[n - 1u - below(2)] ^= (uint8_t)(1u << below(8));
    }
    return n;
}

/* A frame of a random type whose payload has (mostly) the type's shape and random, biased bytes. */
static size_t shaped_frame(uint8_t *out)
{
    uint8_t payload[SCS_MAX_PAYLOAD];
    uint8_t type = below(100) < 88 ? defined_types[below((uint32_t)n_defined_types)] : (uint8_t)below(256);
    const scs_payload_shape *shape = scs_payload_shape_of(type);
    size_t len, i;
    uint32_t r = below(100);
    if (shape != NULL && r < 85) {
        len = shape->size_min;
        if (shape->entry_size > 0u) {
            /* mostly within the bound; sometimes above it, as far as 255 bytes allow */
            uint32_t most = below(10) < 8 ? shape->max_count : (SCS_MAX_PAYLOAD - shape->size_min) / shape->entry_size;
            len += below(most + 1u) * shape->entry_size;
        }
    } else if (r < 95) {
        len = below(48);
    } else {
        len = below(SCS_MAX_PAYLOAD + 1u);
    }
    for (i = 0; i < len; i++) {
        payload[i] = biased_byte();
    }
    if (shape != NULL && shape->entry_size > 0u && len >= shape->size_min && r < 85) {
        payload[shape->count_off] = (uint8_t)((len - shape->size_min) / shape->entry_size);
    }
    return finish_frame(type, payload, len, out, below(100) < 96);
}

/* A golden frame with one to three payload bytes changed, its CRC made right again. */
static size_t edited_frame(uint8_t *out)
{
    const piece *p = &frames_dict[below((uint32_t)n_frames_dict)];
    uint8_t payload[SCS_MAX_PAYLOAD];
    size_t len = p->bytes[SCS_HEADER_OFF_LENGTH], k, edits = 1u + below(3);
    memcpy(payload, p->bytes + SCS_HEADER_SIZE, len);
    for (k = 0; k < edits && len > 0u; k++) {
        payload[below((uint32_t)len)] = biased_byte();
    }
    return finish_frame(p->bytes[SCS_HEADER_OFF_TYPE], payload, len, out, 1);
}

/* A frame damaged on the line, after its CRC was computed. */
static size_t damaged_frame(uint8_t *out)
{
    size_t len = below(2) ? shaped_frame(out) : edited_frame(out);
    uint32_t how = below(6);
    size_t at = below((uint32_t)len);
    if (how == 0) {
        out[at] ^= (uint8_t)(1u << below(8));
    } else if (how == 1) {
        len = at; /* cut short */
    } else if (how == 2) {
        memmove(out + at, out + at + 1, len - at - 1u); /* a byte lost */
        len--;
    } else if (how == 3) {
        memmove(out + at + 1, out + at, len - at); /* a byte too many */
        out[at] = biased_byte();
        len++;
    } else if (how == 4) {
        /* a false length whose check byte agrees: the receiver waits for bytes that are not there */
        uint8_t length = (uint8_t)below(256);
        out[SCS_HEADER_OFF_LENGTH] = length;
        out[SCS_HEADER_OFF_LENGTH_CHECK] = (uint8_t)(length ^ 0xFFu);
    } else {
        out[at] = biased_byte();
    }
    return len;
}

static size_t noise(uint8_t *out)
{
    size_t len = 1u + below(24), i;
    for (i = 0; i < len; i++) {
        out[i] = biased_byte();
    }
    if (below(3) == 0 && len >= 6) { /* a header-shaped start */
        size_t at = below((uint32_t)(len - 5u));
        uint8_t length = (uint8_t)below(32);
        out[at] = SCS_SYNC0;
        out[at + 1u] = SCS_SYNC1;
        out[at + 2u] = length;
        out[at + 3u] = below(4) ? (uint8_t)(length ^ 0xFFu) : biased_byte();
    }
    return len;
}

static size_t make_input(uint8_t *out)
{
    size_t len = 0;
    uint32_t pieces = below(50) == 0 ? 6u + below(8) : 1u + below(4), k;
    for (k = 0; k < pieces && len + SCS_MAX_FRAME * 4u < MAX_INPUT; k++) {
        uint32_t r = below(100);
        uint8_t *p = out + len;
        if (r < 18) {
            const piece *f = &frames_dict[below((uint32_t)n_frames_dict)];
            memcpy(p, f->bytes, f->len);
            len += f->len;
        } else if (r < 40) {
            len += edited_frame(p);
        } else if (r < 65) {
            len += shaped_frame(p);
        } else if (r < 82) {
            len += damaged_frame(p);
        } else if (r < 95) {
            len += noise(p);
        } else {
            const piece *f = &invalid_dict[below((uint32_t)n_invalid_dict)];
            memcpy(p, f->bytes, f->len);
            len += f->len;
        }
    }
    return len;
}

/* --- decoding ---------------------------------------------------------------------------------- */

typedef struct result {
    uint32_t words[MAX_WORDS];
    size_t n;
    int round_trip_ok;
} result;

static void add_item(result *res, const scs_item *it, const uint8_t *input, size_t input_len)
{
    uint32_t *w = res->words + res->n;
    size_t n = 0;
    w[n++] = it->kind;
    w[n++] = it->kind == SCS_ITEM_FRAME ? 0u : it->offset;
    w[n++] = it->seq;
    w[n++] = it->type;
    w[n++] = it->has_header;
    w[n++] = it->kind == SCS_ITEM_FRAME ? 0u : it->reason;
    w[n++] = it->field;
    w[n++] = it->param;
    if (it->kind == SCS_ITEM_FRAME) {
        uint8_t again[SCS_MAX_FRAME];
        size_t len = 0, count = scs_message_values(&it->msg, w + n + 1);
        w[n++] = (uint32_t)count;
        n += count;
        /* the frame is consumed whole from its offset: it must encode back to those bytes */
        if (scs_encode(&it->msg, it->seq, again, sizeof again, &len) != SCS_OK || it->offset + len > input_len ||
            memcmp(again, input + it->offset, len) != 0) {
            res->round_trip_ok = 0;
        }
    } else {
        w[n++] = 0u;
    }
    res->n += n;
}

/* mode 0: between the cuts; 1: byte by byte. */
static void decode(const uint8_t *input, size_t len, const size_t *cuts, size_t n_cuts, int mode, result *res)
{
    scs_decoder d;
    scs_item item;
    size_t start = 0, k;
    res->n = 0;
    res->round_trip_ok = 1;
    scs_decoder_init(&d);
    if (mode == 1) {
        for (k = 0; k < len; k++) {
            scs_decoder_put(&d, input[k]);
            while (scs_decoder_next(&d, &item) != SCS_ITEM_NONE) {
                add_item(res, &item, input, len);
            }
        }
    } else {
        for (k = 0; k <= n_cuts; k++) {
            size_t end = k < n_cuts ? cuts[k] : len;
            while (start < end) {
                size_t used = 0;
                if (scs_decoder_feed(&d, input + start, end - start, &used, &item) != SCS_ITEM_NONE) {
                    add_item(res, &item, input, len);
                }
                start += used;
            }
            while (scs_decoder_next(&d, &item) != SCS_ITEM_NONE) {
                add_item(res, &item, input, len);
            }
        }
    }
    scs_decoder_flush(&d);
    while (scs_decoder_next(&d, &item) != SCS_ITEM_NONE) {
        add_item(res, &item, input, len);
    }
    res->words[res->n++] = d.frames;
    res->words[res->n++] = d.invalid_frames;
    res->words[res->n++] = d.discarded_bytes;
}

static void put_u32(uint32_t v, FILE *out)
{
    uint8_t b[4];
    b[0] = (uint8_t)(v & 0xFFu);
    b[1] = (uint8_t)((v >> 8) & 0xFFu);
    b[2] = (uint8_t)((v >> 16) & 0xFFu);
    b[3] = (uint8_t)(v >> 24);
    fwrite(b, 1, 4, out);
}

static int compare_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    static uint8_t input[MAX_INPUT];
    static result cut, bytewise;
    static char outbuf[1 << 20];
    unsigned long long seed = 1, first = 0, count = 1000000, i;
    unsigned long long frames = 0, invalid = 0, bytes = 0, trips = 0, splits = 0;
    int records = 1, a;
    load_dictionary();
    for (a = 1; a < argc; a++) {
        if (strcmp(argv[a], "--self-check") == 0) {
            records = 0;
        } else if (a + 1 < argc && strcmp(argv[a], "--seed") == 0) {
            seed = strtoull(argv[++a], NULL, 0);
        } else if (a + 1 < argc && strcmp(argv[a], "--first") == 0) {
            first = strtoull(argv[++a], NULL, 0);
        } else if (a + 1 < argc && strcmp(argv[a], "--count") == 0) {
            count = strtoull(argv[++a], NULL, 0);
        } else {
            fprintf(stderr, "usage: %s [--seed S] [--first I] [--count N] [--self-check]\n", argv[0]);
            return 2;
        }
    }
    setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
    for (i = first; i < first + count; i++) {
        size_t len, n_cuts, k, cuts[MAX_CUTS];
        rng = seed ^ ((i + 1u) * 0xD1B54A32D192ED03ull);
        len = make_input(input);
        n_cuts = len > 1u ? below(MAX_CUTS + 1u) : 0u;
        for (k = 0; k < n_cuts; k++) {
            cuts[k] = 1u + below((uint32_t)(len - 1u));
        }
        qsort(cuts, n_cuts, sizeof cuts[0], compare_size);
        decode(input, len, cuts, n_cuts, 0, &cut);
        decode(input, len, cuts, n_cuts, 1, &bytewise);
        frames += cut.words[cut.n - 3];
        invalid += cut.words[cut.n - 2];
        bytes += len;
        if (!cut.round_trip_ok) {
            trips++;
            if (trips <= 5u) {
                fprintf(stderr, "fuzz: input %llu: a valid frame does not encode back to its bytes\n", i);
            }
        }
        if (cut.n != bytewise.n || memcmp(cut.words, bytewise.words, cut.n * sizeof cut.words[0]) != 0) {
            splits++;
            if (splits <= 5u) {
                fprintf(stderr, "fuzz: input %llu: fed byte by byte it decodes differently\n", i);
            }
        }
        if (records) {
            put_u32((uint32_t)len, stdout);
            fputc((int)n_cuts, stdout);
            for (k = 0; k < n_cuts; k++) {
                fputc((int)(cuts[k] & 0xFFu), stdout);
                fputc((int)(cuts[k] >> 8), stdout);
            }
            fwrite(input, 1, len, stdout);
            put_u32((uint32_t)cut.n, stdout);
            for (k = 0; k < cut.n; k++) {
                put_u32(cut.words[k], stdout);
            }
        }
    }
    fflush(stdout);
    fprintf(stderr,
            "fuzz: %llu inputs (seed %llu, first %llu), %llu bytes, %llu valid frames, %llu invalid frames; "
            "%llu round-trip differences, %llu byte-by-byte differences\n",
            count, seed, first, bytes, frames, invalid, trips, splits);
    return trips == 0u && splits == 0u ? 0 : 1;
}
