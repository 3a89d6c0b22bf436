/*
 * static_files.h - serves the web app (web/) at "/" from the same process
 * (docs/web.md).  Shared between the files of api/ only.
 */
#ifndef SV_API_STATIC_FILES_H
#define SV_API_STATIC_FILES_H

#include <stdbool.h>
#include <stddef.h>

#include "http/server.h"

/* Answers GET/HEAD of web_dir's file named by the decoded path segments (none:
 * index.html); 404 OperationOutcome for anything not served. */
void sv__api_static(const char *web_dir, const sv_http_request *req, sv_http_response *res,
                    const char *const *segs, size_t n);
/* The Content-Type for a file name by its extension; NULL: not served. */
const char *sv__api_static_type(const char *name);
/* True when one decoded path segment may name a file or folder of the app. */
bool sv__api_static_segment_ok(const char *segment);

#endif
