/*
 * base64.h - standard base64 (RFC 4648) decoding, for Binary and Attachment data.
 * Depends on libsodium.
 */
#ifndef SV_BASE_BASE64_H
#define SV_BASE_BASE64_H

#include <stddef.h>

/* Decodes text into out (cap bytes); returns 0 on success, -1 on bad input. */
int sv_base64_decode(const char *text, unsigned char *out, size_t cap, size_t *ret_len);

#endif
