/* scs_codec.h: frames of the scsctl wire protocol in portable C99 (PROTOCOL.md 2-4).
 *
 * The frame layer a device (or a host) needs beside the generated messages of scs_wire.h: the
 * CRC, the frame encoder, and a decoder fed byte by byte that resynchronises after damage exactly
 * as the host's decoder does (firmware_protocol/codec.py; the golden vectors and a differential fuzz
 * check that they agree). No heap, no I/O, no clocks; it includes only <stddef.h>, <stdint.h> and
 * <string.h> (memcpy, memmove). Each decoder holds one maximum frame (SCS_MAX_FRAME bytes).
 *
 * Receiving:
 *
 *     static scs_decoder rx;
 *     static scs_item item;
 *     scs_decoder_init(&rx);
 *     ...
 *     scs_decoder_put(&rx, byte);                     // each byte from the UART or USB endpoint
 *     while (scs_decoder_next(&rx, &item) != SCS_ITEM_NONE) {
 *         if (item.kind == SCS_ITEM_FRAME)
 *             handle(item.seq, &item.msg);            // item.msg.type, item.msg.body....
 *         else if (scs_invalid_nak_reason(item.reason) != 0 && item.has_header)
 *             send_nak(item.seq, item.type, scs_invalid_nak_reason(item.reason), item.param, item.index);
 *     }
 *
 *     // no byte for 50 ms in the middle of a frame (PROTOCOL.md 15, decision 15):
 *     scs_decoder_flush(&rx);
 *     while (scs_decoder_next(&rx, &item) != SCS_ITEM_NONE) { ... as above ... }
 *
 * Always drain scs_decoder_next until SCS_ITEM_NONE after a put: then the next put has room.
 * scs_decoder_feed takes a whole buffer (a DMA block, a USB packet) instead of single bytes.
 *
 * Sending:
 *
 *     scs_message m;
 *     uint8_t frame[SCS_MAX_FRAME];
 *     size_t n;
 *     m.type = SCS_TYPE_STOP_ACK;
 *     if (scs_encode(&m, seq, frame, sizeof frame, &n) == SCS_OK)
 *         uart_write(frame, n);
 */
#ifndef SCS_CODEC_H
#define SCS_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "scs_wire.h"

#ifdef __cplusplus
extern "C" {
#endif

/* CRC-16/CCITT-FALSE (PROTOCOL.md 3): poly 0x1021, init 0xFFFF, no reflection, no final xor. */
#define SCS_CRC_INIT 0xFFFFu
uint16_t scs_crc16(const uint8_t *data, size_t len);
uint16_t scs_crc16_update(uint16_t crc, const uint8_t *data, size_t len);

/* Type ranges (PROTOCOL.md 5.1). */
int scs_is_command(unsigned type);
int scs_is_reply(unsigned type);
int scs_is_event(unsigned type);
uint8_t scs_reply_type_for(uint8_t command);

/* A whole frame around a payload (payload may lie at out + SCS_HEADER_SIZE already). */
scs_result scs_frame_encode(uint8_t type, uint8_t seq, const uint8_t *payload, size_t len, uint8_t *out,
                            size_t cap, size_t *out_len);

/* A whole frame for a message: SCS_ERR_VALUE for what a receiver would reject (scs_encode_payload). */
scs_result scs_encode(const scs_message *m, uint8_t seq, uint8_t *out, size_t cap, size_t *out_len);

typedef enum scs_item_kind {
    SCS_ITEM_NONE = 0,   /* nothing yet: give more bytes */
    SCS_ITEM_FRAME = 1,  /* a valid frame: seq, msg */
    SCS_ITEM_INVALID = 2 /* something frame-shaped failed a check: reason, offset (and seq, type) */
} scs_item_kind;

typedef struct scs_item {
    uint8_t kind;       /* scs_item_kind */
    uint8_t reason;     /* enum scs_invalid_reason (invalid items) */
    uint8_t has_header; /* seq and type are the frame's: not after bad_length_check or truncated */
    uint8_t seq;
    uint8_t type;       /* the type byte as received */
    uint8_t field;      /* bad_value: enum scs_field of the first undefined value */
    uint8_t param;      /* bad_value: the NAK param a device answers it with */
    uint8_t index;      /* bad_value: the array entry it is in (a contact index), or SCS_NO_INDEX */
    uint32_t offset;    /* stream offset of the frame's first sync byte (counts every byte put) */
    scs_message msg;    /* valid frames */
} scs_item;

typedef struct scs_decoder {
    uint8_t buf[SCS_MAX_FRAME];
    uint16_t len;             /* bytes held */
    uint8_t flushing;         /* scs_decoder_flush was called and not yet drained */
    uint32_t offset;          /* stream offset of buf[0] */
    uint32_t frames;          /* valid frames decoded */
    uint32_t invalid_frames;  /* invalid frames (every SCS_ITEM_INVALID) */
    uint32_t discarded_bytes; /* noise: bytes dropped outside any frame-shaped header */
} scs_decoder;

void scs_decoder_init(scs_decoder *d);

/* Take one byte; 0 when there is no room because items were not drained with scs_decoder_next. */
int scs_decoder_put(scs_decoder *d, uint8_t byte);

/* The next item the bytes given so far make: SCS_ITEM_FRAME, SCS_ITEM_INVALID, or SCS_ITEM_NONE
 * when it needs more bytes. *item is written only for FRAME and INVALID. */
scs_item_kind scs_decoder_next(scs_decoder *d, scs_item *item);

/* Take bytes from data[0..len) until an item is ready; *used says how many were taken. Call again
 * with the rest while it returns an item. Gives the same items as putting the bytes one by one. */
scs_item_kind scs_decoder_feed(scs_decoder *d, const uint8_t *data, size_t len, size_t *used, scs_item *item);

/* The line went quiet: scs_decoder_next now gives up on the partial frame it holds (an invalid frame,
 * truncated), drops its first byte and rescans the rest, so a whole frame inside it is still found.
 * Drain scs_decoder_next until SCS_ITEM_NONE; then the decoder is empty. */
void scs_decoder_flush(scs_decoder *d);

/* Bytes held back as the possible start of a frame. */
size_t scs_decoder_buffered(const scs_decoder *d);

#ifdef __cplusplus
}
#endif

#endif /* SCS_CODEC_H */
