/*
 * error.h - the one error enum of samverka.
 *
 * Append-only: never renumber.  Each code maps (in error.c, one table) to an
 * HTTP status and a FHIR OperationOutcome issue code (curl's CURLcode, nginx's
 * status table).  Details travel separately in an optional sv_buf *reterr:
 * lowercase, what failed first, user values in quotes (git).
 * Depends only on libc.
 */
#ifndef SV_BASE_ERROR_H
#define SV_BASE_ERROR_H

typedef enum sv_err {
    SV_OK = 0,
    SV_ERR_NOMEM = 1,           /* 500 exception */
    SV_ERR_INTERNAL = 2,        /* 500 exception: a bug or an unexpected state */
    SV_ERR_IO = 3,              /* 500 exception: disk or database failure */
    SV_ERR_BUSY = 4,            /* 503 transient: database locked past the busy timeout */
    SV_ERR_PARSE = 5,           /* 400 structure: malformed JSON or syntax */
    SV_ERR_INVALID = 6,         /* 400 invalid: bad request parameter or shape */
    SV_ERR_PROCESSING = 7,      /* 422 processing: resource fails validation */
    SV_ERR_NOT_FOUND = 8,       /* 404 not-found */
    SV_ERR_GONE = 9,            /* 410 deleted */
    SV_ERR_CONFLICT = 10,       /* 409 conflict */
    SV_ERR_PRECONDITION = 11,   /* 412 conflict: If-Match / conditional mismatch */
    SV_ERR_METHOD = 12,         /* 405 not-supported */
    SV_ERR_MEDIA_TYPE = 13,     /* 415 not-supported */
    SV_ERR_TOO_LARGE = 14,      /* 413 too-long */
    SV_ERR_TOO_DEEP = 15,       /* 400 too-costly: nesting beyond the limit */
    SV_ERR_UNSUPPORTED = 16,    /* 501 not-supported: valid FHIR we do not do */
    SV_ERR_MULTIPLE = 17,       /* 412 multiple-matches: conditional matched several */
    SV_ERR_FORBIDDEN = 18,      /* 403 forbidden */
    SV_ERR_UNAUTHORIZED = 19,   /* 401 login */
    SV_ERR_NOT_ACCEPTABLE = 20, /* 406 not-supported */
    SV_ERR_TOO_MANY = 21,       /* 429 throttled */
    SV_ERR__COUNT
} sv_err;

const char *sv_strerror(sv_err e);
int sv_err_http_status(sv_err e);
/* The OperationOutcome.issue.code value for e (a code of IssueType). */
const char *sv_err_issue_code(sv_err e);

#endif
