// search_property.test.mjs - the search property test (issue 3, must-show 2).
//
// A random dataset of about 6,100 coordination resources (lib/dataset.mjs) is
// loaded through transaction Bundles, then some of it is updated and deleted;
// then several hundred generated searches are run against the server and each
// answer is compared with a brute-force evaluation of the same search over an
// in-memory copy of the data (lib/search_oracle.mjs, written from the FHIR R4
// specification; the rules are listed in docs/search-testing.md).  Compared:
// the SET of ids (no duplicates), Bundle.total, the order where _sort is
// used, every page when paging through next (and previous) links, the
// included resources of each page, and the elements kept by _elements.
//
// Reproducible: everything random comes from one seed, printed at the start
// and with every mismatch.  Environment:
//   SEED=123                      replay a run (default: a new random seed)
//   SEARCH_FAMILIES=string,date   run only these query families
//   SEARCH_FAMILIES_SKIP=has      leave these out
//   SEARCH_QUERIES=20             queries per family (default: each family's own)
//   SEARCH_REPORT=/tmp/r.json     write every mismatch there (the test output shows three per family)
//
// Every family is its own test, so a run reports pass/fail per family with
// its first failing queries; a summary table is printed at the end.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { startServer } from './lib/server.mjs';
import { stopClean } from './lib/expect.mjs';
import { makeRng, subSeed, generateDataset, transactionBundles, formatDate, ZONES, SYS } from './lib/dataset.mjs';
import { Oracle, PARAMS, PATIENT_COMPARTMENT, fold, escapeValue } from './lib/search_oracle.mjs';

const SEED = process.env.SEED !== undefined && process.env.SEED !== '' ? Number(process.env.SEED) >>> 0 : randomInt(2 ** 31);
const PER_FAMILY = Number(process.env.SEARCH_QUERIES) || 0;
const ONLY = (process.env.SEARCH_FAMILIES || '').split(',').map((s) => s.trim()).filter(Boolean);
const SKIP = (process.env.SEARCH_FAMILIES_SKIP || '').split(',').map((s) => s.trim()).filter(Boolean);
const MAX_PAGE = 1000; // the server's largest _count
const DAY = 86400000;

console.log(`# search property test: SEED=${SEED} (replay with SEED=${SEED})`);

let srv;
let oracle;
let loadInfo;
const summary = [];

// --- loading --------------------------------------------------------------------

async function post(path, body) {
  const res = await srv.fetch(path, { method: 'POST', json: body });
  assert.equal(res.status, 200, `POST ${path}: ${res.text.slice(0, 1500)}`);
  return res.json;
}

// Loads the dataset, updates and deletes some of it, and returns the
// database as the oracle sees it (with the server's meta.lastUpdated).
async function load() {
  const rng = makeRng(subSeed(SEED, 'dataset'));
  const { resources } = generateDataset(rng);
  const db = new Map();
  const put = (r, meta) => {
    if (!db.has(r.resourceType)) db.set(r.resourceType, new Map());
    db.get(r.resourceType).set(r.id, { ...r, meta: { versionId: meta.versionId, lastUpdated: meta.lastUpdated } });
  };
  const started = Date.now();
  const bundles = transactionBundles(resources, 1000);
  for (const bundle of bundles) {
    const answer = await post('/fhir', bundle);
    assert.equal(answer.entry.length, bundle.entry.length);
    answer.entry.forEach((e, i) => {
      assert.match(e.response.status, /^20[01]/, JSON.stringify(e.response));
      put(bundle.entry[i].resource, e.resource.meta);
    });
  }

  // Updates, one by one (each with its own lastUpdated): the index must
  // follow the current version only.
  const live = (type) => [...db.get(type).values()];
  const updates = [];
  for (let i = 0; i < 80; i++) {
    const type = rng.pick(['Task', 'Task', 'Patient', 'Observation', 'CarePlan', 'Encounter']);
    const old = rng.pick(live(type));
    const r = structuredClone(old);
    delete r.meta;
    if (type === 'Task') {
      // the status stays: the Task workflow (coord/) allows only some transitions
      if (rng.chance(0.5)) delete r.priority; else r.priority = 'stat';
      if (rng.chance(0.5)) r.restriction = { period: { end: formatDate(Date.UTC(2025, rng.int(0, 11), rng.int(1, 28), 12), 'second', '+01:00') } };
    } else if (type === 'Patient') {
      r.name = [{ use: 'official', family: rng.pick(['Æbelø', 'Øhlenschläger', 'Ågren', 'Nyström']), given: ['Efter'] }];
    } else if (type === 'Observation') {
      if (r.valueQuantity) r.valueQuantity = { ...r.valueQuantity, value: 999.123 };
      r.status = 'amended';
    } else if (type === 'CarePlan') {
      r.status = 'revoked';
      delete r.careTeam;
    } else {
      r.status = 'finished';
      r.period = { start: '2024-02-29T23:30:00+01:00', end: '2024-03-01T00:30:00+01:00' };
    }
    const res = await srv.fetch(`/fhir/${type}/${r.id}`, { method: 'PUT', json: r });
    assert.equal(res.status, 200, `update ${type}/${r.id}: ${res.text.slice(0, 500)}`);
    put(r, res.json.meta);
    updates.push(`${type}/${r.id}`);
  }

  // Deletes, some of them of resources others refer to: plain reference
  // searches still find the referrers; chains, _has and includes must not
  // see the deleted resource.
  const deleted = [];
  const doomed = [];
  for (const [type, n] of [['Task', 25], ['Observation', 10], ['Patient', 8], ['Organization', 2], ['Practitioner', 4], ['CareTeam', 3]]) {
    for (const r of rng.some(live(type), n, n)) doomed.push(`${type}/${r.id}`);
  }
  const answer = await post('/fhir', {
    resourceType: 'Bundle', type: 'transaction',
    entry: [...new Set(doomed)].map((url) => ({ request: { method: 'DELETE', url } })),
  });
  for (const e of answer.entry) assert.match(e.response.status, /^20[04]/, JSON.stringify(e.response));
  for (const key of new Set(doomed)) {
    const [type, id] = key.split('/');
    db.get(type).delete(id);
    deleted.push(key);
  }
  let count = 0;
  for (const m of db.values()) count += m.size;
  return { db, loaded: resources.length, bundles: bundles.length, updates: updates.length, deleted, live: count, ms: Date.now() - started };
}

before(async () => {
  // a plain FHIR store: no stay rulesets writing Tasks the oracle does not know
  srv = await startServer({ args: ['--rules', 'off'] });
  loadInfo = await load();
  oracle = new Oracle(loadInfo.db, { base: srv.fhirBase });
  console.log(`# loaded ${loadInfo.loaded} resources in ${loadInfo.bundles} transaction Bundles, then ${loadInfo.updates} updates `
    + `and ${loadInfo.deleted.length} deletes (${loadInfo.live} live) in ${loadInfo.ms} ms`);
});

after(async () => {
  if (summary.length) {
    const total = summary.reduce((s, f) => s + f.queries, 0);
    const failed = summary.reduce((s, f) => s + f.failed, 0);
    console.log(`# search property summary (SEED=${SEED}): ${summary.length} families, ${total} queries, ${failed} failed`);
    for (const f of summary) {
      console.log(`#   ${f.failed ? 'FAIL' : 'ok  '} ${f.name.padEnd(16)} ${String(f.queries).padStart(4)} queries`
        + ` (median answer ${f.median}, ${f.empty} empty)`
        + `${f.failed ? `, ${f.failed} failed; first: ${f.first}` : ''} (${f.ms} ms)`);
    }
  }
  if (process.env.SEARCH_REPORT) {
    writeFileSync(process.env.SEARCH_REPORT, JSON.stringify({ seed: SEED, load: { ...loadInfo, db: undefined }, families: summary }, null, 1));
  }
  if (srv) await stopClean(srv);
});

// --- running a query ------------------------------------------------------------------

// Percent-encodes a parameter name or value, leaving , | : / readable (they
// mean the same either way once the server has decoded the URL).
const enc = (s) => encodeURIComponent(s).replace(/%2C/g, ',').replace(/%7C/g, '|').replace(/%3A/g, ':').replace(/%2F/g, '/');

function queryString(q) {
  const parts = q.params.map(([n, v]) => `${enc(n)}=${enc(v)}`);
  if (q.sort) parts.push(`_sort=${q.sort.map((s) => (s.desc ? '-' : '') + s.code).join(',')}`);
  for (const i of q.include || []) parts.push(`_include=${enc(i)}`);
  for (const i of q.iterate || []) parts.push(`_include:iterate=${enc(i)}`);
  for (const i of q.revinclude || []) parts.push(`_revinclude=${enc(i)}`);
  if (q.summary) parts.push(`_summary=${q.summary}`);
  if (q.elements) parts.push(`_elements=${q.elements.join(',')}`);
  if (q.total) parts.push(`_total=${q.total}`);
  parts.push(`_count=${q.count ?? MAX_PAGE}`);
  return parts.join('&');
}

const pathOf = (q) => (q.compartment ? `/fhir/Patient/${q.compartment}/${q.type}` : `/fhir/${q.type}`);
const describe = (q) => `${q.post ? 'POST' : 'GET'} ${pathOf(q)}${q.post ? '/_search' : ''}?${queryString(q)}`;

// Runs a query and follows next links; returns { pages } or { error }.
async function run(q) {
  const first = q.post
    ? await srv.fetch(`${pathOf(q)}/_search`, { method: 'POST', body: queryString(q), headers: { 'Content-Type': 'application/x-www-form-urlencoded' } })
    : await srv.fetch(`${pathOf(q)}?${queryString(q)}`);
  if (first.status !== 200) return { error: `HTTP ${first.status}: ${diagnostics(first)}` };
  const pages = [first.json];
  let page = first.json;
  for (let i = 0; i < 2000; i++) {
    const next = (page.link || []).find((l) => l.relation === 'next');
    if (!next) return { pages };
    if (!next.url.startsWith(srv.base)) return { error: `next link ${next.url} is not on the server`, pages };
    const res = await srv.fetch(next.url.slice(srv.base.length));
    if (res.status !== 200) return { error: `following next ${next.url}: HTTP ${res.status}: ${diagnostics(res)}`, pages };
    page = res.json;
    pages.push(page);
  }
  return { error: 'next links do not end', pages };
}

// Walks previous links back from the last page; the pages must be the
// forward ones in reverse.
async function checkPrevious(pages) {
  const fwd = pages.map((p) => ids(matchesOf(p)).join(' '));
  let page = pages[pages.length - 1];
  for (let i = pages.length - 2; i >= 0; i--) {
    const prev = (page.link || []).find((l) => l.relation === 'previous' || l.relation === 'prev');
    if (!prev) return `page ${i + 2} of ${pages.length} has no previous link`;
    const res = await srv.fetch(prev.url.slice(srv.base.length));
    if (res.status !== 200) return `following previous ${prev.url}: HTTP ${res.status}: ${diagnostics(res)}`;
    page = res.json;
    const got = ids(matchesOf(page)).join(' ');
    if (got !== fwd[i]) return `previous from page ${i + 2} gave [${got.slice(0, 200)}], forward page ${i + 1} was [${fwd[i].slice(0, 200)}]`;
  }
  if ((page.link || []).some((l) => l.relation === 'previous' || l.relation === 'prev')) return 'the first page has a previous link';
  return null;
}

function diagnostics(res) {
  const issue = res.json?.issue?.[0];
  return issue ? `${issue.code}: ${issue.diagnostics ?? ''}` : res.text.slice(0, 300);
}

const keyOf = (r) => `${r.resourceType}/${r.id}`;
const ids = (rs) => rs.map((r) => r.id);
const matchesOf = (bundle) => (bundle.entry || []).filter((e) => (e.search?.mode ?? 'match') === 'match').map((e) => e.resource);
const includesOf = (bundle) => (bundle.entry || []).filter((e) => e.search?.mode === 'include').map((e) => e.resource);

function setDiff(label, expected, got) {
  const missing = [...expected].filter((k) => !got.has(k));
  const extra = [...got].filter((k) => !expected.has(k));
  if (!missing.length && !extra.length) return null;
  return `${label}: expected ${expected.size}, got ${got.size}; missing (first 5): ${missing.slice(0, 5).join(' ') || '-'}; `
    + `unexpected (first 5): ${extra.slice(0, 5).join(' ') || '-'}`;
}

// Compares a query's answer with the oracle: { expected (the oracle's count),
// problem (null or what differs) }.
async function check(q) {
  const { must, may } = q.compartment ? oracle.compartment(q.compartment, q.type, q.params) : oracle.search(q.type, q.params);
  return { expected: must.length, problem: await compare(q, must, may) };
}

async function compare(q, must, may) {
  const result = await run(q);
  if (result.error) return result.error;
  const { pages } = result;
  for (const p of pages) {
    if (p.resourceType !== 'Bundle' || p.type !== 'searchset') return `not a searchset Bundle: ${JSON.stringify(p).slice(0, 200)}`;
  }
  const expectedCount = must.length;
  const total = pages[0].total;

  if (q.summary === 'count') {
    if ((pages[0].entry || []).length) return `_summary=count returned ${pages[0].entry.length} entries`;
    if (total === undefined) return '_summary=count without a total';
    if (total < must.length || total > must.length + may.length) return `total ${total}, expected ${expectedCount}`;
    return null;
  }

  const got = pages.flatMap(matchesOf);
  const gotKeys = got.map(keyOf);
  const seen = new Set();
  const dups = gotKeys.filter((k) => (seen.has(k) ? true : (seen.add(k), false)));
  if (dups.length) return `duplicates across pages (first 5): ${[...new Set(dups)].slice(0, 5).join(' ')} (${pages.length} pages)`;
  const wrongType = got.filter((r) => r.resourceType !== q.type);
  if (wrongType.length) return `matches of another type: ${wrongType.slice(0, 3).map(keyOf).join(' ')}`;

  const mustKeys = new Set(must.map(keyOf));
  const mayKeys = new Set(may.map(keyOf));
  const missing = [...mustKeys].filter((k) => !seen.has(k));
  const extra = [...seen].filter((k) => !mustKeys.has(k) && !mayKeys.has(k));
  if (missing.length || extra.length) {
    return `expected ${must.length}${may.length ? ` (+${may.length} optional)` : ''}, got ${got.length}; `
      + `missing (first 5): ${missing.slice(0, 5).join(' ') || '-'}; unexpected (first 5): ${extra.slice(0, 5).join(' ') || '-'}`;
  }
  if (total !== undefined && total !== got.length) return `Bundle.total ${total} but ${got.length} matches over ${pages.length} pages`;
  const stale = got.filter((r) => r.meta?.versionId !== oracle.get(r.resourceType, r.id).meta.versionId);
  if (stale.length) return `not the current version: ${stale.slice(0, 3).map((r) => `${keyOf(r)} v${r.meta?.versionId}`).join(' ')}`;
  if (q.total === 'accurate' && total === undefined) return '_total=accurate without a total';

  if (q.sort) {
    // Check order against the stored resources (the server's copy may be subsetted).
    const problem = oracle.checkOrder(q.type, q.sort, got.map((r) => oracle.get(r.resourceType, r.id)));
    if (problem) return `order: ${problem}`;
  }
  if (q.paging) {
    for (let i = 0; i < pages.length; i++) {
      const n = matchesOf(pages[i]).length;
      if (n > q.count) return `page ${i + 1} has ${n} matches, _count=${q.count}`;
      if (n === 0 && pages.length > 1 && i < pages.length - 1) return `page ${i + 1} of ${pages.length} is empty`;
    }
    if (got.length > 0 && pages.length !== Math.ceil(got.length / q.count) && pages.length !== Math.ceil(got.length / q.count) + 1) {
      return `${got.length} matches at _count=${q.count} came in ${pages.length} pages`;
    }
    const prev = await checkPrevious(pages);
    if (prev) return `paging back: ${prev}`;
  }
  if (q.include || q.revinclude) {
    for (let i = 0; i < pages.length; i++) {
      const pageMatches = matchesOf(pages[i]).map((r) => oracle.get(r.resourceType, r.id));
      const expected = new Set(oracle.includes(pageMatches, q.include || [], q.iterate || [], q.revinclude || []).map(keyOf));
      const gotInc = includesOf(pages[i]).map(keyOf);
      if (new Set(gotInc).size !== gotInc.length) return `page ${i + 1}: an included resource appears twice`;
      const diff = setDiff(`page ${i + 1} includes`, expected, new Set(gotInc));
      if (diff) return diff;
    }
  }
  if (q.elements) {
    // "Servers SHOULD always return mandatory elements whether they are
    // requested or not" (R4 search, "_elements"); anything else must be left out.
    const allowed = new Set(['resourceType', 'id', 'meta', ...(MANDATORY[q.type] || []), ...q.elements]);
    for (const r of got) {
      const stored = oracle.get(r.resourceType, r.id);
      const extraKeys = Object.keys(r).filter((k) => !allowed.has(k));
      if (extraKeys.length) return `_elements: ${keyOf(r)} has ${extraKeys.join(', ')}`;
      for (const e of q.elements) {
        if (!isDeepStrictEqual(r[e], stored[e])) return `_elements: ${keyOf(r)}.${e} is ${JSON.stringify(r[e])}, stored ${JSON.stringify(stored[e])}`;
      }
    }
  }
  return null;
}

// --- generating queries -----------------------------------------------------------------

// The generator's view: a PRNG plus the live data.
function gen(rng) {
  const g = {
    rng,
    live: (type) => oracle.all(type),
    pick: (type) => rng.pick(oracle.all(type)),
    // A resource of type with a value for code (null after 50 tries).
    withValue(type, code, filter = () => true) {
      for (let i = 0; i < 50; i++) {
        const r = g.pick(type);
        const vals = oracle.values(type, code, r).filter(filter);
        if (vals.length) return { r, vals, v: rng.pick(vals) };
      }
      return null;
    },
  };
  return g;
}

// Changes case and accents of a search string in one of several ways.
function vary(rng, s) {
  let out = s;
  switch (rng.int(0, 6)) {
    case 0: out = s.toLowerCase(); break;
    case 1: out = s.toUpperCase(); break;
    case 2: out = s.normalize('NFD').replace(/\p{M}/gu, ''); break; // å -> a, ö -> o; æ, ø stay
    case 3: out = fold(s); break; // æ -> ae, ø -> o
    case 4: out = s.replace(/[øöæäØÖÆÄ]/g, (c) => ({ ø: 'ö', ö: 'ø', æ: 'ä', ä: 'æ', Ø: 'Ö', Ö: 'Ø', Æ: 'Ä', Ä: 'Æ' }[c])); break;
    default: break;
  }
  return out.normalize('NFC');
}

function prefixOf(rng, s) {
  const chars = [...s];
  const p = chars.slice(0, rng.int(1, chars.length)).join('').trim();
  return p || s.trim();
}

const TOKEN_PARAMS = [
  ['Patient', 'identifier', true], ['Patient', 'gender'], ['Patient', 'active'], ['Patient', 'phone'],
  ['Practitioner', 'identifier', true], ['Practitioner', 'gender'], ['Practitioner', 'email'],
  ['Organization', 'identifier', true], ['Organization', 'type', true], ['Organization', 'active'],
  ['CareTeam', 'status'], ['CareTeam', 'category', true], ['CarePlan', 'status'], ['CarePlan', 'intent'],
  ['CarePlan', 'category', true], ['Goal', 'lifecycle-status'], ['Goal', 'achievement-status', true], ['Goal', 'category', true],
  ['Task', 'status'], ['Task', 'intent'], ['Task', 'priority'], ['Task', 'code', true], ['Encounter', 'status'],
  ['Encounter', 'class', true], ['Encounter', 'type', true], ['Communication', 'status'], ['Communication', 'category', true],
  ['Observation', 'status'], ['Observation', 'code', true], ['Observation', 'combo-code', true],
  ['Observation', 'component-code', true], ['Observation', 'category', true],
];
const STRING_PARAMS = [['Patient', 'family'], ['Patient', 'given'], ['Patient', 'name'], ['Patient', 'address-city'],
  ['Patient', 'address'], ['Practitioner', 'family'], ['Practitioner', 'name'], ['Practitioner', 'given'],
  ['Organization', 'name'], ['Organization', 'address-city'], ['Observation', 'value-string']];
const TEXT_PARAMS = [['Task', 'code'], ['Task', 'business-status'], ['Observation', 'code'], ['CarePlan', 'category'],
  ['Encounter', 'type'], ['Encounter', 'class'], ['Goal', 'category'], ['CareTeam', 'category'], ['Organization', 'type']];
const REFERENCE_PARAMS = [['Task', 'owner'], ['Task', 'patient'], ['Task', 'subject'], ['Task', 'requester'], ['Task', 'based-on'],
  ['Patient', 'organization'], ['Patient', 'general-practitioner'], ['Encounter', 'service-provider'], ['Encounter', 'participant'],
  ['Encounter', 'subject'], ['CarePlan', 'care-team'], ['CarePlan', 'goal'], ['CarePlan', 'subject'], ['CareTeam', 'participant'],
  ['CareTeam', 'patient'], ['Communication', 'sender'], ['Communication', 'recipient'], ['Communication', 'encounter'],
  ['Observation', 'performer'], ['Observation', 'subject'], ['Observation', 'patient'], ['Organization', 'partof'],
  ['Goal', 'patient']];
const DATE_PARAMS = [['Patient', 'birthdate'], ['Task', 'authored-on'], ['Task', 'deadline'], ['Task', 'modified'],
  ['Observation', 'date'], ['Communication', 'sent'], ['Communication', 'received'], ['Goal', 'target-date'], ['Goal', 'start-date']];
const PERIOD_PARAMS = [['Encounter', 'date'], ['CarePlan', 'date'], ['CareTeam', 'date'], ['Task', 'period']];
const QUANTITY_PARAMS = [['Observation', 'value-quantity'], ['Observation', 'value-quantity'], ['Observation', 'component-value-quantity'],
  ['Observation', 'combo-value-quantity'], ['Encounter', 'length']];
const MISSING_PARAMS = [['Patient', 'birthdate'], ['Patient', 'active'], ['Patient', 'organization'], ['Patient', 'general-practitioner'],
  ['Patient', 'address-city'], ['Patient', 'phone'], ['Patient', 'family'], ['Task', 'priority'], ['Task', 'deadline'], ['Task', 'owner'],
  ['Task', 'code'], ['Task', 'business-status'], ['Task', 'requester'], ['Task', 'based-on'], ['Task', 'modified'], ['Task', 'period'],
  ['Observation', 'value-quantity'], ['Observation', 'performer'], ['Observation', 'component-value-quantity'], ['Observation', 'value-string'],
  ['Goal', 'target-date'], ['Goal', 'start-date'], ['Goal', 'achievement-status'], ['Encounter', 'length'], ['Encounter', 'service-provider'],
  ['Encounter', 'participant'], ['CarePlan', 'date'], ['CarePlan', 'care-team'], ['CarePlan', 'goal'], ['CareTeam', 'category'],
  ['Organization', 'partof'], ['Organization', 'active'], ['Communication', 'received'], ['Communication', 'encounter'],
  ['Communication', 'category']];
// Sort keys whose order R4 pins down: strings, plain codes (not Codings with
// several systems, nor HumanName as a whole), dateTimes, quantities in one
// unit per code, _id and _lastUpdated.
const SORT_PARAMS = {
  Patient: ['family', 'given', 'birthdate', 'gender', '_id', '_lastUpdated', 'address-city'],
  Task: ['authored-on', 'deadline', 'priority', 'status', 'modified', '_id', '_lastUpdated'],
  Observation: ['value-quantity', 'status', '_id'],
  Encounter: ['length', 'status', 'class', '_lastUpdated'],
  Organization: ['name', '_id'],
  Practitioner: ['family', 'given', 'gender'],
  Communication: ['sent', 'received', 'status'],
  Goal: ['target-date', 'start-date', 'lifecycle-status'],
};
// The elements with min >= 1 in R4 (a server should return them with _elements).
const MANDATORY = { Task: ['status', 'intent'], Observation: ['status', 'code'], Encounter: ['status', 'class'], Patient: [] };
const PREFIXES = ['', 'eq', 'ne', 'lt', 'gt', 'le', 'ge', 'sa', 'eb'];

// A search value for param code that the resource r matches (mostly), in the
// parameter's syntax.  The basis of every generated criterion.
function valueFrom(g, type, code, r) {
  const { rng } = g;
  const def = PARAMS[type][code];
  const vals = oracle.values(type, code, r);
  if (!vals.length) return null;
  const v = rng.pick(vals);
  switch (def.type) {
    case 'string': return escapeValue(vary(rng, prefixOf(rng, v)));
    case 'token': {
      if (v.code === undefined) return null;
      if (v.system && rng.chance(0.5)) return `${escapeValue(v.system)}|${escapeValue(v.code)}`;
      return escapeValue(v.code);
    }
    case 'reference': {
      if (v.url) return escapeValue(v.url);
      return rng.chance(0.7) ? `${v.type}/${v.id}` : v.id;
    }
    case 'date': return dateValue(rng, v, rng.pick(PREFIXES));
    case 'quantity': return quantityValue(rng, v, rng.pick(PREFIXES));
    default: return null;
  }
}

function dateValue(rng, range, prefix) {
  const finite = [range.lo, range.hi].filter(Number.isFinite);
  if (!finite.length) return null;
  let anchor = rng.pick(finite);
  if (finite.length === 2 && rng.chance(0.25)) anchor = Math.floor((range.lo + range.hi) / 2);
  if (rng.chance(0.35)) anchor += rng.pick([-1, 1]) * rng.pick([1000, 3600000, DAY, 5 * DAY, 40 * DAY, 400 * DAY]);
  const precision = rng.weighted([['year', 1], ['month', 2], ['day', 4], ['minute', 1], ['second', 3], ['ms', 1]]);
  return prefix + formatDate(anchor, precision, rng.pick(ZONES));
}

function quantityValue(rng, v, prefix) {
  const decimals = rng.int(0, 2);
  let n = v.value;
  if (rng.chance(0.3)) n += rng.pick([-1, 1]) * v.value * rng.pick([0.01, 0.05, 0.2]);
  let out = prefix + Math.max(0, n).toFixed(decimals);
  const form = rng.weighted([['none', 4], ['system', 3], ['code', 1.5], ['unit', 1.5], ['wrong', 0.5]]);
  if (form === 'system' && v.system) out += `|${escapeValue(v.system)}|${escapeValue(v.code)}`;
  else if (form === 'system') out += `|${SYS.ucum}|${escapeValue(v.unit ?? 'kg')}`;
  else if (form === 'code' && v.code) out += `||${escapeValue(v.code)}`;
  else if (form === 'unit' && v.unit) out += `||${escapeValue(v.unit)}`;
  else if (form === 'wrong') out += `|${SYS.ucum}|g`;
  return out;
}

// A criterion [name, value] on type from one of the tables, or null.
function criterion(g, table, type) {
  const entries = table.filter(([t]) => !type || t === type);
  if (!entries.length) return null;
  for (let i = 0; i < 20; i++) {
    const [t, code] = g.rng.pick(entries);
    const found = g.withValue(t, code);
    if (!found) continue;
    const value = valueFrom(g, t, code, found.r);
    if (value) return { type: t, param: [code, value] };
  }
  return null;
}

// Several values for one criterion, separated by commas (OR), sometimes.
function orValues(g, type, code, first, p = 0.25) {
  if (!g.rng.chance(p)) return first;
  const other = g.withValue(type, code);
  const second = other && valueFrom(g, type, code, other.r);
  return second ? `${first},${second}` : first;
}

const simpleTables = [STRING_PARAMS, TOKEN_PARAMS, REFERENCE_PARAMS, DATE_PARAMS, PERIOD_PARAMS, QUANTITY_PARAMS];
function anyCriterion(g, type) {
  for (let i = 0; i < 10; i++) {
    const c = criterion(g, g.rng.pick(simpleTables), type);
    if (c) return c;
  }
  return null;
}

const q = (type, params, extra = {}) => ({ type, params, ...extra });

const FAMILIES = [
  {
    name: 'string', count: 40,
    about: 'string default: starts-with, case- and accent-insensitive, OR values, escaped commas',
    gen(g) {
      const c = criterion(g, STRING_PARAMS);
      if (!c) return null;
      if (g.rng.chance(0.08)) c.param[1] = g.rng.pick(['Zzyzx', 'Øøø', 'Qåq']);
      return q(c.type, [[c.param[0], orValues(g, c.type, c.param[0], c.param[1])]]);
    },
  },
  {
    name: 'string-exact', count: 25,
    about: ':exact: the whole value, case and accents significant',
    gen(g) {
      const [type, code] = g.rng.pick(STRING_PARAMS);
      const found = g.withValue(type, code);
      if (!found) return null;
      let v = found.v;
      const how = g.rng.weighted([['same', 6], ['case', 2], ['prefix', 1], ['accents', 1]]);
      if (how === 'case') v = g.rng.chance(0.5) ? v.toLowerCase() : v.toUpperCase();
      if (how === 'prefix') v = prefixOf(g.rng, v);
      if (how === 'accents') v = fold(v);
      return q(type, [[`${code}:exact`, escapeValue(v)]]);
    },
  },
  {
    name: 'string-contains', count: 25,
    about: ':contains: anywhere in the value, case- and accent-insensitive',
    gen(g) {
      const [type, code] = g.rng.pick(STRING_PARAMS);
      const found = g.withValue(type, code);
      if (!found) return null;
      const chars = [...found.v];
      const i = g.rng.int(0, Math.max(0, chars.length - 2));
      const sub = chars.slice(i, g.rng.int(i + 1, chars.length)).join('').trim();
      if (!sub) return null;
      return q(type, [[`${code}:contains`, escapeValue(vary(g.rng, sub))]]);
    },
  },
  {
    name: 'token', count: 45,
    about: 'token: code, system|code, |code, system|, :of-type, OR values',
    gen(g) {
      const [type, code, coded] = g.rng.pick(TOKEN_PARAMS);
      const found = g.withValue(type, code, (v) => v.code !== undefined);
      if (!found) return null;
      const { v } = found;
      const forms = ['code'];
      if (v.system) forms.push('system|code', 'system|code', 'system|');
      if (!v.system && coded) forms.push('|code', '|code');
      if (code === 'identifier' && v.typeCodings?.length) forms.push('of-type');
      let form = g.rng.pick(forms);
      let name = code;
      let value;
      if (form === 'code') value = escapeValue(v.code);
      else if (form === 'system|code') value = `${escapeValue(v.system)}|${escapeValue(v.code)}`;
      else if (form === '|code') value = `|${escapeValue(v.code)}`;
      else if (form === 'system|') value = `${escapeValue(v.system)}|`;
      else {
        const t = g.rng.pick(v.typeCodings);
        name = `${code}:of-type`;
        value = `${t.system}|${t.code}|${escapeValue(v.code)}`;
        form = 'of-type';
      }
      if (form !== 'of-type' && g.rng.chance(0.05)) value = `${v.system ? `${v.system}|` : ''}no-such-code`;
      if (form !== 'of-type' && g.rng.chance(0.3)) {
        const other = g.withValue(type, code, (x) => x.code !== undefined);
        if (other) value += `,${other.v.system && g.rng.chance(0.5) ? `${escapeValue(other.v.system)}|` : ''}${escapeValue(other.v.code)}`;
      }
      return q(type, [[name, value]]);
    },
  },
  {
    name: 'token-not', count: 20,
    about: ':not: resources with no matching value (also those without any value)',
    gen(g) {
      const [type, code] = g.rng.pick(TOKEN_PARAMS.filter(([, c]) => c !== 'identifier'));
      const found = g.withValue(type, code, (v) => v.code !== undefined);
      if (!found) return null;
      const { v } = found;
      let value = v.system && g.rng.chance(0.4) ? `${escapeValue(v.system)}|${escapeValue(v.code)}` : escapeValue(v.code);
      if (g.rng.chance(0.25)) {
        const other = g.withValue(type, code, (x) => x.code !== undefined);
        if (other) value += `,${escapeValue(other.v.code)}`;
      }
      const params = [[`${code}:not`, value]];
      if (g.rng.chance(0.3)) { const c = anyCriterion(g, type); if (c) params.push(c.param); }
      return q(type, params);
    },
  },
  {
    name: 'token-text', count: 25,
    about: ':text: starts-with on CodeableConcept.text / Coding.display, case- and accent-insensitive',
    gen(g) {
      const [type, code] = g.rng.pick(TEXT_PARAMS);
      const found = g.withValue(type, code, (v) => v.text !== undefined || v.display !== undefined);
      if (!found) return null;
      const text = found.v.text ?? found.v.display;
      return q(type, [[`${code}:text`, escapeValue(vary(g.rng, prefixOf(g.rng, text)))]]);
    },
  },
  {
    name: 'reference', count: 40,
    about: 'reference: Type/id, id, :Type, absolute URL (this server and another), OR values',
    gen(g) {
      const [type, code] = g.rng.pick(REFERENCE_PARAMS);
      const found = g.withValue(type, code);
      if (!found) return null;
      const { v } = found;
      let name = code;
      let value;
      if (v.url) value = escapeValue(v.url);
      else {
        const form = g.rng.weighted([['Type/id', 5], ['id', 2], [':Type', 2], ['absolute', 1]]);
        if (form === 'Type/id') value = `${v.type}/${v.id}`;
        else if (form === 'id') value = v.id;
        else if (form === ':Type') { name = `${code}:${v.type}`; value = v.id; }
        else value = `${srv.fhirBase}/${v.type}/${v.id}`;
      }
      if (g.rng.chance(0.05)) value = g.rng.pick(['shared-1', 'shared-2']);
      if (g.rng.chance(0.2) && !name.includes(':')) {
        const other = g.withValue(type, code, (x) => !x.url);
        if (other) value += `,${other.v.type}/${other.v.id}`;
      }
      return q(type, [[name, value]]);
    },
  },
  {
    name: 'date', count: 60,
    about: 'date/dateTime: every prefix at year..millisecond precision, time zones, ranges by AND',
    gen(g) {
      const [type, code] = g.rng.pick(DATE_PARAMS);
      const found = g.withValue(type, code);
      if (!found) return null;
      const value = dateValue(g.rng, found.v, g.rng.pick(PREFIXES));
      if (!value) return null;
      const params = [[code, value]];
      if (g.rng.chance(0.2)) {
        const other = g.withValue(type, code);
        const second = other && dateValue(g.rng, other.v, g.rng.pick(['lt', 'le', 'gt', 'ge']));
        if (second) params.push([code, second]);
      }
      return q(type, params);
    },
  },
  {
    name: 'date-period', count: 35,
    about: 'Period values (open at either end) against every prefix',
    gen(g) {
      const [type, code] = g.rng.pick(PERIOD_PARAMS);
      const found = g.withValue(type, code);
      if (!found) return null;
      const value = dateValue(g.rng, found.v, g.rng.pick(PREFIXES));
      return value ? q(type, [[code, orValues(g, type, code, value, 0.1)]]) : null;
    },
  },
  {
    name: 'quantity', count: 50,
    about: 'quantity: prefixes with implicit precision, number|system|code, number||code (code or unit)',
    gen(g) {
      const [type, code] = g.rng.pick(QUANTITY_PARAMS);
      const found = g.withValue(type, code);
      if (!found) return null;
      const params = [[code, quantityValue(g.rng, found.v, g.rng.pick(PREFIXES))]];
      if (type === 'Observation' && g.rng.chance(0.3)) params.push(['code', `${SYS.loinc}|${found.r.code.coding[0].code}`]);
      return q(type, params);
    },
  },
  {
    name: 'approx', count: 20,
    about: 'ap on dates and quantities (the ranges must overlap; up to ~10% more may match)',
    gen(g) {
      const table = g.rng.chance(0.6) ? [...DATE_PARAMS, ...PERIOD_PARAMS] : QUANTITY_PARAMS;
      const [type, code] = g.rng.pick(table);
      const found = g.withValue(type, code);
      if (!found) return null;
      const value = PARAMS[type][code].type === 'date' ? dateValue(g.rng, found.v, 'ap') : quantityValue(g.rng, found.v, 'ap');
      return value ? q(type, [[code, value]]) : null;
    },
  },
  {
    name: 'id', count: 15,
    about: '_id: one, several (OR, with deleted and unknown ids), with other criteria',
    gen(g) {
      const type = g.rng.pick(Object.keys(SORT_PARAMS));
      const pool = g.live(type).map((r) => r.id);
      const deleted = loadInfo.deleted.filter((k) => k.startsWith(`${type}/`)).map((k) => k.split('/')[1]);
      const list = Array.from({ length: g.rng.int(1, 5) }, () => g.rng.weighted([[g.rng.pick(pool), 8], [g.rng.pick(deleted.length ? deleted : pool), 1], ['no-such-id', 1]]));
      const params = [['_id', [...new Set(list)].join(',')]];
      if (g.rng.chance(0.3)) { const c = anyCriterion(g, type); if (c) params.push(c.param); }
      return q(type, params);
    },
  },
  {
    name: 'lastUpdated', count: 25,
    about: '_lastUpdated with every prefix around the load and update times',
    gen(g) {
      const type = g.rng.pick(['Task', 'Patient', 'Observation', 'CarePlan', 'Encounter', 'Organization']);
      const found = g.withValue(type, '_lastUpdated');
      if (!found) return null;
      const { rng } = g;
      let anchor = found.v.lo;
      if (rng.chance(0.5)) anchor += rng.pick([-1, 1]) * rng.pick([1, 2, 500, 1000, 60000, DAY]);
      const precision = rng.weighted([['ms', 3], ['second', 3], ['minute', 1], ['day', 1], ['year', 0.3]]);
      return q(type, [['_lastUpdated', rng.pick(PREFIXES) + formatDate(anchor, precision, rng.pick(ZONES))]]);
    },
  },
  {
    name: 'missing', count: 30,
    about: ':missing=true|false on string, token, date, reference and quantity parameters',
    gen(g) {
      const [type, code] = g.rng.pick(MISSING_PARAMS);
      const params = [[`${code}:missing`, g.rng.pick(['true', 'false'])]];
      if (g.rng.chance(0.3)) { const c = anyCriterion(g, type); if (c) params.push(c.param); }
      return q(type, params);
    },
  },
  {
    name: 'and-or', count: 40,
    about: 'several parameters (AND), repeated parameters, several values (OR)',
    gen(g) {
      const type = g.rng.pick(['Task', 'Task', 'Patient', 'Observation', 'Encounter', 'CarePlan', 'Goal', 'Communication']);
      const params = [];
      // Most criteria come from one resource, so that the AND is not empty.
      const anchor = g.pick(type);
      const n = g.rng.int(2, 4);
      for (let i = 0; i < n * 3 && params.length < n; i++) {
        const table = g.rng.pick(simpleTables).filter(([t]) => t === type);
        if (!table.length) continue;
        const [, code] = g.rng.pick(table);
        const source = g.rng.chance(0.7) ? anchor : g.pick(type);
        const value = valueFrom(g, type, code, source);
        if (!value) continue;
        params.push([code, orValues(g, type, code, value, 0.3)]);
      }
      return params.length >= 2 ? q(type, params) : null;
    },
  },
  {
    name: 'chain', count: 35,
    about: 'chained parameters, one and two levels, typed and untyped, OR values',
    gen(g) {
      const CHAINS = [
        ['Task', [['patient', null, 'Patient']], ['family', 'name', 'birthdate', 'identifier', 'gender', 'address-city']],
        ['Task', [['owner', 'Organization', 'Organization']], ['name', 'type', 'address-city']],
        ['Task', [['owner', 'Practitioner', 'Practitioner']], ['family', 'gender']],
        ['Task', [['subject', 'Patient', 'Patient']], ['name', 'birthdate']],
        ['Task', [['based-on', 'CarePlan', 'CarePlan']], ['status', 'category', 'date']],
        ['Task', [['patient', null, 'Patient'], ['organization', null, 'Organization']], ['name']],
        ['Task', [['patient', null, 'Patient'], ['general-practitioner', 'Practitioner', 'Practitioner']], ['family', 'given']],
        ['Task', [['based-on', 'CarePlan', 'CarePlan'], ['care-team', null, 'CareTeam']], ['status', 'category']],
        ['Task', [['owner', 'Organization', 'Organization'], ['partof', null, 'Organization']], ['name']],
        ['Observation', [['patient', null, 'Patient']], ['family', 'birthdate', 'gender']],
        ['Observation', [['subject', 'Patient', 'Patient']], ['identifier']],
        ['Observation', [['performer', 'Practitioner', 'Practitioner']], ['name']],
        ['Encounter', [['service-provider', null, 'Organization']], ['name', 'identifier']],
        ['Encounter', [['service-provider', null, 'Organization'], ['partof', null, 'Organization']], ['name']],
        ['Encounter', [['patient', null, 'Patient']], ['identifier', 'address-city']],
        ['CarePlan', [['care-team', null, 'CareTeam'], ['participant', 'Practitioner', 'Practitioner']], ['family']],
        ['CarePlan', [['patient', null, 'Patient']], ['name', 'gender']],
        ['CarePlan', [['goal', null, 'Goal']], ['lifecycle-status', 'target-date']],
        ['Patient', [['organization', null, 'Organization']], ['name', 'address-city']],
        ['Patient', [['general-practitioner', 'Practitioner', 'Practitioner']], ['name', 'gender']],
        ['Patient', [['organization', null, 'Organization'], ['partof', null, 'Organization']], ['name']],
        ['CareTeam', [['participant', 'Organization', 'Organization']], ['name']],
        ['Communication', [['sender', 'Practitioner', 'Practitioner']], ['family']],
        ['Communication', [['encounter', null, 'Encounter']], ['class', 'status']],
        ['Goal', [['patient', null, 'Patient']], ['address-city', 'birthdate']],
      ];
      const [type, hops, leaves] = g.rng.pick(CHAINS);
      const leaf = g.rng.pick(leaves);
      // Walk from a random resource along the hops to find a value that matches.
      let target = null;
      for (let attempt = 0; attempt < 30 && !target; attempt++) {
        let cur = g.pick(type);
        let curType = type;
        for (const [code, , toType] of hops) {
          const refs = oracle.values(curType, code, cur).filter((v) => v.type === toType);
          const next = refs.length ? oracle.get(toType, g.rng.pick(refs).id) : null;
          if (!next) { cur = null; break; }
          cur = next; curType = toType;
        }
        if (cur) target = cur;
      }
      const finalType = hops[hops.length - 1][2];
      if (!target) target = g.pick(finalType);
      let value = valueFrom(g, finalType, leaf, target);
      if (!value) return null;
      if (g.rng.chance(0.2)) {
        const other = valueFrom(g, finalType, leaf, g.pick(finalType));
        if (other) value += `,${other}`;
      }
      const name = hops.map(([code, only]) => (only ? `${code}:${only}` : code)).join('.') + `.${leaf}`;
      const params = [[name, value]];
      if (g.rng.chance(0.2)) { const c = anyCriterion(g, type); if (c) params.push(c.param); }
      return q(type, params);
    },
  },
  {
    name: 'has', count: 30,
    about: '_has (reverse chaining), nested _has, OR values, with other criteria',
    gen(g) {
      const HAS = [
        ['Patient', [['Observation', 'patient']], ['code', 'status', 'value-quantity', 'date']],
        ['Patient', [['Task', 'patient']], ['status', 'priority', 'deadline', 'code']],
        ['Patient', [['Encounter', 'subject']], ['class', 'status']],
        ['Patient', [['CarePlan', 'patient']], ['category', 'status']],
        ['Patient', [['CarePlan', 'patient'], ['Task', 'based-on']], ['status', 'priority']],
        ['Organization', [['Task', 'owner']], ['priority', 'status']],
        ['Organization', [['Encounter', 'service-provider']], ['status', 'class']],
        ['Organization', [['Patient', 'organization']], ['gender', 'birthdate']],
        ['Practitioner', [['Encounter', 'participant']], ['status']],
        ['Practitioner', [['CareTeam', 'participant']], ['status', 'category']],
        ['CarePlan', [['Task', 'based-on']], ['status', 'owner']],
        ['CareTeam', [['CarePlan', 'care-team']], ['status', 'intent']],
        ['Goal', [['CarePlan', 'goal']], ['intent', 'status']],
      ];
      const [type, hops, leaves] = g.rng.pick(HAS);
      const leaf = g.rng.pick(leaves);
      const [srcType] = hops[hops.length - 1];
      const src = g.withValue(srcType, leaf);
      if (!src) return null;
      let value = valueFrom(g, srcType, leaf, src.r);
      if (!value) return null;
      value = orValues(g, srcType, leaf, value, 0.2);
      const name = hops.map(([t, code]) => `_has:${t}:${code}`).join(':') + `:${leaf}`;
      const params = [[name, value]];
      if (g.rng.chance(0.25)) { const c = anyCriterion(g, type); if (c) params.push(c.param); }
      return q(type, params);
    },
  },
  {
    name: 'sort', count: 35,
    about: '_sort on string, token, date, quantity, _id, _lastUpdated; several keys; descending',
    gen(g) {
      const type = g.rng.pick(Object.keys(SORT_PARAMS));
      const keys = g.rng.some(SORT_PARAMS[type], 1, 3).map((code) => ({ code, desc: g.rng.chance(0.4) }));
      const params = [];
      if (g.rng.chance(0.6)) { const c = anyCriterion(g, type); if (c) params.push(c.param); }
      return q(type, params, { sort: keys });
    },
  },
  {
    name: 'worklist', count: 30,
    about: 'the worklists (combined index rows): an organisation\'s Tasks by owner and status by deadline, stays by service-provider and status, messages by recipient newest first; paged',
    gen(g) {
      const [type, ref, sort, statuses] = g.rng.pick([
        ['Task', 'owner', 'deadline', ['requested', 'accepted', 'in-progress', 'on-hold', 'completed', 'cancelled', 'draft']],
        ['Encounter', 'service-provider', 'length', ['planned', 'arrived', 'in-progress', 'onleave', 'finished', 'cancelled']],
        ['Communication', 'recipient', 'sent', ['preparation', 'in-progress', 'completed', 'stopped', 'entered-in-error']],
      ]);
      const found = g.withValue(type, ref, (x) => !x.url);
      if (!found) return null;
      const { v } = found;
      let value = g.rng.chance(0.8) ? `${v.type}/${v.id}` : v.id;
      if (g.rng.chance(0.15)) {
        const other = g.withValue(type, ref, (x) => !x.url);
        if (other) value += `,${other.v.type}/${other.v.id}`;
      }
      const params = [[ref, value]];
      if (g.rng.chance(0.8)) params.push(['status', g.rng.some(statuses, 1, 3).join(',')]);
      const n = oracle.search(type, params).must.length;
      const extra = { count: Math.max(g.rng.int(1, 13), Math.ceil(n / 25)), paging: true };
      if (g.rng.chance(0.85)) extra.sort = [{ code: sort, desc: g.rng.chance(0.5) }];
      if (g.rng.chance(0.5)) extra.total = 'accurate';
      return q(type, params, extra);
    },
  },
  {
    name: 'paging', count: 20,
    about: 'small _count: the union of all pages by next links is the answer, no duplicates, previous links go back',
    gen(g) {
      const type = g.rng.pick(['Task', 'Patient', 'Observation', 'Encounter', 'CarePlan']);
      const params = [];
      for (let i = 0; i < 5; i++) {
        const c = anyCriterion(g, type);
        if (!c) continue;
        const n = oracle.search(type, [...params, c.param]).must.length;
        if (n >= 3 && n <= 200) { params.push(c.param); break; }
      }
      const n = oracle.search(type, params).must.length;
      const count = Math.max(g.rng.int(1, 13), Math.ceil(n / 25));
      const extra = { count, paging: true };
      if (g.rng.chance(0.5)) extra.sort = g.rng.some(SORT_PARAMS[type] || ['_id'], 1, 2).map((code) => ({ code, desc: g.rng.chance(0.4) }));
      if (g.rng.chance(0.3)) extra.total = 'accurate';
      return q(type, params, extra);
    },
  },
  {
    name: 'include', count: 20,
    about: '_include (typed, several targets) and _include:iterate, checked page by page',
    gen(g) {
      const INCLUDES = [
        ['Task', ['patient', 'owner'], ['Task:patient'], []],
        ['Task', ['owner', 'status'], ['Task:owner'], []],
        ['Task', ['patient'], ['Task:owner:Organization', 'Task:requester'], []],
        ['Encounter', ['patient', 'service-provider'], ['Encounter:service-provider', 'Encounter:participant'], []],
        ['CarePlan', ['patient', 'status'], ['CarePlan:care-team'], ['CareTeam:participant']],
        ['CarePlan', ['patient'], ['CarePlan:goal', 'CarePlan:patient'], []],
        ['Observation', ['patient', 'code'], ['Observation:patient'], ['Patient:organization']],
        ['Patient', ['family', 'organization'], ['Patient:organization', 'Patient:general-practitioner'], []],
        ['Goal', ['patient', 'lifecycle-status'], ['Goal:patient'], []],
        ['Organization', ['name'], ['Organization:partof'], []],
      ];
      const [type, filters, include, iterate] = g.rng.pick(INCLUDES);
      const code = g.rng.pick(filters);
      const found = g.withValue(type, code);
      const value = found && valueFrom(g, type, code, found.r);
      if (!value) return null;
      return q(type, [[code, value]], { include, iterate: iterate.length ? iterate : undefined });
    },
  },
  {
    name: 'revinclude', count: 15,
    about: '_revinclude, checked page by page',
    gen(g) {
      const REV = [
        ['Patient', ['Task:patient']], ['Patient', ['Observation:subject', 'Goal:patient']], ['Patient', ['CarePlan:patient']],
        ['Organization', ['Task:owner']], ['Organization', ['Patient:organization']], ['CarePlan', ['Task:based-on']],
        ['Practitioner', ['Encounter:participant']], ['CareTeam', ['CarePlan:care-team']],
      ];
      const [type, rev] = g.rng.pick(REV);
      const pool = g.live(type).map((r) => r.id);
      const params = [['_id', [...new Set(Array.from({ length: g.rng.int(1, 4) }, () => g.rng.pick(pool)))].join(',')]];
      return q(type, params, { revinclude: rev });
    },
  },
  {
    name: 'compartment', count: 20,
    about: 'Patient/{id}/{type} by the R4 patient CompartmentDefinition, with and without criteria',
    gen(g) {
      const type = g.rng.pick(Object.keys(PATIENT_COMPARTMENT));
      // The patient through any of the compartment's parameters (also a
      // performer, a sender, a team member), mostly the subject.
      const codes = PATIENT_COMPARTMENT[type];
      const code = g.rng.chance(0.5) ? codes[0] : g.rng.pick(codes);
      const found = g.withValue(type, code, (v) => v.type === 'Patient') || g.withValue(type, codes[0], (v) => v.type === 'Patient');
      if (!found || !oracle.get('Patient', found.v.id)) return null;
      const params = [];
      if (g.rng.chance(0.3)) { const c = anyCriterion(g, type); if (c) params.push(c.param); }
      return q(type, params, { compartment: found.v.id });
    },
  },
  {
    name: 'summary-elements', count: 20,
    about: '_summary=count (total only) and _elements (only the named elements, unchanged)',
    gen(g) {
      const type = g.rng.pick(['Patient', 'Task', 'Observation', 'Encounter']);
      const params = [];
      const c = anyCriterion(g, type);
      if (c) params.push(c.param);
      if (g.rng.chance(0.4)) return q(type, params, { summary: 'count' });
      const ELEMENTS = {
        Patient: ['name', 'birthDate', 'identifier', 'gender', 'address'],
        Task: ['status', 'owner', 'restriction', 'for', 'priority'],
        Observation: ['code', 'valueQuantity', 'subject', 'status'],
        Encounter: ['period', 'class', 'serviceProvider', 'status'],
      };
      return q(type, params, { elements: g.rng.some(ELEMENTS[type], 1, 3) });
    },
  },
  {
    name: 'post', count: 20,
    about: 'POST [type]/_search with a form body gives the same answers as GET',
    gen(g) {
      const type = g.rng.pick(['Task', 'Patient', 'Observation', 'Encounter', 'CarePlan', 'Organization']);
      const params = [];
      for (let i = g.rng.int(1, 2); i > 0; i--) { const c = anyCriterion(g, type); if (c) params.push(c.param); }
      return params.length ? q(type, params, { post: true }) : null;
    },
  },
  {
    name: 'paging-writes', count: 12,
    about: 'next links stay correct while others write: every match untouched during the walk comes exactly once',
    gen(g) {
      for (let i = 0; i < 10; i++) {
        const c = criterion(g, g.rng.pick([TOKEN_PARAMS, REFERENCE_PARAMS, DATE_PARAMS]), 'Task');
        if (!c) continue;
        const n = oracle.search('Task', [c.param]).must.length;
        if (n < 20 || n > 400) continue;
        const extra = { count: Math.max(3, Math.ceil(n / g.rng.int(6, 12))), paging: true };
        if (g.rng.chance(0.5)) extra.sort = g.rng.some(SORT_PARAMS.Task, 1, 2).map((code) => ({ code, desc: g.rng.chance(0.4) }));
        return q('Task', [c.param], extra);
      }
      return null;
    },
    // Walks the pages and, after each, creates, updates or deletes a Task
    // (the oracle's copy follows).  Resources written during the walk may
    // come or not (or twice); every other match must come exactly once, and
    // nothing that never matched may come.
    async check(g, query) {
      const before = new Set(oracle.search('Task', query.params).must.map((r) => r.id));
      const touched = new Set();
      const seen = [];
      let res = await srv.fetch(`${pathOf(query)}?${queryString(query)}`);
      for (let pages = 0; ; pages++) {
        if (res.status !== 200) return { expected: before.size, problem: `page ${pages + 1}: HTTP ${res.status}: ${diagnostics(res)}` };
        seen.push(...matchesOf(res.json).map((r) => r.id));
        await writeTask(g, before, touched);
        const next = (res.json.link || []).find((l) => l.relation === 'next');
        if (!next) break;
        if (pages > 500) return { expected: before.size, problem: 'next links do not end' };
        res = await srv.fetch(next.url.slice(srv.base.length));
      }
      const counts = new Map();
      for (const id of seen) counts.set(id, (counts.get(id) || 0) + 1);
      // A resource written during the walk may come twice: before and after
      // the write moved it (its sort key changed).  Others may not.
      const dups = [...counts].filter(([id, n]) => n > 1 && !touched.has(id)).map(([id]) => id);
      const lost = [...before].filter((id) => !touched.has(id) && !counts.has(id));
      const strange = [...counts.keys()].filter((id) => !before.has(id) && !touched.has(id));
      let problem = null;
      if (dups.length || lost.length || strange.length) {
        problem = `${touched.size} Tasks written during the walk; twice (first 5): ${dups.slice(0, 5).join(' ') || '-'}; `
          + `untouched matches missing (first 5): ${lost.slice(0, 5).join(' ') || '-'}; `
          + `never matched (first 5): ${strange.slice(0, 5).join(' ') || '-'}`;
      }
      return { expected: before.size, problem };
    },
  },
];

let written = 0;
// One write to a Task during a paged walk, applied to the oracle's copy too.
async function writeTask(g, before, touched) {
  const db = loadInfo.db.get('Task');
  const pool = g.rng.chance(0.6) && before.size ? [...before].filter((id) => db.has(id)) : [...db.keys()];
  if (!pool.length) return;
  const old = db.get(g.rng.pick(pool));
  const kind = g.rng.weighted([['create', 2], ['update', 2], ['delete', 1]]);
  if (kind === 'delete') {
    const res = await srv.fetch(`/fhir/Task/${old.id}`, { method: 'DELETE' });
    assert.equal(res.status, 204, `delete Task/${old.id}: ${res.text.slice(0, 300)}`);
    db.delete(old.id);
    touched.add(old.id);
    return;
  }
  const r = structuredClone(old);
  delete r.meta;
  if (kind === 'create') r.id = `written-${written++}`;
  // an update keeps the status: the Task workflow (coord/) allows only some transitions
  if (kind === 'create') r.status = g.rng.pick(['requested', 'in-progress', 'completed', 'on-hold']);
  if (g.rng.chance(0.5)) r.priority = g.rng.pick(['routine', 'urgent', 'asap', 'stat']);
  r.authoredOn = formatDate(Date.UTC(2024, g.rng.int(0, 11), g.rng.int(1, 28), g.rng.int(0, 23)), 'second', '+01:00');
  const res = await srv.fetch(`/fhir/Task/${r.id}`, { method: 'PUT', json: r });
  assert.ok(res.status === 200 || res.status === 201, `put Task/${r.id}: ${res.text.slice(0, 300)}`);
  db.set(r.id, { ...r, meta: { versionId: res.json.meta.versionId, lastUpdated: res.json.meta.lastUpdated } });
  touched.add(r.id);
}

// The oracle itself, on the examples the R4 search page gives (no server):
// if the oracle misread the spec there, every family would inherit it.
test('the oracle answers the examples of the R4 search page as the page does', () => {
  const db = new Map();
  const add = (r) => { if (!db.has(r.resourceType)) db.set(r.resourceType, new Map()); db.get(r.resourceType).set(r.id, r); };
  const dates = { d1: '2013-01-14T00:00:00Z', d2: '2013-01-14T10:00:00Z', d3: '2013-01-15T00:00:00Z', d4: '2013-01-14' };
  for (const [id, t] of Object.entries(dates)) add({ resourceType: 'Task', id, authoredOn: t });
  add({ resourceType: 'Task', id: 'p1', executionPeriod: { start: '2013-01-10', end: '2013-01-14T12:00:00Z' } });
  add({ resourceType: 'Task', id: 'p2', executionPeriod: { start: '2013-01-14T12:00:00Z' } });
  for (const [id, v] of Object.entries({ q1: 99.4, q2: 99.6, q3: 100, q4: 100.4, q5: 100.6, q6: 99.996 })) {
    add({ resourceType: 'Observation', id, valueQuantity: { value: v, unit: 'mg', system: 'http://unitsofmeasure.org', code: 'mg' } });
  }
  add({ resourceType: 'Observation', id: 'q7', valueQuantity: { value: 100, unit: 'mg' } });
  for (const [id, given, gender] of [['eve', 'Eve', 'female'], ['evelyn', 'Evelyn', 'female'], ['sev', 'Severine', undefined],
    ['lower', 'eve', 'male'], ['soren', 'Søren', 'male'], ['aase', 'Åse', 'female']]) {
    add({ resourceType: 'Patient', id, name: [{ given: [given] }], ...(gender ? { gender } : {}),
      identifier: [{ system: 'http://acme.org/patient', value: id }] });
  }
  const o = new Oracle(db, { base: 'http://server/fhir', now: () => Date.UTC(2024, 0, 1) });
  const ids = (type, params) => o.search(type, params).must.map((r) => r.id).sort().join(' ');
  // Dates ("date" and the table in "Prefixes")
  assert.equal(ids('Task', [['authored-on', 'eq2013-01-14']]), 'd1 d2 d4');
  assert.equal(ids('Task', [['authored-on', 'ne2013-01-14']]), 'd3');
  assert.equal(ids('Task', [['authored-on', 'lt2013-01-14T10:00:00Z']]), 'd1 d4');
  assert.equal(ids('Task', [['authored-on', 'gt2013-01-14T10:00:00Z']]), 'd3 d4');
  assert.equal(ids('Task', [['authored-on', 'ge2013-01-14T10:00:00Z']]), 'd2 d3 d4');
  assert.equal(ids('Task', [['authored-on', 'sa2013-01-14']]), 'd3');
  assert.equal(ids('Task', [['authored-on', 'eb2013-01-14T10:00:00Z']]), 'd1');
  assert.equal(ids('Task', [['authored-on', 'eq2013-01-14T11:00:00%2B01:00'.replace('%2B', '+')]]), 'd2');
  // Periods: a range ending inside the day is not "ge" the day (it does not
  // reach above it, and the day does not contain it); an open end reaches above.
  assert.equal(ids('Task', [['period', 'ge2013-01-14']]), 'p2');
  assert.equal(ids('Task', [['period', 'le2013-01-14']]), 'p1');
  assert.equal(ids('Task', [['period', 'eq2013-01']]), 'p1');
  // Numbers ("number"): 100 is [99.5, 100.5); lt/gt compare exactly.
  assert.equal(ids('Observation', [['value-quantity', '100']]), 'q2 q3 q4 q6 q7');
  assert.equal(ids('Observation', [['value-quantity', '100.00']]), 'q3 q6 q7');
  assert.equal(ids('Observation', [['value-quantity', 'lt100']]), 'q1 q2 q6');
  assert.equal(ids('Observation', [['value-quantity', 'le100']]), 'q1 q2 q3 q6 q7');
  assert.equal(ids('Observation', [['value-quantity', 'gt100']]), 'q4 q5');
  assert.equal(ids('Observation', [['value-quantity', 'ne100']]), 'q1 q5');
  // Quantities ("quantity"): with a system both must match; ||code matches code or unit.
  assert.equal(ids('Observation', [['value-quantity', '100|http://unitsofmeasure.org|mg']]), 'q2 q3 q4 q6');
  assert.equal(ids('Observation', [['value-quantity', '100||mg']]), 'q2 q3 q4 q6 q7');
  // Strings ("string")
  assert.equal(ids('Patient', [['given', 'eve']]), 'eve evelyn lower');
  assert.equal(ids('Patient', [['given:contains', 'eve']]), 'eve evelyn lower sev');
  assert.equal(ids('Patient', [['given:exact', 'Eve']]), 'eve');
  assert.equal(ids('Patient', [['given', 'SOREN']]), 'soren');
  assert.equal(ids('Patient', [['given', 'ase']]), 'aase');
  // Tokens ("token"): :not keeps the resources without a value.
  assert.equal(ids('Patient', [['gender:not', 'male']]), 'aase eve evelyn sev');
  assert.equal(ids('Patient', [['identifier', 'http://acme.org/patient|eve']]), 'eve');
  assert.equal(ids('Patient', [['identifier', 'http://acme.org/patient|']]), 'aase eve evelyn lower sev soren');
  assert.equal(ids('Patient', [['identifier', '|eve']]), '');
  // AND of parameters, OR of values
  assert.equal(ids('Patient', [['given', 'eve,sev'], ['gender', 'female']]), 'eve evelyn');
  // ap: overlap must match; 10% of the distance to now may.
  const ap = o.search('Task', [['authored-on', 'ap2013-01-13']]);
  assert.deepEqual([ap.must.length, ap.may.length], [0, 4]);
  // Order: ties in any order, missing values at either end, one choice per key.
  const byId = (...xs) => xs.map((id) => o.get('Patient', id));
  assert.equal(o.checkOrder('Patient', [{ code: 'gender', desc: false }], byId('eve', 'aase', 'lower', 'soren', 'sev')), null);
  assert.equal(o.checkOrder('Patient', [{ code: 'gender', desc: false }], byId('sev', 'eve', 'aase', 'lower', 'soren')), null);
  assert.notEqual(o.checkOrder('Patient', [{ code: 'gender', desc: false }], byId('eve', 'sev', 'lower', 'aase')), null);
  assert.equal(o.checkOrder('Patient', [{ code: 'gender', desc: true }, { code: 'given', desc: false }],
    byId('lower', 'soren', 'aase', 'eve', 'evelyn', 'sev')), null);
  assert.notEqual(o.checkOrder('Patient', [{ code: 'gender', desc: true }, { code: 'given', desc: false }],
    byId('soren', 'lower', 'aase', 'eve', 'evelyn', 'sev')), null);
});

const enabled = (name) => (!ONLY.length || ONLY.includes(name)) && !SKIP.includes(name);

for (const family of FAMILIES) {
  const skip = enabled(family.name) ? false : 'switched off by SEARCH_FAMILIES / SEARCH_FAMILIES_SKIP';
  test(`search family ${family.name}: ${family.about}`, { skip }, async () => {
    const started = Date.now();
    const rng = makeRng(subSeed(SEED, family.name));
    const g = gen(rng);
    const want = PER_FAMILY || family.count;
    const failures = [];
    const sizes = [];
    let ran = 0;
    for (let attempts = 0; ran < want && attempts < want * 10; attempts++) {
      const query = family.gen(g);
      if (!query) continue;
      ran++;
      let problem;
      try {
        const answer = family.check ? await family.check(g, query) : await check(query);
        problem = answer.problem;
        sizes.push(answer.expected);
      } catch (err) {
        problem = `the test threw: ${err.stack || err}`;
      }
      if (problem) failures.push({ query: describe(query), problem });
    }
    const first = failures[0] ? `${failures[0].query} -> ${failures[0].problem}` : '';
    sizes.sort((a, b) => a - b);
    const empty = sizes.filter((n) => n === 0).length;
    const median = sizes.length ? sizes[Math.floor(sizes.length / 2)] : 0;
    summary.push({ name: family.name, queries: ran, failed: failures.length, first: first.slice(0, 400), ms: Date.now() - started,
      empty, median, failures });
    assert.ok(ran >= Math.min(want, 5), `only ${ran} queries could be generated`);
    if (failures.length) {
      const shown = failures.slice(0, 3).map((f) => `  ${f.query}\n    ${f.problem}`).join('\n');
      assert.fail(`${failures.length} of ${ran} ${family.name} queries differ from the oracle (SEED=${SEED}):\n${shown}`);
    }
  });
}

test('the run covers at least 500 queries over at least 5,000 resources', { skip: ONLY.length || SKIP.length || PER_FAMILY ? 'a partial run' : false }, () => {
  const total = summary.reduce((s, f) => s + f.queries, 0);
  assert.ok(loadInfo.loaded >= 5000, `${loadInfo.loaded} resources`);
  assert.ok(total >= 500, `${total} queries`);
});
