/*
 * test_patch.c - unit tests for fhir/patch: RFC 6902 Appendix A, RFC 6901
 * pointers, malformed patches (400), failing operations (422), atomicity and
 * limits.  Cases are data: one cmocka test per row of the table.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "fhir/patch.h"

typedef struct patch_case {
    const char *name;
    const char *doc;
    const char *patch;
    sv_err err;
    const char *result;     /* on success: the document, compact; NULL: unchanged */
    const char *expression; /* on failure: the issue's expression */
    const char *diag;       /* on failure: a substring of the diagnostics, or NULL */
} patch_case;

#define OK(name, doc, patch, result)                                                               \
    {                                                                                              \
        name, doc, patch, SV_OK, result, NULL, NULL                                                \
    }
#define FAIL(name, doc, patch, err, expression, diag)                                              \
    {                                                                                              \
        name, doc, patch, err, NULL, expression, diag                                              \
    }

/* RFC 6901 section 5 example document. */
#define RFC6901_DOC                                                                                \
    "{\"foo\":[\"bar\",\"baz\"],\"\":0,\"a/b\":1,\"c%d\":2,\"e^f\":3,\"g|h\":4,\"i\\\\j\":5,"      \
    "\"k\\\"l\":6,\" \":7,\"m~n\":8}"

static const patch_case cases[] = {
    /* RFC 6902 Appendix A.  Added members go last (jansson keeps insertion order). */
    OK("a1_add_object_member", "{\"foo\":\"bar\"}",
       "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\"}]",
       "{\"foo\":\"bar\",\"baz\":\"qux\"}"),
    OK("a2_add_array_element", "{\"foo\":[\"bar\",\"baz\"]}",
       "[{\"op\":\"add\",\"path\":\"/foo/1\",\"value\":\"qux\"}]",
       "{\"foo\":[\"bar\",\"qux\",\"baz\"]}"),
    OK("a3_remove_object_member", "{\"baz\":\"qux\",\"foo\":\"bar\"}",
       "[{\"op\":\"remove\",\"path\":\"/baz\"}]", "{\"foo\":\"bar\"}"),
    OK("a4_remove_array_element", "{\"foo\":[\"bar\",\"qux\",\"baz\"]}",
       "[{\"op\":\"remove\",\"path\":\"/foo/1\"}]", "{\"foo\":[\"bar\",\"baz\"]}"),
    OK("a5_replace_value", "{\"baz\":\"qux\",\"foo\":\"bar\"}",
       "[{\"op\":\"replace\",\"path\":\"/baz\",\"value\":\"boo\"}]",
       "{\"baz\":\"boo\",\"foo\":\"bar\"}"),
    OK("a6_move_value",
       "{\"foo\":{\"bar\":\"baz\",\"waldo\":\"fred\"},\"qux\":{\"corge\":\"grault\"}}",
       "[{\"op\":\"move\",\"from\":\"/foo/waldo\",\"path\":\"/qux/thud\"}]",
       "{\"foo\":{\"bar\":\"baz\"},\"qux\":{\"corge\":\"grault\",\"thud\":\"fred\"}}"),
    OK("a7_move_array_element", "{\"foo\":[\"all\",\"grass\",\"cows\",\"eat\"]}",
       "[{\"op\":\"move\",\"from\":\"/foo/1\",\"path\":\"/foo/3\"}]",
       "{\"foo\":[\"all\",\"cows\",\"eat\",\"grass\"]}"),
    OK("a8_test_success", "{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}",
       "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"qux\"},"
       "{\"op\":\"test\",\"path\":\"/foo/1\",\"value\":2}]",
       NULL),
    FAIL("a9_test_error", "{\"baz\":\"qux\"}",
         "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"bar\"}]", SV_ERR_PROCESSING,
         "patch[0].value", "test failed: the value at path '/baz' differs"),
    OK("a10_add_nested_member_object", "{\"foo\":\"bar\"}",
       "[{\"op\":\"add\",\"path\":\"/child\",\"value\":{\"grandchild\":{}}}]",
       "{\"foo\":\"bar\",\"child\":{\"grandchild\":{}}}"),
    OK("a11_ignore_unrecognized_members", "{\"foo\":\"bar\"}",
       "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\",\"xyz\":123}]",
       "{\"foo\":\"bar\",\"baz\":\"qux\"}"),
    FAIL("a12_add_to_nonexistent_target", "{\"foo\":\"bar\"}",
         "[{\"op\":\"add\",\"path\":\"/baz/bat\",\"value\":\"qux\"}]", SV_ERR_PROCESSING,
         "patch[0].path", "path '/baz/bat' does not exist: '/baz' not found"),
    /* A.13 (duplicate "op") is refused by the parser: see test_a13_duplicate_member. */
    OK("a14_escape_ordering", "{\"/\":9,\"~1\":10}",
       "[{\"op\":\"test\",\"path\":\"/~01\",\"value\":10}]", NULL),
    FAIL("a15_string_is_not_number", "{\"/\":9,\"~1\":10}",
         "[{\"op\":\"test\",\"path\":\"/~01\",\"value\":\"10\"}]", SV_ERR_PROCESSING,
         "patch[0].value", NULL),
    OK("a16_add_array_value", "{\"foo\":[\"bar\"]}",
       "[{\"op\":\"add\",\"path\":\"/foo/-\",\"value\":[\"abc\",\"def\"]}]",
       "{\"foo\":[\"bar\",[\"abc\",\"def\"]]}"),

    /* RFC 6901 section 5, every pointer of the example. */
    OK("rfc6901_pointers", RFC6901_DOC,
       "[{\"op\":\"test\",\"path\":\"\",\"value\":" RFC6901_DOC "},"
       "{\"op\":\"test\",\"path\":\"/foo\",\"value\":[\"bar\",\"baz\"]},"
       "{\"op\":\"test\",\"path\":\"/foo/0\",\"value\":\"bar\"},"
       "{\"op\":\"test\",\"path\":\"/\",\"value\":0},"
       "{\"op\":\"test\",\"path\":\"/a~1b\",\"value\":1},"
       "{\"op\":\"test\",\"path\":\"/c%d\",\"value\":2},"
       "{\"op\":\"test\",\"path\":\"/e^f\",\"value\":3},"
       "{\"op\":\"test\",\"path\":\"/g|h\",\"value\":4},"
       "{\"op\":\"test\",\"path\":\"/i\\\\j\",\"value\":5},"
       "{\"op\":\"test\",\"path\":\"/k\\\"l\",\"value\":6},"
       "{\"op\":\"test\",\"path\":\"/ \",\"value\":7},"
       "{\"op\":\"test\",\"path\":\"/m~0n\",\"value\":8}]",
       NULL),

    /* More successes. */
    OK("empty_patch", "{\"a\":1}", "[]", NULL),
    OK("add_existing_member_replaces_in_place", "{\"a\":1,\"b\":2}",
       "[{\"op\":\"add\",\"path\":\"/a\",\"value\":3}]", "{\"a\":3,\"b\":2}"),
    OK("add_at_index_equal_to_size_appends", "{\"a\":[1]}",
       "[{\"op\":\"add\",\"path\":\"/a/1\",\"value\":2}]", "{\"a\":[1,2]}"),
    OK("add_escaped_member_names", "{\"x\":1}",
       "[{\"op\":\"add\",\"path\":\"/a~1b\",\"value\":1},{\"op\":\"add\",\"path\":\"/~0\","
       "\"value\":2},{\"op\":\"add\",\"path\":\"/\",\"value\":3}]",
       "{\"x\":1,\"a/b\":1,\"~\":2,\"\":3}"),
    OK("replace_whole_document", "{\"resourceType\":\"Patient\",\"id\":\"1\"}",
       "[{\"op\":\"replace\",\"path\":\"\",\"value\":{\"resourceType\":\"Patient\",\"active\":true}"
       "}]",
       "{\"resourceType\":\"Patient\",\"active\":true}"),
    OK("add_whole_document", "{\"resourceType\":\"Patient\"}",
       "[{\"op\":\"add\",\"path\":\"\",\"value\":{\"resourceType\":\"Patient\",\"id\":\"2\"}}]",
       "{\"resourceType\":\"Patient\",\"id\":\"2\"}"),
    OK("copy_is_independent", "{\"a\":{\"x\":1}}",
       "[{\"op\":\"copy\",\"from\":\"/a\",\"path\":\"/b\"},"
       "{\"op\":\"replace\",\"path\":\"/b/x\",\"value\":2}]",
       "{\"a\":{\"x\":1},\"b\":{\"x\":2}}"),
    OK("copy_into_own_child", "{\"a\":{\"x\":1}}",
       "[{\"op\":\"copy\",\"from\":\"/a\",\"path\":\"/a/y\"}]",
       "{\"a\":{\"x\":1,\"y\":{\"x\":1}}}"),
    OK("move_to_end_with_dash", "{\"a\":[1,2,3]}",
       "[{\"op\":\"move\",\"from\":\"/a/0\",\"path\":\"/a/-\"}]", "{\"a\":[2,3,1]}"),
    OK("move_to_same_place", "{\"a\":1,\"b\":2}",
       "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a\"}]", "{\"a\":1,\"b\":2}"),
    FAIL("move_to_same_missing_place", "{\"a\":1}",
         "[{\"op\":\"move\",\"from\":\"/b\",\"path\":\"/b\"}]", SV_ERR_PROCESSING, "patch[0].from",
         NULL),
    OK("move_up_replaces_parent", "{\"a\":{\"b\":{\"c\":1}}}",
       "[{\"op\":\"move\",\"from\":\"/a/b\",\"path\":\"/a\"}]", "{\"a\":{\"c\":1}}"),
    OK("test_numbers_by_value", "{\"a\":1,\"b\":2.5,\"c\":[1.0]}",
       "[{\"op\":\"test\",\"path\":\"/a\",\"value\":1.0},{\"op\":\"test\",\"path\":\"/b\","
       "\"value\":25e-1},{\"op\":\"test\",\"path\":\"/c\",\"value\":[1]}]",
       NULL),
    OK("test_objects_ignore_member_order", "{\"a\":{\"x\":1,\"y\":[null,true,false]}}",
       "[{\"op\":\"test\",\"path\":\"/a\",\"value\":{\"y\":[null,true,false],\"x\":1}}]", NULL),
    OK("resource_type_replaced_by_same_value", "{\"resourceType\":\"Patient\",\"id\":\"1\"}",
       "[{\"op\":\"replace\",\"path\":\"/resourceType\",\"value\":\"Patient\"},"
       "{\"op\":\"replace\",\"path\":\"/id\",\"value\":\"2\"}]",
       "{\"resourceType\":\"Patient\",\"id\":\"2\"}"),
    OK("fhir_patient_example",
       "{\"resourceType\":\"Patient\",\"id\":\"p1\",\"name\":[{\"family\":\"Doe\",\"given\":["
       "\"Jane\"]}],\"active\":false}",
       "[{\"op\":\"test\",\"path\":\"/name/0/family\",\"value\":\"Doe\"},"
       "{\"op\":\"add\",\"path\":\"/name/0/given/-\",\"value\":\"Q\"},"
       "{\"op\":\"replace\",\"path\":\"/active\",\"value\":true},"
       "{\"op\":\"add\",\"path\":\"/"
       "telecom\",\"value\":[{\"system\":\"phone\",\"value\":\"555\"}]}]",
       "{\"resourceType\":\"Patient\",\"id\":\"p1\",\"name\":[{\"family\":\"Doe\",\"given\":["
       "\"Jane\",\"Q\"]}],\"active\":true,"
       "\"telecom\":[{\"system\":\"phone\",\"value\":\"555\"}]}"),

    /* Malformed patch documents: 400, checked before anything runs. */
    FAIL("patch_not_an_array", "{\"a\":1}", "{\"op\":\"remove\",\"path\":\"/a\"}", SV_ERR_INVALID,
         "patch", "must be an array"),
    FAIL("operation_not_an_object", "{\"a\":1}", "[1]", SV_ERR_INVALID, "patch[0]",
         "an operation must be a json object"),
    FAIL("missing_op", "{\"a\":1}", "[{\"path\":\"/a\"}]", SV_ERR_INVALID, "patch[0].op",
         "missing 'op'"),
    FAIL("op_not_a_string", "{\"a\":1}", "[{\"op\":1,\"path\":\"/a\"}]", SV_ERR_INVALID,
         "patch[0].op", "'op' must be a string"),
    FAIL("unknown_op", "{\"a\":1}", "[{\"op\":\"frob\",\"path\":\"/a\"}]", SV_ERR_INVALID,
         "patch[0].op", "unknown operation 'frob'"),
    FAIL("op_is_case_sensitive", "{\"a\":1}", "[{\"op\":\"Remove\",\"path\":\"/a\"}]",
         SV_ERR_INVALID, "patch[0].op", NULL),
    FAIL("missing_path", "{\"a\":1}", "[{\"op\":\"remove\"}]", SV_ERR_INVALID, "patch[0].path",
         "missing 'path'"),
    FAIL("path_not_a_string", "{\"a\":1}", "[{\"op\":\"remove\",\"path\":[\"a\"]}]", SV_ERR_INVALID,
         "patch[0].path", "'path' must be a string"),
    FAIL("path_without_leading_slash", "{\"a\":1}", "[{\"op\":\"remove\",\"path\":\"a\"}]",
         SV_ERR_INVALID, "patch[0].path", "path 'a' is not a json pointer"),
    FAIL("path_bad_escape", "{\"a~2\":1}", "[{\"op\":\"remove\",\"path\":\"/a~2\"}]",
         SV_ERR_INVALID, "patch[0].path", "'~' must be followed by '0' or '1'"),
    FAIL("path_trailing_tilde", "{\"a\":1}", "[{\"op\":\"remove\",\"path\":\"/a~\"}]",
         SV_ERR_INVALID, "patch[0].path", NULL),
    FAIL("add_missing_value", "{\"a\":1}", "[{\"op\":\"add\",\"path\":\"/b\"}]", SV_ERR_INVALID,
         "patch[0].value", "missing 'value'"),
    FAIL("replace_missing_value", "{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"/a\"}]",
         SV_ERR_INVALID, "patch[0].value", NULL),
    FAIL("test_missing_value", "{\"a\":1}", "[{\"op\":\"test\",\"path\":\"/a\"}]", SV_ERR_INVALID,
         "patch[0].value", NULL),
    FAIL("move_missing_from", "{\"a\":1}", "[{\"op\":\"move\",\"path\":\"/b\"}]", SV_ERR_INVALID,
         "patch[0].from", "missing 'from'"),
    FAIL("copy_bad_from", "{\"a\":1}", "[{\"op\":\"copy\",\"from\":\"a\",\"path\":\"/b\"}]",
         SV_ERR_INVALID, "patch[0].from", "from 'a' is not a json pointer"),
    FAIL("malformed_after_failing_op_is_still_400", "{\"a\":1}",
         "[{\"op\":\"remove\",\"path\":\"/nope\"},{\"op\":\"bogus\",\"path\":\"/a\"}]",
         SV_ERR_INVALID, "patch[1].op", NULL),

    /* Well-formed operations that cannot be applied: 422. */
    FAIL("remove_missing_member", "{\"a\":1}", "[{\"op\":\"remove\",\"path\":\"/b\"}]",
         SV_ERR_PROCESSING, "patch[0].path", "path '/b' does not exist"),
    FAIL("replace_missing_member", "{\"a\":1}",
         "[{\"op\":\"replace\",\"path\":\"/b\",\"value\":1}]", SV_ERR_PROCESSING, "patch[0].path",
         "path '/b' does not exist"),
    FAIL("remove_index_out_of_range", "{\"foo\":[1,2]}",
         "[{\"op\":\"remove\",\"path\":\"/foo/2\"}]", SV_ERR_PROCESSING, "patch[0].path",
         "array index '2' is out of range (array size 2)"),
    FAIL("add_index_past_end", "{\"foo\":[1,2]}",
         "[{\"op\":\"add\",\"path\":\"/foo/3\",\"value\":0}]", SV_ERR_PROCESSING, "patch[0].path",
         "out of range (array size 2)"),
    FAIL("index_with_leading_zero", "{\"foo\":[1,2]}",
         "[{\"op\":\"replace\",\"path\":\"/foo/01\",\"value\":0}]", SV_ERR_PROCESSING,
         "patch[0].path", "'01' is not a valid array index"),
    FAIL("add_index_with_leading_zero", "{\"foo\":[1,2]}",
         "[{\"op\":\"add\",\"path\":\"/foo/00\",\"value\":0}]", SV_ERR_PROCESSING, "patch[0].path",
         "'00' is not a valid array index"),
    FAIL("negative_index", "{\"foo\":[1,2]}", "[{\"op\":\"remove\",\"path\":\"/foo/-1\"}]",
         SV_ERR_PROCESSING, "patch[0].path", "'-1' is not a valid array index"),
    FAIL("index_with_sign", "{\"foo\":[1,2]}", "[{\"op\":\"remove\",\"path\":\"/foo/+1\"}]",
         SV_ERR_PROCESSING, "patch[0].path", NULL),
    FAIL("empty_index", "{\"foo\":[1,2]}", "[{\"op\":\"remove\",\"path\":\"/foo/\"}]",
         SV_ERR_PROCESSING, "patch[0].path", NULL),
    FAIL("dash_for_remove", "{\"foo\":[1,2]}", "[{\"op\":\"remove\",\"path\":\"/foo/-\"}]",
         SV_ERR_PROCESSING, "patch[0].path", NULL),
    FAIL("dash_in_the_middle", "{\"foo\":[{\"a\":1}]}",
         "[{\"op\":\"add\",\"path\":\"/foo/-/a\",\"value\":1}]", SV_ERR_PROCESSING, "patch[0].path",
         NULL),
    FAIL("huge_index", "{\"foo\":[1,2]}",
         "[{\"op\":\"remove\",\"path\":\"/foo/99999999999999999999999999\"}]", SV_ERR_PROCESSING,
         "patch[0].path", "out of range"),
    FAIL("through_a_scalar", "{\"foo\":[\"bar\"]}",
         "[{\"op\":\"add\",\"path\":\"/foo/0/x\",\"value\":1}]", SV_ERR_PROCESSING, "patch[0].path",
         "path '/foo/0/x' does not exist: '/foo/0' is not an object or array"),
    FAIL("deep_through_a_scalar", "{\"foo\":\"bar\"}",
         "[{\"op\":\"remove\",\"path\":\"/foo/x/y\"}]", SV_ERR_PROCESSING, "patch[0].path",
         "'/foo' is not an object or array"),
    FAIL("test_missing_path", "{\"a\":1}", "[{\"op\":\"test\",\"path\":\"/b\",\"value\":1}]",
         SV_ERR_PROCESSING, "patch[0].path", "path '/b' does not exist"),
    FAIL("test_integer_is_not_fraction", "{\"a\":1}",
         "[{\"op\":\"test\",\"path\":\"/a\",\"value\":1.5}]", SV_ERR_PROCESSING, "patch[0].value",
         NULL),
    FAIL("test_big_integer_is_not_nearby_real", "{\"a\":9007199254740993}",
         "[{\"op\":\"test\",\"path\":\"/a\",\"value\":9007199254740992.0}]", SV_ERR_PROCESSING,
         "patch[0].value", NULL),
    FAIL("test_null_is_not_false", "{\"a\":null}",
         "[{\"op\":\"test\",\"path\":\"/a\",\"value\":false}]", SV_ERR_PROCESSING, "patch[0].value",
         NULL),
    FAIL("test_extra_member", "{\"a\":{\"x\":1}}",
         "[{\"op\":\"test\",\"path\":\"/a\",\"value\":{\"x\":1,\"y\":2}}]", SV_ERR_PROCESSING,
         "patch[0].value", NULL),
    FAIL("move_into_own_child", "{\"a\":{\"b\":1}}",
         "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a/c\"}]", SV_ERR_PROCESSING,
         "patch[0].path", "cannot move '/a' into its own child '/a/c'"),
    FAIL("move_missing_source", "{\"a\":1}", "[{\"op\":\"move\",\"from\":\"/b\",\"path\":\"/c\"}]",
         SV_ERR_PROCESSING, "patch[0].from", "path '/b' does not exist"),
    FAIL("copy_missing_source", "{\"a\":1}", "[{\"op\":\"copy\",\"from\":\"/b\",\"path\":\"/c\"}]",
         SV_ERR_PROCESSING, "patch[0].from", "path '/b' does not exist"),
    FAIL("copy_to_missing_parent", "{\"a\":1}",
         "[{\"op\":\"copy\",\"from\":\"/a\",\"path\":\"/x/y\"}]", SV_ERR_PROCESSING,
         "patch[0].path", NULL),
    FAIL("remove_whole_document", "{\"a\":1}", "[{\"op\":\"remove\",\"path\":\"\"}]",
         SV_ERR_PROCESSING, "patch[0].path", "the whole document cannot be removed"),
    FAIL("replace_document_by_array", "{\"a\":1}",
         "[{\"op\":\"replace\",\"path\":\"\",\"value\":[]}]", SV_ERR_PROCESSING, "patch[0].path",
         "can only be replaced by an object"),

    /* Atomicity: a failure after successful operations leaves the document as it was. */
    FAIL("atomic_after_changes", "{\"resourceType\":\"Patient\",\"foo\":[\"a\"],\"b\":{\"c\":1}}",
         "[{\"op\":\"add\",\"path\":\"/x\",\"value\":1},"
         "{\"op\":\"replace\",\"path\":\"/foo/0\",\"value\":\"z\"},"
         "{\"op\":\"remove\",\"path\":\"/b/c\"},"
         "{\"op\":\"move\",\"from\":\"/foo\",\"path\":\"/bar\"},"
         "{\"op\":\"remove\",\"path\":\"/nope\"}]",
         SV_ERR_PROCESSING, "patch[4].path", "path '/nope' does not exist"),
    FAIL("atomic_after_document_replaced", "{\"resourceType\":\"Patient\",\"a\":1}",
         "[{\"op\":\"replace\",\"path\":\"\",\"value\":{\"resourceType\":\"Patient\"}},"
         "{\"op\":\"test\",\"path\":\"/a\",\"value\":1}]",
         SV_ERR_PROCESSING, "patch[1].path", NULL),

    /* resourceType is off limits. */
    FAIL("replace_resource_type", "{\"resourceType\":\"Patient\"}",
         "[{\"op\":\"replace\",\"path\":\"/resourceType\",\"value\":\"Observation\"}]",
         SV_ERR_PROCESSING, "patch[0].path", "must not change or remove 'resourceType'"),
    FAIL("remove_resource_type", "{\"resourceType\":\"Patient\"}",
         "[{\"op\":\"remove\",\"path\":\"/resourceType\"}]", SV_ERR_PROCESSING, "patch[0].path",
         NULL),
    FAIL("add_resource_type", "{\"resourceType\":\"Patient\"}",
         "[{\"op\":\"add\",\"path\":\"/resourceType\",\"value\":\"Group\"}]", SV_ERR_PROCESSING,
         "patch[0].path", NULL),
    FAIL("move_resource_type_away", "{\"resourceType\":\"Patient\"}",
         "[{\"op\":\"move\",\"from\":\"/resourceType\",\"path\":\"/x\"}]", SV_ERR_PROCESSING,
         "patch[0].from", NULL),
    FAIL("copy_over_resource_type", "{\"resourceType\":\"Patient\",\"id\":\"x\"}",
         "[{\"op\":\"copy\",\"from\":\"/id\",\"path\":\"/resourceType\"}]", SV_ERR_PROCESSING,
         "patch[0].path", NULL),
    FAIL("replace_document_with_other_type", "{\"resourceType\":\"Patient\"}",
         "[{\"op\":\"replace\",\"path\":\"\",\"value\":{\"resourceType\":\"Group\"}}]",
         SV_ERR_PROCESSING, "patch[0].path", NULL),
    FAIL("add_resource_type_where_none", "{\"a\":1}",
         "[{\"op\":\"add\",\"path\":\"/resourceType\",\"value\":\"Patient\"}]", SV_ERR_PROCESSING,
         "patch[0].path", NULL),
};

static void dump(const json_t *j, sv_buf *out)
{
    sv_buf_reset(out);
    assert_int_equal(sv_json_dumpb(j, out), SV_OK);
}

static json_t *parse_or_fail(const char *text, unsigned top)
{
    json_t *j = NULL;
    sv_buf err = SV_BUF_INIT;
    if (sv_json_parse(text, strlen(text), 64, top, &j, &err, NULL) != SV_OK)
        fail_msg("cannot parse test input '%s': %s", text, err.ptr);
    sv_buf_release(&err);
    return j;
}

static void run_case(void **state)
{
    const patch_case *c = *state;
    json_t *doc = parse_or_fail(c->doc, SV_JSON_TOP_OBJECT);
    json_t *patch = parse_or_fail(c->patch, SV_JSON_TOP_ANY);
    sv_buf before = SV_BUF_INIT, after = SV_BUF_INIT, want = SV_BUF_INIT;
    sv_outcome out = SV_OUTCOME_INIT;
    dump(doc, &before);

    sv_err err = sv_json_patch_apply(doc, patch, &out);
    dump(doc, &after);
    if (err != c->err)
        print_message("%s: err %d (%s), document %s\n", c->name, err,
                      out.len && out.issues[0].diagnostics ? out.issues[0].diagnostics : "-",
                      after.ptr);
    assert_int_equal(err, c->err);

    if (err == SV_OK) {
        assert_int_equal(out.len, 0);
        if (c->result) {
            json_t *expected = parse_or_fail(c->result, SV_JSON_TOP_OBJECT);
            dump(expected, &want);
            json_decref(expected);
            assert_string_equal(after.ptr, want.ptr); /* member order included */
        } else {
            assert_string_equal(after.ptr, before.ptr);
        }
    } else {
        /* Atomic: nothing of the patch is visible. */
        assert_string_equal(after.ptr, before.ptr);
        assert_int_equal(out.len, 1);
        assert_int_equal(out.errors, 1);
        const sv_issue *is = &out.issues[0];
        assert_string_equal(is->code, sv_err_issue_code(c->err));
        assert_non_null(is->expression);
        assert_string_equal(is->expression, c->expression);
        assert_non_null(is->diagnostics);
        assert_false(isupper((unsigned char)is->diagnostics[0]));
        if (c->diag && !strstr(is->diagnostics, c->diag))
            fail_msg("%s: diagnostics '%s' lack '%s'", c->name, is->diagnostics, c->diag);
    }
    sv_outcome_clear(&out);
    sv_buf_release(&before);
    sv_buf_release(&after);
    sv_buf_release(&want);
    json_decref(doc);
    json_decref(patch);
}

static void test_a13_duplicate_member(void **state)
{
    const char *text = "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\",\"op\":\"remove\"}]";
    json_t *patch = NULL;
    assert_int_equal(sv_json_parse(text, strlen(text), 64, SV_JSON_TOP_ARRAY, &patch, NULL, NULL),
                     SV_ERR_PARSE);
    assert_null(patch);
}

/* Applies patch with limits; returns the error and checks atomicity. */
static sv_err apply_limited(const char *doc_text, const char *patch_text,
                            const sv_patch_limits *limits, char **ret_expression)
{
    json_t *doc = parse_or_fail(doc_text, SV_JSON_TOP_OBJECT);
    json_t *patch = parse_or_fail(patch_text, SV_JSON_TOP_ARRAY);
    sv_buf before = SV_BUF_INIT, after = SV_BUF_INIT;
    sv_outcome out = SV_OUTCOME_INIT;
    dump(doc, &before);
    sv_err err = limits ? sv_json_patch_apply_limited(doc, patch, limits, &out)
                        : sv_json_patch_apply(doc, patch, &out);
    dump(doc, &after);
    if (err != SV_OK) {
        assert_string_equal(after.ptr, before.ptr);
        assert_int_equal(out.len, 1);
        if (ret_expression)
            *ret_expression = strdup(out.issues[0].expression);
    }
    sv_outcome_clear(&out);
    sv_buf_release(&before);
    sv_buf_release(&after);
    json_decref(doc);
    json_decref(patch);
    return err;
}

static void test_limit_operations(void **state)
{
    sv_patch_limits limits = {2, 64, 1000};
    const char *three = "[{\"op\":\"test\",\"path\":\"/a\",\"value\":1},"
                        "{\"op\":\"test\",\"path\":\"/a\",\"value\":1},"
                        "{\"op\":\"test\",\"path\":\"/a\",\"value\":1}]";
    char *expression = NULL;
    assert_int_equal(apply_limited("{\"a\":1}", three, &limits, &expression), SV_ERR_TOO_LARGE);
    assert_string_equal(expression, "patch");
    free(expression);
    limits.max_operations = 3;
    assert_int_equal(apply_limited("{\"a\":1}", three, &limits, NULL), SV_OK);
}

/* Each copy of /a into /a/- doubles /a: the default limits must stop it early. */
static void test_limit_copy_doubling(void **state)
{
    sv_buf patch = SV_BUF_INIT;
    sv_buf_addc(&patch, '[');
    for (int i = 0; i < 60; i++)
        sv_buf_adds(&patch, i ? ",{\"op\":\"copy\",\"from\":\"/a\",\"path\":\"/a/-\"}"
                              : "{\"op\":\"copy\",\"from\":\"/a\",\"path\":\"/a/-\"}");
    sv_buf_addc(&patch, ']');
    char *expression = NULL;
    assert_int_equal(apply_limited("{\"a\":[1,2,3,4,5,6,7,8]}", patch.ptr, NULL, &expression),
                     SV_ERR_TOO_LARGE);
    /* 8 values doubling: the 100000 budget runs out at the 14th copy. */
    assert_string_equal(expression, "patch[13].path");
    free(expression);
    sv_buf_release(&patch);
}

static void test_limit_new_values(void **state)
{
    sv_patch_limits limits = {10, 64, 3};
    /* [1,2] is three values. */
    const char *patch = "[{\"op\":\"add\",\"path\":\"/b\",\"value\":[1,2]}]";
    assert_int_equal(apply_limited("{\"a\":1}", patch, &limits, NULL), SV_OK);
    limits.max_new_values = 2;
    assert_int_equal(apply_limited("{\"a\":1}", patch, &limits, NULL), SV_ERR_TOO_LARGE);
    /* Moves create nothing. */
    limits.max_new_values = 0;
    assert_int_equal(apply_limited("{\"a\":[1,2]}",
                                   "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/b\"}]", &limits,
                                   NULL),
                     SV_OK);
}

static void test_limit_depth(void **state)
{
    sv_patch_limits limits = {10, 4, 1000};
    char *expression = NULL;
    /* Document level 1, /a level 2, so a value of depth 2 at /a reaches 3, depth 3 reaches 4. */
    assert_int_equal(
        apply_limited("{}", "[{\"op\":\"add\",\"path\":\"/a\",\"value\":[[[1]]]}]", &limits, NULL),
        SV_OK);
    assert_int_equal(apply_limited("{}", "[{\"op\":\"add\",\"path\":\"/a\",\"value\":[[[[1]]]]}]",
                                   &limits, &expression),
                     SV_ERR_TOO_DEEP);
    assert_string_equal(expression, "patch[0].path");
    free(expression);
    /* Scalars may go anywhere that exists. */
    assert_int_equal(apply_limited("{\"a\":[[[]]]}",
                                   "[{\"op\":\"add\",\"path\":\"/a/0/0/-\",\"value\":1}]", &limits,
                                   NULL),
                     SV_OK);
    /* Copy and move into a deeper place are measured; moving up is not a risk. */
    const char *doc = "{\"x\":{\"y\":{}},\"c\":{\"d\":{}}}";
    assert_int_equal(apply_limited(doc, "[{\"op\":\"copy\",\"from\":\"/x\",\"path\":\"/c/d/e\"}]",
                                   &limits, NULL),
                     SV_ERR_TOO_DEEP);
    assert_int_equal(apply_limited(doc, "[{\"op\":\"move\",\"from\":\"/x\",\"path\":\"/c/d/e\"}]",
                                   &limits, NULL),
                     SV_ERR_TOO_DEEP);
    assert_int_equal(
        apply_limited(doc, "[{\"op\":\"move\",\"from\":\"/x\",\"path\":\"/c/d\"}]", &limits, NULL),
        SV_OK);
    assert_int_equal(
        apply_limited(doc, "[{\"op\":\"move\",\"from\":\"/c/d\",\"path\":\"/z\"}]", &limits, NULL),
        SV_OK);
}

static void test_doc_not_object_and_null_outcome(void **state)
{
    json_t *arr = json_array();
    json_t *patch = json_array();
    sv_outcome out = SV_OUTCOME_INIT;
    assert_int_equal(sv_json_patch_apply(arr, patch, &out), SV_ERR_INTERNAL);
    assert_int_equal(out.errors, 1);
    sv_outcome_clear(&out);

    json_t *doc = parse_or_fail("{\"a\":1}", SV_JSON_TOP_OBJECT);
    json_t *bad = parse_or_fail("[{\"op\":\"remove\",\"path\":\"/b\"}]", SV_JSON_TOP_ARRAY);
    json_t *good = parse_or_fail("[{\"op\":\"remove\",\"path\":\"/a\"}]", SV_JSON_TOP_ARRAY);
    assert_int_equal(sv_json_patch_apply(doc, bad, NULL), SV_ERR_PROCESSING);
    json_t *alias = doc; /* patched in place: the caller's reference sees the change */
    assert_int_equal(sv_json_patch_apply(doc, good, NULL), SV_OK);
    assert_int_equal(json_object_size(alias), 0);
    json_decref(doc);
    json_decref(bad);
    json_decref(good);
    json_decref(arr);
    json_decref(patch);
}

static void test_long_path_is_cut_in_diagnostics(void **state)
{
    sv_buf patch = SV_BUF_INIT;
    sv_buf_adds(&patch, "[{\"op\":\"remove\",\"path\":\"/");
    for (int i = 0; i < 1000; i++)
        sv_buf_adds(&patch, "\xc3\xa9"); /* two-byte characters, to test the cut */
    sv_buf_adds(&patch, "\"}]");
    json_t *doc = parse_or_fail("{}", SV_JSON_TOP_OBJECT);
    json_t *p = parse_or_fail(patch.ptr, SV_JSON_TOP_ARRAY);
    sv_outcome out = SV_OUTCOME_INIT;
    assert_int_equal(sv_json_patch_apply(doc, p, &out), SV_ERR_PROCESSING);
    assert_true(strlen(out.issues[0].diagnostics) < 300);
    assert_non_null(strstr(out.issues[0].diagnostics, "...'"));
    /* Still valid UTF-8: the outcome turns into JSON with the diagnostics in it. */
    json_t *oo = sv_outcome_to_json(&out);
    json_t *issue = json_array_get(json_object_get(oo, "issue"), 0);
    assert_non_null(json_object_get(issue, "diagnostics"));
    json_decref(oo);
    sv_outcome_clear(&out);
    json_decref(doc);
    json_decref(p);
    sv_buf_release(&patch);
}

int main(void)
{
    size_t ncases = sizeof(cases) / sizeof(cases[0]);
    const struct CMUnitTest fixed[] = {
        cmocka_unit_test(test_a13_duplicate_member),
        cmocka_unit_test(test_limit_operations),
        cmocka_unit_test(test_limit_copy_doubling),
        cmocka_unit_test(test_limit_new_values),
        cmocka_unit_test(test_limit_depth),
        cmocka_unit_test(test_doc_not_object_and_null_outcome),
        cmocka_unit_test(test_long_path_is_cut_in_diagnostics),
    };
    size_t nfixed = sizeof(fixed) / sizeof(fixed[0]);
    struct CMUnitTest *tests = calloc(ncases + nfixed, sizeof(*tests));
    if (!tests)
        return 1;
    for (size_t i = 0; i < ncases; i++) {
        tests[i].name = cases[i].name;
        tests[i].test_func = run_case;
        tests[i].initial_state = (void *)&cases[i];
    }
    memcpy(tests + ncases, fixed, sizeof(fixed));
    int failed = _cmocka_run_group_tests("patch", tests, ncases + nfixed, NULL, NULL);
    free(tests);
    return failed;
}
