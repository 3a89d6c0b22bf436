// plan.js - the plan of a citizen and the agreements to it, as
// docs/coordination.md defines them: a Provenance with activity
// provenance-activity#agreement per party and plan version, and
// `CarePlan/{id}/$agreement` for who agreed to the current version.
import { get, post, search } from './api.js';
import { code, SYS } from './fhir.js';

const AGREEMENT = { system: 'http://samverka.org/fhir/CodeSystem/provenance-activity', code: 'agreement' };
export const SIP_STEP = 'http://samverka.org/fhir/StructureDefinition/sip-step';
export const LIFE_AREAS = ['housing', 'education', 'work', 'leisure', 'health', 'care', 'activities', 'self-image', 'relationships', 'finances'];

// The citizen's active plans, the coordinated plan (SIP) first.
export async function activePlans(patientId) {
  const { matches } = await search(`/fhir/CarePlan?subject=Patient/${encodeURIComponent(patientId)}&status=active&_count=50`);
  const rank = (p) => (code(p.category?.[0], SYS.careplanCategory) === 'sip' ? 0 : 1);
  return matches.sort((a, b) => rank(a) - rank(b));
}

export const sipStep = (plan) => (plan.extension || []).find((e) => e.url === SIP_STEP)?.valueCode || null;

// {plan: {reference}, version, agreedByAll, parties: [{party: {reference}, agreed, provenance}]}
export const agreementOf = (planId) => get(`/fhir/CarePlan/${encodeURIComponent(planId)}/$agreement`);

// Every agreement ever given to the plan, newest first: [{party, version, recorded}].
export async function agreementHistory(planId) {
  const { matches } = await search(`/fhir/Provenance?target=CarePlan/${encodeURIComponent(planId)}&_count=200`);
  const out = [];
  for (const p of matches) {
    if (!(p.activity?.coding || []).some((c) => c.system === AGREEMENT.system && c.code === AGREEMENT.code)) continue;
    const target = (p.target || []).map((t) => t.reference || '').find((r) => r.startsWith(`CarePlan/${planId}/_history/`));
    const party = p.agent?.[0]?.who?.reference;
    if (!target || !party) continue;
    out.push({ party, version: Number(target.split('/').pop()), recorded: p.recorded, id: p.id });
  }
  // A PractitionerRole agrees for its organisation, the party $agreement names.
  await Promise.all(out.map(async (a) => {
    if (!a.party.startsWith('PractitionerRole/')) return;
    const role = await get(`/fhir/${a.party}`).catch(() => null);
    if (role?.organization?.reference) a.party = role.organization.reference;
  }));
  return out.sort((a, b) => String(b.recorded).localeCompare(String(a.recorded)));
}

// Agreement by `who` (the citizen's Patient, or the staff's PractitionerRole,
// which agrees for its organisation) to the version $agreement names.
export function agree(planVersionRef, who) {
  return post('/fhir/Provenance', {
    resourceType: 'Provenance',
    target: [{ reference: planVersionRef }],
    recorded: new Date().toISOString(),
    activity: { coding: [AGREEMENT] },
    agent: [{ who: { reference: who } }],
  });
}
