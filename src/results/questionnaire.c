/*
 * questionnaire.c - the answers of a QuestionnaireResponse as cases: a boolean
 * answer counts in the numerator when true (value 1 or 0), a number is the
 * value (a 0-10 rating), a Coding counts in the numerator when its code is
 * "yes".  Items nest (item.item, answer.item).
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "results/internal.h"

static bool item_matches(const char *link, const char *want, const char **ret_rest)
{
    size_t n = strlen(want);
    if (n && want[n - 1] == '*') {
        if (strncmp(link, want, n - 1) != 0 || !link[n - 1])
            return false;
        *ret_rest = link + n - 1;
        return true;
    }
    *ret_rest = NULL;
    return strcmp(link, want) == 0;
}

static void answer_case(const sv__results_case *base, const json_t *answer, const char *stratum,
                        sv__results_cases *ret)
{
    const json_t *v;
    sv__results_case c = *base;
    c.stratum = NULL;
    if ((v = json_object_get(answer, "valueBoolean")) && json_is_boolean(v)) {
        c.in_numerator = json_is_true(v);
        c.has_value = true;
        c.value = c.in_numerator ? 1 : 0;
    } else if ((v = json_object_get(answer, "valueInteger")) && json_is_integer(v)) {
        c.has_value = true;
        c.value = (double)json_integer_value(v);
    } else if ((v = json_object_get(answer, "valueDecimal")) && json_is_number(v)) {
        c.has_value = true;
        c.value = json_number_value(v);
    } else if ((v = json_object_get(answer, "valueCoding")) && json_is_object(v)) {
        const char *code = json_string_value(json_object_get(v, "code"));
        c.in_numerator = code && strcmp(code, "yes") == 0;
    } else {
        return;
    }
    sv__results_case *k = sv__results_case_push(ret, &c);
    k->stratum = stratum ? strdup(stratum) : NULL;
}

static void walk(const sv__results_case *base, const json_t *items, const char *want,
                 sv__results_cases *ret, int depth)
{
    if (!json_is_array(items) || depth > 16)
        return;
    size_t i;
    const json_t *item;
    json_array_foreach(items, i, item)
    {
        const char *link = json_string_value(json_object_get(item, "linkId"));
        const json_t *answers = json_object_get(item, "answer");
        const char *rest = NULL;
        if (link && item_matches(link, want, &rest) && json_is_array(answers) &&
            json_array_size(answers))
            answer_case(base, json_array_get(answers, 0), rest, ret);
        walk(base, json_object_get(item, "item"), want, ret, depth + 1);
        size_t j;
        const json_t *a;
        json_array_foreach(answers, j, a)
            walk(base, json_object_get(a, "item"), want, ret, depth + 1);
    }
}

void sv__results_questionnaire_cases(const sv__results_case *base, const char *json,
                                     const char *item, sv__results_cases *ret)
{
    if (!item || !*item)
        return;
    json_t *qr = json_loads(json, 0, NULL);
    if (!qr)
        return;
    walk(base, json_object_get(qr, "item"), item, ret, 0);
    json_decref(qr);
}
