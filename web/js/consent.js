// consent.js - the citizen's Consents read as the server reads them
// (docs/access.md): one rule per active Consent from its top-level provision;
// deny wins; coordination, medication and clinical are allowed unless denied;
// social and sensitive only with a permit.  Changes write Consent resources.
import { search, post, put } from './api.js';
import { SYS } from './fhir.js';

export const CATEGORIES = ['coordination', 'medication', 'clinical', 'social', 'sensitive'];
const NEEDS_PERMIT = new Set(['social', 'sensitive']);

export function rule(c) {
  const p = c.provision || {};
  const nowMs = Date.now();
  const start = p.period?.start ? Date.parse(p.period.start) : -Infinity;
  const end = p.period?.end ? Date.parse(p.period.end) : Infinity;
  return {
    consent: c,
    type: p.type || 'permit',
    actors: (p.actor || []).map((a) => a.reference?.reference).filter(Boolean),
    categories: (p.securityLabel || []).filter((l) => l.system === SYS.category).map((l) => l.code),
    live: c.status === 'active' && start <= nowMs && nowMs < end,
  };
}

const covers = (r, actor, cat) => r.live && (!r.actors.length || r.actors.includes(actor)) && (!r.categories.length || r.categories.includes(cat));
// A rule about exactly this actor and this category (safe to withdraw alone).
const exactly = (r, actor, cat) => r.live && r.actors.length === 1 && r.actors[0] === actor && r.categories.length === 1 && r.categories[0] === cat;

export function allowed(rules, actor, cat) {
  if (rules.some((r) => r.type === 'deny' && covers(r, actor, cat))) return false;
  if (!NEEDS_PERMIT.has(cat)) return true;
  return rules.some((r) => r.type === 'permit' && covers(r, actor, cat));
}

export async function loadRules(patientId) {
  const { matches } = await search(`/fhir/Consent?patient=Patient/${encodeURIComponent(patientId)}&_count=200`);
  return matches.map(rule);
}

function newConsent(patientId, actor, cat, type) {
  return {
    resourceType: 'Consent', status: 'active',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
    patient: { reference: `Patient/${patientId}` }, dateTime: new Date().toISOString(),
    policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: type === 'permit' ? 'OPTIN' : 'OPTOUT' }] },
    provision: { type, actor: [{ role: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }] }, reference: { reference: actor } }],
      securityLabel: [{ system: SYS.category, code: cat }] },
  };
}

async function withdraw(r) {
  await put(`/fhir/Consent/${r.consent.id}`, { ...r.consent, status: 'inactive' });
}

// Allows actor cat: withdraws the citizen's own denials of exactly that, then
// writes a permit where one is needed.  Returns the new allowed state.
export async function grant(patientId, rules, actor, cat) {
  for (const r of rules) if (r.type === 'deny' && exactly(r, actor, cat)) await withdraw(r);
  const left = rules.filter((r) => !(r.type === 'deny' && exactly(r, actor, cat)));
  if (!allowed(left, actor, cat)) await post('/fhir/Consent', newConsent(patientId, actor, cat, 'permit'));
}

// Refuses actor cat: withdraws permits of exactly that; if still allowed (a
// broader permit, or a category allowed by default), writes a deny.
export async function revoke(patientId, rules, actor, cat) {
  for (const r of rules) if (r.type === 'permit' && exactly(r, actor, cat)) await withdraw(r);
  const left = rules.filter((r) => !(r.type === 'permit' && exactly(r, actor, cat)));
  if (allowed(left, actor, cat)) await post('/fhir/Consent', newConsent(patientId, actor, cat, 'deny'));
}
