/* category.c - see policy.h: data categories and role masks (docs/access.md). */
#include <string.h>

#include "policy/policy.h"

typedef struct type_category {
    const char *type;
    int category;
} type_category;

/* Types whose default is not clinical (every other compartment type is). */
static const type_category DEFAULTS[] = {
    {"AllergyIntolerance", SV_CAT_MEDICATION},
    {"Appointment", SV_CAT_COORDINATION},
    {"AppointmentResponse", SV_CAT_COORDINATION},
    {"Basic", SV_CAT_COORDINATION},
    {"CarePlan", SV_CAT_COORDINATION},
    {"CareTeam", SV_CAT_COORDINATION},
    {"Communication", SV_CAT_COORDINATION},
    {"CommunicationRequest", SV_CAT_COORDINATION},
    {"Consent", SV_CAT_COORDINATION},
    {"Coverage", SV_CAT_COORDINATION},
    {"Encounter", SV_CAT_COORDINATION},
    {"EpisodeOfCare", SV_CAT_COORDINATION},
    {"Flag", SV_CAT_COORDINATION},
    {"Goal", SV_CAT_COORDINATION},
    {"Medication", SV_CAT_MEDICATION},
    {"MedicationAdministration", SV_CAT_MEDICATION},
    {"MedicationDispense", SV_CAT_MEDICATION},
    {"MedicationRequest", SV_CAT_MEDICATION},
    {"MedicationStatement", SV_CAT_MEDICATION},
    {"MessageHeader", SV_CAT_COORDINATION},
    {"Patient", SV_CAT_COORDINATION},
    {"Provenance", SV_CAT_COORDINATION},
    {"QuestionnaireResponse", SV_CAT_COORDINATION},
    {"RelatedPerson", SV_CAT_COORDINATION},
    {"ServiceRequest", SV_CAT_COORDINATION},
    {"Task", SV_CAT_COORDINATION},
};

static int rank(int category)
{
    int r = 0;
    while (category > 1) {
        category >>= 1;
        r++;
    }
    return r;
}

static int stricter(int a, int b)
{
    return rank(b) > rank(a) ? b : a;
}

/* The category a meta.security coding asks for, or 0. */
static int label_category(const char *system, const char *code)
{
    if (!system || !code)
        return 0;
    if (strcmp(system, SV_POLICY_CATEGORY_SYSTEM) == 0) {
        static const char *const names[] = {"coordination", "medication", "clinical", "social",
                                            "sensitive"};
        for (int i = 0; i < 5; i++)
            if (strcmp(code, names[i]) == 0)
                return 1 << i;
        return 0;
    }
    if (strcmp(system, "http://terminology.hl7.org/CodeSystem/v3-Confidentiality") == 0)
        return strcmp(code, "R") == 0 || strcmp(code, "V") == 0 ? SV_CAT_SENSITIVE : 0;
    if (strcmp(system, "http://terminology.hl7.org/CodeSystem/v3-ActCode") == 0) {
        static const char *const sensitive[] = {"PSY", "ETH", "HIV", "SDV", "SEX", "STD", "SUD"};
        for (size_t i = 0; i < sizeof(sensitive) / sizeof(sensitive[0]); i++)
            if (strcmp(code, sensitive[i]) == 0)
                return SV_CAT_SENSITIVE;
        return strcmp(code, "SOC") == 0 ? SV_CAT_SOCIAL : 0;
    }
    return 0;
}

int sv_policy_category(const char *type, bool compartment_type, const json_t *resource)
{
    if (!type || !compartment_type)
        return 0;
    int category = SV_CAT_CLINICAL;
    for (size_t i = 0; i < sizeof(DEFAULTS) / sizeof(DEFAULTS[0]); i++)
        if (strcmp(DEFAULTS[i].type, type) == 0)
            category = DEFAULTS[i].category;
    const json_t *labels = json_object_get(json_object_get(resource, "meta"), "security");
    size_t k;
    const json_t *coding;
    json_array_foreach(labels, k, coding)
    {
        int c = label_category(json_string_value(json_object_get(coding, "system")),
                               json_string_value(json_object_get(coding, "code")));
        if (c)
            category = stricter(category, c);
    }
    return category;
}

const char *sv_policy_category_name(int category)
{
    switch (category) {
    case SV_CAT_COORDINATION:
        return "coordination";
    case SV_CAT_MEDICATION:
        return "medication";
    case SV_CAT_CLINICAL:
        return "clinical";
    case SV_CAT_SOCIAL:
        return "social";
    case SV_CAT_SENSITIVE:
        return "sensitive";
    default:
        return "directory";
    }
}

int sv_policy_role_mask(const char *code)
{
    static const struct {
        const char *code;
        int mask;
    } roles[] = {
        {"coordinator", SV_CAT_COORDINATION | SV_CAT_MEDICATION | SV_CAT_CLINICAL | SV_CAT_SOCIAL},
        {"physician", SV_CAT_COORDINATION | SV_CAT_MEDICATION | SV_CAT_CLINICAL | SV_CAT_SENSITIVE},
        {"nurse", SV_CAT_COORDINATION | SV_CAT_MEDICATION | SV_CAT_CLINICAL},
        {"therapist", SV_CAT_COORDINATION | SV_CAT_CLINICAL},
        {"psychologist", SV_CAT_COORDINATION | SV_CAT_CLINICAL | SV_CAT_SENSITIVE},
        {"home-care", SV_CAT_COORDINATION | SV_CAT_MEDICATION},
        {"social-worker", SV_CAT_COORDINATION | SV_CAT_SOCIAL},
        {"teacher", SV_CAT_COORDINATION},
        {"administrative", SV_CAT_COORDINATION},
    };
    if (!code)
        return 0;
    for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
        if (strcmp(roles[i].code, code) == 0)
            return roles[i].mask;
    return 0;
}
