// access_matrix.test.mjs - the generated access matrix (issue 4, must-show 1):
// principal kind (practitioners of thirteen organisations in many roles,
// citizens, relatives with and without a proxy grant, an admin, system
// clients with narrow scopes) x care relationship (CareTeam member, via
// PractitionerRole, via onBehalfOf, expired / date-bounded participant,
// expired or inactive CareTeam, active/finished Encounter, EpisodeOfCare,
// home municipality, GP, none) x consent state (none, deny organisation, deny
// category, permit social/sensitive, provision without type, nested
// provisions, revoked, deleted, periods in the past/future, proxy grants) x
// category (type defaults and meta.security labels) x operation: read, vread,
// instance/type/system history, search with _total=accurate and paging, POST
// _search, _summary=count, _include (also Type:*), _revinclude (also *),
// _include:iterate, chains through Patient and Encounter, _has, compartment
// search, $everything, batch, a paging cursor made for another principal,
// create, conditional create, update (also moving a resource to another
// compartment, labelling it stricter, If-Match), patch and delete; then
// writes that change grants, each followed by reads; the organisation
// worklists (Task by owner and status by deadline: pages, _total, _summary=count)
// for every principal, under a consent written and revoked, and under a
// break-the-glass grant before and after it expires.  The world is
// matrixWorld() in lib/access_fixture.mjs.
//
// Every expected answer comes from lib/access_oracle.mjs, which restates
// docs/access.md and evaluates it on the test's own copy of the data; the
// server's policy code is never asked.  Zero leaks: statuses, result id sets,
// totals and includes are compared exactly, and an invisible resource's 404
// must read like a missing one's.  Mismatches are printed one line per case
// (ACCESS_MISMATCHES=file keeps them all).
//
// Periods are relative to the real clock; only the break-the-glass case moves the
// server's test clock (--test-endpoints), at the end.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import {
  startWorld, pool, ref as R, matrixWorld, consent, cc, label, withSecurity, CODES,
} from './lib/access_fixture.mjs';
import {
  Model, visible, compartmentsOf, isDirectory, scopeAllows, writeStatus, applyWrite, CATEGORY_SYSTEM,
} from './lib/access_oracle.mjs';

const NOW = Date.now();
const {
  Y, resources, users, clients, principals, PATIENTS, PATIENT_IDS, PATIENT_SUBSET, OBS, DELETE_AFTER_LOAD,
} = matrixWorld(NOW);

// ---- world and oracle ----------------------------------------------------

const model = new Model(NOW);
let w;
let active = []; // principal names with credentials

before(async () => {
  const t0 = Date.now();
  w = await startWorld({ users, clients, resources, serverArgs: ['--test-endpoints', 'on'] });
  console.log(`# world: ${users.length} users, ${resources.length} resources, ready in ${Date.now() - t0} ms (${w.timing.join(', ')})`);
  for (const r of resources) model.put(r);
  for (const [type, id] of DELETE_AFTER_LOAD) {
    const res = await w.as('loader').delete(`/fhir/${type}/${id}`);
    assert.ok(res.status === 204 || res.status === 200, `delete ${type}/${id}: ${res.status}`);
    model.delete(type, id);
  }
  active = Object.keys(principals).filter((n) => w.has(n));
});
after(async () => {
  const t0 = Date.now();
  if (w) await w.stop();
  console.log(`# server stopped in ${Date.now() - t0} ms`);
});

// ---- comparing -----------------------------------------------------------

const mismatches = [];
let caseCount = 0;
const tally = {}; // 'kind status' -> expected read answers: the matrix is not all 200 or all 404
function report(phase) {
  const mine = mismatches.filter((m) => m.phase === phase);
  // ACCESS_MISMATCHES=file keeps every mismatch (the failure shows the first 60).
  if (process.env.ACCESS_MISMATCHES) {
    appendFileSync(process.env.ACCESS_MISMATCHES, mine.map((m) => `${m.phase}\t${m.who}\t${m.what}\t${m.why}\n`).join(''));
  }
  if (mine.length) {
    const lines = mine.slice(0, 60).map((m) => `  ${m.who} ${m.what}: ${m.why}`);
    assert.fail(`${mine.length} mismatch(es) in ${phase}:\n${lines.join('\n')}${mine.length > 60 ? '\n  …' : ''}`);
  }
}

const idOfEntry = (e) => {
  if (e.resource?.id) return `${e.resource.resourceType}/${e.resource.id}`;
  const m = /([A-Za-z]+)\/([^/]+)(\/_history\/\d+)?$/.exec(e.request?.url || e.fullUrl || '');
  return m ? `${m[1]}/${m[2]}` : '?';
};
const keyOf = (r) => `${r.resourceType}/${r.id}`;
const setDiff = (a, b) => [...a].filter((x) => !b.has(x));
function diffSets(label, got, want) {
  const extra = setDiff(got, want);
  const missing = setDiff(want, got);
  if (!extra.length && !missing.length) return null;
  return `${label}${extra.length ? ` extra [${extra.join(' ')}]` : ''}${missing.length ? ` missing [${missing.join(' ')}]` : ''}`;
}

// Follows next links with the same credentials; returns every page.
async function pages(who, path) {
  const first = await w.as(who).get(path);
  if (first.status !== 200) return { status: first.status, res: first };
  const all = [first.json];
  let page = first.json;
  for (let i = 0; i < 200; i++) {
    const next = (page.link || []).find((l) => l.relation === 'next');
    if (!next) break;
    const res = await w.as(who).get(next.url.slice(w.srv.base.length));
    if (res.status !== 200) return { status: res.status, res, broken: `page ${i + 2}: ${res.status}` };
    page = res.json;
    all.push(page);
  }
  return { status: 200, pages: all, total: all[0].total };
}

// The 404 of an invisible resource must read like the 404 of a missing one,
// asked the same way (read, vread or history: suffix '', '/_history/1', '/_history').
const missingBody = new Map(); // 'type suffix' -> the issue with the id as ID
const issueShape = (res, id) => {
  const issue = res.json?.issue?.[0] || {};
  return JSON.stringify({ ...issue, diagnostics: (issue.diagnostics || '').replaceAll(id, 'ID') });
};
async function missingShape(type, suffix) {
  const k = `${type} ${suffix}`;
  if (!missingBody.has(k)) {
    const id = `no-such-${type.toLowerCase()}`;
    missingBody.set(k, issueShape(await w.as('loader').get(`/fhir/${type}/${id}${suffix}`), id));
  }
  return missingBody.get(k);
}

async function notFoundLikeMissing(type, id, res, suffix = '') {
  if (res.status !== 404) return null;
  const got = issueShape(res, id);
  const want = await missingShape(type, suffix);
  return got === want ? null : `404 differs from a missing ${type}'s: ${got} vs ${want}`;
}

// One case: run it, compare, count.
async function check(phase, who, what, run) {
  caseCount++;
  try {
    const why = await run();
    if (why) mismatches.push({ phase, who, what, why });
  } catch (e) {
    mismatches.push({ phase, who, what, why: `threw ${e.message}` });
  }
}

function statusWhy(expected, res) {
  if (res.status === expected) return null;
  return `expected ${expected} got ${res.status}${res.status >= 400 || expected >= 400 ? ` (${(res.text || '').slice(0, 160)})` : ''}`;
}

// Reads: read, vread, instance history.
function readCases(phase, who, res, { vread = false, history = false } = {}) {
  const p = principals[who];
  const type = res.resourceType;
  const path = `/fhir/${type}/${res.id}`;
  const expectStatus = () => {
    if (p.kind === 'system' && !scopeAllows(p.scopes, type, 'r')) return 403;
    return visible(model, p, model.get(type, res.id)) ? 200 : 404;
  };
  const out = [];
  out.push(() => check(phase, who, `GET ${path}`, async () => {
    const want = expectStatus();
    tally[`${p.kind} ${want}`] = (tally[`${p.kind} ${want}`] || 0) + 1;
    const r = await w.as(who).get(path);
    return statusWhy(want, r) || (want === 200 && r.json?.id !== res.id ? `wrong body ${r.text.slice(0, 100)}` : null)
      || (await notFoundLikeMissing(type, res.id, r));
  }));
  if (vread) {
    out.push(() => check(phase, who, `GET ${path}/_history/1`, async () => {
      const r = await w.as(who).get(`${path}/_history/1`);
      return statusWhy(expectStatus(), r) || (await notFoundLikeMissing(type, res.id, r, '/_history/1'));
    }));
  }
  if (history) {
    out.push(() => check(phase, who, `GET ${path}/_history`, async () => {
      const want = expectStatus();
      const got = await pages(who, `${path}/_history`);
      if (got.status !== want) return statusWhy(want, got.res || { status: got.status, text: '' });
      if (want !== 200) return notFoundLikeMissing(type, res.id, got.res, '/_history');
      const n = got.pages.reduce((s, b) => s + (b.entry || []).length, 0);
      const versions = model.versions.get(keyOf(res));
      return n === versions ? null : `expected ${versions} versions got ${n}`;
    }));
  }
  return out;
}

// A search: expected status, match set, include set (null: not checked).
function searchCase(phase, who, path, expectFn) {
  return () => check(phase, who, `GET ${path}`, async () => {
    const want = expectFn();
    const got = await pages(who, path);
    if (got.status !== want.status) return statusWhy(want.status, got.res || { status: got.status, text: '' });
    if (want.status !== 200) return null;
    if (got.broken) return got.broken;
    const matches = new Set();
    const includes = new Set();
    for (const b of got.pages) {
      for (const e of b.entry || []) {
        const mode = e.search?.mode;
        if (mode === 'outcome') continue;
        (mode === 'include' ? includes : matches).add(idOfEntry(e));
      }
    }
    const problems = [];
    if (want.matches) problems.push(diffSets('matches', matches, want.matches));
    if (want.total !== undefined && got.total !== want.total) problems.push(`total ${got.total} expected ${want.total}`);
    if (want.includes) problems.push(diffSets('includes', includes, want.includes));
    if (want.includeFilter) {
      const bad = [...includes].filter((k) => !want.includeFilter(k));
      if (bad.length) problems.push(`includes not allowed [${bad.join(' ')}]`);
    }
    const p = problems.filter(Boolean);
    return p.length ? p.join('; ') : null;
  });
}

const refTarget = (r) => (r?.reference ? model.getRef(r.reference) : undefined);
const vis = (p, r) => Boolean(r) && visible(model, p, r);
const keys = (arr) => new Set(arr.map(keyOf));

// ---- phase 1: reads and searches -------------------------------------------

test('the world loaded: every user was created and logged in', () => {
  assert.deepEqual(w.failures, [], 'users the CLI or login refused (their cases are skipped)');
});

test('matrix: read, vread, history, search, includes, chains, _has, compartments, $everything', async () => {
  const jobs = [];
  const phase = 'reads';
  // Reads: per patient one resource of each category/label variant, plus
  // the relationship resources, consents, relatives and shared resources.
  const perPatient = (x) => [`Patient/${x}`, `Goal/goalclin-${x}`,
    `MedicationRequest/mr-${x}`, `MedicationRequest/mrsoc-${x}`, ...OBS.map((o) => `Observation/obs-${x}-${o.suffix}`)];
  const sampled = (x) => new Set([`Patient/${x}`, `Observation/obs-${x}-soc`]);
  const shared = ['Communication/comm-ab', 'Observation/obs-ad', 'Consent/ce-permit-soc', 'Consent/cb-deny-orgs',
    'Consent/cg-proxy-2', 'RelatedPerson/rp-g1', 'RelatedPerson/rp-g3', 'CareTeam/ct-pat-h', 'EpisodeOfCare/eoc-pat-c',
    'Encounter/enc-pat-d', 'Goal/goal-pat-b', 'Task/task-pat-f',
    'Organization/org-ct', 'Organization/org-none', 'PractitionerRole/pr-ct-physician', 'Practitioner/prac-obo'];
  for (const who of active) {
    const p = principals[who];
    const sys = p.kind === 'system';
    const can = (type, letter) => !sys || scopeAllows(p.scopes, type, letter);
    const mine = PATIENT_SUBSET[who] || PATIENT_IDS;
    for (const x of mine) {
      const s = sampled(x);
      for (const k of perPatient(x)) jobs.push(...readCases(phase, who, model.getRef(k), { vread: s.has(k), history: s.has(k) }));
    }
    for (const k of shared) jobs.push(...readCases(phase, who, model.getRef(k), { vread: k === 'Consent/ce-permit-soc', history: k === 'Consent/ce-permit-soc' }));
    jobs.push(() => check(phase, who, 'GET /fhir/Observation/obs-missing', async () => {
      const r = await w.as(who).get('/fhir/Observation/obs-missing');
      return statusWhy(can('Observation', 'r') ? 404 : 403, r);
    }));

    for (const { id: x, family, has } of mine.map((id) => PATIENTS.find((q) => q.id === id))) {
      const P = `Patient/${x}`;
      const pat = model.get('Patient', x);
      const obsOf = () => model.all('Observation').filter((o) => o.subject?.reference === P);
      // 1. plain search with paging, _total and two _includes
      const incSubject = can('Patient', 'r');
      const incEnc = !sys;
      const incParams = `${incSubject ? '&_include=Observation:subject' : ''}${incEnc ? '&_include=Observation:encounter' : ''}`;
      jobs.push(searchCase(phase, who, `/fhir/Observation?subject=${P}&_total=accurate&_count=4${incParams}`, () => {
        if (!can('Observation', 's')) return { status: 403 };
        const m = obsOf().filter((o) => vis(p, o));
        const inc = new Set();
        for (const o of m) {
          if (incSubject && vis(p, refTarget(o.subject))) inc.add(o.subject.reference);
          if (incEnc && vis(p, refTarget(o.encounter))) inc.add(o.encounter.reference);
        }
        return { status: 200, matches: keys(m), total: m.length, includes: inc };
      }));
      // 2. chained through the (possibly invisible) Patient
      if (can('Patient', 'r')) {
        jobs.push(searchCase(phase, who, `/fhir/Observation?subject:Patient.name=${family}&_total=accurate`, () => {
          if (!can('Observation', 's')) return { status: 403 };
          const m = vis(p, pat) ? obsOf().filter((o) => vis(p, o)) : [];
          return { status: 200, matches: keys(m), total: m.length };
        }));
      }
      // 3. _has
      if (can('Observation', 'r')) {
        jobs.push(searchCase(phase, who, `/fhir/Patient?_id=${x}&_has:Observation:subject:code=${has}&_total=accurate`, () => {
          if (!can('Patient', 's')) return { status: 403 };
          const hit = vis(p, pat) && obsOf().some((o) => o.code.coding[0].code === has && vis(p, o));
          return { status: 200, matches: new Set(hit ? [P] : []), total: hit ? 1 : 0 };
        }));
      }
      // 4. _revinclude
      if (!sys || p.scopes === 'system/*.read') {
        jobs.push(searchCase(phase, who, `/fhir/Patient?_id=${x}&_revinclude=Observation:subject&_revinclude=Consent:patient&_total=accurate`, () => {
          const seen = vis(p, pat);
          const inc = !seen ? [] : model.all().filter((r) => ((r.resourceType === 'Observation' && r.subject?.reference === P)
            || (r.resourceType === 'Consent' && r.patient?.reference === P)) && vis(p, r));
          return { status: 200, matches: new Set(seen ? [P] : []), total: seen ? 1 : 0, includes: keys(inc) };
        }));
      }
      // 5, 6. compartment search
      for (const type of ['Observation', 'Communication']) {
        jobs.push(searchCase(phase, who, `/fhir/Patient/${x}/${type}?_total=accurate${type === 'Observation' ? '&_count=5' : ''}`, () => {
          if (!can(type, 's')) return { status: 403 };
          const m = model.all(type).filter((r) => compartmentsOf(r).includes(x) && vis(p, r));
          return { status: 200, matches: keys(m), total: m.length };
        }));
      }
      // 7. $everything
      jobs.push(searchCase(phase, who, `/fhir/Patient/${x}/$everything?_count=12`, () => {
        if (sys && !scopeAllows(p.scopes, '*', 's')) return { status: 403 };
        if (!vis(p, pat)) return { status: 404 };
        const m = model.all().filter((r) => !isDirectory(r) && compartmentsOf(r).includes(x) && vis(p, r));
        return { status: 200, matches: keys(m), includeFilter: (k) => isDirectory({ resourceType: k.split('/')[0] }) };
      }));
      // 9. the same search as a POST form
      jobs.push(() => check(phase, who, `POST /fhir/Observation/_search subject=${P}`, async () => {
        const want = can('Observation', 's') ? 200 : 403;
        const res = await w.call(who, 'POST', '/fhir/Observation/_search', `subject=${encodeURIComponent(P)}&_total=accurate`,
          { 'Content-Type': 'application/x-www-form-urlencoded' });
        if (res.status !== want) return statusWhy(want, res);
        if (want !== 200) return null;
        const m = keys(obsOf().filter((o) => vis(p, o)));
        const got = new Set((res.json.entry || []).map(idOfEntry));
        return diffSets('matches', got, m) || (res.json.total === m.size ? null : `total ${res.json.total} expected ${m.size}`);
      }));
      if (!sys || p.scopes === 'system/*.read') {
        // 10. _include:iterate from what _revinclude brought
        jobs.push(searchCase(phase, who, `/fhir/Patient?_id=${x}&_revinclude=Observation:subject&_include:iterate=Observation:encounter`, () => {
          const seen = vis(p, pat);
          const obs = seen ? obsOf().filter((o) => vis(p, o)) : [];
          const inc = new Set(obs.map(keyOf));
          for (const o of obs) if (vis(p, refTarget(o.encounter))) inc.add(o.encounter.reference);
          return { status: 200, matches: new Set(seen ? [P] : []), includes: inc };
        }));
        // 11. chained through the Encounter (coordination) the observation points at
        jobs.push(searchCase(phase, who, `/fhir/Observation?subject=${P}&encounter:Encounter.status=in-progress,onleave&_total=accurate`, () => {
          const m = obsOf().filter((o) => vis(p, o) && vis(p, refTarget(o.encounter))
            && ['in-progress', 'onleave'].includes(refTarget(o.encounter).status));
          return { status: 200, matches: keys(m), total: m.length };
        }));
      }
      if (!sys || p.scopes === 'system/*.read') {
        // 13. wildcard includes: every reference of a match, every resource referring to the patient
        jobs.push(searchCase(phase, who, `/fhir/Observation?subject=${P}&_include=Observation:*`, () => {
          const m = obsOf().filter((o) => vis(p, o));
          const inc = new Set();
          for (const o of m) {
            for (const r of [o.subject, o.encounter, ...(o.performer || [])]) {
              if (r && vis(p, refTarget(r)) && !m.some((x) => keyOf(x) === r.reference)) inc.add(r.reference);
            }
          }
          return { status: 200, matches: keys(m), includes: inc };
        }));
        jobs.push(searchCase(phase, who, `/fhir/Patient?_id=${x}&_revinclude=*`, () => {
          const seen = vis(p, pat);
          const inc = !seen ? [] : model.all().filter((r) => r.resourceType !== 'Patient' && JSON.stringify(r).includes(`"reference":"${P}"`) && vis(p, r));
          return { status: 200, matches: new Set(seen ? [P] : []), includes: keys(inc) };
        }));
      }
      // 12. a batch of reads and a search: each entry answers as alone
      jobs.push(() => check(phase, who, `POST /fhir batch (${x})`, async () => {
        const targets = [`Observation/obs-${x}-soc`, `Observation/obs-${x}-clin`, `Patient/${x}`];
        const bundle = {
          resourceType: 'Bundle', type: 'batch',
          entry: [...targets.map((url) => ({ request: { method: 'GET', url } })),
            { request: { method: 'GET', url: `Observation?subject=${P}&_total=accurate` } }],
        };
        const res = await w.call(who, 'POST', '/fhir', bundle);
        if (sys && !scopeAllows(p.scopes, '*', 'c')) return statusWhy(403, res);
        if (res.status !== 200) return statusWhy(200, res);
        const why = [];
        targets.forEach((t, i) => {
          const want = vis(p, model.getRef(t)) ? '200' : '404';
          const got = String(res.json.entry?.[i]?.response?.status || '').slice(0, 3);
          if (got !== want) why.push(`${t}: ${got} expected ${want}`);
        });
        const m = keys(obsOf().filter((o) => vis(p, o)));
        const sb = res.json.entry?.[3]?.resource || {};
        const got = new Set((sb.entry || []).map(idOfEntry));
        const d = diffSets('search entry', got, m);
        if (d) why.push(d);
        if (sb.total !== m.size) why.push(`search entry total ${sb.total} expected ${m.size}`);
        return why.length ? why.join('; ') : null;
      }));
      // 8. _summary=count
      jobs.push(searchCase(phase, who, `/fhir/Observation?subject=${P}&_summary=count`, () => {
        if (!can('Observation', 's')) return { status: 403 };
        return { status: 200, matches: new Set(), total: obsOf().filter((o) => vis(p, o)).length };
      }));
    }

    // Searches across every patient.
    const across = [
      ['Observation', 'code=c-soc,c-soc2&_total=accurate&_count=5', (o) => ['c-soc', 'c-soc2'].includes(o.code.coding[0].code)],
      ['Patient', '_total=accurate&_count=3', () => true],
      ['Communication', '_total=accurate', () => true],
      ['Consent', '_total=accurate&_count=10', () => true],
      ['Goal', '_total=accurate', () => true],
      ['MedicationRequest', '_total=accurate', () => true],
      ['Organization', '_total=accurate', () => true],
      ['Observation', `_security=${CATEGORY_SYSTEM}|social&_total=accurate`,
        (o) => (o.meta?.security || []).some((l) => l.system === CATEGORY_SYSTEM && l.code === 'social')],
    ];
    for (const [type, q, pred] of across) {
      jobs.push(searchCase(phase, who, `/fhir/${type}?${q}`, () => {
        if (!can(type, 's')) return { status: 403 };
        const m = model.all(type).filter((r) => pred(r) && vis(p, r));
        return { status: 200, matches: keys(m), total: m.length };
      }));
    }
    if (can('Observation', 'r')) {
      jobs.push(searchCase(phase, who, '/fhir/Patient?_has:Observation:subject:code=c-sens&_total=accurate', () => {
        if (!can('Patient', 's')) return { status: 403 };
        const m = model.all('Patient').filter((pt) => vis(p, pt) && model.all('Observation')
          .some((o) => o.subject?.reference === `Patient/${pt.id}` && o.code.coding[0].code === 'c-sens' && vis(p, o)));
        return { status: 200, matches: keys(m), total: m.length };
      }));
    }
    // A paging cursor made for someone who sees everything brings no more than the caller sees.
    jobs.push(() => check(phase, who, 'GET a next link of sys-all', async () => {
      const first = await w.as('sys-all').get('/fhir/Observation?_count=3&_total=accurate');
      const next = (first.json.link || []).find((l) => l.relation === 'next');
      const res = await w.as(who).get(next.url.slice(w.srv.base.length));
      const want = can('Observation', 's') ? 200 : 403;
      if (res.status !== want) return statusWhy(want, res);
      if (want !== 200) return null;
      const bad = (res.json.entry || []).map(idOfEntry).filter((k) => !vis(p, model.getRef(k)));
      const total = model.all('Observation').filter((o) => vis(p, o)).length;
      return (bad.length ? `invisible entries [${bad.join(' ')}]` : null) || (res.json.total === undefined || res.json.total === total ? null : `total ${res.json.total} expected ${total}`);
    }));
    // System history: every version of every visible resource, directory included.
    jobs.push(() => check(phase, who, 'GET /fhir/_history', async () => {
      const want = !sys || scopeAllows(p.scopes, '*', 'r') ? 200 : 403;
      const got = await pages(who, '/fhir/_history?_count=200');
      if (got.status !== want) return statusWhy(want, got.res);
      if (want !== 200) return null;
      const ids = new Set();
      for (const b of got.pages) for (const e of b.entry || []) ids.add(idOfEntry(e));
      for (const [t, i] of DELETE_AFTER_LOAD) ids.delete(`${t}/${i}`);
      return diffSets('ids', ids, keys(model.all().filter((r) => vis(p, r))));
    }));
    // Type history: every version of every visible resource of the type.
    for (const type of ['Observation', 'Patient', 'Consent']) {
      jobs.push(() => check(phase, who, `GET /fhir/${type}/_history`, async () => {
        const want = can(type, 'r') ? 200 : 403;
        const got = await pages(who, `/fhir/${type}/_history?_count=50`);
        if (got.status !== want) return statusWhy(want, got.res);
        if (want !== 200) return null;
        const ids = new Set();
        let n = 0;
        for (const b of got.pages) for (const e of b.entry || []) { ids.add(idOfEntry(e)); n++; }
        // A deleted resource has no current compartment: its versions are not compared.
        const deleted = new Set(DELETE_AFTER_LOAD.map(([t, i]) => `${t}/${i}`));
        for (const d of deleted) if (ids.delete(d)) n -= model.versions.get(d);
        const m = model.all(type).filter((r) => vis(p, r));
        const nWant = m.reduce((s, r) => s + model.versions.get(keyOf(r)), 0);
        return diffSets('ids', ids, keys(m)) || (n === nWant ? null : `expected ${nWant} versions got ${n}`);
      }));
    }
  }
  await pool(jobs, 4);
  console.log(`# reads phase: ${jobs.length} cases, ${mismatches.filter((m) => m.phase === phase).length} mismatches`);
  console.log(`# expected reads: ${Object.entries(tally).sort().map(([k, v]) => `${k}: ${v}`).join(', ')}`);
  report(phase);
});

// ---- phase 2: writes ---------------------------------------------------------

// A writable copy of the model's current resource with a harmless change.
// ---- worklists: Task by owner and status, sorted by deadline ----------------
//
// The organisation worklist reads its matches from combined index rows that carry
// a copy of the owner's grant (docs/performance.md); these cases hold its pages and
// counts to the oracle: every principal, owners with and without a relationship,
// citizens in every consent state, labels stricter than the type, a Task in two
// compartments, paging three at a time across citizens.

const OPEN = ['requested', 'accepted', 'in-progress'];
const worklistPath = (o, extra = '&_total=accurate&_count=3') =>
  `/fhir/Task?owner=Organization/org-${o}&status=${OPEN.join(',')}&_sort=deadline${extra}`;
const deadlineOf = (t) => t.restriction?.period?.end ?? null;
const byDeadline = (a, b) => (a === b ? 0 : a === null ? 1 : b === null ? -1 : Date.parse(a) - Date.parse(b));

// The open Tasks of org-o that principal who sees: their keys and deadlines in order.
function worklistWant(who, o) {
  const p = principals[who];
  const m = model.all('Task').filter((t) => t.owner?.reference === `Organization/org-${o}` && OPEN.includes(t.status) && vis(p, t));
  return { keys: keys(m), deadlines: m.map(deadlineOf).sort(byDeadline) };
}

function worklistCase(phase, who, o) {
  return () => check(phase, who, `GET ${worklistPath(o)}`, async () => {
    const p = principals[who];
    if (p.kind === 'system' && !scopeAllows(p.scopes, 'Task', 's')) {
      const r = await w.as(who).get(worklistPath(o));
      return statusWhy(403, r);
    }
    const want = worklistWant(who, o);
    const got = await pages(who, worklistPath(o));
    if (got.status !== 200) return statusWhy(200, got.res || { status: got.status, text: '' });
    if (got.broken) return got.broken;
    const entries = got.pages.flatMap((b) => (b.entry || []).filter((e) => e.search?.mode !== 'outcome'));
    const problems = [diffSets('matches', new Set(entries.map(idOfEntry)), want.keys)];
    if (entries.length !== want.keys.size) problems.push(`${entries.length} entries for ${want.keys.size} matches`);
    if (got.total !== want.keys.size) problems.push(`total ${got.total} expected ${want.keys.size}`);
    const order = entries.map((e) => deadlineOf(e.resource));
    if (JSON.stringify(order) !== JSON.stringify(want.deadlines)) problems.push(`deadlines out of order: ${order.join(' ')}`);
    const count = await w.as(who).get(worklistPath(o, '&_summary=count'));
    if (count.status !== 200 || count.json?.total !== want.keys.size) problems.push(`_summary=count ${count.status} ${count.json?.total} expected ${want.keys.size}`);
    const p2 = problems.filter(Boolean);
    return p2.length ? p2.join('; ') : null;
  });
}

const WORKLIST_OWNERS = ['ct', 'muni', 'enc', 'none'];

test('matrix: worklists (owner, status, _sort=deadline) with _total=accurate, _summary=count and paging', async () => {
  const phase = 'worklists';
  const jobs = [];
  for (const who of active) for (const o of WORKLIST_OWNERS) jobs.push(worklistCase(phase, who, o));
  await pool(jobs, 4);
  // the cases are not all empty or all full
  const seen = active.filter((who) => principals[who].kind === 'practitioner').map((who) => worklistWant(who, 'ct').keys.size);
  assert.ok(seen.some((n) => n === 0) && seen.some((n) => n > 3), `worklist sizes ${seen.join(' ')}`);
  console.log(`# worklists phase: ${mismatches.filter((m) => m.phase === phase).length} mismatches`);
  report(phase);
});

function touched(type, id, n) {
  const r = structuredClone(model.get(type, id));
  delete r.meta?.versionId;
  delete r.meta?.lastUpdated;
  if (r.meta && !Object.keys(r.meta).length) delete r.meta;
  r.language = n % 2 ? 'da' : 'en';
  return r;
}

async function writeCase(phase, who, op, path, { old, next }, body) {
  const p = principals[who];
  await check(phase, who, `${op.toUpperCase()} ${path}`, async () => {
    const want = writeStatus(model, p, op, { old, next });
    const api = w.as(who);
    const res = op === 'create' ? await api.post(path, body ?? next)
      : op === 'update' ? await api.put(path, body ?? next)
        : op === 'patch' ? await api.patch(path, body)
          : await api.delete(path);
    const ok = res.status === want || (op === 'delete' && want === 204 && res.status === 200);
    if (res.status >= 200 && res.status < 300) {
      const id = op === 'create' ? res.json?.id : (next || old).id;
      applyWrite(model, op, { old, next: next && { ...next, id } });
    }
    if (!ok) return statusWhy(want, res);
    if (want >= 400 && res.json?.resourceType !== 'OperationOutcome') return `a ${res.status} without an OperationOutcome`;
    return null;
  });
}

test('matrix: create, update, patch and delete by every principal', async () => {
  const phase = 'writes';
  // a scratch resource per principal to delete
  for (const who of active) {
    const r = { resourceType: 'Observation', id: `scratch-${who}`, status: 'final', code: cc('c-scratch'), subject: R('Patient/pat-a') };
    const res = await w.as('loader').put(`/fhir/Observation/${r.id}`, r);
    assert.ok(res.status === 201 || res.status === 200, res.text);
    model.put(r);
  }
  let n = 0;
  for (const who of active) {
    const upd = async (type, id) => {
      n++;
      const old = model.get(type, id);
      await writeCase(phase, who, 'update', `/fhir/${type}/${id}`, { old, next: touched(type, id, n) });
    };
    await upd('Observation', 'obs-pat-a-clin');
    await upd('Observation', 'obs-pat-d-soc');
    await upd('Goal', 'goal-pat-g');
    await upd('Communication', 'comm-pat-g');
    await upd('Communication', 'comm-ab');
    await upd('Organization', 'org-none');
    await upd('Patient', 'pat-c');
    {
      const old = model.get('Goal', 'goal-pat-d');
      const next = { ...touched('Goal', 'goal-pat-d', 0), language: 'da' };
      await writeCase(phase, who, 'patch', '/fhir/Goal/goal-pat-d', { old, next }, [{ op: 'add', path: '/language', value: 'da' }]);
    }
    // new content stricter than the writer may see: 403 (relabelled social)
    {
      const old = model.get('Observation', 'obs-pat-d-clin');
      const next = { ...touched('Observation', 'obs-pat-d-clin', n), meta: { security: [label('social')] } };
      await writeCase(phase, who, 'update', '/fhir/Observation/obs-pat-d-clin', { old, next });
    }
    // new content in another citizen's compartment: visible there, or 403
    {
      const old = model.get('Goal', 'goal-pat-a');
      await writeCase(phase, who, 'update', '/fhir/Goal/goal-pat-a', { old, next: { ...touched('Goal', 'goal-pat-a', n), subject: R('Patient/pat-h') } });
    }
    // a version conflict must not tell an invisible resource from a missing one
    await check(phase, who, 'PUT /fhir/Observation/obs-pat-a-soc If-Match W/"99"', async () => {
      const old = model.get('Observation', 'obs-pat-a-soc');
      const next = touched('Observation', 'obs-pat-a-soc', n);
      const allowed = writeStatus(model, principals[who], 'update', { old, next });
      const res = await w.as(who).put('/fhir/Observation/obs-pat-a-soc', next, { 'If-Match': 'W/"99"' });
      if (res.status >= 200 && res.status < 300) { model.put(next); return `written despite If-Match: ${res.status}`; }
      if (allowed === 404 || allowed === 403) {
        if (allowed === 404 || principals[who].kind === 'system') return statusWhy(allowed, res);
        return res.status === 403 || res.status === 412 ? null : `expected 403 or 412 got ${res.status}`;
      }
      return statusWhy(412, res);
    });
    // conditional create: a match the caller cannot see is no match
    await check(phase, who, 'POST /fhir/Observation If-None-Exist identifier=obs-pat-d-soc', async () => {
      const next = { resourceType: 'Observation', status: 'final', code: cc('c-cond'), subject: R('Patient/pat-d') };
      const match = model.get('Observation', 'obs-pat-d-soc');
      const p = principals[who];
      const want = p.kind === 'system' && !scopeAllows(p.scopes, 'Observation', 'c') ? 403
        : visible(model, p, match) ? 200 : writeStatus(model, p, 'create', { next });
      const res = await w.as(who).post('/fhir/Observation', next, { 'If-None-Exist': `identifier=${CODES}|obs-pat-d-soc` });
      if (res.status === 201) model.put({ ...next, id: res.json.id });
      return statusWhy(want, res) || (res.status === 200 && res.json?.id !== 'obs-pat-d-soc' ? `answered ${res.json?.id}` : null);
    });
    const create = async (r) => writeCase(phase, who, 'create', `/fhir/${r.resourceType}`, { next: r });
    await create({ resourceType: 'Observation', status: 'final', code: cc('c-new'), subject: R('Patient/pat-a') });
    await create(withSecurity({ resourceType: 'Observation', status: 'final', code: cc('c-new'), subject: R('Patient/pat-d') }, [label('social')]));
    await create({ resourceType: 'Goal', lifecycleStatus: 'proposed', description: { text: 'new' }, subject: R('Patient/pat-g') });
    await create({ resourceType: 'Communication', status: 'in-progress', subject: R('Patient/pat-g') });
    await create({ resourceType: 'Organization', name: `made by ${who}` });
    // the exceptions that are the relationship: a practitioner may create a Patient
    await create({ resourceType: 'Patient', name: [{ family: `New${n}` }] });
    // a Communication about two citizens needs both compartments
    await create({ resourceType: 'Communication', status: 'in-progress', subject: R('Patient/pat-g'), recipient: [R('Patient/pat-a')] });
    await upd('EpisodeOfCare', 'eoc-pat-a');
    await upd('EpisodeOfCare', 'eoc-pat-c');
    // a consent whose period is over: writing it changes nobody's grants
    await create(consent(undefined, 'pat-a', { type: 'deny', period: { start: Y.pastStart, end: Y.pastEnd } }));
    await create({ resourceType: 'Encounter', status: 'finished', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' }, subject: R('Patient/pat-b'), serviceProvider: R('Organization/org-enc') });
    {
      const old = model.get('Observation', `scratch-${who}`);
      await writeCase(phase, who, 'delete', `/fhir/Observation/scratch-${who}`, { old });
    }
  }
  console.log(`# writes phase: ${mismatches.filter((m) => m.phase === phase).length} mismatches`);
  report(phase);
});

// ---- phase 3: writes that change grants, each followed by reads ------------

test('matrix: a relationship or consent written now counts on the next request; an outsider cannot write itself onto the team', async () => {
  const phase = 'grants';
  if (!['p-none-physician', 'p-none-social-worker', 'cit-a'].every((u) => w.has(u))) return;
  const read = (who, type, id) => readCases(phase, who, model.get(type, id))[0]();
  const enc = (id, x, org, status) => ({ resourceType: 'Encounter', id, status, class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' }, subject: R(`Patient/${x}`), serviceProvider: R(`Organization/${org}`) });
  const put = (who, r) => writeCase(phase, who, 'update', `/fhir/${r.resourceType}/${r.id}`, { old: model.get(r.resourceType, r.id), next: r });
  const post = (who, r) => writeCase(phase, who, 'create', `/fhir/${r.resourceType}`, { next: r });

  await read('p-none-physician', 'Observation', 'obs-pat-a-clin');
  // a CareTeam naming oneself, for a citizen one has no relationship with: 403
  await post('p-none-physician', { resourceType: 'CareTeam', status: 'active', subject: R('Patient/pat-a'), participant: [{ member: R('Organization/org-none') }] });
  // the exception: an Encounter at one's own organisation (created with a fixed id: update as create)
  await check(phase, 'p-none-physician', 'PUT /fhir/Encounter/enc-none-a (create)', async () => {
    const next = enc('enc-none-a', 'pat-a', 'org-none', 'in-progress');
    const want = writeStatus(model, principals['p-none-physician'], 'create', { next });
    const res = await w.as('p-none-physician').put('/fhir/Encounter/enc-none-a', next);
    if (res.status === 201) model.put(next);
    return statusWhy(want, res);
  });
  await read('p-none-physician', 'Observation', 'obs-pat-a-clin');
  await read('p-none-physician', 'Patient', 'pat-a');
  await read('p-none-social-worker', 'Observation', 'obs-pat-a-soc');
  // an Encounter at another organisation for a citizen one cannot see: 403
  await post('p-none-physician', enc(undefined, 'pat-h', 'org-ct', 'in-progress'));
  // the citizen permits social data to org-none
  await post('cit-a', consent(undefined, 'pat-a', { actors: ['Organization/org-none'], labels: ['social'] }));
  await read('p-none-social-worker', 'Observation', 'obs-pat-a-soc');
  await read('p-none-social-worker', 'MedicationRequest', 'mrsoc-pat-a');
  // the Encounter ends: the relationship ends with it on the next request
  await put('p-none-physician', enc('enc-none-a', 'pat-a', 'org-none', 'finished'));
  await read('p-none-physician', 'Observation', 'obs-pat-a-clin');
  await read('p-none-social-worker', 'Observation', 'obs-pat-a-soc');
  // a citizen's new deny takes away what the CareTeam gives
  await read('p-ct-physician', 'Observation', 'obs-pat-g-clin');
  await post('cit-g', consent(undefined, 'pat-g', { type: 'deny', actors: ['Organization/org-ct'], labels: ['clinical'] }));
  await read('p-ct-physician', 'Observation', 'obs-pat-g-clin');
  await read('p-ct-physician', 'Goal', 'goal-pat-g');
  // a relative whose proxy grant the citizen widens
  await read('rel-g1', 'Observation', 'obs-pat-g-clin');
  await post('cit-g', consent(undefined, 'pat-g', { actors: ['RelatedPerson/rp-g1'], labels: ['clinical'] }));
  await read('rel-g1', 'Observation', 'obs-pat-g-clin');
  // versions are judged by the current category: once obs-pat-d-clin was
  // relabelled social (writes phase), its clinical version 1 follows it
  for (const who of ['p-ct-physician', 'p-ct-coordinator', 'p-ct-multi', 'cit-d']) {
    if (!w.has(who)) continue;
    await readCases(phase, who, model.get('Observation', 'obs-pat-d-clin'), { vread: true, history: true }).reduce((p, job) => p.then(job), Promise.resolve());
  }
  // the PractitionerRole on the CareTeams moves to another organisation: the
  // relationship it carried moves with it
  await read('p-ctpr-physician', 'Observation', 'obs-pat-a-clin');
  await read('p-none-physician', 'Observation', 'obs-pat-a-clin');
  const moved = { ...model.get('PractitionerRole', 'pr-ctpr-member'), organization: R('Organization/org-none') };
  const res = await w.as('loader').put('/fhir/PractitionerRole/pr-ctpr-member', moved);
  assert.equal(res.status, 200, res.text);
  model.put(moved);
  await read('p-ctpr-physician', 'Observation', 'obs-pat-a-clin');
  await read('p-none-physician', 'Observation', 'obs-pat-a-clin');
  await read('p-none-physician', 'Observation', 'obs-pat-b-clin');
  // a worklist while the citizen's consent denies the owner everything, and after
  // the consent is revoked: each on the next request
  if (w.has('p-ct-physician')) {
    await worklistCase(phase, 'p-ct-physician', 'ct')();
    const deny = consent(undefined, 'pat-a', { type: 'deny', actors: ['Organization/org-ct'] });
    const made = await w.as('cit-a').post('/fhir/Consent', deny);
    assert.equal(made.status, 201, made.text);
    model.put({ ...deny, id: made.json.id });
    await worklistCase(phase, 'p-ct-physician', 'ct')();
    await worklistCase(phase, 'p-ct-physician', 'none')();
    const revoked = { ...deny, id: made.json.id, status: 'inactive' };
    const res2 = await w.as('cit-a').put(`/fhir/Consent/${made.json.id}`, revoked);
    assert.equal(res2.status, 200, res2.text);
    model.put(revoked);
    await worklistCase(phase, 'p-ct-physician', 'ct')();
  }
  console.log(`# grants phase: ${mismatches.filter((m) => m.phase === phase).length} mismatches`);
  report(phase);
});

// Nobody gives themselves access: CareTeam and Consent are coordination data,
// which the home municipality, the GP and every team member may see and write;
// a write that would widen the writer's own organisation's grants is refused
// (docs/access.md, "Writes"), and nothing of it is stored.
test('nobody gives themselves access by writing a CareTeam or Consent', async () => {
  const who = ['p-muni-physician', 'p-gp-physician', 'p-ct-social-worker'];
  if (!who.every((u) => w.has(u))) return;
  const team = model.get('CareTeam', 'ct-pat-a');
  const joined = { ...team, participant: [...team.participant, { member: R('Organization/org-muni') }] };
  const steps = [
    ['p-muni-physician', 'PUT /fhir/CareTeam/ct-pat-a (+ org-muni)', () => w.as('p-muni-physician').put('/fhir/CareTeam/ct-pat-a', joined)],
    ['p-gp-physician', 'POST /fhir/CareTeam (org-gp)', () => w.as('p-gp-physician').post('/fhir/CareTeam',
      { resourceType: 'CareTeam', status: 'active', subject: R('Patient/pat-a'), participant: [{ member: R('Organization/org-gp') }] })],
    ['p-ct-social-worker', 'POST /fhir/Consent (permit social to org-ct)', () => w.as('p-ct-social-worker').post('/fhir/Consent',
      consent(undefined, 'pat-a', { actors: ['Organization/org-ct'], labels: ['social'] }))],
  ];
  const reads = { 'p-muni-physician': 'obs-pat-a-clin', 'p-gp-physician': 'obs-pat-a-clin', 'p-ct-social-worker': 'obs-pat-a-soc' };
  const why = [];
  for (const [u, what, run] of steps) {
    const res = await run();
    if (res.status !== 403) why.push(`${u} ${what}: ${res.status}`);
    const after = await w.as(u).get(`/fhir/Observation/${reads[u]}`);
    if (after.status !== 404) why.push(`${u} then reads Observation/${reads[u]}: ${after.status}`);
  }
  assert.deepEqual(why, []);
});

// Break-the-glass on a worklist: a physician of an organisation with no live relationship
// opens the glass for pat-c for an hour; pat-c's Tasks join the worklists she sees
// (through her own grant, not her organisation's), and leave them when the test
// clock passes the hour.  The oracle is given the grant and the moved clock.
test('matrix: worklists under break-the-glass, and after it has expired', async () => {
  const phase = 'btg';
  const who = 'p-ctexp-physician'; // whose organisation's team membership has ended
  if (!w.has(who)) return;
  const before = WORKLIST_OWNERS.map((o) => worklistWant(who, o).keys.size);
  const res = await w.as(who).post('/fhir/Patient/pat-c/$break-the-glass',
    { resourceType: 'Parameters', parameter: [{ name: 'reason', valueString: 'worklist test' }, { name: 'period', valueInteger: 1 }] });
  assert.equal(res.status, 200, res.text);
  const instant = (name) => Date.parse(res.json.parameter.find((q) => q.name === name).valueInstant);
  const grant = { patient: 'pat-c', from: instant('start'), to: instant('end') };
  principals[who].btg = [grant];
  model.now = Date.now();
  for (const o of WORKLIST_OWNERS) await worklistCase(phase, who, o)();
  const during = WORKLIST_OWNERS.map((o) => worklistWant(who, o).keys.size);
  assert.ok(during.some((n, i) => n > before[i]), `break-the-glass showed nothing more: ${before} ${during}`);
  try {
    const later = grant.to + 60 * 1000;
    const moved = await w.srv.fetch('/admin/clock', { method: 'POST', json: { now: new Date(later).toISOString() } });
    assert.equal(moved.status, 200, moved.text);
    model.now = later;
    assert.ok(await w.login(who)); // the moved clock ended the session
    for (const o of WORKLIST_OWNERS) await worklistCase(phase, who, o)();
    assert.deepEqual(WORKLIST_OWNERS.map((o) => worklistWant(who, o).keys.size), before);
  } finally {
    await w.srv.fetch('/admin/clock', { method: 'POST', json: { now: null } });
    model.now = NOW;
  }
  console.log(`# btg phase: ${mismatches.filter((m) => m.phase === phase).length} mismatches`);
  report(phase);
});

test('the matrix has at least 500 cases', () => {
  console.log(`# access matrix: ${caseCount} cases, ${mismatches.length} mismatches`);
  assert.ok(caseCount >= 500, `only ${caseCount} cases`);
  for (const kind of ['practitioner', 'citizen', 'relative']) {
    assert.ok(tally[`${kind} 200`] > 0 && tally[`${kind} 404`] > 0, `${kind}: both visible and invisible cases`);
  }
});
