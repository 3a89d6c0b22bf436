/*
 * codes.h - the systems, codes and extension urls of samverka's coordination
 * model (data/terminology/ holds the CodeSystems; docs/coordination.md
 * explains them).  Constants only.
 */
#ifndef SV_COORD_CODES_H
#define SV_COORD_CODES_H

#define SV_COORD_BASE "http://samverka.org/fhir/"

#define SV_SYS_CARE_TEAM_CATEGORY SV_COORD_BASE "CodeSystem/care-team-category"
#define SV_SYS_CARE_TEAM_ROLE SV_COORD_BASE "CodeSystem/care-team-role"
#define SV_SYS_STAFF_ROLE SV_COORD_BASE "CodeSystem/staff-role"
#define SV_SYS_TASK_BUSINESS SV_COORD_BASE "CodeSystem/task-business-status"
#define SV_SYS_CAREPLAN_CATEGORY SV_COORD_BASE "CodeSystem/careplan-category"
#define SV_SYS_LIFE_AREA SV_COORD_BASE "CodeSystem/life-area"
#define SV_SYS_SIP_STEP SV_COORD_BASE "CodeSystem/sip-step"
#define SV_SYS_PROVENANCE_ACTIVITY SV_COORD_BASE "CodeSystem/provenance-activity"
#define SV_SYS_PATHWAY_ROLE SV_COORD_BASE "CodeSystem/pathway-role"
#define SV_SYS_DEVIATION_CHANGE SV_COORD_BASE "CodeSystem/pathway-deviation-change"

#define SV_EXT_DEADLINE_RULE SV_COORD_BASE "StructureDefinition/deadline-rule"
#define SV_EXT_HANDOVER_REASON SV_COORD_BASE "StructureDefinition/handover-reason"
#define SV_EXT_SIP_STEP SV_COORD_BASE "StructureDefinition/sip-step"
#define SV_EXT_PATHWAY_DEVIATION SV_COORD_BASE "StructureDefinition/pathway-deviation"
#define SV_EXT_HEALTHCARE_SERVICE SV_COORD_BASE "StructureDefinition/healthcare-service"

#endif
