/* scs_host.h: the C kit seen from a host program or a language binding (Python's ctypes, say).
 *
 * Firmware does not need this file. It lets a binding use the decoder and encoder without mirroring
 * C struct layouts: decoders and items are opaque buffers of the sizes given here, an item comes out
 * as plain integers, and a message goes in as a value vector (scs_message_values' form). The emulator's
 * C codec (src/scsctl/emulator/c_codec.py) is built on it.
 */
#ifndef SCS_HOST_H
#define SCS_HOST_H

#include <stddef.h>
#include <stdint.h>

#include "../scs_codec.h"

#ifdef __cplusplus
extern "C" {
#endif

/* An item as words: */
#define SCS_HOST_KIND 0       /* scs_item_kind */
#define SCS_HOST_OFFSET 1     /* stream offset of the first sync byte */
#define SCS_HOST_SEQ 2
#define SCS_HOST_TYPE 3
#define SCS_HOST_HAS_HEADER 4
#define SCS_HOST_REASON 5     /* enum scs_invalid_reason, 0 for frames */
#define SCS_HOST_FIELD 6      /* enum scs_field (bad_value) */
#define SCS_HOST_PARAM 7      /* enum scs_param (bad_value) */
#define SCS_HOST_INDEX 8      /* array entry of a bad value, or SCS_NO_INDEX */
#define SCS_HOST_N_VALUES 9   /* then the frame's value vector */
#define SCS_HOST_HEAD 10
#define SCS_HOST_MAX_WORDS (SCS_HOST_HEAD + SCS_MAX_VALUES)

size_t scs_host_decoder_size(void);
size_t scs_host_item_size(void);

/* The item as words (at most SCS_HOST_MAX_WORDS); returns how many. */
size_t scs_host_item_words(const scs_item *item, uint32_t *words);

/* frames, invalid_frames, discarded_bytes, buffered */
void scs_host_decoder_counts(const scs_decoder *d, uint32_t counts[4]);

/* A whole frame for a message given as a value vector. */
scs_result scs_host_encode_values(uint8_t type, uint8_t seq, const uint32_t *values, size_t n, uint8_t *out,
                                  size_t cap, size_t *out_len);

#ifdef __cplusplus
}
#endif

#endif /* SCS_HOST_H */
