/*
 * id.h - identifiers: new resource ids (UUIDs) and the FHIR id syntax check.
 * Depends on libsodium for randomness.
 */
#ifndef SV_BASE_ID_H
#define SV_BASE_ID_H

#include <stdbool.h>
#include <stddef.h>

#define SV_UUID_LEN 37 /* 36 characters and NUL */

/* A random (version 4) UUID in lowercase, e.g. "1b4e28ba-2fa1-4d2e-883f-0016d3cca427". */
void sv_id_uuid(char out[SV_UUID_LEN]);
/* FHIR id: [A-Za-z0-9\-\.]{1,64} */
bool sv_id_valid(const char *s, size_t len);

#endif
