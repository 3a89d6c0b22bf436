// search_oracle.mjs - a brute-force FHIR R4 search evaluator for the property
// test (search_property.test.mjs).  It answers a search by looking at every
// resource in a plain in-memory copy of the database, following the rules of
// the FHIR R4 specification (http://hl7.org/fhir/R4/search.html, cited
// below by its section titles), which docs/search-testing.md restates rule by rule.  It was
// written from the specification, not from the server's C code, and shares no
// code with it: where the two disagree, one of them has misread the spec.
//
//   const oracle = new Oracle(db, { base: srv.fhirBase });  // db: Map type -> Map id -> resource
//   const { must, may } = oracle.search('Task', [['status', 'requested'], ['deadline', 'lt2024-06']]);
//
// A search answers two sets: `must` (the resources that match) and `may` (the
// ones a conforming server may or may not return).  `may` is empty except
// where R4 leaves the answer to the server, which here is only the prefix
// `ap` ("approximately", with a recommended but not required 10%); the
// test then accepts any answer with must <= answer <= must + may.
//
// The search parameters are written out by hand below, per type, from the R4
// definitions (their FHIRPath expression is quoted in each comment).  Only the
// parameters the property test uses are here.

// --- three-valued logic (for `ap`) --------------------------------------------

export const F = 0; // does not match
export const M = 1; // may match (the server decides)
export const T = 2; // matches
const or3 = (xs) => xs.reduce((a, b) => Math.max(a, b), F);
const and3 = (xs) => xs.reduce((a, b) => Math.min(a, b), T);
const bool3 = (b) => (b ? T : F);

// --- text ---------------------------------------------------------------------

// Case- and accent-insensitive form of a string (R4 search, "string": "case- and
// accent-insensitive"): lower case, Unicode canonical decomposition with the
// combining marks removed (é -> e, å -> a, ö -> o, ü -> u), and the Latin
// letters that have no decomposition written as in the Unicode CLDR
// Latin-ASCII transliteration (æ -> ae, ø -> o, œ -> oe, ß -> ss, đ/ð -> d,
// þ -> th, ł -> l, ı -> i).
const LETTERS = { 'æ': 'ae', 'ø': 'o', 'œ': 'oe', 'ß': 'ss', 'đ': 'd', 'ð': 'd', 'þ': 'th', 'ł': 'l', 'ı': 'i' };
export function fold(s) {
  return s.toLowerCase().normalize('NFD').replace(/\p{M}/gu, '')
    .replace(/[æøœßđðþłı]/g, (c) => LETTERS[c]);
}

// Splits a parameter value on unescaped `sep` and removes the escapes
// (R4 search, "Escaping Search Parameters": `\,` `\|` `\$` `\\`).
export function splitEscaped(value, sep) {
  const parts = [];
  let cur = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === '\\' && i + 1 < value.length) { cur += c + value[i + 1]; i++; continue; }
    if (c === sep) { parts.push(cur); cur = ''; continue; }
    cur += c;
  }
  parts.push(cur);
  return parts;
}
export const unescape = (s) => s.replace(/\\(.)/g, '$1');
// Escapes a literal for use as (part of) a parameter value.
export const escapeValue = (s) => s.replace(/[\\,|$]/g, (c) => `\\${c}`);

// --- dates --------------------------------------------------------------------

const DATE_RE = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

// The range of instants (ms since 1970 UTC, both ends inclusive) that a FHIR
// date, dateTime or instant covers at its precision (R4 search, "date": "the
// precision of the value implies a range"): 2024 is the whole year, 2024-05-03
// the whole day, 10:00:00+02:00 the whole second.  Values without a time zone
// are taken in the server's zone, which samverka declares to be UTC.
export function dateRange(text) {
  const m = DATE_RE.exec(text);
  if (!m) return null;
  const [, Y, Mo, D, h, mi, s, frac, zone] = m;
  const y = Number(Y);
  let lo;
  let hi;
  if (Mo === undefined) {
    lo = Date.UTC(y, 0, 1); hi = Date.UTC(y + 1, 0, 1) - 1;
  } else if (D === undefined) {
    lo = Date.UTC(y, Number(Mo) - 1, 1); hi = Date.UTC(y, Number(Mo), 1) - 1;
  } else if (h === undefined) {
    lo = Date.UTC(y, Number(Mo) - 1, Number(D)); hi = lo + 86400000 - 1;
  } else {
    let offset = 0;
    if (zone && zone !== 'Z') offset = (zone[0] === '-' ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
    const base = Date.UTC(y, Number(Mo) - 1, Number(D), Number(h), Number(mi), Number(s ?? 0)) - offset * 60000;
    if (s === undefined) {
      lo = base; hi = base + 60000 - 1;
    } else if (frac === undefined) {
      lo = base; hi = base + 999;
    } else {
      const digits = Math.min(frac.length, 3);
      lo = base + Number(frac.slice(0, 3).padEnd(3, '0'));
      hi = lo + 10 ** (3 - digits) - 1;
    }
  }
  return { lo, hi };
}

// A Period covers from its start's first instant to its end's last; a missing
// start or end leaves the range open on that side (R4 search, "date", and the Period data type).
function periodRange(p) {
  if (!p) return null;
  const start = p.start ? dateRange(p.start) : null;
  const end = p.end ? dateRange(p.end) : null;
  if (!start && !end) return null;
  return { lo: start ? start.lo : -Infinity, hi: end ? end.hi : Infinity };
}

const PREFIXES = ['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap'];
function splitPrefix(value) {
  const p = value.slice(0, 2);
  if (PREFIXES.includes(p) && value.length > 2 && !/^[a-z]$/.test(value[2])) return [p, value.slice(2)];
  return ['eq', value];
}

// Date prefixes on ranges (R4 search, the table in "Prefixes"), with the
// target range [lo, hi] from the resource and the search range [qlo, qhi]:
//   eq  the search range fully contains the target        qlo <= lo && hi <= qhi
//   ne  the search range does not fully contain the target        !eq
//   gt  the range above the search value intersects the target    hi > qhi
//   lt  the range below the search value intersects the target    lo < qlo
//   ge  gt, or eq                                                 hi > qhi || eq
//   le  lt, or eq                                                 lo < qlo || eq
//   sa  no overlap, and the target lies above                     lo > qhi
//   eb  no overlap, and the target lies below                     hi < qlo
//   ap  the ranges overlap (must); the server may widen the search range by
//       about 10% of the distance between now and the search value (may).
function dateMatch(prefix, t, q, now) {
  const eq = q.lo <= t.lo && t.hi <= q.hi;
  switch (prefix) {
    case 'eq': return bool3(eq);
    case 'ne': return bool3(!eq);
    case 'gt': return bool3(t.hi > q.hi);
    case 'lt': return bool3(t.lo < q.lo);
    case 'ge': return bool3(t.hi > q.hi || eq);
    case 'le': return bool3(t.lo < q.lo || eq);
    case 'sa': return bool3(t.lo > q.hi);
    case 'eb': return bool3(t.hi < q.lo);
    case 'ap': {
      if (t.lo <= q.hi && t.hi >= q.lo) return T;
      const gap = Math.max(Math.abs(now - q.lo), Math.abs(now - q.hi));
      const widen = 0.1 * gap + 86400000;
      return t.lo <= q.hi + widen && t.hi >= q.lo - widen ? M : F;
    }
    default: throw new Error(`prefix ${prefix}`);
  }
}

// --- numbers and quantities -----------------------------------------------------

// A search number's value and the half-width of the range its precision
// implies (R4 search, "number": "100" stands for 99.5 <= x < 100.5, "100.00" for
// 99.995 <= x < 100.005).  Exponent forms are not generated by the test.
function parseNumber(text) {
  if (!/^[+-]?\d+(\.\d+)?$/.test(text)) return null;
  const decimals = text.includes('.') ? text.length - text.indexOf('.') - 1 : 0;
  return { value: Number(text), half: 0.5 * 10 ** -decimals };
}

// Number prefixes (R4 search, the examples under "number"): eq and ne use the
// implicit range of the search value; lt, le, gt, ge compare with the value
// "exactly"; sa and eb use the table in "Prefixes" with the stored value
// as a point (it lies entirely above or below the search range); ap matches
// the implicit range (must) and may extend to 10% of the value (may).
function numberMatch(prefix, v, q) {
  const lo = q.value - q.half;
  const hi = q.value + q.half;
  const eq = v >= lo && v < hi;
  switch (prefix) {
    case 'eq': return bool3(eq);
    case 'ne': return bool3(!eq);
    case 'gt': return bool3(v > q.value);
    case 'lt': return bool3(v < q.value);
    case 'ge': return bool3(v >= q.value);
    case 'le': return bool3(v <= q.value);
    case 'sa': return bool3(v > hi);
    case 'eb': return bool3(v < lo);
    case 'ap': {
      if (eq) return T;
      return Math.abs(v - q.value) <= 0.1 * Math.abs(q.value) + q.half + 1e-9 ? M : F;
    }
    default: throw new Error(`prefix ${prefix}`);
  }
}

// --- values of elements ------------------------------------------------------------

const arr = (x) => (x === undefined || x === null ? [] : Array.isArray(x) ? x : [x]);
const flat = (...xs) => xs.flat(Infinity).filter((x) => x !== undefined && x !== null);

// string: the strings to compare.  HumanName and Address give all their parts
// (R4 Patient-name: "may match any of the string fields in the HumanName,
// including family, given, prefix, suffix, and/or text"; likewise Address).
const S = {
  name: (names) => flat(arr(names).map((n) => [n.text, n.family, arr(n.given), arr(n.prefix), arr(n.suffix)])),
  address: (as) => flat(arr(as).map((a) => [a.text, arr(a.line), a.city, a.district, a.state, a.postalCode, a.country])),
};

// token: { system, code } (and display/text for :text, typeCodings for
// :of-type).  A CodeableConcept gives one per coding plus its text.
const K = {
  code: (x) => arr(x).map((c) => ({ code: String(c) })),
  coding: (x) => arr(x).map((c) => ({ system: c.system, code: c.code, display: c.display })),
  cc: (x) => arr(x).flatMap((cc) => [...K.coding(cc.coding), ...(cc.text !== undefined ? [{ text: cc.text }] : [])]),
  ident: (x) => arr(x).map((i) => ({ system: i.system, code: i.value, typeCodings: arr(i.type?.coding) })),
  contact: (x, system) => arr(x).filter((c) => !system || c.system === system).map((c) => ({ code: c.value })),
};

// reference: { type, id } for a local reference, { url } for an absolute one.
const REF_RE = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(\/_history\/[^/]+)?$/;
function parseReference(text, base) {
  if (typeof text !== 'string') return null;
  if (base && text.startsWith(`${base}/`)) text = text.slice(base.length + 1);
  const m = REF_RE.exec(text);
  if (m) return { type: m[1], id: m[2] };
  return { url: text };
}
const R = (x) => arr(x).map((r) => r.reference).filter((s) => typeof s === 'string');

// date: ranges.
const D = {
  dt: (x) => arr(x).map(dateRange).filter(Boolean),
  period: (x) => arr(x).map(periodRange).filter(Boolean),
};

// quantity: { value, system, code, unit }.
const Q = (x) => arr(x).filter((q) => q && typeof q.value === 'number')
  .map((q) => ({ value: q.value, system: q.system, code: q.code, unit: q.unit }));

// --- search parameters ---------------------------------------------------------------
// type, targets (references), values(resource).  Comments quote the R4 expression.

const sp = (type, values, targets) => ({ type, values, targets });
const subjectPatient = (r, el) => R(r[el]).filter((s) => s.startsWith('Patient/'));

const COMMON = {
  _id: sp('token', (r) => K.code(r.id)), // Resource.id
  _lastUpdated: sp('date', (r) => D.dt(r.meta?.lastUpdated)), // Resource.meta.lastUpdated
};

export const PARAMS = {
  Patient: {
    identifier: sp('token', (r) => K.ident(r.identifier)),
    name: sp('string', (r) => S.name(r.name)), // Patient.name
    family: sp('string', (r) => flat(arr(r.name).map((n) => n.family))), // Patient.name.family
    given: sp('string', (r) => flat(arr(r.name).map((n) => arr(n.given)))), // Patient.name.given
    address: sp('string', (r) => S.address(r.address)),
    'address-city': sp('string', (r) => flat(arr(r.address).map((a) => a.city))),
    'address-postalcode': sp('string', (r) => flat(arr(r.address).map((a) => a.postalCode))),
    birthdate: sp('date', (r) => D.dt(r.birthDate)),
    gender: sp('token', (r) => K.code(r.gender)),
    active: sp('token', (r) => K.code(r.active)),
    phone: sp('token', (r) => K.contact(r.telecom, 'phone')), // Patient.telecom.where(system='phone')
    organization: sp('reference', (r) => R(r.managingOrganization), ['Organization']),
    'general-practitioner': sp('reference', (r) => R(r.generalPractitioner), ['Practitioner', 'Organization', 'PractitionerRole']),
  },
  Practitioner: {
    identifier: sp('token', (r) => K.ident(r.identifier)),
    name: sp('string', (r) => S.name(r.name)),
    family: sp('string', (r) => flat(arr(r.name).map((n) => n.family))),
    given: sp('string', (r) => flat(arr(r.name).map((n) => arr(n.given)))),
    gender: sp('token', (r) => K.code(r.gender)),
    active: sp('token', (r) => K.code(r.active)),
    email: sp('token', (r) => K.contact(r.telecom, 'email')),
  },
  Organization: {
    identifier: sp('token', (r) => K.ident(r.identifier)),
    name: sp('string', (r) => flat(r.name, arr(r.alias))), // Organization.name | Organization.alias
    type: sp('token', (r) => K.cc(r.type)),
    active: sp('token', (r) => K.code(r.active)),
    'address-city': sp('string', (r) => flat(arr(r.address).map((a) => a.city))),
    partof: sp('reference', (r) => R(r.partOf), ['Organization']),
  },
  CareTeam: {
    status: sp('token', (r) => K.code(r.status)),
    category: sp('token', (r) => K.cc(r.category)),
    date: sp('date', (r) => D.period(r.period)), // CareTeam.period
    subject: sp('reference', (r) => R(r.subject), ['Patient', 'Group']),
    patient: sp('reference', (r) => subjectPatient(r, 'subject'), ['Patient']), // CareTeam.subject.where(resolve() is Patient)
    participant: sp('reference', (r) => R(arr(r.participant).map((p) => p.member)),
      ['Practitioner', 'Organization', 'CareTeam', 'Patient', 'PractitionerRole', 'RelatedPerson']),
  },
  CarePlan: {
    status: sp('token', (r) => K.code(r.status)),
    intent: sp('token', (r) => K.code(r.intent)),
    category: sp('token', (r) => K.cc(r.category)),
    date: sp('date', (r) => D.period(r.period)), // CarePlan.period
    subject: sp('reference', (r) => R(r.subject), ['Patient', 'Group']),
    patient: sp('reference', (r) => subjectPatient(r, 'subject'), ['Patient']),
    'care-team': sp('reference', (r) => R(r.careTeam), ['CareTeam']),
    goal: sp('reference', (r) => R(r.goal), ['Goal']),
    // CarePlan.activity.detail.performer (never set by the dataset; for the compartment)
    performer: sp('reference', (r) => R(arr(r.activity).flatMap((a) => arr(a.detail?.performer))),
      ['Practitioner', 'Organization', 'CareTeam', 'Device', 'Patient', 'HealthcareService', 'PractitionerRole', 'RelatedPerson']),
  },
  Goal: {
    'lifecycle-status': sp('token', (r) => K.code(r.lifecycleStatus)),
    'achievement-status': sp('token', (r) => K.cc(r.achievementStatus)),
    category: sp('token', (r) => K.cc(r.category)),
    'start-date': sp('date', (r) => D.dt(r.startDate)), // (Goal.start.ofType(date))
    'target-date': sp('date', (r) => D.dt(arr(r.target).map((t) => t.dueDate))), // (Goal.target.due.ofType(date))
    subject: sp('reference', (r) => R(r.subject), ['Patient', 'Group', 'Organization']),
    patient: sp('reference', (r) => subjectPatient(r, 'subject'), ['Patient']),
  },
  Task: {
    status: sp('token', (r) => K.code(r.status)),
    intent: sp('token', (r) => K.code(r.intent)),
    priority: sp('token', (r) => K.code(r.priority)),
    code: sp('token', (r) => K.cc(r.code)),
    'business-status': sp('token', (r) => K.cc(r.businessStatus)),
    'authored-on': sp('date', (r) => D.dt(r.authoredOn)),
    modified: sp('date', (r) => D.dt(r.lastModified)), // Task.lastModified
    period: sp('date', (r) => D.period(r.executionPeriod)), // Task.executionPeriod
    deadline: sp('date', (r) => D.dt(r.restriction?.period?.end)), // samverka: Task.restriction.period.end
    subject: sp('reference', (r) => R(r.for), null), // Task.for (any type)
    patient: sp('reference', (r) => subjectPatient(r, 'for'), ['Patient']), // Task.for.where(resolve() is Patient)
    owner: sp('reference', (r) => R(r.owner),
      ['Practitioner', 'Organization', 'CareTeam', 'Device', 'Patient', 'HealthcareService', 'PractitionerRole', 'RelatedPerson']),
    requester: sp('reference', (r) => R(r.requester),
      ['Practitioner', 'Organization', 'Device', 'Patient', 'PractitionerRole', 'RelatedPerson']),
    'based-on': sp('reference', (r) => R(r.basedOn), null), // Task.basedOn (any type)
  },
  Encounter: {
    status: sp('token', (r) => K.code(r.status)),
    class: sp('token', (r) => K.coding(r.class)), // Encounter.class (a Coding)
    type: sp('token', (r) => K.cc(r.type)),
    date: sp('date', (r) => D.period(r.period)), // Encounter.period
    length: sp('quantity', (r) => Q(r.length)), // Encounter.length (Duration)
    subject: sp('reference', (r) => R(r.subject), ['Patient', 'Group']),
    patient: sp('reference', (r) => subjectPatient(r, 'subject'), ['Patient']),
    'service-provider': sp('reference', (r) => R(r.serviceProvider), ['Organization']),
    participant: sp('reference', (r) => R(arr(r.participant).map((p) => p.individual)), ['Practitioner', 'PractitionerRole', 'RelatedPerson']),
  },
  Communication: {
    status: sp('token', (r) => K.code(r.status)),
    category: sp('token', (r) => K.cc(r.category)),
    sent: sp('date', (r) => D.dt(r.sent)),
    received: sp('date', (r) => D.dt(r.received)),
    subject: sp('reference', (r) => R(r.subject), ['Patient', 'Group']),
    patient: sp('reference', (r) => subjectPatient(r, 'subject'), ['Patient']),
    sender: sp('reference', (r) => R(r.sender),
      ['Practitioner', 'Organization', 'Device', 'Patient', 'HealthcareService', 'PractitionerRole', 'RelatedPerson']),
    recipient: sp('reference', (r) => R(r.recipient),
      ['Practitioner', 'Group', 'Organization', 'CareTeam', 'Device', 'Patient', 'HealthcareService', 'PractitionerRole', 'RelatedPerson']),
    encounter: sp('reference', (r) => R(r.encounter), ['Encounter']),
  },
  Observation: {
    status: sp('token', (r) => K.code(r.status)),
    code: sp('token', (r) => K.cc(r.code)),
    'combo-code': sp('token', (r) => K.cc([r.code, ...arr(r.component).map((c) => c.code)])), // Observation.code | Observation.component.code
    'component-code': sp('token', (r) => K.cc(arr(r.component).map((c) => c.code))),
    category: sp('token', (r) => K.cc(r.category)),
    date: sp('date', (r) => [...D.dt(r.effectiveDateTime), ...D.period(r.effectivePeriod)]), // Observation.effective
    'value-quantity': sp('quantity', (r) => Q(r.valueQuantity)), // (Observation.value.ofType(Quantity))
    'component-value-quantity': sp('quantity', (r) => Q(arr(r.component).map((c) => c.valueQuantity))),
    'combo-value-quantity': sp('quantity', (r) => Q([r.valueQuantity, ...arr(r.component).map((c) => c.valueQuantity)])),
    'value-string': sp('string', (r) => flat(r.valueString)), // (Observation.value.ofType(string))
    subject: sp('reference', (r) => R(r.subject), ['Patient', 'Group', 'Device', 'Location']),
    patient: sp('reference', (r) => subjectPatient(r, 'subject'), ['Patient']),
    performer: sp('reference', (r) => R(r.performer),
      ['Practitioner', 'Organization', 'CareTeam', 'Patient', 'PractitionerRole', 'RelatedPerson']),
  },
};
for (const t of Object.keys(PARAMS)) Object.assign(PARAMS[t], COMMON);

// The R4 CompartmentDefinition "patient" (CompartmentDefinition-patient.json
// in the official examples): which parameters put a resource of a type into a
// patient's compartment.
export const PATIENT_COMPARTMENT = {
  CarePlan: ['patient', 'performer'],
  CareTeam: ['patient', 'participant'],
  Communication: ['subject', 'sender', 'recipient'],
  Encounter: ['patient'],
  Goal: ['patient'],
  Observation: ['subject', 'performer'],
};

export function paramDef(type, code) {
  const def = PARAMS[type]?.[code];
  if (!def) throw new Error(`the oracle does not know ${type}.${code}`);
  return def;
}

// --- the oracle --------------------------------------------------------------------------

export class Oracle {
  // db: Map(type -> Map(id -> resource)); resources carry meta.lastUpdated.
  constructor(db, { base, now = () => Date.now() } = {}) {
    this.db = db;
    this.base = base;
    this.now = now;
    this.cache = new WeakMap(); // resource -> Map(code -> values)
  }

  all(type) { return [...(this.db.get(type)?.values() || [])]; }
  get(type, id) { return this.db.get(type)?.get(id); }

  // The values of a parameter in a resource, in the oracle's value form.
  values(type, code, resource) {
    let byCode = this.cache.get(resource);
    if (!byCode) { byCode = new Map(); this.cache.set(resource, byCode); }
    let vals = byCode.get(code);
    if (!vals) {
      const def = paramDef(type, code);
      vals = def.values(resource);
      if (def.type === 'reference') vals = vals.map((s) => parseReference(s, this.base)).filter(Boolean);
      byCode.set(code, vals);
    }
    return vals;
  }

  // { must: resource[], may: resource[] } for AND-ed [name, value] pairs.
  search(type, params) {
    const ctx = new Map();
    const must = [];
    const may = [];
    for (const r of this.all(type)) {
      const v = and3(params.map(([name, value]) => this.evalParam(type, r, name, value, ctx)));
      if (v === T) must.push(r);
      else if (v === M) may.push(r);
    }
    return { must, may };
  }

  // Patient/{id}/{type}: the resources of type in the patient's compartment
  // (any of the compartment's parameters refers to Patient/id), then params.
  compartment(patientId, type, params) {
    const codes = PATIENT_COMPARTMENT[type];
    if (!codes) throw new Error(`${type} is not in the patient compartment`);
    const { must, may } = this.search(type, params);
    const inside = (r) => codes.some((c) => this.values(type, c, r).some((v) => v.type === 'Patient' && v.id === patientId));
    return { must: must.filter(inside), may: may.filter(inside) };
  }

  // One parameter (name may carry a modifier, a chain or be _has) against one resource.
  evalParam(type, resource, name, value, ctx) {
    if (name.startsWith('_has:')) return this.evalHas(type, resource, name, value, ctx);
    const dot = name.indexOf('.');
    if (dot > 0) return this.evalChain(type, resource, name.slice(0, dot), name.slice(dot + 1), value, ctx);
    const colon = name.indexOf(':');
    const code = colon < 0 ? name : name.slice(0, colon);
    const modifier = colon < 0 ? null : name.slice(colon + 1);
    const def = paramDef(type, code);
    const vals = this.values(type, code, resource);
    if (modifier === 'missing') {
      if (value === 'true') return bool3(vals.length === 0);
      if (value === 'false') return bool3(vals.length > 0);
      throw new Error(`:missing=${value}`);
    }
    // Several values separated by commas: any of them (R4 search: "a,b" means a OR b).
    const alternatives = splitEscaped(value, ',');
    if (def.type === 'token' && modifier === 'not') {
      // :not "reverses the code matching": no value matches any alternative
      // (resources without a value match).
      return bool3(!alternatives.some((a) => vals.some((v) => this.tokenMatch(v, a, null))));
    }
    return or3(alternatives.map((a) => this.match(def, vals, a, modifier)));
  }

  match(def, vals, alt, modifier) {
    switch (def.type) {
      case 'string': {
        const q = unescape(alt);
        // R4 search, "string": default = the value starts with the search string,
        // case- and accent-insensitive; :exact = the whole value, exactly
        // (case and accents count); :contains = anywhere in the value,
        // case- and accent-insensitive.
        if (modifier === null) return bool3(vals.some((v) => fold(v).startsWith(fold(q))));
        if (modifier === 'exact') return bool3(vals.some((v) => v === q));
        if (modifier === 'contains') return bool3(vals.some((v) => fold(v).includes(fold(q))));
        throw new Error(`string modifier ${modifier}`);
      }
      case 'token':
        if (modifier === 'text') {
          // :text: a string search (starts-with, case- and accent-insensitive)
          // on the text of a CodeableConcept or the display of a Coding.
          const q = fold(unescape(alt));
          return bool3(vals.some((v) => [v.text, v.display].some((s) => s !== undefined && fold(s).startsWith(q))));
        }
        return bool3(vals.some((v) => this.tokenMatch(v, alt, modifier)));
      case 'reference':
        return bool3(vals.some((v) => this.referenceMatch(v, alt, modifier, def)));
      case 'date': {
        const [prefix, rest] = splitPrefix(alt);
        const q = dateRange(rest);
        if (!q) throw new Error(`not a date: ${alt}`);
        const now = this.now();
        return or3(vals.map((v) => dateMatch(prefix, v, q, now)));
      }
      case 'quantity': {
        // [prefix]number, [prefix]number|system|code, [prefix]number||code.
        // With a system: system and code must both equal; without one, the
        // code equals either Quantity.code or Quantity.unit (R4 search, "quantity").
        const parts = splitEscaped(alt, '|').map(unescape);
        const [prefix, num] = splitPrefix(parts[0]);
        const q = parseNumber(num);
        if (!q) throw new Error(`not a number: ${alt}`);
        const system = parts.length > 1 ? parts[1] : '';
        const code = parts.length > 2 ? parts[2] : '';
        return or3(vals.map((v) => {
          if (system && !(v.system === system && v.code === code)) return F;
          if (!system && code && !(v.code === code || v.unit === code)) return F;
          return numberMatch(prefix, v.value, q);
        }));
      }
      default:
        throw new Error(`type ${def.type}`);
    }
  }

  // R4 search, "token": [code] any system; [system]|[code] both; |[code] no
  // system; [system]| any code in that system.  :of-type (identifiers):
  // [type system]|[type code]|[value].
  tokenMatch(v, alt, modifier) {
    const parts = splitEscaped(alt, '|').map(unescape);
    if (modifier === 'of-type') {
      if (parts.length !== 3 || !v.typeCodings) return false;
      return v.code === parts[2] && v.typeCodings.some((c) => c.system === parts[0] && c.code === parts[1]);
    }
    if (modifier !== null && modifier !== 'not') throw new Error(`token modifier ${modifier}`);
    if (v.code === undefined && parts.length === 1) return false;
    if (parts.length === 1) return v.code === parts[0];
    const [system, code] = parts;
    if (system === '') return v.system === undefined && v.code !== undefined && v.code === code;
    if (code === '') return v.system === system;
    return v.system === system && v.code === code;
  }

  // R4 search, "reference": [type]/[id] that resource; [id] any target type with that
  // id (or only [type] with the :[type] modifier); an absolute URL is the
  // same reference as the relative one when it starts with this server's
  // base, else it must equal the reference as written.
  referenceMatch(v, alt, modifier) {
    const q = unescape(alt);
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(q)) {
      const parsed = parseReference(q, this.base);
      if (parsed.url) return v.url === parsed.url;
      return v.type === parsed.type && v.id === parsed.id;
    }
    if (q.includes('/')) {
      const parsed = parseReference(q, null);
      return v.type === parsed.type && v.id === parsed.id;
    }
    if (modifier) return v.type === modifier && v.id === q;
    return v.id === q && v.type !== undefined;
  }

  // Chaining (R4 search, "Chained parameters"): the reference parameter `head` (with an optional
  // :Type) refers to a resource, present in the database, on which the rest of
  // the chain matches.  Without :Type, every target type of the parameter
  // that has the next parameter is considered.
  evalChain(type, resource, head, rest, value, ctx) {
    const colon = head.indexOf(':');
    const code = colon < 0 ? head : head.slice(0, colon);
    const only = colon < 0 ? null : head.slice(colon + 1);
    const def = paramDef(type, code);
    if (def.type !== 'reference') throw new Error(`${type}.${code} is not a reference`);
    const nextCode = rest.split(/[.:]/)[0];
    let out = F;
    for (const v of this.values(type, code, resource)) {
      if (!v.type || (only && v.type !== only)) continue;
      if (!only && def.targets && !def.targets.includes(v.type)) continue;
      if (!PARAMS[v.type] || !(nextCode in PARAMS[v.type] || nextCode === '_has')) continue;
      const target = this.get(v.type, v.id);
      if (!target) continue;
      const key = `chain|${v.type}|${v.id}|${rest}|${value}`;
      let r = ctx.get(key);
      if (r === undefined) { r = this.evalParam(v.type, target, rest, value, ctx); ctx.set(key, r); }
      out = Math.max(out, r);
      if (out === T) break;
    }
    return out;
  }

  // _has:[type]:[reference parameter]:[parameter] (R4 search, "Reverse Chaining"): some
  // resource of [type] whose [reference parameter] refers to this resource
  // matches [parameter]=value.  [parameter] may itself be a _has.
  evalHas(type, resource, name, value, ctx) {
    const m = /^_has:([A-Za-z]+):([A-Za-z0-9-]+):(.+)$/.exec(name);
    if (!m) throw new Error(`bad _has ${name}`);
    const [, srcType, refCode, rest] = m;
    const key = `has|${name}|${value}|${type}`;
    let index = ctx.get(key);
    if (!index) {
      // id -> best truth value over the referring resources
      index = new Map();
      for (const src of this.all(srcType)) {
        const refs = this.values(srcType, refCode, src).filter((v) => v.type === type);
        if (refs.length === 0) continue;
        const r = this.evalParam(srcType, src, rest, value, ctx);
        if (r === F) continue;
        for (const v of refs) index.set(v.id, Math.max(index.get(v.id) ?? F, r));
      }
      ctx.set(key, index);
    }
    return index.get(resource.id) ?? F;
  }

  // --- _include / _revinclude (R4 search, "Including other resources") ---

  // The resources that includes ("Type:param[:target]") and iterate
  // includes add to a set of matches: the targets, present in the database,
  // of the matches' references through that parameter; :iterate ones also
  // from the included resources, until nothing new comes.
  includes(matches, includeSpecs, iterateSpecs = [], revSpecs = []) {
    const key = (r) => `${r.resourceType}/${r.id}`;
    const found = new Map();
    const apply = (from, spec) => {
      const [srcType, code, only] = spec.split(':');
      const added = [];
      for (const r of from) {
        if (r.resourceType !== srcType) continue;
        for (const v of this.values(srcType, code, r)) {
          if (!v.type || (only && v.type !== only)) continue;
          const target = this.get(v.type, v.id);
          if (target && !found.has(key(target))) { found.set(key(target), target); added.push(target); }
        }
      }
      return added;
    };
    const applyRev = (from, spec) => {
      const [srcType, code] = spec.split(':');
      const wanted = new Set(from.map(key));
      const added = [];
      for (const src of this.all(srcType)) {
        if (found.has(key(src))) continue;
        if (this.values(srcType, code, src).some((v) => v.type && wanted.has(`${v.type}/${v.id}`))) {
          found.set(key(src), src); added.push(src);
        }
      }
      return added;
    };
    for (const spec of includeSpecs) apply(matches, spec);
    for (const spec of revSpecs) applyRev(matches, spec);
    let frontier = [...matches, ...found.values()];
    while (iterateSpecs.length && frontier.length) {
      const next = [];
      for (const spec of iterateSpecs) next.push(...apply(frontier, spec));
      frontier = next;
    }
    const matchKeys = new Set(matches.map(key));
    return [...found.values()].filter((r) => !matchKeys.has(key(r)));
  }

  // --- _sort (R4 search, "Sorting") ---

  // The key of one sort parameter for a resource.  For a repeating element
  // "the sort is based on the item in the set of multiple parameters that
  // comes earliest in the specified sort order": the smallest value when
  // ascending, the largest when descending.  Strings compare in their
  // case- and accent-insensitive form; tokens by code; dates by the range
  // (ascending by its first instant, descending by its last); quantities by
  // value.  undefined when the resource has no value.
  sortKey(type, code, resource, descending) {
    const def = paramDef(type, code);
    const vals = this.values(type, code, resource);
    let keys;
    switch (def.type) {
      case 'string': keys = vals.map(fold); break;
      case 'token': keys = vals.filter((v) => v.code !== undefined).map((v) => v.code); break;
      case 'date': keys = vals.map((v) => (descending ? v.hi : v.lo)); break;
      case 'quantity': keys = vals.map((v) => v.value); break;
      default: throw new Error(`no sort on ${def.type}`);
    }
    if (keys.length === 0) return undefined;
    return keys.reduce((a, b) => ((descending ? b > a : b < a) ? b : a));
  }

  // null when the resources are in an order allowed by sort ([{code, desc}]),
  // else a description of the first pair out of order.  Resources without a
  // value for a key may come first or last (R4 does not say); each key's
  // choice must hold for the whole result.  Ties may come in any order.
  checkOrder(type, sort, resources) {
    const keys = resources.map((r) => sort.map((s) => this.sortKey(type, s.code, r, s.desc)));
    let firstProblem = null;
    for (let combo = 0; combo < (1 << sort.length); combo++) {
      const cmp = (a, b) => {
        for (let k = 0; k < sort.length; k++) {
          const missingFirst = (combo >> k) & 1;
          const x = a[k];
          const y = b[k];
          if (x === undefined && y === undefined) continue;
          if (x === undefined) return missingFirst ? -1 : 1;
          if (y === undefined) return missingFirst ? 1 : -1;
          if (x === y) continue;
          const lt = x < y ? -1 : 1;
          return sort[k].desc ? -lt : lt;
        }
        return 0;
      };
      let bad = -1;
      for (let i = 1; i < keys.length; i++) { if (cmp(keys[i - 1], keys[i]) > 0) { bad = i; break; } }
      if (bad < 0) return null;
      if (!firstProblem) {
        firstProblem = `${resources[bad - 1].id} ${JSON.stringify(keys[bad - 1])} before ${resources[bad].id} ${JSON.stringify(keys[bad])} (position ${bad})`;
      }
    }
    return firstProblem;
  }
}
