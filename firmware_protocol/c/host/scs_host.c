/* scs_host.c: see scs_host.h. */
#include "scs_host.h"

size_t scs_host_decoder_size(void)
{
    return sizeof(scs_decoder);
}

size_t scs_host_item_size(void)
{
    return sizeof(scs_item);
}

size_t scs_host_item_words(const scs_item *item, uint32_t *words)
{
    size_t n = 0;
    words[SCS_HOST_KIND] = item->kind;
    words[SCS_HOST_OFFSET] = item->offset;
    words[SCS_HOST_SEQ] = item->seq;
    words[SCS_HOST_TYPE] = item->type;
    words[SCS_HOST_HAS_HEADER] = item->has_header;
    words[SCS_HOST_REASON] = item->kind == SCS_ITEM_FRAME ? 0u : item->reason;
    words[SCS_HOST_FIELD] = item->field;
    words[SCS_HOST_PARAM] = item->param;
    words[SCS_HOST_INDEX] = item->index;
    if (item->kind == SCS_ITEM_FRAME) {
        n = scs_message_values(&item->msg, words + SCS_HOST_HEAD);
    }
    words[SCS_HOST_N_VALUES] = (uint32_t)n;
    return SCS_HOST_HEAD + n;
}

void scs_host_decoder_counts(const scs_decoder *d, uint32_t counts[4])
{
    counts[0] = d->frames;
    counts[1] = d->invalid_frames;
    counts[2] = d->discarded_bytes;
    counts[3] = d->len;
}

scs_result scs_host_encode_values(uint8_t type, uint8_t seq, const uint32_t *values, size_t n, uint8_t *out,
                                  size_t cap, size_t *out_len)
{
    scs_message m;
    scs_result r = scs_message_from_values(type, values, n, &m);
    if (r != SCS_OK) {
        return r;
    }
    return scs_encode(&m, seq, out, cap, out_len);
}
