/* types.c - see types.h.  Keep the list sorted (binary search). */
#include "fhir/types.h"

#include <stdlib.h>
#include <string.h>

static const char *const supported[] = {
    "ActivityDefinition",
    "Appointment",
    "AuditEvent",
    "Binary",
    "Bundle",
    "CarePlan",
    "CareTeam",
    "Communication",
    "CommunicationRequest",
    "Condition",
    "Consent",
    "DocumentReference",
    "Encounter",
    "EpisodeOfCare",
    "Flag",
    "Goal",
    "HealthcareService",
    "Location",
    "Measure",
    "MeasureReport",
    "Medication",
    "MedicationRequest",
    "MedicationStatement",
    "MessageHeader",
    "Observation",
    "Organization",
    "Patient",
    "PlanDefinition",
    "Practitioner",
    "PractitionerRole",
    "Provenance",
    "Questionnaire",
    "QuestionnaireResponse",
    "RelatedPerson",
    "ServiceRequest",
    "Subscription",
    "Task",
};

#define N_SUPPORTED (sizeof(supported) / sizeof(supported[0]))

static int cmp(const void *key, const void *elem)
{
    return strcmp((const char *)key, *(const char *const *)elem);
}

bool sv_fhir_type_supported(const char *type)
{
    return type && bsearch(type, supported, N_SUPPORTED, sizeof(supported[0]), cmp) != NULL;
}

const char *const *sv_fhir_supported_types(size_t *ret_count)
{
    *ret_count = N_SUPPORTED;
    return supported;
}
