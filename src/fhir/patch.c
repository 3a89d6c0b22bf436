/* patch.c - see patch.h. */
#include "fhir/patch.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"

/* How much of a user-supplied path or token is echoed in diagnostics. */
#define QUOTE_MAX 200

enum op_kind { OP_ADD, OP_REMOVE, OP_REPLACE, OP_MOVE, OP_COPY, OP_TEST };

static const struct {
    const char *name;
    bool needs_from;
    bool needs_value;
} op_table[] = {
    /* clang-format off */
    [OP_ADD]     = {"add",     false, true},
    [OP_REMOVE]  = {"remove",  false, false},
    [OP_REPLACE] = {"replace", false, true},
    [OP_MOVE]    = {"move",    true,  false},
    [OP_COPY]    = {"copy",    true,  false},
    [OP_TEST]    = {"test",    false, true},
    /* clang-format on */
};

typedef struct patch_op {
    enum op_kind kind;
    sv_str path;
    sv_str from;         /* move and copy only */
    const json_t *value; /* add, replace and test only; borrowed from the patch */
} patch_op;

typedef struct patch_run {
    json_t *root;                /* the working copy; owned; an op on "" may replace it */
    const json_t *resource_type; /* the original's resourceType, borrowed; NULL if none */
    size_t max_depth;
    size_t values_left;
    sv_buf token;       /* the reference token being looked at, unescaped */
    size_t token_start; /* where that token starts in the raw path */
    sv_buf diag;        /* what went wrong */
    const char *member; /* the member of the operation the failure is about */
} patch_run;

/* Appends 'text', cut at a UTF-8 boundary if long: the result goes into a JSON string. */
static void add_quoted(sv_buf *b, const char *text, size_t len)
{
    bool cut = len > QUOTE_MAX;
    if (cut) {
        len = QUOTE_MAX;
        while (len > 0 && ((unsigned char)text[len] & 0xC0) == 0x80)
            len--;
    }
    sv_buf_addc(b, '\'');
    sv_buf_add(b, text, len);
    sv_buf_adds(b, cut ? "...'" : "'");
}

static void add_quoted_str(sv_buf *b, sv_str s)
{
    add_quoted(b, s.ptr, s.len);
}

static size_t count_tokens(sv_str path)
{
    size_t n = 0;
    for (size_t i = 0; i < path.len; i++)
        n += path.ptr[i] == '/';
    return n;
}

/* End of the reference token starting at start: the next '/' or the end. */
static size_t token_end(sv_str path, size_t start)
{
    const char *slash = memchr(path.ptr + start, '/', path.len - start);
    return slash ? (size_t)(slash - path.ptr) : path.len;
}

/* The pointer syntax has been checked: every '~' is followed by '0' or '1'. */
static void token_unescape(const char *raw, size_t len, sv_buf *token)
{
    sv_buf_reset(token);
    for (size_t i = 0; i < len; i++) {
        if (raw[i] == '~') {
            sv_buf_addc(token, raw[i + 1] == '0' ? '~' : '/');
            i++;
        } else {
            sv_buf_addc(token, raw[i]);
        }
    }
}

/*
 * RFC 6901 array index: "0", or digits with no leading zero.  An index too
 * large for size_t comes back as SIZE_MAX, which no array reaches.
 */
static bool parse_index(const sv_buf *token, size_t *ret_index)
{
    if (token->len == 0 || (token->len > 1 && token->ptr[0] == '0'))
        return false;
    size_t index = 0;
    for (size_t i = 0; i < token->len; i++) {
        char c = token->ptr[i];
        if (c < '0' || c > '9')
            return false;
        size_t digit = (size_t)(c - '0');
        index = index > (SIZE_MAX - digit) / 10 ? SIZE_MAX : index * 10 + digit;
    }
    *ret_index = index;
    return true;
}

static bool token_is_dash(const sv_buf *token)
{
    return token->len == 1 && token->ptr[0] == '-';
}

static void diag_missing(patch_run *run, sv_str path, size_t end)
{
    sv_buf_adds(&run->diag, "path ");
    add_quoted_str(&run->diag, path);
    sv_buf_adds(&run->diag, " does not exist");
    if (end < path.len) {
        sv_buf_adds(&run->diag, ": ");
        add_quoted(&run->diag, path.ptr, end);
        sv_buf_adds(&run->diag, " not found");
    }
}

static void diag_not_container(patch_run *run, sv_str path, size_t prefix_len)
{
    sv_buf_adds(&run->diag, "path ");
    add_quoted_str(&run->diag, path);
    sv_buf_adds(&run->diag, " does not exist: ");
    add_quoted(&run->diag, path.ptr, prefix_len);
    sv_buf_adds(&run->diag, " is not an object or array");
}

static void diag_bad_index(patch_run *run, sv_str path, size_t start, size_t end)
{
    sv_buf_adds(&run->diag, "path ");
    add_quoted_str(&run->diag, path);
    sv_buf_adds(&run->diag, ": ");
    add_quoted(&run->diag, path.ptr + start, end - start);
    sv_buf_adds(&run->diag, " is not a valid array index");
}

static void diag_out_of_range(patch_run *run, sv_str path, size_t start, size_t end, size_t size)
{
    sv_buf_adds(&run->diag, "path ");
    add_quoted_str(&run->diag, path);
    sv_buf_adds(&run->diag, " does not exist: array index ");
    add_quoted(&run->diag, path.ptr + start, end - start);
    sv_buf_addf(&run->diag, " is out of range (array size %zu)", size);
}

/*
 * The existing element of cur named by run->token, which is path[start,end).
 * Returns NULL with run->diag set if there is none; for an array element
 * *ret_index is its index.
 */
static json_t *child(patch_run *run, json_t *cur, sv_str path, size_t start, size_t end,
                     size_t *ret_index)
{
    if (json_is_object(cur)) {
        json_t *v = json_object_getn(cur, run->token.ptr, run->token.len);
        if (!v)
            diag_missing(run, path, end);
        return v;
    }
    if (json_is_array(cur)) {
        size_t index;
        size_t size = json_array_size(cur);
        if (token_is_dash(&run->token)) {
            /* "-" names the element after the last one, which never exists. */
            diag_out_of_range(run, path, start, end, size);
            return NULL;
        }
        if (!parse_index(&run->token, &index)) {
            diag_bad_index(run, path, start, end);
            return NULL;
        }
        if (index >= size) {
            diag_out_of_range(run, path, start, end, size);
            return NULL;
        }
        *ret_index = index;
        return json_array_get(cur, index);
    }
    diag_not_container(run, path, start - 1);
    return NULL;
}

/*
 * Resolves path (a checked pointer) in run->root.  With parent_only it stops
 * before the last reference token, which it leaves in run->token and
 * run->token_start, and returns the value that should contain it (path must
 * not be empty then).  Returns NULL with run->diag set if a step is missing.
 */
static json_t *walk(patch_run *run, sv_str path, bool parent_only)
{
    json_t *cur = run->root;
    size_t pos = 0; /* at a '/' */
    while (pos < path.len) {
        size_t start = pos + 1;
        size_t end = token_end(path, start);
        size_t index;
        token_unescape(path.ptr + start, end - start, &run->token);
        run->token_start = start;
        if (parent_only && end == path.len)
            return cur;
        cur = child(run, cur, path, start, end, &index);
        if (!cur)
            return NULL;
        pos = end;
    }
    return cur;
}

/*
 * Checks a value about to be inserted at path against the limits.  The
 * recursion is bounded by depth_left, so a hostile value cannot exhaust the
 * stack here.
 */
static sv_err measure(const json_t *v, size_t depth_left, size_t *values_left)
{
    if (*values_left == 0)
        return SV_ERR_TOO_LARGE;
    (*values_left)--;
    if (json_is_object(v)) {
        if (depth_left == 0)
            return SV_ERR_TOO_DEEP;
        json_t *obj = (json_t *)v; /* jansson's iterators are not const */
        for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it)) {
            sv_err err = measure(json_object_iter_value(it), depth_left - 1, values_left);
            if (err != SV_OK)
                return err;
        }
    } else if (json_is_array(v)) {
        if (depth_left == 0)
            return SV_ERR_TOO_DEEP;
        for (size_t i = 0; i < json_array_size(v); i++) {
            sv_err err = measure(json_array_get(v, i), depth_left - 1, values_left);
            if (err != SV_OK)
                return err;
        }
    }
    return SV_OK;
}

/*
 * count_values: the values count against max_new_values (add, replace, copy).
 * check_depth: the value may end up deeper than before (all but some moves).
 */
static sv_err check_insert(patch_run *run, sv_str path, const json_t *value, bool count_values,
                           bool check_depth)
{
    if (!count_values && !check_depth)
        return SV_OK;
    /* A value at a path of k tokens sits inside k containers. */
    size_t k = count_tokens(path);
    size_t depth_left = !check_depth ? SIZE_MAX : k < run->max_depth ? run->max_depth - k : 0;
    size_t unlimited = SIZE_MAX;
    sv_err err = measure(value, depth_left, count_values ? &run->values_left : &unlimited);
    if (err == SV_ERR_TOO_DEEP) {
        sv_buf_adds(&run->diag, "path ");
        add_quoted_str(&run->diag, path);
        sv_buf_addf(&run->diag, ": the value would nest deeper than %zu levels", run->max_depth);
    } else if (err == SV_ERR_TOO_LARGE) {
        sv_buf_adds(&run->diag, "the patch creates too many json values");
    }
    return err;
}

/* Takes value (owned) as the new whole document. */
static sv_err set_root(patch_run *run, json_t *value, bool count_values, bool check_depth)
{
    sv_err err = SV_ERR_PROCESSING;
    if (!json_is_object(value)) {
        sv_buf_adds(&run->diag, "the whole document can only be replaced by an object");
        goto fail;
    }
    err = check_insert(run, (sv_str){"", 0}, value, count_values, check_depth);
    if (err != SV_OK)
        goto fail;
    json_decref(run->root);
    run->root = value;
    return SV_OK;
fail:
    json_decref(value);
    return err;
}

/* RFC 6902 4.1; value is owned (consumed on failure too). */
static sv_err op_add(patch_run *run, sv_str path, json_t *value, bool count_values,
                     bool check_depth)
{
    sv_err err = SV_ERR_PROCESSING;
    if (path.len == 0)
        return set_root(run, value, count_values, check_depth);
    json_t *parent = walk(run, path, true);
    if (!parent)
        goto fail;
    if (json_is_object(parent)) {
        err = check_insert(run, path, value, count_values, check_depth);
        if (err != SV_OK)
            goto fail;
        if (json_object_setn_new(parent, run->token.ptr, run->token.len, value) != 0)
            return SV_ERR_NOMEM;
        return SV_OK;
    }
    if (json_is_array(parent)) {
        size_t size = json_array_size(parent);
        size_t index = size;
        if (!token_is_dash(&run->token)) {
            if (!parse_index(&run->token, &index)) {
                diag_bad_index(run, path, run->token_start, path.len);
                goto fail;
            }
            if (index > size) {
                diag_out_of_range(run, path, run->token_start, path.len, size);
                goto fail;
            }
        }
        err = check_insert(run, path, value, count_values, check_depth);
        if (err != SV_OK)
            goto fail;
        if (json_array_insert_new(parent, index, value) != 0)
            return SV_ERR_NOMEM;
        return SV_OK;
    }
    diag_not_container(run, path, run->token_start - 1);
fail:
    json_decref(value);
    return err;
}

/* RFC 6902 4.2; with ret_removed the removed value is handed to the caller. */
static sv_err op_remove(patch_run *run, sv_str path, json_t **ret_removed)
{
    if (path.len == 0) {
        sv_buf_adds(&run->diag, "the whole document cannot be removed");
        return SV_ERR_PROCESSING;
    }
    json_t *parent = walk(run, path, true);
    if (!parent)
        return SV_ERR_PROCESSING;
    size_t index = 0;
    json_t *v = child(run, parent, path, run->token_start, path.len, &index);
    if (!v)
        return SV_ERR_PROCESSING;
    if (ret_removed)
        *ret_removed = json_incref(v);
    if (json_is_object(parent))
        json_object_deln(parent, run->token.ptr, run->token.len);
    else
        json_array_remove(parent, index);
    return SV_OK;
}

/* RFC 6902 4.3; value is owned (consumed on failure too). */
static sv_err op_replace(patch_run *run, sv_str path, json_t *value)
{
    sv_err err = SV_ERR_PROCESSING;
    if (path.len == 0)
        return set_root(run, value, true, true);
    json_t *parent = walk(run, path, true);
    if (!parent)
        goto fail;
    size_t index = 0;
    if (!child(run, parent, path, run->token_start, path.len, &index))
        goto fail;
    err = check_insert(run, path, value, true, true);
    if (err != SV_OK)
        goto fail;
    /* Setting an existing member keeps its place in the object. */
    if (json_is_object(parent)) {
        if (json_object_setn_new(parent, run->token.ptr, run->token.len, value) != 0)
            return SV_ERR_NOMEM;
    } else if (json_array_set_new(parent, index, value) != 0) {
        return SV_ERR_NOMEM;
    }
    return SV_OK;
fail:
    json_decref(value);
    return err;
}

static bool numbers_equal(const json_t *a, const json_t *b)
{
    if (json_is_integer(a) && json_is_integer(b))
        return json_integer_value(a) == json_integer_value(b);
    if (json_is_real(a) && json_is_real(b))
        return json_real_value(a) == json_real_value(b);
    json_int_t i = json_integer_value(json_is_integer(a) ? a : b);
    double r = json_real_value(json_is_real(a) ? a : b);
    /* Exact: a real is equal to an integer only if it is that integer, even beyond 2^53. */
    if (!(r >= -9223372036854775808.0 && r < 9223372036854775808.0))
        return false;
    json_int_t truncated = (json_int_t)r;
    return (double)truncated == r && truncated == i;
}

/* RFC 6902 4.6: like json_equal(), but numbers compare by value (1 == 1.0). */
static bool values_equal(const json_t *a, const json_t *b)
{
    if (json_is_number(a) && json_is_number(b))
        return numbers_equal(a, b);
    if (json_typeof(a) != json_typeof(b))
        return false;
    switch (json_typeof(a)) {
    case JSON_OBJECT: {
        if (json_object_size(a) != json_object_size(b))
            return false;
        json_t *obj = (json_t *)a; /* jansson's iterators are not const */
        for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it)) {
            const json_t *other =
                json_object_getn(b, json_object_iter_key(it), json_object_iter_key_len(it));
            if (!other || !values_equal(json_object_iter_value(it), other))
                return false;
        }
        return true;
    }
    case JSON_ARRAY:
        if (json_array_size(a) != json_array_size(b))
            return false;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!values_equal(json_array_get(a, i), json_array_get(b, i)))
                return false;
        return true;
    case JSON_STRING:
        return json_string_length(a) == json_string_length(b) &&
               memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) == 0;
    default:
        return true; /* true, false and null are each their own type */
    }
}

/* "from" is a proper prefix of "path" in the token sense (raw pointers are canonical). */
static bool is_proper_prefix(sv_str from, sv_str path)
{
    return from.len < path.len && memcmp(from.ptr, path.ptr, from.len) == 0 &&
           path.ptr[from.len] == '/';
}

static sv_err apply_op(patch_run *run, const patch_op *op)
{
    json_t *v;
    sv_err err;

    run->member = "path";
    switch (op->kind) {
    case OP_ADD:
    case OP_REPLACE:
        v = json_deep_copy(op->value);
        if (!v)
            return SV_ERR_NOMEM;
        return op->kind == OP_ADD ? op_add(run, op->path, v, true, true)
                                  : op_replace(run, op->path, v);
    case OP_REMOVE:
        return op_remove(run, op->path, NULL);
    case OP_MOVE:
        if (is_proper_prefix(op->from, op->path)) {
            sv_buf_adds(&run->diag, "cannot move ");
            add_quoted_str(&run->diag, op->from);
            sv_buf_adds(&run->diag, " into its own child ");
            add_quoted_str(&run->diag, op->path);
            return SV_ERR_PROCESSING;
        }
        run->member = "from";
        if (sv_str_eq(op->from, op->path)) /* a no-op; skipping it keeps member order */
            return walk(run, op->from, false) ? SV_OK : SV_ERR_PROCESSING;
        err = op_remove(run, op->from, &v);
        if (err != SV_OK)
            return err;
        run->member = "path";
        /* Moving up or sideways cannot nest the value deeper than it already was. */
        return op_add(run, op->path, v, false, count_tokens(op->path) > count_tokens(op->from));
    case OP_COPY:
        run->member = "from";
        v = walk(run, op->from, false);
        if (!v)
            return SV_ERR_PROCESSING;
        v = json_deep_copy(v);
        if (!v)
            return SV_ERR_NOMEM;
        run->member = "path";
        return op_add(run, op->path, v, true, true);
    case OP_TEST:
        v = walk(run, op->path, false);
        if (!v)
            return SV_ERR_PROCESSING;
        if (!values_equal(v, op->value)) {
            run->member = "value";
            sv_buf_adds(&run->diag, "test failed: the value at path ");
            add_quoted_str(&run->diag, op->path);
            sv_buf_adds(&run->diag, " differs");
            return SV_ERR_PROCESSING;
        }
        return SV_OK;
    }
    return SV_ERR_INTERNAL;
}

/* Reads the JSON Pointer member name of an operation and checks its syntax (RFC 6901 3). */
static sv_err parse_pointer(const json_t *item, const char *name, sv_str *ret_pointer, sv_buf *diag)
{
    const json_t *v = json_object_get(item, name);
    if (!v) {
        sv_buf_addf(diag, "missing '%s'", name);
        return SV_ERR_INVALID;
    }
    if (!json_is_string(v)) {
        sv_buf_addf(diag, "'%s' must be a string", name);
        return SV_ERR_INVALID;
    }
    sv_str p = {json_string_value(v), json_string_length(v)};
    if (p.len > 0 && p.ptr[0] != '/') {
        sv_buf_addf(diag, "%s ", name);
        add_quoted_str(diag, p);
        sv_buf_adds(diag, " is not a json pointer: it must be empty or start with '/'");
        return SV_ERR_INVALID;
    }
    for (size_t i = 0; i < p.len; i++) {
        if (p.ptr[i] == '~' && (i + 1 == p.len || (p.ptr[i + 1] != '0' && p.ptr[i + 1] != '1'))) {
            sv_buf_addf(diag, "%s ", name);
            add_quoted_str(diag, p);
            sv_buf_adds(diag, " is not a json pointer: '~' must be followed by '0' or '1'");
            return SV_ERR_INVALID;
        }
    }
    *ret_pointer = p;
    return SV_OK;
}

/* RFC 6902 section 4: members an operation does not use are ignored. */
static sv_err parse_op(const json_t *item, patch_op *op, const char **ret_member, sv_buf *diag)
{
    sv_err err;
    *ret_member = NULL;
    if (!json_is_object(item)) {
        sv_buf_adds(diag, "an operation must be a json object");
        return SV_ERR_INVALID;
    }

    *ret_member = "op";
    const json_t *name = json_object_get(item, "op");
    if (!name) {
        sv_buf_adds(diag, "missing 'op'");
        return SV_ERR_INVALID;
    }
    if (!json_is_string(name)) {
        sv_buf_adds(diag, "'op' must be a string");
        return SV_ERR_INVALID;
    }
    size_t kind = 0;
    while (kind < sizeof(op_table) / sizeof(op_table[0]) &&
           !(strlen(op_table[kind].name) == json_string_length(name) &&
             strcmp(op_table[kind].name, json_string_value(name)) == 0))
        kind++;
    if (kind == sizeof(op_table) / sizeof(op_table[0])) {
        sv_buf_adds(diag, "unknown operation ");
        add_quoted(diag, json_string_value(name), json_string_length(name));
        return SV_ERR_INVALID;
    }
    op->kind = (enum op_kind)kind;

    *ret_member = "path";
    err = parse_pointer(item, "path", &op->path, diag);
    if (err != SV_OK)
        return err;
    if (op_table[kind].needs_from) {
        *ret_member = "from";
        err = parse_pointer(item, "from", &op->from, diag);
        if (err != SV_OK)
            return err;
    }
    if (op_table[kind].needs_value) {
        *ret_member = "value";
        op->value = json_object_get(item, "value");
        if (!op->value) {
            sv_buf_adds(diag, "missing 'value'");
            return SV_ERR_INVALID;
        }
    }
    return SV_OK;
}

static void report(sv_outcome *out, sv_err err, const char *expression, const char *diag)
{
    if (out)
        sv_outcome_add_err(out, err, expression, diag);
}

static void report_op(sv_outcome *out, sv_err err, size_t index, const char *member,
                      const char *diag)
{
    sv_buf expression = SV_BUF_INIT;
    sv_buf_addf(&expression, "patch[%zu]", index);
    if (member)
        sv_buf_addf(&expression, ".%s", member);
    report(out, err, expression.ptr, diag);
    sv_buf_release(&expression);
}

static bool resource_type_kept(const patch_run *run)
{
    const json_t *now = json_object_get(run->root, "resourceType");
    if (!now || !run->resource_type)
        return now == run->resource_type;
    return json_equal(now, run->resource_type);
}

sv_err sv_json_patch_apply_limited(json_t *doc, const json_t *patch, const sv_patch_limits *limits,
                                   sv_outcome *out)
{
    sv_err err = SV_OK;
    patch_op *ops = NULL;
    patch_run run = {.token = SV_BUF_INIT, .diag = SV_BUF_INIT};
    static const sv_patch_limits defaults = SV_PATCH_LIMITS_DEFAULT;
    if (!limits)
        limits = &defaults;

    if (!json_is_object(doc)) {
        report(out, SV_ERR_INTERNAL, NULL, "the document to patch is not a json object");
        return SV_ERR_INTERNAL;
    }
    if (!json_is_array(patch)) {
        report(out, SV_ERR_INVALID, "patch", "a json patch must be an array of operations");
        return SV_ERR_INVALID;
    }
    size_t n = json_array_size(patch);
    if (n > limits->max_operations) {
        sv_buf_addf(&run.diag, "the patch has %zu operations, more than the limit of %zu", n,
                    limits->max_operations);
        report(out, SV_ERR_TOO_LARGE, "patch", run.diag.ptr);
        err = SV_ERR_TOO_LARGE;
        goto cleanup;
    }

    /* Check every operation first, so that a malformed patch is always a 400. */
    ops = calloc(n ? n : 1, sizeof(*ops));
    if (!ops) {
        err = SV_ERR_NOMEM;
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++) {
        const char *member;
        err = parse_op(json_array_get(patch, i), &ops[i], &member, &run.diag);
        if (err != SV_OK) {
            report_op(out, err, i, member, run.diag.ptr);
            goto cleanup;
        }
    }

    run.root = json_deep_copy(doc);
    if (!run.root) {
        err = SV_ERR_NOMEM;
        goto cleanup;
    }
    run.resource_type = json_object_get(doc, "resourceType");
    run.max_depth = limits->max_depth;
    run.values_left = limits->max_new_values;
    for (size_t i = 0; i < n; i++) {
        err = apply_op(&run, &ops[i]);
        if (err == SV_OK && !resource_type_kept(&run)) {
            bool at_path = ops[i].path.len == 0 || sv_str_eqs(ops[i].path, "/resourceType");
            run.member = ops[i].kind == OP_MOVE && !at_path ? "from" : "path";
            sv_buf_adds(&run.diag, "a patch must not change or remove 'resourceType'");
            err = SV_ERR_PROCESSING;
        }
        if (err != SV_OK) {
            report_op(out, err, i, run.member, run.diag.len ? run.diag.ptr : NULL);
            goto cleanup;
        }
    }

    /* Swap in: doc keeps its identity (the caller's references stay valid). */
    json_object_clear(doc);
    if (json_object_update(doc, run.root) != 0)
        err = SV_ERR_NOMEM;
cleanup:
    json_decref(run.root);
    free(ops);
    sv_buf_release(&run.token);
    sv_buf_release(&run.diag);
    return err;
}

sv_err sv_json_patch_apply(json_t *doc, const json_t *patch, sv_outcome *out)
{
    return sv_json_patch_apply_limited(doc, patch, NULL, out);
}
