/* settings.c - see settings.h. */
#include "coord/settings.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#define MAX_CATEGORIES 32

typedef struct category_rule {
    char code[64];
    sv_coord_rule rule;
} category_rule;

typedef struct rehab_type {
    char type[64];
    char org_type[64];
} rehab_type;

/* The defaults are the values of the files in data/ (which say where they come from). */
static struct {
    size_t max_attachment;
    sv_coord_rule answer_default;
    category_rule answer[MAX_CATEGORIES];
    size_t nanswer;
    sv_coord_rule escalation;
    sv_coord_rule reconciliation;
    sv_coord_rule rehab_start;
    rehab_type rehab[8];
    size_t nrehab;
} settings = {
    .max_attachment = SV_COORD_DEFAULT_MAX_ATTACHMENT,
    .answer_default = {3, SV_DEADLINE_WORKING_DAYS, SV_CAL_DK},
    .answer = {{"discharge", {1, SV_DEADLINE_WORKING_DAYS, SV_CAL_DK}},
               {"medicine", {1, SV_DEADLINE_WORKING_DAYS, SV_CAL_DK}},
               {"acute-ambulant", {4, SV_DEADLINE_HOURS, SV_CAL_DK}},
               {"extended-care-responsibility", {1, SV_DEADLINE_WORKING_DAYS, SV_CAL_DK}},
               {"decease", {-1, SV_DEADLINE_HOURS, SV_CAL_DK}}},
    .nanswer = 5,
    .escalation = {1, SV_DEADLINE_WORKING_DAYS, SV_CAL_DK},
    .reconciliation = {4, SV_DEADLINE_HOURS, SV_CAL_DK},
    .rehab_start = {7, SV_DEADLINE_CALENDAR_DAYS, SV_CAL_DK},
    .rehab = {{"general", "rehabilitation-general"},
              {"specialised", "rehabilitation-specialised"},
              {"rehabilitation-specialised-level", "rehabilitation-specialised"}},
    .nrehab = 3,
};

const char *sv__coord_unit_code(sv_deadline_unit unit)
{
    switch (unit) {
    case SV_DEADLINE_HOURS:
        return "hours";
    case SV_DEADLINE_CALENDAR_DAYS:
        return "calendar-days";
    case SV_DEADLINE_WORKING_DAYS:
        return "working-days";
    }
    return "hours";
}

/* {"amount": n|null, "unit": "...", "country": "DK|SE"}; country defaults to dflt. */
static bool parse_rule(const json_t *j, sv_calendar_country dflt, sv_coord_rule *ret)
{
    const json_t *amount = json_object_get(j, "amount");
    if (json_is_null(amount)) {
        *ret = (sv_coord_rule){.amount = -1, .unit = SV_DEADLINE_HOURS, .country = dflt};
        return true;
    }
    if (!json_is_integer(amount) || json_integer_value(amount) < 0 ||
        json_integer_value(amount) > SV_DEADLINE_MAX_AMOUNT)
        return false;
    const char *unit = json_string_value(json_object_get(j, "unit"));
    const char *country = json_string_value(json_object_get(j, "country"));
    sv_coord_rule r = {.amount = (int)json_integer_value(amount), .country = dflt};
    if (unit && strcmp(unit, "hours") == 0)
        r.unit = SV_DEADLINE_HOURS;
    else if (unit && strcmp(unit, "calendar-days") == 0)
        r.unit = SV_DEADLINE_CALENDAR_DAYS;
    else if (unit && strcmp(unit, "working-days") == 0)
        r.unit = SV_DEADLINE_WORKING_DAYS;
    else
        return false;
    if (country && strcmp(country, "SE") == 0)
        r.country = SV_CAL_SE;
    else if (country && strcmp(country, "DK") != 0)
        return false;
    *ret = r;
    return true;
}

/* The parsed file, NULL when it does not exist. */
static sv_err load(const char *data_dir, const char *name, json_t **ret, sv_buf *reterr)
{
    char path[1200];
    snprintf(path, sizeof(path), "%s/%s", data_dir, name);
    *ret = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return SV_OK;
    json_error_t jerr;
    *ret = json_loadf(f, JSON_REJECT_DUPLICATES, &jerr);
    fclose(f);
    if (!*ret) {
        sv_buf_addf(reterr, "'%s' line %d: %s", path, jerr.line, jerr.text);
        return SV_ERR_INVALID;
    }
    return SV_OK;
}

static sv_err bad(sv_buf *reterr, const char *file, const char *what)
{
    sv_buf_addf(reterr, "'%s': %s is not a rule {amount, unit, country}", file, what);
    return SV_ERR_INVALID;
}

static sv_err load_answers(const char *dir, sv_buf *reterr)
{
    static const char file[] = "messaging/answer-times.json";
    json_t *j;
    sv_err e = load(dir, file, &j, reterr);
    if (e || !j)
        return e;
    const char *c = json_string_value(json_object_get(j, "country"));
    sv_calendar_country country = c && strcmp(c, "SE") == 0 ? SV_CAL_SE : SV_CAL_DK;
    const json_t *dflt = json_object_get(j, "default");
    const json_t *esc = json_object_get(j, "escalation");
    if (dflt && !parse_rule(dflt, country, &settings.answer_default))
        e = bad(reterr, file, "default");
    if (!e && esc && !parse_rule(esc, country, &settings.escalation))
        e = bad(reterr, file, "escalation");
    const char *code;
    const json_t *rule;
    size_t n = 0;
    json_object_foreach(json_object_get(j, "categories"), code, rule)
    {
        if (e)
            break;
        if (n == MAX_CATEGORIES || strlen(code) >= sizeof(settings.answer[0].code)) {
            sv_buf_addf(reterr, "'%s': too many categories or too long a code", file);
            e = SV_ERR_INVALID;
            break;
        }
        if (!parse_rule(rule, country, &settings.answer[n].rule)) {
            e = bad(reterr, file, code);
            break;
        }
        snprintf(settings.answer[n].code, sizeof(settings.answer[n].code), "%s", code);
        n++;
    }
    if (!e)
        settings.nanswer = n;
    json_decref(j);
    return e;
}

static sv_err load_medication(const char *dir, sv_buf *reterr)
{
    static const char file[] = "medication/reconciliation.json";
    json_t *j;
    sv_err e = load(dir, file, &j, reterr);
    if (e || !j)
        return e;
    sv_coord_rule r;
    if (!parse_rule(json_object_get(j, "deadline"), SV_CAL_DK, &r) || r.amount < 0)
        e = bad(reterr, file, "deadline");
    else
        settings.reconciliation = r;
    json_decref(j);
    return e;
}

static sv_err load_rehabilitation(const char *dir, sv_buf *reterr)
{
    static const char file[] = "rehabilitation/plan-handover.json";
    json_t *j;
    sv_err e = load(dir, file, &j, reterr);
    if (e || !j)
        return e;
    sv_coord_rule r;
    if (!parse_rule(json_object_get(j, "start"), SV_CAL_DK, &r) || r.amount < 0)
        e = bad(reterr, file, "start");
    else
        settings.rehab_start = r;
    const char *type;
    const json_t *v;
    size_t n = 0;
    json_object_foreach(json_object_get(j, "types"), type, v)
    {
        const char *org_type = json_string_value(json_object_get(v, "organizationType"));
        if (e || n == sizeof(settings.rehab) / sizeof(settings.rehab[0]) || !org_type ||
            strlen(type) >= 64 || strlen(org_type) >= 64) {
            if (!e)
                sv_buf_addf(reterr, "'%s': type '%s' needs an organizationType", file, type);
            e = e ? e : SV_ERR_INVALID;
            break;
        }
        snprintf(settings.rehab[n].type, 64, "%s", type);
        snprintf(settings.rehab[n].org_type, 64, "%s", org_type);
        n++;
    }
    if (!e && n)
        settings.nrehab = n;
    json_decref(j);
    return e;
}

sv_err sv_coord_settings_load(const char *data_dir, size_t max_attachment, sv_buf *reterr)
{
    if (max_attachment)
        settings.max_attachment = max_attachment;
    sv_err e = load_answers(data_dir, reterr);
    if (!e)
        e = load_medication(data_dir, reterr);
    if (!e)
        e = load_rehabilitation(data_dir, reterr);
    return e;
}

size_t sv__coord_max_attachment(void)
{
    return settings.max_attachment;
}

sv_coord_rule sv__coord_answer_time(const char *category)
{
    for (size_t i = 0; category && i < settings.nanswer; i++)
        if (strcmp(settings.answer[i].code, category) == 0)
            return settings.answer[i].rule;
    return settings.answer_default;
}

sv_coord_rule sv__coord_answer_escalation(void)
{
    return settings.escalation;
}

sv_coord_rule sv__coord_reconciliation_deadline(void)
{
    return settings.reconciliation;
}

sv_coord_rule sv__coord_rehabilitation_start(void)
{
    return settings.rehab_start;
}

const char *sv__coord_rehabilitation_org_type(const char *plan_type)
{
    for (size_t i = 0; plan_type && i < settings.nrehab; i++)
        if (strcmp(settings.rehab[i].type, plan_type) == 0)
            return settings.rehab[i].org_type;
    return NULL;
}
