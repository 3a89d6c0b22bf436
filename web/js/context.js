// context.js - who the user is, as the screens need it: the PractitionerRole
// and organisation a practitioner acts in, or the citizen a citizen or relative
// sees (a relative's RelatedPerson names the citizen).
import { get } from './api.js';
import { display, humanName, refId } from './fhir.js';
import { t } from './i18n.js';

export async function loadContext(me) {
  const ctx = { me, kind: me.kind, whoText: me.username };
  if (me.kind === 'practitioner' && me.practitioner_role) {
    ctx.roleRef = `PractitionerRole/${me.practitioner_role}`;
    try {
      const role = await get(`/fhir/${ctx.roleRef}`);
      ctx.role = role;
      ctx.orgRef = role.organization?.reference || null;
      const [person, org] = await Promise.all([
        role.practitioner ? get(`/fhir/${role.practitioner.reference}`).catch(() => null) : null,
        ctx.orgRef ? get(`/fhir/${ctx.orgRef}`).catch(() => null) : null,
      ]);
      ctx.person = person;
      ctx.org = org;
      ctx.whoText = [humanName(person) || me.username, org && display(org)].filter(Boolean).join(', ');
    } catch {
      ctx.whoText = me.username;
    }
  } else if (me.kind === 'citizen') {
    ctx.patientId = me.patient;
  } else if (me.kind === 'relative') {
    ctx.relatedId = me.related_person;
    try {
      const rp = await get(`/fhir/RelatedPerson/${me.related_person}`);
      ctx.patientId = refId(rp.patient);
      ctx.whoText = `${humanName(rp) || me.username} (${t('portal.proxy')})`;
    } catch {
      ctx.patientId = null;
    }
  }
  if (ctx.patientId) {
    try {
      const p = await get(`/fhir/Patient/${ctx.patientId}`);
      ctx.patient = p;
      if (me.kind === 'citizen') ctx.whoText = humanName(p) || me.username;
    } catch {
      ctx.patient = null;
    }
  }
  return ctx;
}
