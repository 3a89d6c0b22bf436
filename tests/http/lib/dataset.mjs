// dataset.mjs - a random, reproducible dataset shaped like coordination data
// for the search property test (search_property.test.mjs): Danish and Swedish
// citizens (CPR-nummer, personnummer), municipalities and hospitals, staff,
// care teams, care plans, goals, tasks with deadlines, stays, messages and
// measurements.  Everything is drawn from one seeded PRNG, so a seed names a
// dataset exactly; nothing here depends on the clock or the server.
//
//   const rng = makeRng(seed);
//   const { resources } = generateDataset(rng, { scale: 1 });
//   for (const bundle of transactionBundles(resources, 1000)) ...
//
// The shapes are chosen to reach the corners of the search rules: names with
// æ ø å ä ö é ü and double family names, codings without a system, Periods
// open at either end, dateTimes at year/month/day/second/millisecond
// precision in several time zones, quantities whose unit is or is not their
// code, references to several target types, ids shared across types, and
// references that point outside this server.  Quantity values have three
// decimals whose last digit is never 0 or 5, so that no stored value sits on
// the boundary of the implicit range of a query value with fewer decimals.

// --- PRNG -----------------------------------------------------------------

// sfc32, seeded through splitmix32 so that small seeds are well mixed.
export function makeRng(seed) {
  let s = seed >>> 0;
  const split = () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = split(), b = split(), c = split(), d = split();
  const next = () => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t / 4294967296;
  };
  for (let i = 0; i < 12; i++) next();
  const rng = () => next();
  rng.int = (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)); // inclusive
  rng.pick = (arr) => arr[Math.floor(next() * arr.length)];
  rng.chance = (p) => next() < p;
  rng.some = (arr, lo, hi) => {
    const n = rng.int(lo, Math.min(hi, arr.length));
    return rng.shuffle(arr.slice()).slice(0, n);
  };
  rng.shuffle = (arr) => {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [arr[i], arr[j]] = [arr[j], arr[i]];
    }
    return arr;
  };
  rng.weighted = (pairs) => { // [[value, weight], ...]
    const total = pairs.reduce((s, [, w]) => s + w, 0);
    let x = next() * total;
    for (const [v, w] of pairs) { if ((x -= w) < 0) return v; }
    return pairs[pairs.length - 1][0];
  };
  return rng;
}

// A seed mixed with a name: one independent stream per query family.
export function subSeed(seed, name) {
  let h = (seed >>> 0) ^ 0x811c9dc5;
  for (const ch of name) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return h >>> 0;
}

// --- vocabularies ----------------------------------------------------------

export const SYS = {
  cpr: 'urn:oid:1.2.208.176.1.2',
  personnummer: 'urn:oid:1.2.752.129.2.1.3.1',
  sor: 'urn:oid:1.2.208.176.1.1',
  hsa: 'urn:oid:1.2.752.29.4.19',
  autorisation: 'https://autregweb.sst.dk/authorization',
  localMrn: 'https://samverka.example/mrn',
  idType: 'http://terminology.hl7.org/CodeSystem/v2-0203',
  orgType: 'http://terminology.hl7.org/CodeSystem/organization-type',
  loinc: 'http://loinc.org',
  snomed: 'http://snomed.info/sct',
  ucum: 'http://unitsofmeasure.org',
  actCode: 'http://terminology.hl7.org/CodeSystem/v3-ActCode',
  obsCategory: 'http://terminology.hl7.org/CodeSystem/observation-category',
  goalCategory: 'http://terminology.hl7.org/CodeSystem/goal-category',
  goalAchievement: 'http://terminology.hl7.org/CodeSystem/goal-achievement',
  commCategory: 'http://terminology.hl7.org/CodeSystem/communication-category',
  taskType: 'https://samverka.example/task-type',
  carePlanCategory: 'https://samverka.example/careplan-category',
  encounterType: 'https://samverka.example/encounter-type',
};

const DK_FAMILY = ['Jensen', 'Nielsen', 'Hansen', 'Pedersen', 'Andersen', 'Christensen', 'Larsen',
  'Sørensen', 'Rasmussen', 'Jørgensen', 'Petersen', 'Madsen', 'Kristensen', 'Olsen', 'Thomsen',
  'Møller', 'Mortensen', 'Østergaard', 'Kjærgaard', 'Søndergaard', 'Bækgaard', 'Højgaard', 'Lægård',
  'Grøn', 'Krøyer', 'Damgård', 'Ærbø', 'Ørsted', 'Bülow', 'Kjær Nielsen', 'Møller Hansen', 'Due'];
const SE_FAMILY = ['Andersson', 'Johansson', 'Karlsson', 'Nilsson', 'Eriksson', 'Larsson', 'Olsson',
  'Persson', 'Svensson', 'Gustafsson', 'Jönsson', 'Björk', 'Åkesson', 'Ångström', 'Öberg', 'Lindqvist',
  'Sjöberg', 'Bäckström', 'Söderberg', 'Hägglund', 'Ström', 'Löfgren', 'Åström', 'Öhman', 'Nordström',
  'Wästberg', 'Ek', 'Sandström Öberg'];
const DK_GIVEN_F = ['Anne', 'Mette', 'Kirsten', 'Hanne', 'Søs', 'Sofie', 'Ida', 'Freja', 'Bodil', 'Dorthe',
  'Grete', 'Åse', 'Æbbe', 'Birthe', 'Lærke', 'Renée', 'Zoë', 'Ellen', 'Signe'];
const DK_GIVEN_M = ['Søren', 'Bjørn', 'Jørgen', 'Jens', 'Niels', 'Lars', 'Mads', 'Frederik', 'Asger',
  'Jørn', 'Bøje', 'Østen', 'Øjvind', 'André', 'Aage', 'Anders', 'Ejnar', 'Kåre'];
const SE_GIVEN_F = ['Åsa', 'Märta', 'Linnéa', 'Maja', 'Elsa', 'Astrid', 'Saga', 'Agnes', 'Ebba', 'Göta',
  'Britt-Marie', 'Solveig', 'Ann-Sofie'];
const SE_GIVEN_M = ['Björn', 'Göran', 'Örjan', 'Åke', 'Måns', 'Sölve', 'Ulf', 'Stig', 'Anders', 'Ödön',
  'Nils-Åke', 'Pär', 'Jöns'];
const PREFIXES = ['Dr.', 'Prof.', 'Sygpl.', 'Leg. läk.'];
const DK_CITIES = [['København', '2200'], ['Aarhus', '8000'], ['Århus N', '8200'], ['Aalborg', '9000'],
  ['Odense', '5000'], ['Næstved', '4700'], ['Køge', '4600'], ['Holbæk', '4300'], ['Hørsholm', '2970'],
  ['Ærøskøbing', '5970'], ['Rødovre', '2610'], ['Helsingør', '3000'], ['Tårnby', '2770'], ['Esbjerg', '6700']];
const SE_CITIES = [['Göteborg', '411 01'], ['Malmö', '211 20'], ['Västerås', '722 11'], ['Örebro', '702 10'],
  ['Linköping', '581 83'], ['Jönköping', '553 20'], ['Umeå', '903 25'], ['Luleå', '972 31'], ['Gävle', '803 20'],
  ['Södertälje', '151 73'], ['Täby', '183 34'], ['Växjö', '352 30'], ['Stockholm', '111 20']];
const DK_STREETS = ['Nørregade', 'Søndergade', 'Østerbrogade', 'Vestergade', 'Æblevej', 'Bøgevej', 'Strandvejen'];
const SE_STREETS = ['Storgatan', 'Kungsgatan', 'Drottninggatan', 'Sjögatan', 'Ängsvägen', 'Björkvägen'];

const ORG_TYPES = [['govt', 'Government'], ['prov', 'Healthcare Provider'], ['dept', 'Hospital Department'],
  ['other', 'Other']];
const DK_ORGS = ['Aarhus Kommune', 'Københavns Kommune', 'Odense Kommune', 'Aalborg Kommune', 'Ærø Kommune',
  'Region Hovedstaden', 'Region Midtjylland', 'Region Nordjylland', 'Rigshospitalet', 'Aarhus Universitetshospital',
  'Odense Universitetshospital', 'Hjemmeplejen Nørrebro', 'Sundhedscenter Ærø', 'Genoptræning Øst',
  'Plejecenter Søbakken', 'Sundhed, Pleje & Omsorg', 'Hvidovre Hospital'];
const SE_ORGS = ['Göteborgs Stad', 'Malmö stad', 'Region Västra Götaland', 'Region Skåne', 'Region Örebro län',
  'Sahlgrenska Universitetssjukhuset', 'Skånes universitetssjukhus', 'Hemtjänst Södermalm', 'Vårdcentral Örebro',
  'Jönköpings kommun', 'Äldreboende Solängen', 'Umeå kommun', 'Öppenvård Västerås'];
const ORG_ALIASES = ['Kommunen', 'Hospitalet', 'Sjukhuset', 'Hemtjänsten', 'Plejen'];

const TASK_CODES = [['visitation', 'Visitation til hjemmepleje'], ['genoptraening', 'Genoptræning efter udskrivning'],
  ['udskrivningsklar', 'Udskrivningsklar patient'], ['hemtjanst', 'Hemtjänst i ordinärt boende'],
  ['lakemedel', 'Läkemedelsgenomgång'], ['hjaelpemiddel', 'Hjælpemiddel: kørestol'], ['samordning', 'Samordnad individuell plan']];
const LOCAL_TASK_CODES = [['K-17', 'Kommunal opgave 17'], ['Ö-3', 'Överenskommelse 3']]; // no system
const BUSINESS_STATUS = ['Afventer', 'Påbegyndt', 'Väntar på svar', 'Afsluttet', 'Åben', 'Ärende skickat',
  'Opfølgning, uge 2'];
const CAREPLAN_CATEGORIES = [
  [SYS.snomed, '736353004', 'Inpatient care plan'], [SYS.snomed, '736271009', 'Outpatient care plan'],
  [SYS.snomed, '734163000', 'Care plan'], [SYS.snomed, '718347000', 'Mental health care plan'],
  [SYS.carePlanCategory, 'genoptraeningsplan', 'Genoptræningsplan'],
  [SYS.carePlanCategory, 'sip', 'Samordnad individuell plan'],
  [SYS.carePlanCategory, 'forloebsplan', 'Forløbsplan'],
];
const CAREPLAN_TEXTS = ['Genoptræning efter hoftebrud', 'Hjemmepleje og rehabilitering', 'Plan för hemgång',
  'Ernæring og vægt', 'Öppen psykiatrisk vård', 'Kronisk obstruktiv lungesygdom (KOL)'];
const CARETEAM_CATEGORIES = [['LA27976-2', 'Encounter-focused care team'], ['LA27977-0', 'Episode of care-focused care team'],
  ['LA28865-6', 'Longitudinal care-coordination focused care team'], ['LA28866-4', 'Home & Community Based Services (HCBS)-focused care team']];
const CARETEAM_NAMES = ['Rehabiliteringsteam', 'Udskrivningsteam', 'Hemsjukvårdsteam', 'Demensteam Øst', 'Palliativt team'];
const GOAL_CATEGORIES = [['dietary', 'Dietary'], ['safety', 'Safety'], ['behavioral', 'Behavioral'],
  ['nursing', 'Nursing'], ['physiotherapy', 'Physiotherapy']];
const GOAL_ACHIEVEMENT = ['in-progress', 'improving', 'worsening', 'no-change', 'achieved', 'sustaining',
  'not-achieved', 'no-progress', 'not-attainable'];
const GOAL_TEXTS = ['Kunne gå 500 m uden rollator', 'Klare personlig hygiejne selv', 'Gå till affären själv',
  'Tage på i vægt', 'Sova hela natten', 'Færre indlæggelser'];
const ENCOUNTER_CLASSES = [['AMB', 'ambulatory'], ['IMP', 'inpatient encounter'], ['HH', 'home health'],
  ['VR', 'virtual'], ['EMER', 'emergency'], ['SS', 'short stay']];
const ENCOUNTER_TYPES = [['indlaeggelse', 'Indlæggelse'], ['hjemmebesoeg', 'Hjemmebesøg'], ['vardbesok', 'Vårdbesök'],
  ['videokonsultation', 'Videokonsultation'], ['akutmodtagelse', 'Akutmodtagelse']];
const COMM_CATEGORIES = ['alert', 'notification', 'reminder', 'instruction'];
const COMM_TEXTS = ['Borgeren er udskrivningsklar i morgen', 'Patienten skrivs ut på fredag', 'Husk genoptræning mandag',
  'Ny medicinliste vedhæftet', 'Kallelse till SIP-möte', 'Hjælpemidler leveret'];

// LOINC code, display, unit, UCUM code, [lo, hi], share of observations.
const OBS_KINDS = [
  ['8867-4', 'Heart rate', 'beats/minute', '/min', [45, 130], 'vital-signs'],
  ['29463-7', 'Body weight', 'kg', 'kg', [38, 140], 'vital-signs'],
  ['8302-2', 'Body height', 'cm', 'cm', [145, 200], 'vital-signs'],
  ['8310-5', 'Body temperature', 'Cel', 'Cel', [35, 41], 'vital-signs'],
  ['59408-5', 'Oxygen saturation in Arterial blood by Pulse oximetry', '%', '%', [82, 100], 'vital-signs'],
  ['2339-0', 'Glucose [Mass/volume] in Blood', 'mg/dL', 'mg/dL', [60, 300], 'laboratory'],
  ['72514-3', 'Pain severity - 0-10 verbal numeric rating [Score] - Reported', 'score', '{score}', [0, 10], 'survey'],
];
const BP = ['85354-9', 'Blood pressure panel with all children optional'];

// --- identifiers -------------------------------------------------------------

const pad = (n, w = 2) => String(n).padStart(w, '0');

// A Danish CPR-nummer DDMMYY-SSSS for a birth date (1900-2036); the first
// serial digit carries the century (0-3: 1900s, 4: 2000-2036) and the last
// one the legal gender (odd: male).  Modulus 11 is not required (2007 on).
export function cpr(rng, y, m, d, male) {
  const first = y >= 2000 ? 4 : rng.int(0, 3);
  let last = rng.int(0, 9);
  if ((last % 2 === 1) !== male) last = (last + 1) % 10;
  return `${pad(d)}${pad(m)}${pad(y % 100)}-${first}${rng.int(0, 9)}${rng.int(0, 9)}${last}`;
}

// A Swedish personnummer YYYYMMDD-NNNC with its Luhn check digit over
// YYMMDDNNN; the third serial digit is odd for men.
export function personnummer(rng, y, m, d, male) {
  let third = rng.int(0, 9);
  if ((third % 2 === 1) !== male) third = (third + 1) % 10;
  const serial = `${rng.int(0, 9)}${rng.int(0, 9)}${third}`;
  const nine = `${pad(y % 100)}${pad(m)}${pad(d)}${serial}`;
  let sum = 0;
  for (let i = 0; i < 9; i++) {
    let v = Number(nine[i]) * (i % 2 === 0 ? 2 : 1);
    if (v > 9) v -= 9;
    sum += v;
  }
  return `${y}${pad(m)}${pad(d)}-${serial}${(10 - (sum % 10)) % 10}`;
}

// --- dates -----------------------------------------------------------------

export const ZONES = ['Z', '+01:00', '+02:00', '-05:00', '+05:30'];
const zoneMinutes = (z) => (z === 'Z' ? 0 : (z[0] === '-' ? -1 : 1) * (Number(z.slice(1, 3)) * 60 + Number(z.slice(4, 6))));

// The FHIR text of the instant ms at a precision ('year', 'month', 'day',
// 'minute', 'second', 'ms'), written in time zone zone for times.  'minute'
// is search syntax only (FHIR dateTime values need seconds).
export function formatDate(ms, precision, zone = 'Z') {
  const local = new Date(ms + zoneMinutes(zone) * 60000);
  const Y = String(local.getUTCFullYear()).padStart(4, '0');
  const M = pad(local.getUTCMonth() + 1);
  const D = pad(local.getUTCDate());
  if (precision === 'year') return Y;
  if (precision === 'month') return `${Y}-${M}`;
  if (precision === 'day') return `${Y}-${M}-${D}`;
  const hm = `${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}`;
  if (precision === 'minute') return `${Y}-${M}-${D}T${hm}${zone}`;
  const s = pad(local.getUTCSeconds());
  if (precision === 'second') return `${Y}-${M}-${D}T${hm}:${s}${zone}`;
  return `${Y}-${M}-${D}T${hm}:${s}.${pad(local.getUTCMilliseconds(), 3)}${zone}`;
}

const T0 = Date.UTC(2023, 0, 1);
const T1 = Date.UTC(2025, 11, 31);
const DAY = 86400000;
const clinicalMs = (rng) => T0 + Math.floor(rng() * (T1 - T0) / 1000) * 1000;

// A dateTime at a random precision (mostly full, in a random zone).
function dateTimeAt(rng, ms, weights = [[ 'second', 14 ], ['day', 3], ['month', 1], ['year', 0.3], ['ms', 1]]) {
  const precision = rng.weighted(weights);
  return formatDate(ms, precision, rng.weighted([['+01:00', 4], ['+02:00', 4], ['Z', 3], ['-05:00', 1], ['+05:30', 0.5]]));
}

// A Period; open at the start or the end now and then.
function period(rng, startMs, lengthDays, { openStart = 0.05, openEnd = 0.25 } = {}) {
  const p = {};
  if (!rng.chance(openStart)) p.start = dateTimeAt(rng, startMs, [['second', 10], ['day', 4], ['month', 1]]);
  if (!rng.chance(openEnd) || !p.start) {
    const endMs = startMs + Math.max(1, Math.floor(rng() * lengthDays * DAY / 1000)) * 1000;
    p.end = dateTimeAt(rng, endMs, [['second', 10], ['day', 4], ['month', 1]]);
  }
  return p;
}

// A decimal with three places whose last digit is never 0 or 5 (see top).
function decimal3(rng, lo, hi) {
  let v = Math.round((lo + rng() * (hi - lo)) * 1000);
  const last = ((v % 10) + 10) % 10;
  if (last === 0 || last === 5) v += 1;
  return v / 1000;
}

// --- the generator ---------------------------------------------------------

const DEFAULT_SIZES = {
  Organization: 40, Practitioner: 160, Patient: 800, CareTeam: 400, CarePlan: 700, Goal: 600,
  Task: 1300, Encounter: 700, Communication: 500, Observation: 900,
};

const ref = (type, id) => ({ reference: `${type}/${id}` });
const coding = (system, code, display) => {
  const c = {};
  if (system) c.system = system;
  c.code = code;
  if (display) c.display = display;
  return c;
};

// Returns { resources, ids } where ids[type] lists the ids of that type.
// scale multiplies every count (the property test uses 1: about 6,100).
export function generateDataset(rng, { scale = 1 } = {}) {
  const n = Object.fromEntries(Object.entries(DEFAULT_SIZES).map(([t, c]) => [t, Math.max(3, Math.round(c * scale))]));
  const out = [];
  const ids = {};
  const add = (r) => { out.push(r); (ids[r.resourceType] ||= []).push(r.id); return r; };
  // A few ids exist as several types, so a plain-id reference search
  // (owner=shared-1) must consider every target type.
  const idFor = (type, i) => {
    if (i < 2 && ['Organization', 'Practitioner', 'Patient', 'CareTeam'].includes(type)) return `shared-${i + 1}`;
    return `${type.toLowerCase().slice(0, 4)}-${i}`;
  };

  // Organizations: municipalities and regions first, then their departments.
  const orgs = [];
  for (let i = 0; i < n.Organization; i++) {
    const danish = i % 2 === 0;
    const names = danish ? DK_ORGS : SE_ORGS;
    const base = names[Math.floor(i / 2) % names.length];
    const name = i < names.length * 2 ? base : `${base} ${rng.pick(['Nord', 'Syd', 'Øst', 'Väst', 'Centrum'])} ${i}`;
    const [city, postal] = rng.pick(danish ? DK_CITIES : SE_CITIES);
    const org = {
      resourceType: 'Organization', id: idFor('Organization', i), active: !rng.chance(0.1),
      identifier: [danish
        ? { system: SYS.sor, value: String(100000000000000 + rng.int(0, 899999999999)) }
        : { system: SYS.hsa, value: `SE2321000131-E${String(rng.int(0, 999999999)).padStart(9, '0')}` }],
      type: [{ coding: [coding(SYS.orgType, ...rng.pick(ORG_TYPES))] }],
      name,
      address: [{ line: [`${rng.pick(danish ? DK_STREETS : SE_STREETS)} ${rng.int(1, 120)}`], city, postalCode: postal,
        country: danish ? 'DK' : 'SE' }],
    };
    if (rng.chance(0.2)) org.alias = [rng.pick(ORG_ALIASES)];
    if (i >= 8 && rng.chance(0.6)) org.partOf = ref('Organization', orgs[rng.int(0, 7)].id);
    if (rng.chance(0.1)) delete org.active;
    orgs.push(add(org));
  }

  const practitioners = [];
  for (let i = 0; i < n.Practitioner; i++) {
    const danish = rng.chance(0.55);
    const male = rng.chance(0.45);
    const given = [rng.pick(danish ? (male ? DK_GIVEN_M : DK_GIVEN_F) : (male ? SE_GIVEN_M : SE_GIVEN_F))];
    const name = { family: rng.pick(danish ? DK_FAMILY : SE_FAMILY), given };
    if (rng.chance(0.3)) name.prefix = [rng.pick(PREFIXES)];
    const p = {
      resourceType: 'Practitioner', id: idFor('Practitioner', i), active: !rng.chance(0.08),
      identifier: [danish ? { system: SYS.autorisation, value: `${rng.pick('ABCDEFGHJKLMNPRSTVXZ'.split(''))}${rng.int(1000, 9999)}` }
        : { system: SYS.hsa, value: `SE2321000131-P${String(rng.int(0, 999999999)).padStart(9, '0')}` }],
      name: [name], gender: male ? 'male' : 'female',
    };
    if (rng.chance(0.5)) p.telecom = [{ system: 'email', value: `p${i}@${danish ? 'sundhed.dk' : 'vgregion.se'}` }];
    practitioners.push(add(p));
  }

  const patients = [];
  for (let i = 0; i < n.Patient; i++) {
    const danish = rng.chance(0.55);
    const male = rng.chance(0.48);
    const y = rng.int(1925, 2021);
    const m = rng.int(1, 12);
    const d = rng.int(1, 28);
    const identifier = [danish
      ? { type: { coding: [coding(SYS.idType, 'NNDNK')], text: 'CPR-nummer' }, system: SYS.cpr, value: cpr(rng, y, m, d, male) }
      : { type: { coding: [coding(SYS.idType, 'NNSWE')], text: 'Personnummer' }, system: SYS.personnummer, value: personnummer(rng, y, m, d, male) }];
    if (rng.chance(0.15)) identifier.push({ type: { coding: [coding(SYS.idType, 'MR')] }, system: SYS.localMrn, value: `MRN-${i}` });
    if (rng.chance(0.05)) identifier.push({ value: `LOCAL-${i % 97}` }); // no system
    const familyPool = danish ? DK_FAMILY : SE_FAMILY;
    const givenPool = danish ? (male ? DK_GIVEN_M : DK_GIVEN_F) : (male ? SE_GIVEN_M : SE_GIVEN_F);
    const name = { use: 'official', family: rng.pick(familyPool), given: rng.some(givenPool, 1, 2) };
    const names = [name];
    if (rng.chance(0.08)) names.push({ use: 'maiden', family: rng.pick(familyPool) });
    if (rng.chance(0.05)) names.push({ use: 'nickname', given: [rng.pick(givenPool)] });
    if (rng.chance(0.04)) name.text = `${name.given.join(' ')} ${name.family}`;
    const [city, postal] = rng.pick(danish ? DK_CITIES : SE_CITIES);
    const p = {
      resourceType: 'Patient', id: idFor('Patient', i), identifier, name: names,
      gender: rng.weighted([[male ? 'male' : 'female', 30], ['other', 0.5], ['unknown', 0.5]]),
      birthDate: rng.chance(0.05) ? `${y}-${pad(m)}` : `${y}-${pad(m)}-${pad(d)}`,
      address: [{ line: [`${rng.pick(danish ? DK_STREETS : SE_STREETS)} ${rng.int(1, 200)}`], city, postalCode: postal,
        country: danish ? 'DK' : 'SE' }],
      managingOrganization: ref('Organization', rng.pick(orgs).id),
    };
    if (rng.chance(0.85)) p.active = !rng.chance(0.1);
    if (rng.chance(0.1)) delete p.birthDate;
    if (rng.chance(0.1)) delete p.address;
    if (rng.chance(0.1)) delete p.managingOrganization;
    if (rng.chance(0.8)) {
      p.generalPractitioner = [rng.chance(0.85) ? ref('Practitioner', rng.pick(practitioners).id) : ref('Organization', rng.pick(orgs).id)];
    }
    if (rng.chance(0.6)) p.telecom = [{ system: 'phone', value: `${danish ? '+45' : '+46'}${rng.int(20000000, 99999999)}` }];
    patients.push(add(p));
  }

  const pickPatient = () => rng.pick(patients).id;
  const staffRef = () => (rng.chance(0.75) ? ref('Practitioner', rng.pick(practitioners).id) : ref('Organization', rng.pick(orgs).id));

  const careTeams = [];
  for (let i = 0; i < n.CareTeam; i++) {
    const [code, display] = rng.pick(CARETEAM_CATEGORIES);
    const ct = {
      resourceType: 'CareTeam', id: idFor('CareTeam', i),
      status: rng.weighted([['active', 6], ['proposed', 1], ['suspended', 1], ['inactive', 2]]),
      category: [{ coding: [coding(SYS.loinc, code, display)] }],
      name: `${rng.pick(CARETEAM_NAMES)} ${i}`,
      subject: ref('Patient', pickPatient()),
      period: period(rng, clinicalMs(rng), 300, { openEnd: 0.4 }),
      participant: Array.from({ length: rng.int(1, 4) }, () => ({ member: staffRef() })),
      managingOrganization: [ref('Organization', rng.pick(orgs).id)],
    };
    if (rng.chance(0.1)) ct.participant.push({ member: rng.chance(0.7) ? ct.subject : ref('Patient', pickPatient()) });
    if (rng.chance(0.05)) delete ct.category;
    careTeams.push(add(ct));
  }

  const goals = [];
  for (let i = 0; i < n.Goal; i++) {
    const start = clinicalMs(rng);
    const [gcode, gdisplay] = rng.pick(GOAL_CATEGORIES);
    const g = {
      resourceType: 'Goal', id: idFor('Goal', i),
      lifecycleStatus: rng.weighted([['active', 6], ['proposed', 1], ['planned', 1], ['accepted', 1], ['on-hold', 1],
        ['completed', 2], ['cancelled', 1]]),
      category: [{ coding: [coding(SYS.goalCategory, gcode, gdisplay)] }],
      description: { text: rng.pick(GOAL_TEXTS) },
      subject: ref('Patient', pickPatient()),
      startDate: formatDate(start, 'day'),
      target: Array.from({ length: rng.int(1, 2) }, () => ({ dueDate: formatDate(start + rng.int(7, 365) * DAY, 'day') })),
    };
    if (rng.chance(0.7)) g.achievementStatus = { coding: [coding(SYS.goalAchievement, rng.pick(GOAL_ACHIEVEMENT))] };
    if (rng.chance(0.1)) delete g.startDate;
    if (rng.chance(0.1)) delete g.target;
    goals.push(add(g));
  }

  const carePlans = [];
  for (let i = 0; i < n.CarePlan; i++) {
    const cat = rng.pick(CAREPLAN_CATEGORIES);
    const category = [{ coding: [coding(...cat)] }];
    if (rng.chance(0.3)) category[0].text = rng.pick(CAREPLAN_TEXTS);
    if (rng.chance(0.15)) category.push({ text: rng.pick(CAREPLAN_TEXTS) }); // text only
    const cp = {
      resourceType: 'CarePlan', id: idFor('CarePlan', i),
      status: rng.weighted([['active', 6], ['draft', 1], ['on-hold', 1], ['revoked', 0.5], ['completed', 2], ['unknown', 0.3]]),
      intent: rng.weighted([['plan', 6], ['order', 2], ['proposal', 1], ['option', 0.5]]),
      category,
      title: rng.pick(CAREPLAN_TEXTS),
      subject: ref('Patient', pickPatient()),
      period: period(rng, clinicalMs(rng), 400, { openEnd: 0.3, openStart: 0.05 }),
      author: staffRef(),
    };
    if (rng.chance(0.7)) cp.careTeam = rng.some(careTeams, 1, 2).map((t) => ref('CareTeam', t.id));
    if (rng.chance(0.6)) cp.goal = rng.some(goals, 1, 3).map((g) => ref('Goal', g.id));
    if (rng.chance(0.05)) delete cp.period;
    carePlans.push(add(cp));
  }

  const encounters = [];
  for (let i = 0; i < n.Encounter; i++) {
    const [ccode, cdisplay] = rng.pick(ENCOUNTER_CLASSES);
    const [tcode, tdisplay] = rng.pick(ENCOUNTER_TYPES);
    const start = clinicalMs(rng);
    const e = {
      resourceType: 'Encounter', id: idFor('Encounter', i),
      status: rng.weighted([['finished', 6], ['in-progress', 2], ['planned', 1], ['arrived', 0.5], ['onleave', 0.3], ['cancelled', 0.5]]),
      class: coding(SYS.actCode, ccode, cdisplay),
      type: [{ coding: [coding(SYS.encounterType, tcode, tdisplay)], text: tdisplay }],
      subject: ref('Patient', pickPatient()),
      period: period(rng, start, ccode === 'IMP' ? 30 : 1, { openEnd: 0.2, openStart: 0.02 }),
      serviceProvider: ref('Organization', rng.pick(orgs).id),
      participant: rng.some(practitioners, 0, 2).map((p) => ({ individual: ref('Practitioner', p.id) })),
    };
    if (e.participant.length === 0) delete e.participant;
    if (rng.chance(0.6)) {
      const minutes = rng.chance(0.5);
      e.length = minutes
        ? { value: decimal3(rng, 5, 600), unit: 'min', system: SYS.ucum, code: 'min' }
        : { value: decimal3(rng, 0.5, 40), unit: rng.pick(['d', 'days']), system: SYS.ucum, code: 'd' };
    }
    if (rng.chance(0.05)) delete e.serviceProvider;
    encounters.push(add(e));
  }

  const tasks = [];
  for (let i = 0; i < n.Task; i++) {
    const authored = clinicalMs(rng);
    const t = {
      resourceType: 'Task', id: idFor('Task', i),
      status: rng.weighted([['requested', 5], ['received', 1], ['accepted', 2], ['in-progress', 3], ['on-hold', 1],
        ['completed', 4], ['cancelled', 1], ['rejected', 0.5], ['draft', 0.5], ['ready', 0.5], ['failed', 0.3]]),
      intent: rng.weighted([['order', 6], ['plan', 2], ['proposal', 1]]),
      for: ref('Patient', pickPatient()),
      authoredOn: dateTimeAt(rng, authored, [['second', 12], ['day', 2], ['ms', 1]]),
      owner: rng.weighted([[ref('Organization', rng.pick(orgs).id), 5], [ref('Practitioner', rng.pick(practitioners).id), 3],
        [ref('CareTeam', rng.pick(careTeams).id), 2]]),
    };
    if (rng.chance(0.85)) t.priority = rng.weighted([['routine', 6], ['urgent', 3], ['asap', 1], ['stat', 0.5]]);
    if (rng.chance(0.9)) {
      const c = rng.chance(0.12) ? [null, ...rng.pick(LOCAL_TASK_CODES)] : [SYS.taskType, ...rng.pick(TASK_CODES)];
      t.code = { coding: [coding(...c)] };
      if (rng.chance(0.25)) t.code.text = c[2].split(' ')[0];
    }
    if (rng.chance(0.5)) t.businessStatus = { text: rng.pick(BUSINESS_STATUS) };
    if (rng.chance(0.7)) t.requester = staffRef();
    if (rng.chance(0.8)) {
      const due = authored + rng.int(-5, 60) * DAY + rng.int(0, 86399) * 1000;
      t.restriction = { period: { end: dateTimeAt(rng, due, [['second', 6], ['day', 4], ['month', 0.3]]) } };
    }
    if (rng.chance(0.4)) t.executionPeriod = period(rng, authored + rng.int(0, 10) * DAY, 60, { openEnd: 0.5, openStart: 0 });
    if (rng.chance(0.6)) t.lastModified = formatDate(authored + rng.int(0, 30 * 86400) * 1000, 'second', rng.pick(ZONES));
    if (rng.chance(0.5)) t.basedOn = [ref('CarePlan', rng.pick(carePlans).id)];
    // A handful of owners on another server: only their absolute URL finds them.
    if (rng.chance(0.01)) t.owner = { reference: `https://fhir.other.example/r4/Organization/ext-${rng.int(1, 3)}` };
    if (rng.chance(0.02)) delete t.owner;
    tasks.push(add(t));
  }

  for (let i = 0; i < n.Communication; i++) {
    const sent = clinicalMs(rng);
    const c = {
      resourceType: 'Communication', id: idFor('Communication', i),
      status: rng.weighted([['completed', 6], ['in-progress', 2], ['preparation', 1], ['not-done', 0.5], ['stopped', 0.3]]),
      category: [{ coding: [coding(SYS.commCategory, rng.pick(COMM_CATEGORIES))] }],
      subject: ref('Patient', pickPatient()),
      sender: staffRef(),
      recipient: Array.from({ length: rng.int(1, 2) }, () => rng.weighted([[ref('Organization', rng.pick(orgs).id), 3],
        [ref('Practitioner', rng.pick(practitioners).id), 3], [ref('CareTeam', rng.pick(careTeams).id), 1]])),
      sent: dateTimeAt(rng, sent, [['second', 10], ['ms', 1]]),
      payload: [{ contentString: rng.pick(COMM_TEXTS) }],
    };
    if (rng.chance(0.05)) c.sender = ref('Patient', pickPatient());
    if (rng.chance(0.05)) c.recipient.push(ref('Patient', pickPatient()));
    if (rng.chance(0.6)) c.received = formatDate(sent + rng.int(1, 3 * 86400) * 1000, 'second', rng.pick(ZONES));
    if (rng.chance(0.3)) c.encounter = ref('Encounter', rng.pick(encounters).id);
    if (rng.chance(0.1)) delete c.category;
    add(c);
  }

  for (let i = 0; i < n.Observation; i++) {
    const at = clinicalMs(rng);
    const bp = rng.chance(0.1);
    const kind = rng.pick(OBS_KINDS);
    const o = {
      resourceType: 'Observation', id: idFor('Observation', i),
      status: rng.weighted([['final', 8], ['preliminary', 1], ['amended', 1], ['registered', 0.5]]),
      category: [{ coding: [coding(SYS.obsCategory, bp ? 'vital-signs' : kind[5])] }],
      code: bp ? { coding: [coding(SYS.loinc, ...BP)], text: 'Blodtryk' }
        : { coding: [coding(SYS.loinc, kind[0], kind[1])] },
      subject: ref('Patient', pickPatient()),
    };
    if (rng.chance(0.15)) o.effectivePeriod = period(rng, at, 1, { openEnd: 0.3, openStart: 0 });
    else o.effectiveDateTime = dateTimeAt(rng, at, [['second', 10], ['day', 2], ['month', 0.5], ['ms', 1]]);
    if (rng.chance(0.5)) o.performer = [staffRef()];
    // Self-reported, or by a relative who is a citizen too: then the
    // observation is in that patient's compartment as well.
    if (rng.chance(0.04)) o.performer = [ref('Patient', rng.chance(0.5) ? o.subject.reference.split('/')[1] : pickPatient())];
    if (bp) {
      o.component = [
        { code: { coding: [coding(SYS.loinc, '8480-6', 'Systolic blood pressure')] },
          valueQuantity: { value: decimal3(rng, 95, 190), unit: 'mmHg', system: SYS.ucum, code: 'mm[Hg]' } },
        { code: { coding: [coding(SYS.loinc, '8462-4', 'Diastolic blood pressure')] },
          valueQuantity: { value: decimal3(rng, 50, 110), unit: 'mmHg', system: SYS.ucum, code: 'mm[Hg]' } },
      ];
    } else if (rng.chance(0.93)) {
      const q = { value: rng.chance(0.2) ? rng.int(kind[4][0], kind[4][1]) : decimal3(rng, ...kind[4]), unit: kind[2] };
      if (!rng.chance(0.1)) { q.system = SYS.ucum; q.code = kind[3]; }
      o.valueQuantity = q;
    } else if (rng.chance(0.5)) {
      o.valueString = rng.pick(['Ikke målbar', 'Mätning ej möjlig', 'Se notat']);
    } else {
      o.dataAbsentReason = { coding: [coding('http://terminology.hl7.org/CodeSystem/data-absent-reason', 'not-performed')] };
    }
    add(o);
  }
  return { resources: out, ids };
}

// The resources as transaction Bundles of at most perBundle PUT entries, so
// that the ids are the generator's.
export function transactionBundles(resources, perBundle = 1000) {
  const bundles = [];
  for (let i = 0; i < resources.length; i += perBundle) {
    bundles.push({
      resourceType: 'Bundle', type: 'transaction',
      entry: resources.slice(i, i + perBundle).map((r) => ({
        resource: r,
        request: { method: 'PUT', url: `${r.resourceType}/${r.id}` },
      })),
    });
  }
  return bundles;
}
