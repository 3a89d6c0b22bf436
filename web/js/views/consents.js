// consents.js - the citizen decides who may see what: for each organisation
// around them (team, home municipality, GP, current stays), each category in
// plain words, allowed or not, with one button to change it (Consent
// resources, docs/access.md).
import { get, search } from '../api.js';
import { h, section } from '../dom.js';
import { t, tCode } from '../i18n.js';
import { nameOf, refId } from '../fhir.js';
import { loadRules, allowed, grant, revoke, CATEGORIES } from '../consent.js';
import { errorText, status, refresh } from '../ui.js';

async function organisations(ctx) {
  const orgs = new Set();
  const p = ctx.patient || {};
  if (p.managingOrganization?.reference) orgs.add(p.managingOrganization.reference);
  for (const gp of p.generalPractitioner || []) if (gp.reference?.startsWith('Organization/')) orgs.add(gp.reference);
  try {
    const team = await get(`/fhir/Patient/${encodeURIComponent(ctx.patientId)}/$team`);
    for (const m of team.members || []) {
      const o = m.organization?.reference || (m.member?.reference?.startsWith('Organization/') ? m.member.reference : null);
      if (o) orgs.add(o);
    }
  } catch {
    /* no team yet */
  }
  try {
    const { matches } = await search(`/fhir/Encounter?subject=Patient/${encodeURIComponent(ctx.patientId)}&status=in-progress,onleave,arrived&_count=20`);
    for (const e of matches) if (e.serviceProvider?.reference) orgs.add(e.serviceProvider.reference);
  } catch {
    /* none */
  }
  return [...orgs];
}

export async function consentsView(main, ctx) {
  main.append(h('h1', {}, t('consents.title')), h('p', {}, t('consents.intro')));
  const sec = section('consents', t('consents.who'), t('app.loading'));
  main.append(sec.el);
  const canChange = ctx.kind === 'citizen';
  try {
    const [rules, orgs] = await Promise.all([loadRules(ctx.patientId), organisations(ctx)]);
    const names = await Promise.all(orgs.map(nameOf));
    if (!orgs.length) return sec.fill(h('p', { class: 'muted' }, t('consents.noOrgs')));
    sec.fill(orgs.map((org, i) => h('div', { class: 'area', 'data-org': refId(org) }, h('h3', {}, names[i]),
      h('table', { class: 'consent-table' },
        h('caption', { class: 'muted' }, t('consents.caption', { org: names[i] })),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('consents.what')), h('th', { scope: 'col' }, t('consents.state')), h('th', { scope: 'col' }, h('span', {}, t('consents.change'))))),
        h('tbody', {}, CATEGORIES.map((cat) => {
          const ok = allowed(rules, org, cat);
          const label = ok ? t('consents.revoke') : t('consents.grant');
          const button = canChange ? h('button', { type: 'button', class: ok ? 'danger' : '', 'data-cat': cat, 'aria-label': `${label}: ${tCode('cat', cat)}, ${names[i]}` }, label) : null;
          button?.addEventListener('click', async () => {
            button.disabled = true;
            try {
              await (ok ? revoke : grant)(ctx.patientId, rules, org, cat);
              status(ok ? t('consents.revoked', { org: names[i] }) : t('consents.granted', { org: names[i] }));
              refresh();
            } catch (e) {
              status(errorText(e));
              button.disabled = false;
            }
          });
          return h('tr', { 'data-cat': cat },
            h('td', {}, h('strong', {}, tCode('cat', cat)), h('br'), h('span', { class: 'muted' }, t(`catplain.${cat}`))),
            h('td', {}, h('span', { class: `badge ${ok ? 'ok' : 'denied'}`, 'data-state': ok ? 'allowed' : 'refused' }, ok ? t('consents.allowed') : t('consents.refused'))),
            h('td', {}, button));
        }))))));
  } catch (e) {
    sec.fill(h('p', { class: 'error' }, errorText(e)));
  }
}
