/* version.h - the samverka version, one place. */
#ifndef SV_BASE_VERSION_H
#define SV_BASE_VERSION_H

#define SV_VERSION "0.1.0"

#endif
