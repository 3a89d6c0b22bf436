// access_fixture.mjs - a world for the access tests: users made with the CLI
// before the server starts, a loader client (system/*.*) that PUTs the
// fixture resources with fixed ids, and one session (or bearer token) per
// principal, reused for every request.
//
//   const w = await startWorld({ users, clients, resources });
//   const res = await w.as('anna').get('/fhir/Observation/o1');
//   await w.as('anna').put('/fhir/Goal/g1', goal);   // CSRF header added for sessions
//   await w.stop();
//
// Also the access matrix's world (matrixWorld, below).
import assert from 'node:assert/strict';
import { execFileSync, execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, newDatabase, BIN, FHIR_JSON } from './server.mjs';
import { CATEGORY_SYSTEM, ROLE_SYSTEM, CONFIDENTIALITY, ACTCODE } from './access_oracle.mjs';

const R = (reference) => ({ reference });
export const ref = R;
export const password = (username) => `${username}-pw-Secret-1`;

// Periods relative to the real clock (the server cannot be given a pinned
// clock from outside): whole years away from now, so no boundary is near.
export function years(now = Date.now()) {
  const y = new Date(now).getUTCFullYear();
  return {
    pastStart: `${y - 3}-01-01`,
    pastEnd: `${y - 1}-01-01`,
    futureStart: `${y + 1}-01-01`,
    futureEnd: `${y + 2}-01-01`,
  };
}

// user: {username, kind: practitioner|citizen|relative|admin, role?, patient?, relatedPerson?}
function userArgs(u) {
  const a = ['user', 'add', '--username', u.username, '--kind', u.kind, '--password-stdin'];
  if (u.role) a.push('--practitioner-role', u.role);
  if (u.patient) a.push('--patient', u.patient);
  if (u.relatedPerson) a.push('--related-person', u.relatedPerson);
  return a;
}

// Runs up to n promise-returning jobs at a time.
export async function pool(jobs, n = 4) {
  const out = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      out[i] = await jobs[i]();
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, jobs.length) }, worker));
  return out;
}

export async function startWorld({ users = [], clients = [], resources = [], prefix = 'samverka-access-', serverArgs = [] }) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const dbPath = newDatabase(dir);
  const cli = (args, input) =>
    execFileSync(BIN, [...args, '--db', dbPath], { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
  const failures = []; // users the CLI refused: {username, error}
  const t0 = Date.now();
  const timing = [];
  const cliAsync = (args, input) => new Promise((resolve) => {
    const child = execFile(BIN, [...args, '--db', dbPath], { encoding: 'utf8' }, (err, stdout, stderr) => resolve({ err, stdout, stderr }));
    child.stdin.end(input);
  });
  // The first command creates the database; then users are added three at a
  // time (each costs an argon2id hash; SQLite serialises the writes).
  const tokens = { loader: cli(['token', 'create', '--client', 'loader', '--scope', 'system/*.*']).trim() };
  await pool(users.map((u) => async () => {
    const { err, stderr } = await cliAsync(userArgs(u), `${password(u.username)}\n`);
    if (err) failures.push({ username: u.username, error: String(stderr || err.message).trim() });
  }), 3);
  for (const c of clients) tokens[c.name] = cli(['token', 'create', '--client', c.name, '--scope', c.scope]).trim();
  timing.push(`users ${Date.now() - t0} ms`);
  const srv = await startServer({ dir, db: dbPath, args: ['--auth', 'on', ...serverArgs] });

  const creds = {}; // name -> {headers, csrf}
  creds.loader = { headers: { Authorization: `Bearer ${tokens.loader}` } };
  for (const c of clients) creds[c.name] = { headers: { Authorization: `Bearer ${tokens[c.name]}` } };

  // on: another server on the same database (a second process; tests/http/pg_multi.test.mjs)
  const call = async (name, method, path, body, extra = {}, on = srv) => {
    const c = creds[name];
    if (!c) throw new Error(`no credentials for ${name}`);
    const headers = { ...c.headers, ...extra };
    // a test may send its own (wrong) token to see it refused
    if (c.csrf && method !== 'GET' && method !== 'HEAD' && !('X-CSRF-Token' in extra)) headers['X-CSRF-Token'] = c.csrf;
    const init = { method, headers };
    if (body !== undefined) {
      if (typeof body === 'string') init.body = body;
      else init.json = body;
    }
    return on.fetch(path, init);
  };
  const as = (name, on = srv) => ({
    get: (p, h) => call(name, 'GET', p, undefined, h, on),
    post: (p, b, h) => call(name, 'POST', p, b, h, on),
    put: (p, b, h) => call(name, 'PUT', p, b, h, on),
    patch: (p, ops) => call(name, 'PATCH', p, JSON.stringify(ops), { 'Content-Type': 'application/json-patch+json' }, on),
    delete: (p) => call(name, 'DELETE', p, undefined, {}, on),
  });

  const loader = as('loader');
  // Resources are written in order, in transactions (one commit each) that
  // never hold the same resource twice: a later version starts a new one.
  let chunk = [];
  const flush = async () => {
    if (!chunk.length) return;
    const bundle = {
      resourceType: 'Bundle', type: 'transaction',
      entry: chunk.map((r) => ({ resource: r, request: { method: 'PUT', url: `${r.resourceType}/${r.id}` } })),
    };
    const res = await loader.post('/fhir', bundle);
    assert.equal(res.status, 200, `loading a transaction of ${chunk.length}: ${res.text.slice(0, 600)}`);
    chunk = [];
  };
  for (const r of resources) {
    if (chunk.some((c) => c.resourceType === r.resourceType && c.id === r.id)) await flush();
    chunk.push(r);
  }
  await flush();
  timing.push(`started and loaded ${Date.now() - t0} ms`);

  const failed = new Set(failures.map((f) => f.username));
  // Logs u in (again: a moved test clock ends sessions); the answer, or null.
  const login = async (username) => {
    const res = await srv.fetch('/auth/login', {
      method: 'POST', json: { username, password: password(username) }, headers: { 'Content-Type': 'application/json' },
    });
    if (res.status !== 200) {
      failures.push({ username, error: `login ${res.status} ${res.text.slice(0, 200)}` });
      return null;
    }
    const m = (res.headers.get('set-cookie') || '').match(/samverka_session=([^;]+)/);
    creds[username] = { headers: { Cookie: `samverka_session=${m[1]}` }, csrf: res.json.csrf_token };
    return res.json;
  };
  const logins = users.filter((u) => !failed.has(u.username)).map((u) => () => login(u.username));
  await pool(logins, 2);
  timing.push(`logged in ${Date.now() - t0} ms`);

  return {
    srv, dir, dbPath, tokens, failures, cli, as, call, timing, login,
    has: (name) => Boolean(creds[name]),
    // SIGTERM; a clean exit (0) is part of the test: under the ASan build a
    // leak or sanitizer report at shutdown fails it.
    async stop() {
      const exit = await srv.stop();
      try {
        assert.deepEqual(exit, { code: 0, signal: null }, `server exit; stderr:\n${srv.stderr().slice(-3000)}`);
      } finally {
        srv.cleanup();
      }
    },
  };
}

export { FHIR_JSON };

// ---- the access matrix's world ---------------------------------------------
//
// Thirteen organisations, each with one kind of care relationship to every
// citizen (CareTeam member directly, through a PractitionerRole, through
// onBehalfOf, with an expired or date-bounded participant period, active and
// finished Encounter, EpisodeOfCare, home municipality, GP, none); eight
// citizens, each with one consent state; resources of every category and
// label variant; practitioners in many roles, citizens, relatives, an admin
// and system clients with narrow scopes.  Used by access_matrix.test.mjs.

export const CODES = 'http://example.org/access-test';
export const cc = (code) => ({ coding: [{ system: CODES, code }] });
export const label = (code, system = CATEGORY_SYSTEM) => ({ system, code });
export const withSecurity = (r, security) => (security.length ? { ...r, meta: { security } } : r);

const CONSENT_BASE = {
  scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
  category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
  policyRule: { coding: [{ system: ACTCODE, code: 'OPTIN' }] },
};
const ACTOR_ROLE = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] };
// One consent rule for patient x (type null: a provision without type).
export function consent(id, x, { type = 'permit', actors = [], labels = [], period, status = 'active', nested } = {}) {
  const provision = type ? { type } : {};
  if (actors.length) provision.actor = actors.map((a) => ({ role: ACTOR_ROLE, reference: R(a) }));
  if (labels.length) provision.securityLabel = labels.map((c) => label(c));
  if (period) provision.period = period;
  if (nested) provision.provision = nested;
  return { resourceType: 'Consent', id, status, ...CONSENT_BASE, patient: R(`Patient/${x}`), provision };
}

export function matrixWorld(NOW) {
  const Y = years(NOW);

  const ORGS = ['ct', 'ctpr', 'obo', 'ctexp', 'enc', 'encfin', 'eoc', 'muni', 'gp', 'none', 'today', 'yday', 'tmrw'];
  // Date-only period bounds around today (UTC): an end of today still covers
  // now (the end of that day), an end of yesterday does not, a start of
  // tomorrow does not yet.  Within 10 minutes of midnight these would race the
  // clock, so the CareTeam participants below get no such periods then.
  const DAY = 24 * 3600 * 1000;
  const isoDay = (t) => new Date(t).toISOString().slice(0, 10);
  const NEAR_MIDNIGHT = DAY - (NOW % DAY) < 10 * 60 * 1000 || NOW % DAY < 10 * 60 * 1000;
  const TODAY = isoDay(NOW);
  const YESTERDAY = isoDay(NOW - DAY);
  const TOMORROW = isoDay(NOW + DAY);
  const MAIN_ROLES = ['physician', 'social-worker', 'home-care'];
  const CT_EXTRA = ['coordinator', 'nurse', 'therapist', 'psychologist', 'teacher', 'administrative'];

  const resources = []; // loaded in this order
  const PATIENT_SUBSET = {}; // principal -> the patients its cases cover (default: all)
  const users = [];
  const principals = {}; // name -> principal for the oracle
  const clients = [
    { name: 'sys-all', scope: 'system/*.read' },
    { name: 'sys-obs', scope: 'system/Observation.rs' },
    { name: 'sys-pat', scope: 'system/Patient.read system/Observation.read' },
  ];
  for (const c of clients) principals[c.name] = { kind: 'system', scopes: c.scope };

  const roleCode = (...codes) => [{ coding: codes.map((code) => ({ system: ROLE_SYSTEM, code })) }];
  function practitionerRole(id, org, codes, extra = {}) {
    resources.push({
      resourceType: 'PractitionerRole', id, active: true, ...(org ? { organization: R(`Organization/${org}`) } : {}),
      ...(codes ? { code: roleCode(...codes) } : {}), ...extra,
    });
  }
  function practitionerUser(username, prId) {
    users.push({ username, kind: 'practitioner', role: prId });
    principals[username] = { kind: 'practitioner', role: prId };
  }

  for (const o of ORGS) resources.push({ resourceType: 'Organization', id: `org-${o}`, name: `Organisation ${o}` });
  resources.push({ resourceType: 'Practitioner', id: 'prac-obo', name: [{ family: 'Obo' }] });
  practitionerRole('pr-ctpr-member', 'org-ctpr', ['nurse']);
  practitionerRole('pr-gp-doc', 'org-gp', ['physician']);
  practitionerUser('p-ctpr-member', 'pr-ctpr-member');
  // Roles matter most where a relationship gives every category: home-care
  // (medication without clinical) only at one organisation per relationship kind.
  for (const o of ORGS) {
    const dated = ['today', 'yday', 'tmrw'].includes(o);
    for (const role of ['ct', 'enc', 'eoc'].includes(o) ? MAIN_ROLES : MAIN_ROLES.slice(0, dated ? 1 : 2)) {
      practitionerRole(`pr-${o}-${role}`, `org-${o}`, [role]);
      practitionerUser(`p-${o}-${role}`, `pr-${o}-${role}`);
      if (dated) PATIENT_SUBSET[`p-${o}-${role}`] = ['pat-a', 'pat-c', 'pat-h'];
    }
  }
  for (const role of CT_EXTRA) {
    practitionerRole(`pr-ct-${role}`, 'org-ct', [role]);
    practitionerUser(`p-ct-${role}`, `pr-ct-${role}`);
    PATIENT_SUBSET[`p-ct-${role}`] = ['pat-a', 'pat-d', 'pat-h'];
  }
  practitionerRole('pr-ct-multi', 'org-ct', ['nurse', 'social-worker']);
  practitionerUser('p-ct-multi', 'pr-ct-multi');
  PATIENT_SUBSET['p-ct-multi'] = ['pat-a', 'pat-d', 'pat-h'];
  practitionerRole('pr-ct-nocode', 'org-ct', null, { code: [{ coding: [{ system: 'http://snomed.info/sct', code: '158965000' }] }] });
  practitionerUser('p-ct-nocode', 'pr-ct-nocode');
  practitionerRole('pr-ct-inactive', 'org-ct', ['physician'], { active: false });
  practitionerUser('p-ct-inactive', 'pr-ct-inactive');
  practitionerRole('pr-ct-noorg', null, ['physician']);
  practitionerUser('p-ct-noorg', 'pr-ct-noorg');
  for (const u of ['p-ct-nocode', 'p-ct-inactive', 'p-ct-noorg']) PATIENT_SUBSET[u] = ['pat-a'];

  // Observation codes and the category their labels give.
  const OBS = [
    { suffix: 'clin', code: 'c-clin', security: [] }, // clinical by type
    { suffix: 'coordlbl', code: 'c-clin2', security: [label('coordination')] }, // a label never lowers: clinical
    { suffix: 'soc', code: 'c-soc', security: [label('social')] },
    { suffix: 'socact', code: 'c-soc2', security: [label('SOC', ACTCODE)] },
    { suffix: 'sens', code: 'c-sens', security: [label('R', CONFIDENTIALITY)] },
    { suffix: 'psy', code: 'c-sens2', security: [label('PSY', ACTCODE)] },
  ];

  const PATIENTS = [
    { id: 'pat-a', family: 'Andersen', has: 'c-soc' },
    { id: 'pat-b', family: 'Bertelsen', has: 'c-sens' },
    { id: 'pat-c', family: 'Christensen', has: 'c-clin' },
    { id: 'pat-d', family: 'Dahl', has: 'c-soc2' },
    { id: 'pat-e', family: 'Eriksen', has: 'c-sens2' },
    { id: 'pat-f', family: 'Frandsen', has: 'c-soc' },
    { id: 'pat-g', family: 'Gregersen', has: 'c-clin' },
    { id: 'pat-h', family: 'Holm', has: 'c-sens' },
  ];
  const PATIENT_IDS = PATIENTS.map((p) => p.id);

  function patientWorld({ id: x, family }, v = {}) {
    const P = R(`Patient/${x}`);
    resources.push({
      resourceType: 'Patient', id: x, name: [{ family }], managingOrganization: R('Organization/org-muni'),
      generalPractitioner: [R(v.gp || 'Organization/org-gp')],
    });
    resources.push({
      resourceType: 'CareTeam', id: `ct-${x}`, status: 'active', subject: P,
      period: v.ctPeriod || { start: Y.pastStart },
      participant: [
        { member: R('Organization/org-ct') },
        { member: R('PractitionerRole/pr-ctpr-member') },
        { member: R('Practitioner/prac-obo'), onBehalfOf: R('Organization/org-obo') },
        { member: R('Organization/org-ctexp'), period: { start: Y.pastStart, end: Y.pastEnd } },
        ...(NEAR_MIDNIGHT ? [] : [
          { member: R('Organization/org-today'), period: { start: TODAY, end: TODAY } },
          { member: R('Organization/org-yday'), period: { end: YESTERDAY } },
          { member: R('Organization/org-tmrw'), period: { start: TOMORROW } },
        ]),
      ],
    });
    const klass = { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' };
    resources.push({ resourceType: 'Encounter', id: `enc-${x}`, status: v.encStatus || 'in-progress', class: klass, subject: P, serviceProvider: R('Organization/org-enc') });
    resources.push({ resourceType: 'Encounter', id: `encfin-${x}`, status: 'finished', class: klass, subject: P, serviceProvider: R('Organization/org-encfin') });
    resources.push({
      resourceType: 'EpisodeOfCare', id: `eoc-${x}`, status: 'active', patient: P, managingOrganization: R('Organization/org-eoc'),
      period: v.eocPeriod || { start: Y.pastStart },
    });
    for (const o of OBS) {
      resources.push(withSecurity({
        resourceType: 'Observation', id: `obs-${x}-${o.suffix}`, status: 'final', code: cc(o.code), subject: P,
        identifier: [{ system: CODES, value: `obs-${x}-${o.suffix}` }],
        ...(o.suffix === 'clin' ? { encounter: R(`Encounter/enc-${x}`) } : {}),
      }, o.security));
    }
    const med = { status: 'active', intent: 'order', medicationCodeableConcept: cc('furosemide'), subject: P };
    resources.push({ resourceType: 'MedicationRequest', id: `mr-${x}`, ...med });
    resources.push(withSecurity({ resourceType: 'MedicationRequest', id: `mrsoc-${x}`, ...med }, [label('social')]));
    resources.push({ resourceType: 'Goal', id: `goal-${x}`, lifecycleStatus: 'active', description: { text: 'walk to the shop' }, subject: P });
    resources.push(withSecurity({ resourceType: 'Goal', id: `goalclin-${x}`, lifecycleStatus: 'active', description: { text: 'blood pressure' }, subject: P }, [label('clinical')]));
    resources.push({ resourceType: 'Task', id: `task-${x}`, status: 'requested', intent: 'order', for: P, owner: R('Organization/org-muni') });
    resources.push({ resourceType: 'Communication', id: `comm-${x}`, status: 'completed', subject: P, sender: R('Organization/org-ct') });
  }

  // Worklists (Task by owner and status, sorted by deadline): two Tasks per citizen
  // for each of four owners, open or not, with distinct deadlines a year ahead
  // (no reminder is near); one labelled social, one sensitive, one in two
  // compartments, one without a deadline.
  const WL_OWNERS = ['ct', 'muni', 'enc', 'none'];
  const WL_STATUS = ['requested', 'in-progress', 'accepted', 'completed'];
  let wlDay = 0;
  const wlDeadline = () => new Date(Date.UTC(new Date(NOW).getUTCFullYear() + 1, 0, 1) + (wlDay++) * DAY).toISOString();
  function worklistTasks({ id: x }, i) {
    for (const o of WL_OWNERS) {
      for (const n of [1, 2]) {
        const security = o === 'ct' && n === 2 && x === 'pat-a' ? [label('social')]
          : o === 'ct' && n === 1 && x === 'pat-d' ? [label('sensitive')] : [];
        resources.push(withSecurity({
          resourceType: 'Task', id: `wl-${o}-${x}-${n}`, status: WL_STATUS[(i + n) % WL_STATUS.length], intent: 'order',
          for: R(`Patient/${x}`), owner: R(`Organization/org-${o}`), restriction: { period: { end: wlDeadline() } },
        }, security));
      }
    }
  }

  for (const p of PATIENTS) {
    patientWorld(p, p.id === 'pat-h' ? {
      gp: 'PractitionerRole/pr-gp-doc', ctPeriod: { start: Y.pastStart, end: Y.pastEnd }, encStatus: 'onleave',
      eocPeriod: { start: Y.pastStart, end: Y.pastEnd },
    } : {});
  }
  PATIENTS.forEach(worklistTasks);
  resources.push({ resourceType: 'Task', id: 'wl-ct-ab', status: 'requested', intent: 'order', for: R('Patient/pat-a'),
    focus: R('Patient/pat-b'), owner: R('Organization/org-ct'), restriction: { period: { end: wlDeadline() } } });
  resources.push({ resourceType: 'Task', id: 'wl-ct-nodl', status: 'accepted', intent: 'order', for: R('Patient/pat-c'), owner: R('Organization/org-ct') });
  // pat-h: a CareTeam that is not active (org-ctexp would otherwise be a member)
  resources.push({ resourceType: 'CareTeam', id: 'ct2-pat-h', status: 'inactive', subject: R('Patient/pat-h'), participant: [{ member: R('Organization/org-ctexp') }] });
  // In two compartments: visible only where both are.
  resources.push({ resourceType: 'Communication', id: 'comm-ab', status: 'completed', subject: R('Patient/pat-a'), recipient: [R('Patient/pat-b')] });
  resources.push({ resourceType: 'Observation', id: 'obs-ad', status: 'final', code: cc('c-clin'), subject: R('Patient/pat-a'), performer: [R('Patient/pat-d')] });

  // Consent states.
  const O = (o) => `Organization/org-${o}`;
  resources.push(consent('cb-deny-orgs', 'pat-b', { type: 'deny', actors: [O('ct'), O('ctpr'), O('enc'), O('muni')] }));
  resources.push(consent('cc-deny-clin', 'pat-c', { type: 'deny', labels: ['clinical'] }));
  resources.push(consent('cc-deny-coord-eoc', 'pat-c', { type: 'deny', actors: [O('eoc')], labels: ['coordination'] }));
  resources.push(consent('cd-permit-soc', 'pat-d', { labels: ['social'] }));
  resources.push(consent('cd-permit-sens-ct', 'pat-d', { actors: [O('ct')], labels: ['sensitive'] }));
  resources.push(consent('cd-deny-soc-enc', 'pat-d', { type: 'deny', actors: [O('enc')], labels: ['social'] }));
  // pat-e: revoked (active, then inactive) and deleted consents
  resources.push(consent('ce-permit-soc', 'pat-e', { labels: ['social'] }));
  resources.push(consent('ce-deny-all', 'pat-e', { type: 'deny' }));
  resources.push(consent('ce-permit-sens', 'pat-e', { labels: ['sensitive'] }));
  resources.push(consent('ce-permit-soc', 'pat-e', { labels: ['social'], status: 'inactive' }));
  resources.push(consent('ce-deny-all', 'pat-e', { type: 'deny', status: 'inactive' }));
  const DELETE_AFTER_LOAD = [['Consent', 'ce-permit-sens']];
  // pat-f: periods that do not cover now
  resources.push(consent('cf-deny-past', 'pat-f', { type: 'deny', period: { start: Y.pastStart, end: Y.pastEnd } }));
  resources.push(consent('cf-permit-soc-past', 'pat-f', { labels: ['social'], period: { start: Y.pastStart, end: Y.pastEnd } }));
  resources.push(consent('cf-permit-sens-future', 'pat-f', { labels: ['sensitive'], period: { start: Y.futureStart } }));
  resources.push(consent('cf-deny-coord-eoc', 'pat-f', { type: 'deny', actors: [O('eoc')], labels: ['coordination'] }));
  resources.push(consent('cf-permit-soc-obo', 'pat-f', { actors: [O('obo')], labels: ['social'], period: { start: Y.pastEnd, end: Y.futureEnd } }));
  // pat-h: a provision without type is a permit; nested provisions are not read
  resources.push(consent('ch-permit-notype', 'pat-h', { type: null, actors: [O('enc')], labels: ['social'] }));
  resources.push(consent('ch-permit-nested', 'pat-h', {
    actors: [O('enc')], labels: ['sensitive'],
    nested: [{ type: 'deny', actor: [{ role: ACTOR_ROLE, reference: R(O('enc')) }], securityLabel: [label('sensitive')] }],
  }));
  // pat-g: relatives and proxy grants
  for (const n of [1, 2, 3, 4]) {
    resources.push({ resourceType: 'RelatedPerson', id: `rp-g${n}`, patient: R('Patient/pat-g'), name: [{ family: `Relative${n}` }] });
    users.push({ username: `rel-g${n}`, kind: 'relative', relatedPerson: `rp-g${n}` });
    principals[`rel-g${n}`] = { kind: 'relative', relatedPerson: `rp-g${n}` };
  }
  resources.push(consent('cg-proxy-1', 'pat-g', { actors: ['RelatedPerson/rp-g1'] })); // coordination only
  resources.push(consent('cg-proxy-2', 'pat-g', { actors: ['RelatedPerson/rp-g2'], labels: ['coordination', 'clinical', 'social'] }));
  resources.push(consent('cg-proxy-3-past', 'pat-g', { actors: ['RelatedPerson/rp-g3'], period: { start: Y.pastStart, end: Y.pastEnd } }));
  resources.push(consent('cg-proxy-4', 'pat-g', { actors: ['RelatedPerson/rp-g4'], labels: ['coordination', 'medication'] }));
  resources.push(consent('cg-deny-4-med', 'pat-g', { type: 'deny', actors: ['RelatedPerson/rp-g4'], labels: ['medication'] }));

  for (const x of ['pat-a', 'pat-d', 'pat-g']) {
    const u = `cit-${x.slice(4)}`;
    users.push({ username: u, kind: 'citizen', patient: x });
    principals[u] = { kind: 'citizen', patient: x };
  }
  users.push({ username: 'adm', kind: 'admin' });
  principals.adm = { kind: 'admin' };

  return { Y, resources, users, clients, principals, PATIENTS, PATIENT_IDS, PATIENT_SUBSET, OBS, DELETE_AFTER_LOAD };
}
