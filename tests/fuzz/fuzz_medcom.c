/*
 * fuzz_medcom.c - libFuzzer driver for MedCom message processing: what
 * POST /fhir/$process-message does with its body (FHIR JSON or FHIR XML to a
 * message Bundle, then sv_medcom_process with the coordination hooks, as
 * api/message_routes.c), on a real SQLite database in a temporary file.
 *
 * Input: up to MAX_MESSAGES messages separated by a line "~~~", so that a
 * stay's story (admitted, on leave, back, discharged, a cancellation) reaches
 * the states that only earlier messages create.  A message whose first
 * non-blank byte is '<' is FHIR XML, anything else JSON.
 * Every input starts from the same empty, migrated database (the tables are
 * refilled from a copy taken after migration), so a crash reproduces from its
 * input alone.
 *
 * Oracles beyond "does not crash":
 *  - a refusal without acknowledgement is a 4xx with at least one error issue,
 *    and stores nothing;
 *  - an acknowledgement is 200, "ok" or "fatal-error" (a healthy database never
 *    gives "transient-error"), valid FHIR, a message Bundle whose MessageHeader
 *    answers the message's id with the same code; "ok" carries no
 *    OperationOutcome, "fatal-error" does;
 *  - a fatal-error stores no resource version and no event;
 *  - sent again, an acknowledged message is a duplicate with byte-identical
 *    answer and changes nothing (MedCom idempotency).
 * Build with -fsanitize=fuzzer, or with -DSV_FUZZ_REPLAY as a plain program
 * that replays files (see fuzz_replay.h).
 * Depends on medcom/, coord/ (the hooks the route sets), fhir/ and below.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/json.h"
#include "base/log.h"
#include "coord/coord.h"
#include "db/db.h"
#include "fhir/validate.h"
#include "fhir/xml.h"
#include "medcom/medcom.h"
#include "store/schema.h"

#define MAX_MESSAGES 6
#define SERVER_DEPTH 64 /* api.c's default max_json_depth */

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_medcom: check failed at line %d: %s\n", __LINE__, #cond);        \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define EVENT_SYSTEM "http://medcomfhir.dk/ig/terminology/CodeSystem/medcom-messaging-eventCodes"

static char db_path[256], template_path[300];
static sv_db *the_db;
static char **reset_sql;
static size_t nreset;

static void remove_db(void)
{
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    char path[320];
    if (the_db) {
        sv_db_close(the_db);
        the_db = NULL;
    }
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        snprintf(path, sizeof(path), "%s%s", db_path, suffixes[i]);
        unlink(path);
    }
    unlink(template_path);
}

static void exec_sql(const char *sql)
{
    sv_buf err = SV_BUF_INIT;
    if (sv_db_exec(the_db, sql, &err) != SV_OK) {
        fprintf(stderr, "fuzz_medcom: %s: %s\n", sql, err.ptr);
        abort();
    }
    sv_buf_release(&err);
}

static int64_t count_of(const char *sql)
{
    sv_stmt *st = NULL;
    bool row = false;
    CHECK(sv_db_prepare(the_db, sql, &st, NULL) == SV_OK);
    CHECK(sv_stmt_step(st, &row, NULL) == SV_OK && row);
    int64_t n = sv_stmt_column_int64(st, 0);
    sv_stmt_finalize(st);
    return n;
}

/* Appends one statement per row of a constant query to reset_sql, built by fmt
 * from the row's name three times (names come from sqlite_master, not input). */
static void collect(const char *query, const char *fmt)
{
    sv_stmt *st = NULL;
    bool row = false;
    CHECK(sv_db_prepare(the_db, query, &st, NULL) == SV_OK);
    while (sv_stmt_step(st, &row, NULL) == SV_OK && row) {
        const char *name = sv_stmt_column_text(st, 0, NULL);
        sv_buf b = SV_BUF_INIT;
        sv_buf_addf(&b, fmt, name, name, name);
        char **grown = realloc(reset_sql, (nreset + 1) * sizeof(*reset_sql));
        CHECK(grown != NULL);
        reset_sql = grown;
        reset_sql[nreset++] = sv_buf_detach(&b, NULL);
    }
    sv_stmt_finalize(st);
}

/*
 * One migrated database for the process, copied aside (VACUUM INTO) and
 * attached; before each input every table is refilled from the copy, on this
 * connection and outside any transaction.  The audit log's guard triggers
 * refuse deletes, so they go: this database is the driver's alone.
 */
static void setup(void)
{
    const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(db_path, sizeof(db_path), "%s/samverka-fuzz-medcom-%d.db", dir, (int)getpid());
    snprintf(template_path, sizeof(template_path), "%s.template", db_path);
    atexit(remove_db);
    sv_log_set_level(SV_LOG_ERROR);
    remove_db();
    sv_db_options opt = {.busy_timeout_ms = 1000};
    sv_buf err = SV_BUF_INIT;
    if (sv_db_open(db_path, &opt, &the_db, &err) != SV_OK ||
        sv_schema_migrate(the_db, NULL, &err) != SV_OK) {
        fprintf(stderr, "fuzz_medcom: cannot open %s: %s\n", db_path, err.ptr);
        abort();
    }
    sv_buf_release(&err);

    sv_buf sql = SV_BUF_INIT;
    sv_buf_addf(&sql, "VACUUM INTO '%s'", template_path);
    exec_sql(sql.ptr);
    sv_buf_reset(&sql);
    sv_buf_addf(&sql, "ATTACH '%s' AS template", template_path);
    exec_sql(sql.ptr);
    sv_buf_release(&sql);

    collect("SELECT name FROM main.sqlite_master WHERE type = 'trigger'",
            "DROP TRIGGER main.\"%s\"%.0s%.0s");
    for (size_t i = 0; i < nreset; i++) {
        exec_sql(reset_sql[i]);
        free(reset_sql[i]);
    }
    nreset = 0;
    collect("SELECT name FROM main.sqlite_master WHERE type = 'table'",
            "DELETE FROM main.\"%s\"; INSERT INTO main.\"%s\" SELECT * FROM template.\"%s\";");
    CHECK(nreset > 0);
}

/* PRAGMA data_version of this connection when its data were last restored:
 * it changes only when another connection commits, and every write of
 * sv_medcom_process commits on the file's shared writer, so an input that
 * wrote nothing (one that does not parse, say) leaves nothing to restore. */
static int64_t restored_version = -1;

static void reset_data(void)
{
    CHECK(!sv_db_in_tx(the_db));
    if (count_of("PRAGMA data_version") == restored_version)
        return;
    exec_sql("PRAGMA foreign_keys = OFF");
    /* A plain BEGIN on this connection: sv_db_begin's write transactions run on
     * the file's shared writer, which has neither the copy attached nor foreign
     * keys off.  Nothing else writes between two inputs. */
    exec_sql("BEGIN IMMEDIATE");
    for (size_t i = 0; i < nreset; i++)
        exec_sql(reset_sql[i]);
    exec_sql("COMMIT");
    exec_sql("PRAGMA foreign_keys = ON");
    restored_version = count_of("PRAGMA data_version");
}

/* The message as the route reads it; NULL when neither JSON nor XML gives one
 * (the route answers those before MedCom sees them). */
static json_t *read_message(const char *text, size_t len)
{
    size_t i = 0;
    while (i < len && (text[i] == ' ' || text[i] == '\n' || text[i] == '\r' || text[i] == '\t'))
        i++;
    json_t *j = NULL;
    if (i < len && text[i] == '<') {
        sv_outcome o = SV_OUTCOME_INIT;
        sv_err e = sv_fhir_xml_to_json(text, len, &j, &o);
        CHECK(e ? j == NULL && o.len > 0 : j != NULL);
        sv_outcome_clear(&o);
        return j;
    }
    if (sv_json_parse(text, len, SERVER_DEPTH, SV_JSON_TOP_OBJECT, &j, NULL, NULL) != SV_OK)
        return NULL;
    return j;
}

static const json_t *first_resource(const json_t *bundle)
{
    return json_object_get(json_array_get(json_object_get(bundle, "entry"), 0), "resource");
}

/* An acknowledgement (not of an acknowledgement) answering message_id with code. */
static void check_ack(const sv_medcom_result *res)
{
    CHECK(res->status == 200);
    CHECK(res->code && (strcmp(res->code, "ok") == 0 || strcmp(res->code, "fatal-error") == 0));
    json_t *ack = NULL;
    CHECK(sv_json_parse(res->body.ptr, res->body.len, 1000, SV_JSON_TOP_OBJECT, &ack, NULL, NULL) ==
          SV_OK);
    sv_outcome o = SV_OUTCOME_INIT;
    int errors = sv_fhir_validate(ack, &o);
    if (errors > 0)
        fprintf(stderr, "fuzz_medcom: acknowledgement not valid: %s at %s\n%s\n",
                o.issues[0].diagnostics, o.issues[0].expression ? o.issues[0].expression : "-",
                res->body.ptr);
    CHECK(errors == 0);
    sv_outcome_clear(&o);
    CHECK(strcmp(json_string_value(json_object_get(ack, "resourceType")), "Bundle") == 0);
    CHECK(json_string_value(json_object_get(ack, "type")) &&
          strcmp(json_string_value(json_object_get(ack, "type")), "message") == 0);
    const json_t *h = first_resource(ack);
    CHECK(json_string_value(json_object_get(h, "resourceType")) &&
          strcmp(json_string_value(json_object_get(h, "resourceType")), "MessageHeader") == 0);
    const json_t *ev = json_object_get(h, "eventCoding");
    CHECK(json_string_value(json_object_get(ev, "system")) &&
          strcmp(json_string_value(json_object_get(ev, "system")), EVENT_SYSTEM) == 0);
    CHECK(json_string_value(json_object_get(ev, "code")) &&
          strcmp(json_string_value(json_object_get(ev, "code")), "acknowledgement-message") == 0);
    const json_t *resp = json_object_get(h, "response");
    const char *answered = json_string_value(json_object_get(resp, "identifier"));
    CHECK(answered && strcmp(answered, res->message_id) == 0);
    const char *code = json_string_value(json_object_get(resp, "code"));
    CHECK(code && strcmp(code, res->code) == 0);
    bool has_outcome = false;
    const json_t *entries = json_object_get(ack, "entry");
    for (size_t i = 0; i < json_array_size(entries); i++) {
        const char *rt = json_string_value(json_object_get(
            json_object_get(json_array_get(entries, i), "resource"), "resourceType"));
        has_outcome |= rt && strcmp(rt, "OperationOutcome") == 0;
    }
    CHECK(has_outcome == (strcmp(res->code, "fatal-error") == 0));
    json_decref(ack);
}

static void run(sv_rest *rest, const char *text, size_t len)
{
    json_t *message = read_message(text, len);
    if (!message)
        return;
    int64_t versions = count_of("SELECT count(*) FROM resource_version");
    int64_t events = count_of("SELECT count(*) FROM medcom_event");

    sv_medcom_result res;
    sv_medcom_result_init(&res);
    sv_err e = sv_medcom_process(rest, message, &res);
    CHECK(!sv_db_in_tx(the_db));
    if (getenv("FUZZ_MEDCOM_VERBOSE"))
        fprintf(stderr, "%s %s -> %s %d %s%s %.*s\n", sv_medcom_kind_name(res.kind), res.activity,
                sv_strerror(e), res.status, res.code ? res.code : "-",
                res.duplicate ? " (duplicate)" : "", (int)res.body.len, res.body.ptr);
    for (size_t i = 0; getenv("FUZZ_MEDCOM_VERBOSE") && i < res.outcome.len; i++)
        fprintf(stderr, "  issue %s at %s\n", res.outcome.issues[i].diagnostics,
                res.outcome.issues[i].expression ? res.outcome.issues[i].expression : "-");
    if (e) {
        /* no MessageHeader to acknowledge, or an acknowledgement refused */
        CHECK(res.status >= 400 && res.status < 500);
        CHECK(res.outcome.errors > 0);
        CHECK(res.code == NULL);
        CHECK(count_of("SELECT count(*) FROM resource_version") == versions);
        CHECK(count_of("SELECT count(*) FROM medcom_event") == events);
        sv_medcom_result_clear(&res);
        json_decref(message);
        return;
    }
    CHECK(!res.duplicate || res.body.len > 0);
    if (res.kind == SV_MEDCOM_ACKNOWLEDGEMENT) {
        CHECK(res.code == NULL && res.status == 200);
    } else {
        check_ack(&res);
        if (strcmp(res.code, "fatal-error") == 0 && !res.duplicate) {
            CHECK(res.outcome.errors > 0);
            CHECK(count_of("SELECT count(*) FROM resource_version") == versions);
            CHECK(count_of("SELECT count(*) FROM medcom_event") == events);
        }
    }

    /* The same message again: the first answer, and nothing changes. */
    versions = count_of("SELECT count(*) FROM resource_version");
    events = count_of("SELECT count(*) FROM medcom_event");
    sv_medcom_result again;
    sv_medcom_result_init(&again);
    CHECK(sv_medcom_process(rest, message, &again) == SV_OK);
    CHECK(again.duplicate);
    CHECK(again.body.len == res.body.len &&
          memcmp(again.body.ptr, res.body.ptr, res.body.len) == 0);
    CHECK((again.code == NULL) == (res.code == NULL));
    CHECK(!again.code || strcmp(again.code, res.code) == 0);
    CHECK(count_of("SELECT count(*) FROM resource_version") == versions);
    CHECK(count_of("SELECT count(*) FROM medcom_event") == events);
    sv_medcom_result_clear(&again);
    sv_medcom_result_clear(&res);
    json_decref(message);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!the_db)
        setup();
    reset_data();
    sv_rest rest = {.db = the_db,
                    .base_url = "http://fuzz.example/fhir",
                    .default_count = 20,
                    .max_count = 100,
                    .hooks = sv_coord_hooks()};
    const char *text = (const char *)data, *end = text + size;
    for (int n = 0; n < MAX_MESSAGES && text < end; n++) {
        const char *sep = NULL;
        for (const char *s = text; s + 5 <= end; s++)
            if (memcmp(s, "\n~~~\n", 5) == 0) {
                sep = s;
                break;
            }
        run(&rest, text, (size_t)((sep ? sep : end) - text));
        text = sep ? sep + 5 : end;
    }
    return 0;
}

#include "fuzz_replay.h"
