/*
 * demo.h - `samverka demo` (demo.c): the demo data and logins.  Used by main.c only.
 */
#ifndef SV_DEMO_H
#define SV_DEMO_H

#include "fhir/rest.h"

/* Loads DATA_DIR/demo/{organizations,practitioners,citizens,stories}.json and
 * adds the logins of users.json, printing them; 0 on success, 1 otherwise. */
int sv_demo_run(sv_rest *rest, const char *data_dir);

#endif
