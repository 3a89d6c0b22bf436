#!/usr/bin/env node
// dataset.mjs - a seeded, reproducible coordination dataset as NDJSON, for bench/search.sh.
//
//   node bench/dataset.mjs --resources 1000000 --seed 1 --out bench/out/dataset-1000000-1
//
// writes OUT.ndjson (one resource per line; organisations and practitioners first, then
// each citizen with everything about them) and the lists the load scripts pick values
// from: OUT.patients.txt ("id cpr-system|cpr" per citizen), OUT.owners.txt (organisations
// that own Tasks), OUT.providers.txt (organisations that provide Encounters),
// OUT.recipients.txt (organisations that receive Communications), and OUT.stats.txt
// (counts per type, and per status of Task).  Same arguments, same bytes: the PRNG is
// seeded, and all dates derive from a fixed reference day, not from the clock.
//
// Shape: 30 municipalities (20 Danish, 10 Swedish) of unequal size; each has home-care
// districts (one per ~1,500 citizens), a nursing home, and GP clinics; every 5
// municipalities share a regional hospital.  Per citizen: a Patient (CPR or personnummer),
// a CareTeam, 1-2 CarePlans each with 1-2 Goals, 3-5 Tasks (owner a district or the
// hospital, a deadline in restriction.period.end), 1-2 Encounters (stays at the hospital
// or the nursing home), 1-3 Communications between the hospital and the district, and a
// few Observations and MedicationStatements.  Nothing here talks to a server.
//
// The inputs of the indicators (docs/results.md) come from a second PRNG (rnd2), so that
// the resources above and their values stay what they were before these were added:
// discharge-ready marks and EM priority on hospital stays, rehabilitation plans with a
// rehabilitation visit after discharge, the coordination category on CareTeams, a SIP
// CarePlan agreed through a Provenance, life-area categories and achievement on Goals,
// task-code codes (plan-follow-up, medication-reconciliation, message-answer focused on a
// Communication) and completion times on Tasks, time-log Tasks, MedCom categories on
// Communications, and the citizen and staff QuestionnaireResponses.
import fs from "node:fs";

function die(msg) {
    process.stderr.write(`dataset.mjs: ${msg}\n`);
    process.exit(2);
}

const args = { resources: 1000000, seed: 1, out: "" };
for (let i = 2; i < process.argv.length; i += 2) {
    const k = process.argv[i].replace(/^--/, "");
    const v = process.argv[i + 1];
    if (!(k in args) || v === undefined) die(`unknown or incomplete argument '${process.argv[i]}'`);
    args[k] = k === "out" ? v : Number(v);
}
if (!args.out) die("--out PREFIX is required");
if (!Number.isInteger(args.resources) || args.resources < 1000) die("--resources must be >= 1000");
if (!Number.isInteger(args.seed)) die("--seed must be an integer");

// mulberry32: small, fast, and the same sequence in every node version.
let state = args.seed >>> 0 || 0x9e3779b9;
function rnd() {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (lo, hi) => lo + Math.floor(rnd() * (hi - lo + 1));
let state2 = (args.seed ^ 0x5bd1e995) >>> 0 || 0x85ebca6b;
function rnd2() {
    state2 = (state2 + 0x6d2b79f5) >>> 0;
    let t = state2;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int2 = (lo, hi) => lo + Math.floor(rnd2() * (hi - lo + 1));
const pick2 = (a) => a[Math.floor(rnd2() * a.length)];
const pick = (a) => a[Math.floor(rnd() * a.length)];
function weighted2(pairs) {
    let total = 0;
    for (const [, w] of pairs) total += w;
    let x = rnd2() * total;
    for (const [v, w] of pairs) if ((x -= w) < 0) return v;
    return pairs[pairs.length - 1][0];
}
function weighted(pairs) {
    let total = 0;
    for (const [, w] of pairs) total += w;
    let x = rnd() * total;
    for (const [v, w] of pairs) if ((x -= w) < 0) return v;
    return pairs[pairs.length - 1][0];
}

const DAY = 86400000;
const REF = Date.UTC(2026, 10, 1); // the dataset's "today": 2026-11-01
const day = (offset) => new Date(REF + offset * DAY).toISOString().slice(0, 10);
const instant = (offsetDays) =>
    new Date(REF + Math.round(offsetDays * DAY / 60000) * 60000).toISOString().replace(".000Z", "Z");

const CPR = "urn:oid:1.2.208.176.1.2";
const PNR = "urn:oid:1.2.752.129.2.1.3.1";
const SNOMED = "http://snomed.info/sct";
const LOINC = "http://loinc.org";
const V3ACT = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
const SV = "http://samverka.org/fhir";
const TASK_CODE = `${SV}/CodeSystem/task-code`;
const CAREPLAN_CATEGORY = `${SV}/CodeSystem/careplan-category`;
const LIFE_AREAS = ["housing", "education", "work", "leisure", "health", "care", "activities", "self-image", "relationships", "finances"];
const MEDCOM_CATEGORY = "http://medcomfhir.dk/ig/terminology/CodeSystem/medcom-careCommunication-categoryCodes";

const municipalities = [
    // [id, name, country, weight (relative size), municipality code]
    ["kobenhavn", "Københavns Kommune", "DK", 64, "101"], ["aarhus", "Aarhus Kommune", "DK", 36, "751"],
    ["odense", "Odense Kommune", "DK", 20, "461"], ["aalborg", "Aalborg Kommune", "DK", 22, "851"],
    ["esbjerg", "Esbjerg Kommune", "DK", 12, "561"], ["vejle", "Vejle Kommune", "DK", 12, "630"],
    ["frederiksberg", "Frederiksberg Kommune", "DK", 10, "147"], ["randers", "Randers Kommune", "DK", 10, "730"],
    ["viborg", "Viborg Kommune", "DK", 10, "791"], ["kolding", "Kolding Kommune", "DK", 9, "621"],
    ["silkeborg", "Silkeborg Kommune", "DK", 9, "740"], ["herning", "Herning Kommune", "DK", 9, "657"],
    ["horsens", "Horsens Kommune", "DK", 9, "615"], ["roskilde", "Roskilde Kommune", "DK", 9, "265"],
    ["naestved", "Næstved Kommune", "DK", 8, "370"], ["slagelse", "Slagelse Kommune", "DK", 8, "330"],
    ["gentofte", "Gentofte Kommune", "DK", 7, "157"], ["holbaek", "Holbæk Kommune", "DK", 7, "316"],
    ["hjorring", "Hjørring Kommune", "DK", 6, "860"], ["sonderborg", "Sønderborg Kommune", "DK", 7, "540"],
    ["stockholm", "Stockholms stad", "SE", 60, "0180"], ["goteborg", "Göteborgs Stad", "SE", 40, "1480"],
    ["malmo", "Malmö stad", "SE", 25, "1280"], ["uppsala", "Uppsala kommun", "SE", 17, "0380"],
    ["vasteras", "Västerås stad", "SE", 12, "1980"], ["orebro", "Örebro kommun", "SE", 12, "1880"],
    ["linkoping", "Linköpings kommun", "SE", 12, "0580"], ["helsingborg", "Helsingborgs stad", "SE", 11, "1283"],
    ["jonkoping", "Jönköpings kommun", "SE", 11, "0680"], ["norrkoping", "Norrköpings kommun", "SE", 10, "0581"],
];
const names = {
    DK: {
        male: ["Søren", "Jørgen", "Mads", "Niels", "Lars", "Anders", "Rasmus", "Mikkel", "Bent", "Poul", "Frederik", "Åge"],
        female: ["Mette", "Anne", "Kirsten", "Hanne", "Lene", "Birgitte", "Sofie", "Ida", "Freja", "Ærbødig", "Inger", "Åse"],
        family: ["Jensen", "Nielsen", "Hansen", "Pedersen", "Andersen", "Christensen", "Larsen", "Sørensen",
            "Rasmussen", "Jørgensen", "Petersen", "Madsen", "Kristensen", "Olsen", "Thomsen", "Møller", "Kjær", "Bæk"],
        lang: "da",
    },
    SE: {
        male: ["Erik", "Lars", "Karl", "Anders", "Johan", "Per", "Nils", "Björn", "Göran", "Åke", "Olof", "Sven"],
        female: ["Anna", "Maria", "Karin", "Kristina", "Lena", "Ingrid", "Märta", "Åsa", "Eva", "Birgitta", "Linnéa", "Sofia"],
        family: ["Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson", "Persson",
            "Svensson", "Gustafsson", "Pettersson", "Jönsson", "Lindström", "Åberg", "Sjögren", "Öberg"],
        lang: "sv",
    },
};

// Estimated resources per citizen, to decide how many citizens make --resources.
const PER_CITIZEN = 1 + 1 + 1.5 + 2.25 + 4 + 1.5 + 2 + 2 + 1 + 1.1;

const out = fs.openSync(`${args.out}.ndjson`, "w");
let pending = [];
let pendingBytes = 0;
const counts = {};
const taskStatus = {};
function emit(r) {
    const line = JSON.stringify(r);
    pending.push(line);
    pendingBytes += line.length;
    counts[r.resourceType] = (counts[r.resourceType] || 0) + 1;
    if (pendingBytes > 4 << 20) flush();
}
function flush() {
    if (pending.length) fs.writeSync(out, pending.join("\n") + "\n");
    pending = [];
    pendingBytes = 0;
}
const ref = (type, id) => ({ reference: `${type}/${id}` });
const emitted = () => Object.values(counts).reduce((a, b) => a + b, 0);

// --- organisations and practitioners ---------------------------------------------------
const totalWeight = municipalities.reduce((a, m) => a + m[3], 0);
const citizens = Math.ceil(args.resources / PER_CITIZEN);
const muni = [];
const hospitals = [];
for (let i = 0; i < municipalities.length; i += 5) {
    const region = municipalities[i];
    const id = `hosp-${region[0]}`;
    hospitals.push(id);
    emit({
        resourceType: "Organization", id, active: true,
        identifier: [{ system: region[2] === "DK" ? "urn:oid:1.2.208.176.1.1" : "urn:oid:1.2.752.29.4.19", value: `H${100000 + i}` }],
        type: [{ coding: [{ system: "http://terminology.hl7.org/CodeSystem/organization-type", code: "prov", display: "Healthcare Provider" }] }],
        name: region[2] === "DK" ? `Regionshospitalet ${region[1].replace(/ Kommune$/, "")}` : `Sjukhuset ${region[1].replace(/ (stad|kommun)$/, "")}`,
    });
}
municipalities.forEach(([key, name, country, weight, code], i) => {
    const share = Math.max(1, Math.round(citizens * weight / totalWeight));
    const m = { key, name, country, code, hospital: hospitals[Math.floor(i / 5)], districts: [], clinics: [], nursing: `pleje-${key}`, practitioners: [] };
    emit({
        resourceType: "Organization", id: `kommune-${key}`, active: true,
        identifier: [{ system: "urn:samverka:municipality", value: code }],
        type: [{ coding: [{ system: "http://terminology.hl7.org/CodeSystem/organization-type", code: "govt", display: "Government" }] }],
        name,
    });
    const nDistricts = Math.max(1, Math.round(share / 1500));
    for (let d = 1; d <= nDistricts; d++) {
        const id = `hjemmepleje-${key}-${d}`;
        m.districts.push(id);
        emit({
            resourceType: "Organization", id, active: true, partOf: ref("Organization", `kommune-${key}`),
            type: [{ coding: [{ system: "http://terminology.hl7.org/CodeSystem/organization-type", code: "prov" }] }],
            name: `${country === "DK" ? "Hjemmeplejen" : "Hemtjänsten"} ${name.split(" ")[0]} distrikt ${d}`,
        });
    }
    emit({
        resourceType: "Organization", id: m.nursing, active: true, partOf: ref("Organization", `kommune-${key}`),
        type: [{ coding: [{ system: "http://terminology.hl7.org/CodeSystem/organization-type", code: "prov" }] }],
        name: `${country === "DK" ? "Plejecenter" : "Äldreboende"} ${name.split(" ")[0]}`,
    });
    for (let c = 1; c <= Math.max(2, Math.round(share / 2000)); c++) {
        const id = `laege-${key}-${c}`;
        m.clinics.push(id);
        emit({ resourceType: "Organization", id, active: true, name: `${country === "DK" ? "Lægehuset" : "Vårdcentralen"} ${c} ${name.split(" ")[0]}` });
    }
    const nPract = 10 + Math.round(share / 400);
    const nm = names[country];
    for (let p = 1; p <= nPract; p++) {
        const id = `prac-${key}-${p}`;
        const female = rnd() < 0.7;
        m.practitioners.push(id);
        emit({
            resourceType: "Practitioner", id, active: true,
            name: [{ family: pick(nm.family), given: [pick(female ? nm.female : nm.male)] }],
            gender: female ? "female" : "male",
        });
        const org = p % 3 === 0 ? pick(m.clinics) : pick(m.districts);
        emit({
            resourceType: "PractitionerRole", id: `role-${key}-${p}`, active: true,
            practitioner: ref("Practitioner", id), organization: ref("Organization", org),
            code: [{ coding: [{ system: SNOMED, code: p % 3 === 0 ? "62247001" : "224535009", display: p % 3 === 0 ? "General practitioner" : "Registered nurse" }] }],
        });
    }
    m.share = share;
    muni.push(m);
});

// --- citizens -------------------------------------------------------------------------
const patientsFile = fs.openSync(`${args.out}.patients.txt`, "w");
let patientLines = [];
const owners = new Set(), providers = new Set(), recipients = new Set();
const cprSeen = new Set();

function luhn(nine) {
    let sum = 0;
    for (let i = 0; i < 9; i++) {
        const d = Number(nine[i]) * (i % 2 === 0 ? 2 : 1);
        sum += d > 9 ? d - 9 : d;
    }
    return String((10 - (sum % 10)) % 10);
}

// A CPR number (DDMMYY + 4 digits, odd last digit for men; no modulus-11 check, as CPR has
// not required one since 2007) or a 12-digit personnummer (YYYYMMDD + 3 digits, odd third
// digit for men, + Luhn check digit).  Unique within the dataset.
function cprFor(country, birth, female) {
    for (;;) {
        const gender = String(female ? int(0, 4) * 2 : int(0, 4) * 2 + 1);
        let v;
        // The seventh digit says the century: 0-3 the 1900s, 4 with a year up to 36 the 2000s.
        const century = birth < "2000" ? String(int(0, 3)) : "4";
        if (country === "DK") {
            v = birth.slice(8, 10) + birth.slice(5, 7) + birth.slice(2, 4) + century + String(int(0, 99)).padStart(2, "0") + gender;
        } else {
            const nine = birth.slice(2, 4) + birth.slice(5, 7) + birth.slice(8, 10) + String(int(0, 99)).padStart(2, "0") + gender;
            v = birth.slice(0, 2) + nine + luhn(nine);
        }
        if (!cprSeen.has(v)) {
            cprSeen.add(v);
            return v;
        }
    }
}

// Each citizen lives in a municipality drawn by its weight, until there are enough resources.
const muniWeights = muni.map((m) => [m, m.share]);
let n = 0;
let total = emitted();
while (total < args.resources) {
    {
        const m = weighted(muniWeights);
        const before = emitted();
        n++;
        const pid = `p${String(n).padStart(7, "0")}`;
        const female = rnd() < 0.55;
        const nm = names[m.country];
        const birth = day(-int(20 * 365, 98 * 365) - 1);
        const cpr = cprFor(m.country, birth, female);
        const system = m.country === "DK" ? CPR : PNR;
        const district = pick(m.districts);
        const gp = pick(m.clinics);
        const prac = () => pick(m.practitioners);
        emit({
            resourceType: "Patient", id: pid,
            identifier: [{ system, value: cpr }],
            active: true,
            name: [{ use: "official", family: pick(nm.family), given: [pick(female ? nm.female : nm.male)] }],
            telecom: [{ system: "phone", value: `+${m.country === "DK" ? "45" : "46"}${int(20000000, 99999999)}`, use: "mobile" }],
            gender: female ? "female" : "male",
            birthDate: birth,
            address: [{ use: "home", line: [`${pick(["Skovvej", "Storgatan", "Kirkevej", "Ringvägen", "Søndergade"])} ${int(1, 120)}`], city: m.name.split(" ")[0], district: m.code, country: m.country }],
            communication: [{ language: { coding: [{ system: "urn:ietf:bcp:47", code: nm.lang }] } }],
            generalPractitioner: [ref("Organization", gp)],
            managingOrganization: ref("Organization", `kommune-${m.key}`),
        });
        patientLines.push(`${pid} ${system}|${cpr}`);
        emit({
            resourceType: "CareTeam", id: `ct-${pid}`, status: "active",
            ...(rnd2() < 0.6 ? { category: [{ coding: [{ system: `${SV}/CodeSystem/care-team-category`, code: "coordination" }] }] } : {}),
            subject: ref("Patient", pid),
            period: { start: day(-int(30, 900)) },
            participant: [
                { role: [{ coding: [{ system: SNOMED, code: "224535009", display: "Registered nurse" }] }], member: ref("Practitioner", prac()), onBehalfOf: ref("Organization", district) },
                { role: [{ coding: [{ system: SNOMED, code: "62247001", display: "General practitioner" }] }], member: ref("Organization", gp) },
                { member: ref("Organization", m.hospital) },
            ],
            managingOrganization: [ref("Organization", district)],
        });
        const plans = int(1, 2);
        for (let c = 1; c <= plans; c++) {
            const goals = [];
            for (let g = 1; g <= int(1, 2); g++) {
                const gid = `goal-${pid}-${c}-${g}`;
                goals.push(ref("Goal", gid));
                emit({
                    resourceType: "Goal", id: gid,
                    lifecycleStatus: weighted([["active", 6], ["completed", 3], ["cancelled", 1]]),
                    description: { text: pick(["Kan selv gå på toilet", "Klarer personlig hygiejne", "Kan gå 200 m med rollator", "Äter själv", "Sover hela natten"]) },
                    subject: ref("Patient", pid),
                    target: [{ dueDate: day(int(-60, 180)) }],
                    category: [{ coding: [{ system: `${SV}/CodeSystem/life-area`, code: pick2(LIFE_AREAS) }] }],
                    ...(rnd2() < 0.7 ? { achievementStatus: { coding: [{ system: "http://terminology.hl7.org/CodeSystem/goal-achievement", code: weighted2([["achieved", 4], ["sustaining", 1], ["in-progress", 4], ["not-achieved", 2]]) }] } } : {}),
                });
            }
            const sip = c === plans && rnd2() < 0.5;
            emit({
                resourceType: "CarePlan", id: `cp-${pid}-${c}`,
                ...(sip ? { category: [{ coding: [{ system: CAREPLAN_CATEGORY, code: "sip" }] }] } : {}),
                status: c === plans ? weighted([["active", 8], ["on-hold", 1], ["completed", 1]]) : "completed",
                intent: "plan",
                title: pick(["Genoptræningsplan", "Plejeplan", "Vårdplan", "Rehabiliteringsplan"]),
                subject: ref("Patient", pid),
                period: { start: day(-int(10, 700)) },
                careTeam: [ref("CareTeam", `ct-${pid}`)],
                goal: goals,
                author: ref("Organization", district),
            });
            if (sip && rnd2() < 0.7) {
                emit({
                    resourceType: "Provenance", id: `agree-${pid}-${c}`,
                    target: [{ reference: `CarePlan/cp-${pid}-${c}/_history/1` }],
                    recorded: instant(-int2(1, 600) + rnd2()),
                    activity: { coding: [{ system: `${SV}/CodeSystem/provenance-activity`, code: "agreement" }] },
                    agent: [{ who: ref("Organization", `kommune-${m.key}`) }],
                });
            }
        }
        const nTasks = int(3, 5);
        for (let t = 1; t <= nTasks; t++) {
            const status = weighted([["completed", 45], ["requested", 13], ["accepted", 10], ["in-progress", 17], ["cancelled", 10], ["on-hold", 5]]);
            taskStatus[status] = (taskStatus[status] || 0) + 1;
            const owner = rnd() < 0.75 ? district : m.hospital;
            owners.add(owner);
            const created = -int(1, 400);
            const task = {
                resourceType: "Task", id: `task-${pid}-${t}`,
                status, intent: "order",
                priority: weighted([["routine", 8], ["urgent", 2]]),
                code: { coding: [{ system: SNOMED, code: pick(["385763009", "710081004", "225358003", "229070002"]) }] },
                description: pick(["Sårpleje", "Medicindosering", "Hjälp med dusch", "Genoptræning", "Opfølgning efter udskrivning"]),
                focus: ref("CarePlan", `cp-${pid}-${plans}`),
                for: ref("Patient", pid),
                authoredOn: instant(created),
                requester: ref("Organization", owner === district ? m.hospital : district),
                owner: ref("Organization", owner),
                restriction: { period: { end: instant(created + int(1, 60) + rnd()) } },
            };
            const kind = weighted2([[null, 65], ["plan-follow-up", 15], ["medication-reconciliation", 10], ["message-answer", 10]]);
            if (kind) task.code.coding.push({ system: TASK_CODE, code: kind });
            if (kind === "message-answer") task.focus = ref("Communication", `com-${pid}-1`);
            if (status === "completed") {
                // Done before the deadline four times in five, after it otherwise.
                const deadline = Date.parse(task.restriction.period.end);
                const asked = Date.parse(task.authoredOn);
                const done = rnd2() < 0.8 ? asked + (deadline - asked) * rnd2() : deadline + int2(1, 10 * 24) * 3600000;
                task.executionPeriod = { end: new Date(Math.round(done / 60000) * 60000).toISOString().replace(".000Z", "Z") };
            }
            emit(task);
        }
        const nStays = int(1, 2);
        for (let e = 1; e <= nStays; e++) {
            const inProgress = e === nStays && rnd() < 0.15;
            const provider = rnd() < 0.7 ? m.hospital : m.nursing;
            providers.add(provider);
            const start = -int(1, 700) + rnd();
            const stay = {
                resourceType: "Encounter", id: `enc-${pid}-${e}`,
                status: inProgress ? "in-progress" : "finished",
                class: { system: V3ACT, code: provider === m.hospital ? "IMP" : "HH", display: provider === m.hospital ? "inpatient encounter" : "home health" },
                subject: ref("Patient", pid),
                period: inProgress ? { start: instant(start) } : { start: instant(start), end: instant(start + int(1, 20)) },
                serviceProvider: ref("Organization", provider),
            };
            if (provider === m.hospital) {
                const begun = Date.parse(stay.period.start);
                const ended = stay.period.end ? Date.parse(stay.period.end) : REF;
                if (rnd2() < 0.6) {
                    // Declared discharge-ready between admission and discharge; usually shortly before it.
                    const ready = Math.max(begun, ended - int2(0, 6 * 24) * 3600000);
                    stay.extension = [{ url: `${SV}/StructureDefinition/discharge-ready`, valueDateTime: new Date(ready).toISOString().replace(".000Z", "Z") }];
                }
                if (rnd2() < 0.4) stay.priority = { coding: [{ system: "http://terminology.hl7.org/CodeSystem/v3-ActPriority", code: "EM" }] };
            }
            emit(stay);
            if (provider === m.hospital && stay.period.end && rnd2() < 0.3) {
                emit({
                    resourceType: "CarePlan", id: `rehab-${pid}-${e}`, status: pick2(["active", "completed"]), intent: "plan",
                    category: [{ coding: [{ system: CAREPLAN_CATEGORY, code: "rehabilitation" }] }],
                    subject: ref("Patient", pid),
                    encounter: ref("Encounter", stay.id),
                    activity: [{ detail: { status: "scheduled", performer: [ref("Organization", district)] } }],
                });
                if (rnd2() < 0.8) {
                    const visit = Date.parse(stay.period.end) + int2(1, 14 * 24) * 3600000;
                    emit({
                        resourceType: "Encounter", id: `rehab-visit-${pid}-${e}`, status: "finished",
                        class: { system: V3ACT, code: "AMB" },
                        type: [{ coding: [{ system: `${SV}/CodeSystem/encounter-type`, code: "rehabilitation" }] }],
                        subject: ref("Patient", pid),
                        period: { start: new Date(visit).toISOString().replace(".000Z", "Z"), end: new Date(visit + 3600000).toISOString().replace(".000Z", "Z") },
                        serviceProvider: ref("Organization", district),
                    });
                }
            }
        }
        for (let c = 1; c <= int(1, 3); c++) {
            const fromHospital = rnd() < 0.6;
            const recipient = fromHospital ? district : m.hospital;
            recipients.add(recipient);
            emit({
                resourceType: "Communication", id: `com-${pid}-${c}`,
                status: "completed",
                category: [{ coding: [{ system: "http://terminology.hl7.org/CodeSystem/communication-category", code: "notification" }] },
                    { coding: [{ system: MEDCOM_CATEGORY, code: pick2(["carecoordination", "medicine", "examination", "other"]) }] }],
                subject: ref("Patient", pid),
                sent: instant(-int(0, 365) + rnd()),
                sender: ref("Organization", fromHospital ? m.hospital : district),
                recipient: [ref("Organization", recipient)],
                payload: [{ contentString: pick(["Udskrivningsrapport", "Plejeforløbsplan", "Meddelande om utskrivningsklar", "Ændret medicin"]) }],
            });
        }
        for (let o = 1; o <= int(1, 3); o++) {
            emit({
                resourceType: "Observation", id: `obs-${pid}-${o}`, status: "final",
                code: { coding: [{ system: LOINC, code: "29463-7", display: "Body weight" }] },
                subject: ref("Patient", pid),
                effectiveDateTime: instant(-int(0, 365) + rnd()),
                valueQuantity: { value: int(450, 1100) / 10, unit: "kg", system: "http://unitsofmeasure.org", code: "kg" },
            });
        }
        for (let s = 1; s <= int(0, 2); s++) {
            emit({
                resourceType: "MedicationStatement", id: `ms-${pid}-${s}`, status: "active",
                medicationCodeableConcept: { coding: [{ system: "http://www.whocc.no/atc", code: pick(["N02BE01", "C07AB02", "B01AC06", "A10BA02"]) }] },
                subject: ref("Patient", pid),
                effectivePeriod: { start: day(-int(1, 900)) },
            });
        }
        if (rnd2() < 0.3) {
            const begin = REF + Math.round((-int2(1, 400) + rnd2()) * DAY / 60000) * 60000;
            emit({
                resourceType: "Task", id: `timelog-${pid}`, status: "completed", intent: "order",
                code: { coding: [{ system: TASK_CODE, code: "time-log" }] },
                for: ref("Patient", pid), owner: ref("Organization", district),
                executionPeriod: { start: new Date(begin).toISOString().replace(".000Z", "Z"), end: new Date(begin + int2(1, 12) * 15 * 60000).toISOString().replace(".000Z", "Z") },
                input: [{ type: { text: "activity" }, valueCodeableConcept: { text: pick2(["koordinering", "møde", "telefon"]) } }],
            });
        }
        if (rnd2() < 0.2) {
            emit({
                resourceType: "QuestionnaireResponse", id: `qr-${pid}`,
                questionnaire: `${SV}/Questionnaire/citizen-experience`, status: "completed",
                authored: instant(-int2(0, 400) + rnd2()),
                subject: ref("Patient", pid),
                item: [
                    { linkId: "knows-coordinator", answer: [{ valueBoolean: rnd2() < 0.6 }] },
                    { linkId: "actors-together", answer: [{ valueBoolean: rnd2() < 0.5 }] },
                    { linkId: "life-areas", item: [pick2(LIFE_AREAS), pick2(LIFE_AREAS)].filter((a, i, all) => all.indexOf(a) === i).map((a) => ({ linkId: `life-area-${a}`, answer: [{ valueInteger: int2(0, 10) }] })) },
                ],
            });
        }
        if (rnd2() < 0.02) {
            emit({
                resourceType: "QuestionnaireResponse", id: `sq-${pid}`,
                questionnaire: `${SV}/Questionnaire/staff-experience`, status: "completed",
                authored: instant(-int2(0, 400) + rnd2()),
                author: ref("PractitionerRole", `role-${m.key}-${int2(1, m.practitioners.length)}`),
                item: [{ linkId: "collaboration", answer: [{ valueInteger: int2(0, 10) }] }],
            });
        }
        total += emitted() - before;
        if (patientLines.length > 10000) {
            fs.writeSync(patientsFile, patientLines.join("\n") + "\n");
            patientLines = [];
        }
    }
}
flush();
fs.closeSync(out);
if (patientLines.length) fs.writeSync(patientsFile, patientLines.join("\n") + "\n");
fs.closeSync(patientsFile);
fs.writeFileSync(`${args.out}.owners.txt`, [...owners].sort().join("\n") + "\n");
fs.writeFileSync(`${args.out}.providers.txt`, [...providers].sort().join("\n") + "\n");
fs.writeFileSync(`${args.out}.recipients.txt`, [...recipients].sort().join("\n") + "\n");
const stats = Object.entries(counts).map(([k, v]) => `${k} ${v}`);
stats.push(`total ${emitted()}`, `citizens ${n}`);
for (const [k, v] of Object.entries(taskStatus).sort()) stats.push(`Task.status=${k} ${v}`);
fs.writeFileSync(`${args.out}.stats.txt`, stats.join("\n") + "\n");
process.stdout.write(stats.join("\n") + "\n");
