/* scs_codec.c: CRC, frame encoder and resynchronising decoder (PROTOCOL.md 2-4). See scs_codec.h.
 *
 * Decoder invariant: between calls, buf holds fewer than SCS_MAX_FRAME bytes and, unless it is
 * empty or a lone first sync byte, starts with the sync pair. Every check that fails drops only the
 * first sync byte, so a valid frame that began inside a damaged one is still found; a frame whose
 * CRC is right is consumed whole (the receiver rules of PROTOCOL.md 4, step by step).
 */
#include <string.h>

#include "scs_codec.h"

/* CRC of one nibble shifted through the polynomial: 16 entries instead of 256 keep it small. */
static const uint16_t crc_nibble[16] = {
    0x0000u, 0x1021u, 0x2042u, 0x3063u, 0x4084u, 0x50A5u, 0x60C6u, 0x70E7u,
    0x8108u, 0x9129u, 0xA14Au, 0xB16Bu, 0xC18Cu, 0xD1ADu, 0xE1CEu, 0xF1EFu,
};

uint16_t scs_crc16_update(uint16_t crc, const uint8_t *data, size_t len)
{
    size_t i;
    for (i = 0; i < len; i++) {
        crc = (uint16_t)((uint16_t)(crc << 4) ^ crc_nibble[((crc >> 12) ^ (data[i] >> 4)) & 0x0Fu]);
        crc = (uint16_t)((uint16_t)(crc << 4) ^ crc_nibble[((crc >> 12) ^ data[i]) & 0x0Fu]);
    }
    return crc;
}

uint16_t scs_crc16(const uint8_t *data, size_t len)
{
    return scs_crc16_update((uint16_t)SCS_CRC_INIT, data, len);
}

int scs_is_command(unsigned type)
{
    return type >= 0x01u && type <= 0x3Fu;
}

int scs_is_event(unsigned type)
{
    return type >= SCS_EVENT_MIN && type <= 0xFFu;
}

int scs_is_reply(unsigned type)
{
    return type == SCS_TYPE_NAK || (type >= SCS_REPLY_BIT && type < SCS_EVENT_MIN);
}

uint8_t scs_reply_type_for(uint8_t command)
{
    return (uint8_t)(command | SCS_REPLY_BIT);
}

scs_result scs_frame_encode(uint8_t type, uint8_t seq, const uint8_t *payload, size_t len, uint8_t *out,
                            size_t cap, size_t *out_len)
{
    uint16_t crc;
    if (out == NULL || out_len == NULL || (payload == NULL && len > 0u)) {
        return SCS_ERR_BAD_ARGUMENT;
    }
    if (len > SCS_MAX_PAYLOAD) {
        return SCS_ERR_LENGTH;
    }
    if (cap < SCS_HEADER_SIZE + len + SCS_CRC_SIZE) {
        return SCS_ERR_NO_ROOM;
    }
    if (len > 0u && payload != out + SCS_HEADER_SIZE) {
        memmove(out + SCS_HEADER_SIZE, payload, len);
    }
    out[0] = SCS_SYNC0;
    out[1] = SCS_SYNC1;
    out[SCS_HEADER_OFF_LENGTH] = (uint8_t)len;
    out[SCS_HEADER_OFF_LENGTH_CHECK] = (uint8_t)(len ^ 0xFFu);
    out[SCS_HEADER_OFF_TYPE] = type;
    out[SCS_HEADER_OFF_SEQ] = seq;
    crc = scs_crc16(out + SCS_HEADER_OFF_LENGTH, SCS_HEADER_SIZE - SCS_HEADER_OFF_LENGTH + len);
    out[SCS_HEADER_SIZE + len] = (uint8_t)(crc & 0xFFu);
    out[SCS_HEADER_SIZE + len + 1u] = (uint8_t)(crc >> 8);
    *out_len = SCS_HEADER_SIZE + len + SCS_CRC_SIZE;
    return SCS_OK;
}

scs_result scs_encode(const scs_message *m, uint8_t seq, uint8_t *out, size_t cap, size_t *out_len)
{
    size_t len = 0;
    scs_result r;
    if (m == NULL || out == NULL || out_len == NULL) {
        return SCS_ERR_BAD_ARGUMENT;
    }
    if (cap < SCS_HEADER_SIZE + SCS_CRC_SIZE) {
        return SCS_ERR_NO_ROOM;
    }
    r = scs_encode_payload(m, out + SCS_HEADER_SIZE, cap - SCS_HEADER_SIZE - SCS_CRC_SIZE, &len);
    if (r != SCS_OK) {
        return r;
    }
    return scs_frame_encode(m->type, seq, out + SCS_HEADER_SIZE, len, out, cap, out_len);
}

/* --- decoder ------------------------------------------------------------------------------------- */

void scs_decoder_init(scs_decoder *d)
{
    memset(d, 0, sizeof *d);
}

size_t scs_decoder_buffered(const scs_decoder *d)
{
    return d->len;
}

int scs_decoder_put(scs_decoder *d, uint8_t byte)
{
    if (d->len >= SCS_MAX_FRAME) {
        return 0;
    }
    d->buf[d->len++] = byte;
    d->flushing = 0u;
    return 1;
}

void scs_decoder_flush(scs_decoder *d)
{
    d->flushing = 1u;
}

static void drop(scs_decoder *d, size_t n)
{
    size_t rest = (size_t)d->len - n;
    if (rest > 0u) {
        memmove(d->buf, d->buf + n, rest);
    }
    d->len = (uint16_t)rest;
    d->offset += (uint32_t)n;
}

/* An invalid frame at buf[0]; with_header: its seq and type bytes are the frame's. */
static scs_item_kind invalid(scs_decoder *d, scs_item *item, uint8_t reason, int with_header)
{
    item->kind = SCS_ITEM_INVALID;
    item->reason = reason;
    item->has_header = with_header ? 1u : 0u;
    item->seq = with_header ? d->buf[SCS_HEADER_OFF_SEQ] : 0u;
    item->type = with_header ? d->buf[SCS_HEADER_OFF_TYPE] : 0u;
    item->field = SCS_FIELD_NONE;
    item->param = SCS_PARAM_NONE;
    item->index = SCS_NO_INDEX;
    item->offset = d->offset;
    d->invalid_frames++;
    return SCS_ITEM_INVALID;
}

scs_item_kind scs_decoder_next(scs_decoder *d, scs_item *item)
{
    size_t n = d->len;
    size_t i = 0;
    size_t need;
    uint8_t length;
    uint16_t crc;
    scs_result r;
    scs_bad_value bad;

    /* Steps 1-2: find the sync pair; what comes before it is noise. */
    while (i + 1u < n && !(d->buf[i] == SCS_SYNC0 && d->buf[i + 1u] == SCS_SYNC1)) {
        i++;
    }
    if (i + 1u >= n) {
        /* No sync pair: keep a final first sync byte, which may start one (not when flushing). */
        size_t keep = (n > 0u && d->buf[n - 1u] == SCS_SYNC0 && !d->flushing) ? 1u : 0u;
        d->discarded_bytes += (uint32_t)(n - keep);
        drop(d, n - keep);
        d->flushing = 0u;
        return SCS_ITEM_NONE;
    }
    if (i > 0u) {
        d->discarded_bytes += (uint32_t)i;
        drop(d, i);
        n = d->len;
    }
    /* Step 3: a whole header. */
    if (n < SCS_HEADER_SIZE) {
        goto wait;
    }
    /* Step 4: the length check. */
    length = d->buf[SCS_HEADER_OFF_LENGTH];
    if ((d->buf[SCS_HEADER_OFF_LENGTH_CHECK] ^ length) != 0xFF) { /* the check byte is length ^ 0xFF */
        invalid(d, item, SCS_INVALID_BAD_LENGTH_CHECK, 0);
        drop(d, 1u);
        return SCS_ITEM_INVALID;
    }
    /* Step 5: a whole frame. */
    need = SCS_HEADER_SIZE + (size_t)length + SCS_CRC_SIZE;
    if (n < need) {
        goto wait;
    }
    /* Step 6: the CRC, over length .. payload. */
    crc = scs_crc16(d->buf + SCS_HEADER_OFF_LENGTH, SCS_HEADER_SIZE - SCS_HEADER_OFF_LENGTH + (size_t)length);
    if (crc != (uint16_t)(d->buf[need - 2u] | (d->buf[need - 1u] << 8))) {
        invalid(d, item, SCS_INVALID_BAD_CRC, 1);
        drop(d, 1u);
        return SCS_ITEM_INVALID;
    }
    /* Steps 7-11: consumed whole, whatever its type, length and values. */
    r = scs_decode_payload(d->buf[SCS_HEADER_OFF_TYPE], d->buf + SCS_HEADER_SIZE, length, &item->msg, &bad);
    if (r == SCS_OK) {
        item->kind = SCS_ITEM_FRAME;
        item->reason = 0u;
        item->has_header = 1u;
        item->seq = d->buf[SCS_HEADER_OFF_SEQ];
        item->type = d->buf[SCS_HEADER_OFF_TYPE];
        item->field = SCS_FIELD_NONE;
        item->param = SCS_PARAM_NONE;
        item->index = SCS_NO_INDEX;
        item->offset = d->offset;
        d->frames++;
    } else {
        uint8_t reason = r == SCS_ERR_UNKNOWN_TYPE ? (uint8_t)SCS_INVALID_UNKNOWN_TYPE
                         : r == SCS_ERR_LENGTH     ? (uint8_t)SCS_INVALID_BAD_LENGTH
                                                   : (uint8_t)SCS_INVALID_BAD_VALUE;
        invalid(d, item, reason, 1);
        if (reason == SCS_INVALID_BAD_VALUE) {
            item->field = bad.field;
            item->param = bad.param;
            item->index = bad.index;
        }
    }
    drop(d, need);
    return (scs_item_kind)item->kind;

wait:
    if (!d->flushing) {
        return SCS_ITEM_NONE;
    }
    /* The line went quiet mid-frame: give it up, and rescan what follows its first byte. */
    invalid(d, item, SCS_INVALID_TRUNCATED, 0);
    drop(d, 1u);
    return SCS_ITEM_INVALID;
}

scs_item_kind scs_decoder_feed(scs_decoder *d, const uint8_t *data, size_t len, size_t *used, scs_item *item)
{
    size_t taken = 0;
    scs_item_kind kind = scs_decoder_next(d, item); /* an item the bytes given before may still owe */
    while (kind == SCS_ITEM_NONE && taken < len) {
        /* After SCS_ITEM_NONE the buffer holds less than a frame, so there is room for a byte at least. */
        size_t room = (size_t)SCS_MAX_FRAME - d->len;
        size_t k = len - taken < room ? len - taken : room;
        memcpy(d->buf + d->len, data + taken, k);
        d->len = (uint16_t)(d->len + k);
        d->flushing = 0u;
        taken += k;
        kind = scs_decoder_next(d, item);
    }
    *used = taken;
    return kind;
}
