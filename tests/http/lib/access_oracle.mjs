// access_oracle.mjs - docs/access.md as an independent model: given the
// resources a test has written (kept in a Model, the test's own copy) and a
// principal, says what that principal must see and what a write must answer.
// It shares no code and no tables with the server (src/policy, src/store/
// access.c): categories, roles, care relationships, consent rules and the
// Patient compartment paths are restated here from the specification, for
// the resource types the access tests use (an unknown type throws, so a
// fixture cannot silently fall outside the model).
//
//   const m = new Model(Date.now());  m.put(resource) ...
//   visible(m, {kind: 'practitioner', role: 'pr-x'}, resource)   // true/false
//   writeStatus(m, principal, 'update', {old, next})             // 200/201/204/403/404

export const CATEGORY_SYSTEM = 'http://samverka.dk/fhir/CodeSystem/category';
export const ROLE_SYSTEM = 'http://samverka.dk/fhir/CodeSystem/role';
export const CONFIDENTIALITY = 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality';
export const ACTCODE = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
export const CATEGORIES = ['coordination', 'medication', 'clinical', 'social', 'sensitive'];
const RANK = Object.fromEntries(CATEGORIES.map((c, i) => [c, i]));

// "Categories" table: type defaults (every other compartment type is clinical).
const COORDINATION_TYPES = new Set(['Patient', 'RelatedPerson', 'CareTeam', 'CarePlan', 'Goal', 'Task', 'Encounter',
  'EpisodeOfCare', 'Appointment', 'AppointmentResponse', 'Communication', 'CommunicationRequest', 'ServiceRequest',
  'Flag', 'Consent', 'Provenance', 'QuestionnaireResponse', 'MessageHeader', 'Basic', 'Coverage']);
const MEDICATION_TYPES = new Set(['Medication', 'MedicationRequest', 'MedicationStatement', 'MedicationAdministration',
  'MedicationDispense', 'AllergyIntolerance']);

// The R4 Patient CompartmentDefinition (plus samverka's Task) for the types
// the tests write: element paths whose Patient/X references put a resource
// into X's compartment.
const COMPARTMENT_PATHS = {
  Patient: [], // a Patient is in its own compartment (below)
  Observation: ['subject', 'performer'],
  Encounter: ['subject'],
  CareTeam: ['subject', 'participant.member'],
  EpisodeOfCare: ['patient'],
  Consent: ['patient'],
  Communication: ['subject', 'sender', 'recipient'],
  MedicationRequest: ['subject'],
  Goal: ['subject'],
  Task: ['for', 'focus'],
  RelatedPerson: ['patient'],
  DocumentReference: ['subject', 'author'],
  Condition: ['subject', 'asserter'],
};
// Resources outside every Patient compartment: the directory.
const DIRECTORY_TYPES = new Set(['Organization', 'Practitioner', 'PractitionerRole', 'Location', 'HealthcareService',
  'Questionnaire', 'PlanDefinition', 'Measure', 'Endpoint', 'Medication', 'Device', 'Substance', 'ActivityDefinition']);

// "Roles" table.
const ROLE_CATEGORIES = {
  coordinator: ['coordination', 'medication', 'clinical', 'social'],
  physician: ['coordination', 'medication', 'clinical', 'sensitive'],
  nurse: ['coordination', 'medication', 'clinical'],
  therapist: ['coordination', 'clinical'],
  psychologist: ['coordination', 'clinical', 'sensitive'],
  'home-care': ['coordination', 'medication'],
  'social-worker': ['coordination', 'social'],
  teacher: ['coordination'],
  administrative: ['coordination'],
};

const CITIZEN_WRITABLE = new Set(['Consent', 'Communication', 'QuestionnaireResponse', 'Goal']);
const ACTIVE_ENCOUNTER = new Set(['arrived', 'triaged', 'in-progress', 'onleave']);

// ---- time --------------------------------------------------------------

// FHIR date/dateTime to [first ms, last ms + 1): a date-only value spans its
// whole UTC day, a month or a year likewise.
function instantRange(v) {
  if (/^\d{4}$/.test(v)) return [Date.UTC(+v, 0, 1), Date.UTC(+v + 1, 0, 1)];
  if (/^\d{4}-\d{2}$/.test(v)) { const [y, m] = v.split('-').map(Number); return [Date.UTC(y, m - 1, 1), Date.UTC(y, m, 1)]; }
  if (/^\d{4}-\d{2}-\d{2}$/.test(v)) { const [y, m, d] = v.split('-').map(Number); return [Date.UTC(y, m - 1, d), Date.UTC(y, m - 1, d + 1)]; }
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new Error(`oracle: unparsable date ${v}`);
  return [t, t + 1];
}

// Half-open [start, end); a missing start or end is open; a date-only end
// means the end of that day.
export function periodCovers(period, t) {
  if (!period) return true;
  if (period.start && t < instantRange(period.start)[0]) return false;
  if (period.end && t >= instantRange(period.end)[1]) return false;
  return true;
}

// ---- the model ---------------------------------------------------------

const key = (type, id) => `${type}/${id}`;

export class Model {
  constructor(now = Date.now()) {
    this.now = now;
    this.current = new Map(); // 'Type/id' -> resource (deleted ones removed)
    this.versions = new Map(); // 'Type/id' -> number of versions written (deletes count)
  }
  put(resource) {
    const k = key(resource.resourceType, resource.id);
    this.current.set(k, structuredClone(resource));
    this.versions.set(k, (this.versions.get(k) || 0) + 1);
  }
  delete(type, id) {
    const k = key(type, id);
    this.current.delete(k);
    this.versions.set(k, (this.versions.get(k) || 0) + 1);
  }
  get(type, id) { return this.current.get(key(type, id)); }
  getRef(ref) { return ref ? this.current.get(ref) : undefined; }
  all(type) {
    const out = [];
    for (const r of this.current.values()) if (!type || r.resourceType === type) out.push(r);
    return out;
  }
}

// ---- categories and compartments ---------------------------------------

export function isDirectory(res) {
  if (DIRECTORY_TYPES.has(res.resourceType)) return true;
  if (COMPARTMENT_PATHS[res.resourceType]) return false;
  throw new Error(`oracle: type ${res.resourceType} is not modelled`);
}

function valuesAt(node, path) {
  let cur = [node];
  for (const step of path.split('.')) {
    const next = [];
    for (const n of cur) {
      const v = n?.[step];
      if (Array.isArray(v)) next.push(...v);
      else if (v !== undefined) next.push(v);
    }
    cur = next;
  }
  return cur;
}

// The patient ids whose compartment holds res ([] for the directory).
export function compartmentsOf(res) {
  if (isDirectory(res)) return [];
  const ids = new Set();
  if (res.resourceType === 'Patient') ids.add(res.id);
  for (const path of COMPARTMENT_PATHS[res.resourceType]) {
    for (const ref of valuesAt(res, path)) {
      const m = /^Patient\/([A-Za-z0-9\-.]{1,64})$/.exec(ref?.reference || '');
      if (m) ids.add(m[1]);
    }
  }
  return [...ids];
}

function labelCategory(coding) {
  if (coding.system === CATEGORY_SYSTEM && RANK[coding.code] !== undefined) return coding.code;
  if (coding.system === CONFIDENTIALITY && (coding.code === 'R' || coding.code === 'V')) return 'sensitive';
  if (coding.system === ACTCODE) {
    if (['PSY', 'ETH', 'HIV', 'SDV', 'SEX', 'STD', 'SUD'].includes(coding.code)) return 'sensitive';
    if (coding.code === 'SOC') return 'social';
  }
  return null;
}

export function categoryOf(res) {
  let cat = COORDINATION_TYPES.has(res.resourceType) ? 'coordination'
    : MEDICATION_TYPES.has(res.resourceType) ? 'medication' : 'clinical';
  for (const coding of res.meta?.security || []) {
    const c = labelCategory(coding);
    if (c && RANK[c] > RANK[cat]) cat = c;
  }
  return cat;
}

// ---- care relationship, consent, role ----------------------------------

const refIs = (ref, target) => ref?.reference === target;
const orgOfRole = (m, prRef) => {
  const pr = m.getRef(prRef);
  const o = /^Organization\/(.+)$/.exec(pr?.organization?.reference || '');
  return o ? o[1] : null;
};

// The categories organisation orgId's care relationship with patient x gives
// at the model's time: all, coordination only, or none.
export function relationshipCategories(m, orgId, x) {
  const O = `Organization/${orgId}`;
  const P = `Patient/${x}`;
  const t = m.now;
  for (const ct of m.all('CareTeam')) {
    if (!refIs(ct.subject, P) || ct.status !== 'active' || !periodCovers(ct.period, t)) continue;
    for (const p of ct.participant || []) {
      const member = p.member?.reference || '';
      const via = member === O || (member.startsWith('PractitionerRole/') && orgOfRole(m, member) === orgId)
        || refIs(p.onBehalfOf, O);
      if (via && periodCovers(p.period, t)) return new Set(CATEGORIES);
    }
  }
  for (const e of m.all('Encounter')) {
    if (refIs(e.subject, P) && ACTIVE_ENCOUNTER.has(e.status) && refIs(e.serviceProvider, O)) return new Set(CATEGORIES);
  }
  for (const e of m.all('EpisodeOfCare')) {
    if (refIs(e.patient, P) && e.status === 'active' && refIs(e.managingOrganization, O) && periodCovers(e.period, t)) {
      return new Set(CATEGORIES);
    }
  }
  const pat = m.get('Patient', x);
  if (pat) {
    if (refIs(pat.managingOrganization, O)) return new Set(['coordination']);
    for (const gp of pat.generalPractitioner || []) {
      const r = gp.reference || '';
      if (r === O || (r.startsWith('PractitionerRole/') && orgOfRole(m, r) === orgId)) return new Set(['coordination']);
    }
  }
  return new Set();
}

// Patient x's consent rules: active Consents, each read from its top-level provision.
function consentRules(m, x) {
  const P = `Patient/${x}`;
  return m.all('Consent').filter((c) => refIs(c.patient, P) && c.status === 'active').map((c) => {
    const pv = c.provision || {};
    const labels = (pv.securityLabel || []).filter((l) => l.system === CATEGORY_SYSTEM).map((l) => l.code);
    return {
      id: c.id,
      type: pv.type || 'permit',
      actors: (pv.actor || []).map((a) => a.reference?.reference).filter(Boolean),
      labels, // [] = every category
      period: pv.period,
      hasLabels: (pv.securityLabel || []).length > 0,
    };
  });
}

const ruleMatches = (rule, actorRef, cat, t, everyone) =>
  (rule.actors.length === 0 ? everyone : rule.actors.includes(actorRef))
  && (rule.labels.length === 0 || rule.labels.includes(cat))
  && periodCovers(rule.period, t);

// Does x's consent allow organisation orgId category cat?
export function consentAllowsOrg(m, x, orgId, cat) {
  const O = `Organization/${orgId}`;
  const rules = consentRules(m, x);
  if (rules.some((r) => r.type === 'deny' && ruleMatches(r, O, cat, m.now, true))) return false;
  if (cat === 'coordination' || cat === 'medication' || cat === 'clinical') return true;
  return rules.some((r) => r.type === 'permit' && ruleMatches(r, O, cat, m.now, true));
}

// The categories the proxy grants of patient x give RelatedPerson rpId:
// permits naming R (no securityLabel: coordination only) minus denies naming R.
export function proxyCategories(m, x, rpId) {
  const R = `RelatedPerson/${rpId}`;
  const rules = consentRules(m, x);
  const cats = new Set();
  for (const r of rules) {
    if (r.type !== 'permit' || !r.actors.includes(R) || !periodCovers(r.period, m.now)) continue;
    if (!r.hasLabels) cats.add('coordination');
    else r.labels.forEach((c) => cats.add(c));
  }
  for (const r of rules) {
    if (r.type !== 'deny' || !r.actors.includes(R) || !periodCovers(r.period, m.now)) continue;
    if (r.labels.length === 0) cats.clear();
    else r.labels.forEach((c) => cats.delete(c));
  }
  return cats;
}

// The organisation a PractitionerRole acts for and the categories it allows.
export function roleOf(m, prId) {
  const pr = m.get('PractitionerRole', prId);
  const none = { org: null, cats: new Set() };
  if (!pr || pr.active === false) return none;
  const o = /^Organization\/(.+)$/.exec(pr.organization?.reference || '');
  if (!o) return none;
  const cats = new Set();
  for (const cc of pr.code || []) {
    for (const coding of cc.coding || []) {
      if (coding.system === ROLE_SYSTEM) (ROLE_CATEGORIES[coding.code] || []).forEach((c) => cats.add(c));
    }
  }
  return { org: o[1], cats };
}

// ---- scopes ------------------------------------------------------------

// SMART scopes of a system client: 'system/Type.perm' (v1 read/write/*, v2 cruds letters).
export function scopeAllows(scopes, type, letter) {
  for (const s of scopes.split(/\s+/).filter(Boolean)) {
    const m = /^system\/([A-Za-z]+|\*)\.(read|write|\*|c?r?u?d?s?)$/.exec(s);
    if (!m) continue;
    if (m[1] !== '*' && m[1] !== type) continue;
    const perm = m[2];
    const letters = perm === 'read' ? 'rs' : perm === 'write' ? 'cud' : perm === '*' ? 'cruds' : perm;
    if (letters.includes(letter)) return true;
  }
  return false;
}

// ---- who sees what -----------------------------------------------------

// May principal see category cat of patient x's compartment?
export function mayAccess(m, principal, x, cat) {
  switch (principal.kind) {
    case 'practitioner': {
      const { org, cats } = roleOf(m, principal.role);
      if (!org || !cats.has(cat)) return false;
      // break-the-glass: every category the role allows, for that citizen, while it lives
      if ((principal.btg || []).some((g) => g.patient === x && g.from <= m.now && m.now < g.to)) return true;
      return relationshipCategories(m, org, x).has(cat) && consentAllowsOrg(m, x, org, cat);
    }
    case 'citizen': return principal.patient === x;
    case 'relative': return proxyCategories(m, x, principal.relatedPerson).has(cat);
    case 'system': return true; // scopes are checked per request, by type
    case 'admin': return false;
    default: throw new Error(`oracle: unknown principal kind ${principal.kind}`);
  }
}

// Is the (current) resource visible to principal?  A resource in several
// compartments must be visible in every one.  System clients: scope on type.
export function visible(m, principal, res) {
  if (!res) return false;
  if (principal.kind === 'system') return scopeAllows(principal.scopes, res.resourceType, 'r');
  if (isDirectory(res)) return true;
  const cat = categoryOf(res);
  const xs = compartmentsOf(res);
  if (xs.length === 0) throw new Error(`oracle: ${res.resourceType}/${res.id} is in no compartment`);
  return xs.every((x) => mayAccess(m, principal, x, cat));
}

// ---- writes ------------------------------------------------------------

const SUCCESS = { create: 201, update: 200, patch: 200, delete: 204 };
const LETTER = { create: 'c', update: 'u', patch: 'u', delete: 'd' };

// The status a write must answer: op create (next), update/patch (old, next),
// delete (old).  Success is 201 / 200 / 204.
export function writeStatus(m, principal, op, { old, next }) {
  const type = (next || old).resourceType;
  if (principal.kind === 'system') return scopeAllows(principal.scopes, type, LETTER[op]) ? SUCCESS[op] : 403;
  if (op !== 'create' && !visible(m, principal, old)) return 404;
  const content = op === 'delete' ? old : next;
  const dir = isDirectory(content);
  switch (principal.kind) {
    case 'admin':
      return dir ? SUCCESS[op] : 403;
    case 'citizen': {
      if (dir || !CITIZEN_WRITABLE.has(type)) return 403;
      const xs = compartmentsOf(content);
      return xs.length > 0 && xs.every((x) => x === principal.patient) ? SUCCESS[op] : 403;
    }
    case 'relative': {
      if (type !== 'Communication') return 403;
      const xs = compartmentsOf(content);
      const ok = xs.length > 0 && xs.every((x) => proxyCategories(m, x, principal.relatedPerson).has('coordination'));
      return ok && visible(m, principal, content) ? SUCCESS[op] : 403;
    }
    case 'practitioner': {
      if (dir) return 403;
      if (op !== 'delete') {
        const { org } = roleOf(m, principal.role);
        // "a practitioner may create a Patient": unconditional in the text, so
        // also in a role that is inactive or has no organisation
        if (op === 'create' && type === 'Patient') return 201;
        if (org && (op === 'create' || op === 'update') && type === 'Encounter'
          && refIs(content.serviceProvider, `Organization/${org}`)) return SUCCESS[op];
        if (org && (op === 'create' || op === 'update') && type === 'EpisodeOfCare'
          && refIs(content.managingOrganization, `Organization/${org}`)) return SUCCESS[op];
      }
      return visible(m, principal, content) ? SUCCESS[op] : 403;
    }
    default: throw new Error(`oracle: unknown principal kind ${principal.kind}`);
  }
}

// Applies a write the server acknowledged to the model.
export function applyWrite(m, op, { old, next }) {
  if (op === 'delete') m.delete(old.resourceType, old.id);
  else m.put(next);
}
