/* base64.c - see base64.h. */
#include "base/base64.h"

#include <sodium.h>
#include <string.h>

int sv_base64_decode(const char *text, unsigned char *out, size_t cap, size_t *ret_len)
{
    const char *end = NULL;
    size_t len = 0;
    if (sodium_base642bin(out, cap, text, strlen(text), " \r\n\t", &len, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0)
        return -1;
    if (end && *end)
        return -1;
    *ret_len = len;
    return 0;
}
