// resources.mjs - a minimal valid R4 resource of every type the server
// supports: only the elements R4 requires (min 1) and what its invariants ask
// for.  The metadata test fails when the server claims a type missing here.
const cc = (code, system = 'http://example.org/codes') => ({ coding: [{ system, code }] });
const ref = (reference) => ({ reference });

export const MINIMAL = {
  ActivityDefinition: { status: 'draft' },
  Appointment: { status: 'proposed', participant: [{ actor: { display: 'Nurse on duty' }, status: 'needs-action' }] },
  AuditEvent: {
    type: { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest' },
    recorded: '2024-01-02T03:04:05Z',
    agent: [{ requestor: true, who: { display: 'a user' } }],
    source: { observer: { display: 'a system' } },
  },
  Binary: { contentType: 'text/plain', data: 'aGVsbG8=' },
  Bundle: { type: 'collection' },
  CarePlan: { status: 'active', intent: 'plan', subject: ref('Patient/p1') },
  CareTeam: { name: 'Team' },
  Communication: { status: 'completed' },
  CommunicationRequest: { status: 'active' },
  Condition: { subject: ref('Patient/p1'), code: cc('c1') },
  Consent: {
    status: 'active',
    scope: cc('patient-privacy', 'http://terminology.hl7.org/CodeSystem/consentscope'),
    category: [cc('59284-0', 'http://loinc.org')],
    policyRule: cc('OPTIN', 'http://terminology.hl7.org/CodeSystem/v3-ActCode'),
    patient: ref('Patient/p1'),
  },
  DocumentReference: { status: 'current', content: [{ attachment: { contentType: 'text/plain', data: 'aGVsbG8=' } }] },
  Encounter: { status: 'finished', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' } },
  EpisodeOfCare: { status: 'active', patient: ref('Patient/p1') },
  Flag: { status: 'active', code: cc('f1'), subject: ref('Patient/p1') },
  Goal: { lifecycleStatus: 'active', description: { text: 'walk again' }, subject: ref('Patient/p1') },
  HealthcareService: { name: 'Home care' },
  Location: { name: 'Morsø' },
  Measure: { status: 'draft' },
  MeasureReport: {
    status: 'complete',
    type: 'summary',
    measure: 'http://example.org/Measure/m1',
    period: { start: '2024-01-01', end: '2024-12-31' },
  },
  Medication: { code: cc('m1') },
  MedicationRequest: { status: 'active', intent: 'order', medicationCodeableConcept: cc('m1'), subject: ref('Patient/p1') },
  MedicationStatement: { status: 'active', medicationCodeableConcept: cc('m1'), subject: ref('Patient/p1') },
  MessageHeader: { eventCoding: { system: 'http://example.org/events', code: 'e1' }, source: { endpoint: 'http://example.org/source' } },
  Observation: { status: 'final', code: cc('o1') },
  Organization: { name: 'Kommune' },
  Patient: { name: [{ family: 'Minimal' }] },
  PlanDefinition: { status: 'draft' },
  Practitioner: { name: [{ family: 'Doctor' }] },
  PractitionerRole: { active: true },
  Provenance: { target: [ref('Patient/p1')], recorded: '2024-01-02T03:04:05Z', agent: [{ who: { display: 'someone' } }] },
  Questionnaire: { status: 'draft' },
  QuestionnaireResponse: { status: 'completed' },
  RelatedPerson: { patient: ref('Patient/p1') },
  ServiceRequest: { status: 'active', intent: 'order', subject: ref('Patient/p1') },
  Subscription: {
    status: 'off',
    reason: 'test',
    criteria: 'Observation?code=o1',
    channel: { type: 'rest-hook', endpoint: 'http://example.org/hook', payload: 'application/fhir+json' },
  },
  Task: { status: 'requested', intent: 'order' },
};

export function minimal(type) {
  if (!MINIMAL[type]) throw new Error(`no minimal ${type} in tests/http/lib/resources.mjs`);
  return { resourceType: type, ...structuredClone(MINIMAL[type]) };
}
