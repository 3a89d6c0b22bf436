// medcom-load.mjs - the MedCom benchmark's own client for what wrk does not do:
//
//   node bench/medcom-load.mjs BASE preload N
//       registers the two organisations of the template (the hospital department and
//       the home-care municipality, by SOR id; the municipality with its municipality
//       code) and N citizens of that municipality (Patient with CPR, name, gender,
//       birthDate, address with the municipality code, managingOrganization), in
//       transaction Bundles of 250: the municipality's citizens as they exist before any
//       notification arrives.
//   node bench/medcom-load.mjs BASE send COUNT START [N]
//       posts COUNT admissions one after the other on one connection, message numbers
//       START.., each checked to be a 200 with an ok acknowledgement; with N, the
//       citizens are the preloaded ones (citizen (START+i)*7919 mod N), else each message
//       brings a new citizen (as bench/wrk/medcom.lua does by default).
//
// CPR numbers: citizen p is born 1940-01-01 + (p mod 21915) days, serial p div 21915
// (century digit 0: 1900s), gender from the serial's parity; bench/wrk/medcom.lua computes
// the same numbers for BENCH_MEDCOM_CITIZENS.  The template is tests/data/medcom/a1_stin.json
// (or BENCH_MEDCOM_TEMPLATE).
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const DAYS = 21915;
const MUNICIPALITY_EXT = 'http://samverka.org/fhir/StructureDefinition/municipality-code';
const MUNICIPALITY_SID = 'http://samverka.org/fhir/sid/dk-municipality-code';
const CPR_SYSTEM = 'urn:oid:1.2.208.176.1.2';
const SOR = 'urn:oid:1.2.208.176.1.1';

export function citizen(p, serialBase = 0) {
  const t = Date.UTC(1940, 0, 1) + (p % DAYS) * 86400000;
  const d = new Date(t);
  const dd = String(d.getUTCDate()).padStart(2, '0');
  const mm = String(d.getUTCMonth() + 1).padStart(2, '0');
  const yy = String(d.getUTCFullYear() % 100).padStart(2, '0');
  const serial = serialBase + Math.floor(p / DAYS);
  return {
    cpr: `${dd}${mm}${yy}${String(serial).padStart(4, '0')}`,
    birthDate: d.toISOString().slice(0, 10),
    gender: serial % 2 === 1 ? 'male' : 'female',
  };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function post(base, path, body) {
  return new Promise((resolve, reject) => {
    const url = new URL(path, base);
    const data = Buffer.from(body);
    const req = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'Content-Type': 'application/fhir+json', 'Content-Length': data.length },
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }),
        );
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

function templateText() {
  const file = process.env.BENCH_MEDCOM_TEMPLATE || join(here, '../tests/data/medcom/a1_stin.json');
  return JSON.stringify(JSON.parse(readFileSync(file, 'utf8')));
}

async function preload(base, n) {
  const tpl = JSON.parse(templateText());
  const orgs = tpl.entry.filter((e) => e.resource.resourceType === 'Organization');
  const hospital = orgs[0].resource;
  const home = orgs[1].resource;
  const municipality = {
    resourceType: 'Organization',
    identifier: [...home.identifier, { system: MUNICIPALITY_SID, value: '0999' }],
    name: home.name,
  };
  const hospitalOrg = { resourceType: 'Organization', identifier: hospital.identifier, name: hospital.name };
  const first = await post(
    base,
    '/fhir',
    JSON.stringify({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { fullUrl: 'urn:uuid:00000000-0000-4000-8000-00000000000a', resource: municipality, request: { method: 'POST', url: 'Organization' } },
        { fullUrl: 'urn:uuid:00000000-0000-4000-8000-00000000000b', resource: hospitalOrg, request: { method: 'POST', url: 'Organization' } },
      ],
    }),
  );
  if (first.status !== 200) throw new Error(`preload: organisations: ${first.status} ${first.body}`);
  const loc = JSON.parse(first.body).entry[0].response.location; // Organization/id/_history/1
  const homeRef = loc.split('/').slice(0, 2).join('/');
  for (let start = 0; start < n; start += 250) {
    const entry = [];
    for (let p = start; p < Math.min(n, start + 250); p++) {
      const c = citizen(p);
      entry.push({
        resource: {
          resourceType: 'Patient',
          identifier: [{ system: CPR_SYSTEM, value: c.cpr }],
          name: [{ use: 'official', family: `Borger${p}`, given: ['Test'] }],
          gender: c.gender,
          birthDate: c.birthDate,
          address: [
            {
              extension: [{ url: MUNICIPALITY_EXT, valueCode: '0999' }],
              line: [`Testvej ${p % 200}`],
              postalCode: '9999',
              city: 'Testby',
            },
          ],
          managingOrganization: { reference: homeRef },
        },
        request: { method: 'POST', url: 'Patient' },
      });
    }
    const r = await post(base, '/fhir', JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry }));
    if (r.status !== 200) throw new Error(`preload: citizens from ${start}: ${r.status} ${r.body.slice(0, 400)}`);
  }
}

export function message(template, n, c, stream = 0) {
  const id = `${String(stream.toString(16)).padStart(8, '0')}-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
  return template
    .replaceAll('a0000000-0000-4000-8000-000000000001', id)
    .replaceAll('episode-A', `episode-${stream}-${n}`)
    .replaceAll('0101401234', c.cpr)
    .replaceAll('1940-01-01', c.birthDate)
    .replace(/"gender": ?"female"/, `"gender":"${c.gender}"`);
}

async function send(base, count, start, known) {
  const template = templateText();
  for (let i = 0; i < count; i++) {
    const n = start + i;
    const c = known ? citizen((n * 7919) % known) : citizen(n % DAYS, 9000 + Math.floor(n / DAYS));
    const r = await post(base, '/fhir/$process-message', message(template, n, c, 99));
    if (r.status !== 200 || r.headers['x-medcom-acknowledgement'] !== 'ok')
      throw new Error(`send: message ${n}: ${r.status} ${r.body.slice(0, 600)}`);
  }
}

const [base, mode, a, b, c] = process.argv.slice(2);
if (mode === 'preload') await preload(base, Number(a));
else if (mode === 'send') await send(base, Number(a), Number(b), c ? Number(c) : 0);
else {
  console.error('usage: medcom-load.mjs BASE preload N | send COUNT START [N]');
  process.exit(2);
}
agent.destroy();
