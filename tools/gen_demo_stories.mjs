// gen_demo_stories.mjs - writes data/demo/stories.json (committed): the seeds' stories as FHIR,
// with dates relative to the day `samverka demo` loads them ("{{day:+3}}", src/demo.c).
// node tools/gen_demo_stories.mjs data/demo/stories.json
import { writeFileSync, readFileSync } from 'node:fs';
const B = 'http://samverka.org/fhir/';
const R = (reference, display) => (display ? { reference, display } : { reference });
const cc = (sys, code, display) => ({ coding: [{ system: B + 'CodeSystem/' + sys, code, ...(display ? { display } : {}) }] });
const day = (n, time = '09:00:00') => `{{day:${n >= 0 ? '+' : ''}${n}}}T${time}+01:00`;
const dateOnly = (n) => `{{day:${n >= 0 ? '+' : ''}${n}}}`;
const SOCIAL = { system: 'http://samverka.dk/fhir/CodeSystem/category', code: 'social' };
const out = [];
const add = (r) => out.push(r);

function team(id, patient, name, parts) {
  add({ resourceType: 'CareTeam', id, status: 'active', name,
    category: [cc('care-team-category', 'coordination')],
    subject: R('Patient/' + patient),
    participant: parts.map(([member, role, org]) => ({ role: [cc('care-team-role', role)], member: R(member), ...(org ? { onBehalfOf: R(org) } : {}) })) });
}
function goal(id, patient, area, text, extra = {}) {
  add({ resourceType: 'Goal', id, lifecycleStatus: 'active', category: [cc('life-area', area)],
    description: { text }, subject: R('Patient/' + patient), ...extra });
}
function task(id, patient, owner, text, deadlineDay, time, extra = {}) {
  add({ resourceType: 'Task', id, status: extra.status || 'requested', intent: 'order',
    description: text, for: R('Patient/' + patient), owner: R(owner),
    authoredOn: day(-2, '08:00:00'), restriction: { period: { end: day(deadlineDay, time) } },
    ...Object.fromEntries(Object.entries(extra).filter(([k]) => k !== 'status')) });
}
function plan(id, patient, title, category, step, goals, activities) {
  add({ resourceType: 'CarePlan', id, status: 'active', intent: 'plan', title,
    category: [cc('careplan-category', category)],
    extension: step ? [{ url: B + 'StructureDefinition/sip-step', valueCode: step }] : undefined,
    subject: R('Patient/' + patient), period: { start: dateOnly(-10) },
    goal: goals.map((g) => R('Goal/' + g)),
    activity: activities.map(([text, performer, start, end, status, g]) => ({ detail: {
      status: status || 'scheduled', description: text,
      performer: [R(performer)], scheduledPeriod: { start: dateOnly(start), end: dateOnly(end) },
      ...(g ? { goal: [R('Goal/' + g)] } : {}) } })) });
}
function med(id, patient, text, dosage, status, note, dateAsserted) {
  add({ resourceType: 'MedicationStatement', id, status, subject: R('Patient/' + patient),
    medicationCodeableConcept: { text }, dosage: [{ text: dosage }], dateAsserted: day(dateAsserted),
    ...(note ? { note: [{ text: note }] } : {}) });
}
function stay(id, patient, org, status, start, end, cls = 'IMP') {
  add({ resourceType: 'Encounter', id, status, class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: cls },
    subject: R('Patient/' + patient), serviceProvider: R('Organization/' + org),
    period: { start: day(start, '10:00:00'), ...(end !== null ? { end: day(end, '12:00:00') } : {}) } });
}
function msg(id, patient, from, to, text, sentDay, extra = {}) {
  add({ resourceType: 'Communication', id, status: 'completed', subject: R('Patient/' + patient),
    sender: R(from), recipient: [R(to)], sent: day(sentDay, '11:30:00'), payload: [{ contentString: text }], ...extra });
}
function consent(id, patient, actor, label, type = 'permit') {
  add({ resourceType: 'Consent', id, status: 'active',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
    patient: R('Patient/' + patient), dateTime: day(-20),
    policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
    provision: { type, actor: [{ role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] }, reference: R(actor) }],
      ...(label ? { securityLabel: [label] } : {}) } });
}

// Hanne, MS, between Morsø and the MS hospital in Ry
team('ct-hanne', 'dk-hanne-ms', 'Hannes team', [
  ['PractitionerRole/dk-anne-ms-koordinator-ry', 'coordinator'],
  ['PractitionerRole/dk-birgit-hjemmepleje', 'member'],
  ['PractitionerRole/dk-jens-laegehuset', 'member'],
  ['Organization/dk-morso-genoptraening', 'member'],
  ['Patient/dk-hanne-ms', 'citizen']]);
goal('g-hanne-work', 'dk-hanne-ms', 'work', 'Jeg vil blive ved med at arbejde 20 timer om ugen i butikken.');
goal('g-hanne-health', 'dk-hanne-ms', 'health', 'Jeg vil ikke falde derhjemme, og jeg vil kunne gå tur med hunden.');
goal('g-hanne-leisure', 'dk-hanne-ms', 'leisure', 'Jeg vil kunne tage med i sommerhus med familien.');
plan('cp-hanne', 'dk-hanne-ms', 'Sammenhængende plan for Hanne', 'sip', 'plan', ['g-hanne-work', 'g-hanne-health', 'g-hanne-leisure'], [
  ['Genoptræning: balance og gang, 2 gange om ugen', 'Organization/dk-morso-genoptraening', -5, 40, 'in-progress', 'g-hanne-health'],
  ['Hjemmebesøg: faldforebyggelse og hjælpemidler', 'PractitionerRole/dk-birgit-hjemmepleje', 1, 1, 'scheduled', 'g-hanne-health'],
  ['Samtale med arbejdsgiver om fleksjob', 'PractitionerRole/dk-anne-ms-koordinator-ry', 7, 14, 'scheduled', 'g-hanne-work'],
  ['Kontrol af medicin (baclofen)', 'PractitionerRole/dk-jens-laegehuset', 10, 10, 'scheduled', 'g-hanne-health']]);
task('t-hanne-visit', 'dk-hanne-ms', 'PractitionerRole/dk-birgit-hjemmepleje', 'Hjemmebesøg: vurdér faldrisiko og hjælpemidler', 1, '15:00:00', { focus: R('CarePlan/cp-hanne') });
task('t-hanne-aids', 'dk-hanne-ms', 'Organization/dk-morso-hjemmepleje', 'Bestil rollator og badebænk', -1, '12:00:00');
task('t-hanne-meeting', 'dk-hanne-ms', 'PractitionerRole/dk-anne-ms-koordinator-ry', 'Indkald til opfølgende planmøde', 5, '12:00:00', { status: 'accepted', focus: R('CarePlan/cp-hanne') });
stay('enc-hanne-ry', 'dk-hanne-ms', 'dk-ms-ry', 'finished', -30, -16);
med('ms-hanne-baclofen', 'dk-hanne-ms', 'Baclofen 10 mg', '1 tablet 3 gange dagligt', 'active', 'Ny efter indlæggelsen i Ry', -16);
med('ms-hanne-fampridin', 'dk-hanne-ms', 'Fampridin 10 mg', '1 tablet morgen og aften', 'active', null, -200);
msg('com-hanne-1', 'dk-hanne-ms', 'PractitionerRole/dk-anne-ms-koordinator-ry', 'Organization/dk-morso-hjemmepleje', 'Hanne er startet på baclofen. Hold øje med træthed og svimmelhed de første uger.', -3);
msg('com-hanne-2', 'dk-hanne-ms', 'PractitionerRole/dk-birgit-hjemmepleje', 'PractitionerRole/dk-anne-ms-koordinator-ry', 'Tak. Vi kommer på hjemmebesøg i morgen og vurderer hjælpemidler.', -2, { inResponseTo: [R('Communication/com-hanne-1')] });

// Lars, socially vulnerable, Copenhagen
team('ct-lars', 'dk-lars', 'Lars\' team', [
  ['PractitionerRole/dk-mette-bispebjerg', 'coordinator'],
  ['PractitionerRole/dk-sofie-kobenhavn', 'member'],
  ['Patient/dk-lars', 'citizen']]);
consent('consent-lars-kbh-social', 'dk-lars', 'Organization/dk-kobenhavn', SOCIAL);
goal('g-lars-housing', 'dk-lars', 'housing', 'Jeg vil have min egen lejlighed, så jeg ikke skal sove på herberget.', { meta: { security: [SOCIAL] } });
goal('g-lars-health', 'dk-lars', 'health', 'Såret på benet skal hele.');
stay('enc-lars-bbh', 'dk-lars', 'dk-bispebjerg', 'in-progress', -4, null);
task('t-lars-contact', 'dk-lars', 'PractitionerRole/dk-sofie-kobenhavn', 'Kontakt Lars inden udskrivelsen om bolig og opfølgning', 2, '12:00:00');
task('t-lars-wound', 'dk-lars', 'Organization/dk-kobenhavn', 'Planlæg sårpleje efter udskrivelsen', -1, '16:00:00');
msg('com-lars-1', 'dk-lars', 'PractitionerRole/dk-mette-bispebjerg', 'PractitionerRole/dk-sofie-kobenhavn', 'Lars har givet samtykke til, at I kontaktes om boligsituationen. Han udskrives formentlig om få dage.', -1);

// Gurli, 90, nursing home in Aalborg: the diuretic that was never entered
team('ct-gurli', 'dk-gurli', 'Gurlis team', [
  ['PractitionerRole/dk-karen-solhaven', 'coordinator'],
  ['PractitionerRole/dk-jens-laegehuset', 'member'],
  ['Patient/dk-gurli', 'citizen']]);
stay('enc-gurli-auh', 'dk-gurli', 'dk-aalborg-uh', 'finished', -7, -1);
med('ms-gurli-furosemid', 'dk-gurli', 'Furosemid 40 mg (vanddrivende)', '1 tablet om morgenen', 'intended', 'Ny ved udskrivelsen fra Aalborg UH. Ikke bekræftet af plejehjemmet.', -1);
med('ms-gurli-pinex', 'dk-gurli', 'Paracetamol 500 mg', '2 tabletter ved behov, højst 4 gange dagligt', 'active', null, -300);
task('t-gurli-med', 'dk-gurli', 'PractitionerRole/dk-karen-solhaven', 'Bekræft medicinændring: furosemid 40 mg er ny', 0, '23:00:00', { focus: R('MedicationStatement/ms-gurli-furosemid') });
task('t-gurli-weight', 'dk-gurli', 'Organization/dk-plejecenter-solhaven', 'Vej Gurli dagligt i en uge og giv lægen besked', 6, '12:00:00');

// Emma, 7, Lund: school, habilitation, primary care
team('ct-emma', 'se-emma', 'Emmas team', [
  ['PractitionerRole/se-sara-hab', 'coordinator'],
  ['Organization/se-lund-skola', 'member'],
  ['Organization/se-vc-lund', 'member'],
  ['RelatedPerson/se-emma-parent', 'relative'],
  ['Patient/se-emma', 'citizen']]);
consent('consent-emma-lina', 'se-emma', 'RelatedPerson/se-emma-parent', null);
goal('g-emma-school', 'se-emma', 'education', 'Emma vill kunna vara med på rasterna med sina kompisar.');
goal('g-emma-leisure', 'se-emma', 'leisure', 'Emma vill börja på simskola.');
plan('cp-emma', 'se-emma', 'SIP för Emma', 'sip', 'needs', ['g-emma-school', 'g-emma-leisure'], [
  ['Anpassning av rastaktiviteter med elevassistent', 'Organization/se-lund-skola', 3, 60, 'scheduled', 'g-emma-school'],
  ['Sjukgymnastik: grovmotorik', 'PractitionerRole/se-sara-hab', 0, 90, 'in-progress', 'g-emma-leisure']]);
task('t-emma-sip', 'se-emma', 'PractitionerRole/se-sara-hab', 'Kalla till SIP-möte med skola och vårdcentral', 7, '12:00:00', { focus: R('CarePlan/cp-emma') });
msg('com-emma-1', 'se-emma', 'RelatedPerson/se-emma-parent', 'PractitionerRole/se-sara-hab', 'Hej! Kan mötet vara efter kl. 15? Vi vill båda vara med.', -1);

// Bengt, 84, discharge-ready at SUS Malmö
team('ct-bengt', 'se-bengt-84', 'Bengts team', [
  ['PractitionerRole/se-johan-malmo', 'coordinator'],
  ['PractitionerRole/se-eva-sus', 'member'],
  ['Patient/se-bengt-84', 'citizen']]);
stay('enc-bengt-sus', 'se-bengt-84', 'se-sus-malmo', 'in-progress', -6, null);
task('t-bengt-home', 'se-bengt-84', 'Organization/se-malmo-hemtjanst', 'Utskrivningsklar: planera hemgång och hemtjänst', 2, '16:00:00');
task('t-bengt-notice', 'se-bengt-84', 'PractitionerRole/se-eva-sus', 'Skicka information om utskrivning till kommun och vårdcentral', 0, '20:00:00');
msg('com-bengt-1', 'se-bengt-84', 'PractitionerRole/se-eva-sus', 'Organization/se-malmo-hemtjanst', 'Bengt är utskrivningsklar från idag. Han behöver hjälp med dusch och inköp.', 0);

for (const r of out) for (const k of Object.keys(r)) if (r[k] === undefined) delete r[k];
const bundle = { resourceType: 'Bundle', type: 'transaction', entry: out.map((r) => ({ fullUrl: `${r.resourceType}/${r.id}`, resource: r, request: { method: 'PUT', url: `${r.resourceType}/${r.id}` } })) };
writeFileSync(process.argv[2], JSON.stringify(bundle, null, 1) + '\n');
