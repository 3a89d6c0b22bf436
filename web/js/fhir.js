// fhir.js - reading the FHIR resources the screens show.
import { get } from './api.js';

export function humanName(r) {
  const n = (r?.name || []).find((x) => x.use === 'official') || r?.name?.[0];
  if (!n) return null;
  if (typeof n === 'string') return n;
  if (n.text) return n.text;
  return [...(n.given || []), n.family].filter(Boolean).join(' ');
}

export function display(r) {
  if (!r) return '';
  if (r.resourceType === 'Organization' || r.resourceType === 'HealthcareService') return r.name || r.id;
  return humanName(r) || r.name || r.id;
}

export function refId(ref) {
  const s = typeof ref === 'string' ? ref : ref?.reference || '';
  return s.split('/').pop();
}

export function code(cc, system) {
  for (const c of cc?.coding || []) if (!system || c.system === system || c.system?.endsWith(system)) return c.code;
  return null;
}

export function codes(list, system) {
  return (list || []).map((cc) => code(cc, system)).filter(Boolean);
}

// Names of referenced resources, fetched once per page view (each a plain read
// through the access policy: what the user may not see stays unnamed).
const cache = new Map();
export function resetNames() {
  cache.clear();
}
export async function nameOf(ref) {
  const reference = typeof ref === 'string' ? ref : ref?.reference;
  if (!reference) return ref?.display || '';
  if (!cache.has(reference)) {
    cache.set(reference, (async () => {
      try {
        const r = await get(`/fhir/${reference}`);
        if (r.resourceType === 'PractitionerRole') {
          const [p, o] = await Promise.all([
            r.practitioner ? nameOf(r.practitioner) : '',
            r.organization ? nameOf(r.organization) : '',
          ]);
          return [p, o].filter(Boolean).join(', ');
        }
        if (r.resourceType === 'RelatedPerson') return humanName(r) || r.id;
        return display(r);
      } catch {
        return ref?.display || reference;
      }
    })());
  }
  return cache.get(reference);
}

export const SYS = {
  category: 'http://samverka.dk/fhir/CodeSystem/category',
  lifeArea: 'http://samverka.org/fhir/CodeSystem/life-area',
  teamRole: 'http://samverka.org/fhir/CodeSystem/care-team-role',
  careplanCategory: 'http://samverka.org/fhir/CodeSystem/careplan-category',
  cpr: 'urn:oid:1.2.208.176.1.2',
  personnummer: 'urn:oid:1.2.752.129.2.1.3.1',
};

export const OPEN_TASK = 'requested,received,accepted,ready,in-progress,on-hold';
