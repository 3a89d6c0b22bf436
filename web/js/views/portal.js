// portal.js - the citizen's own page (and a relative's, with a proxy grant):
// a plan that awaits my agreement, my coordinator and team, my plan and goals
// by life area, what happens next, my messages.
import { h, section } from '../dom.js';
import { t } from '../i18n.js';
import { humanName } from '../fhir.js';
import { fillTeam, fillPlan, fillNext, fillMessages, teamRecipients } from './parts.js';
import { fillAgreement } from './agreement.js';

export async function portalView(main, ctx) {
  if (!ctx.patientId) {
    main.append(h('h1', {}, t('portal.title')), h('p', { class: 'error' }, t('portal.noCitizen')));
    return;
  }
  const name = humanName(ctx.patient) || '';
  main.append(h('h1', {}, ctx.kind === 'relative' ? t('portal.titleFor', { name }) : t('portal.title')));
  if (ctx.kind === 'citizen') main.append(h('p', {}, t('portal.hello', { name })));
  const agreement = section('agreement', t('portal.agreement'), t('app.loading'));
  const team = section('team', t('portal.team'), t('app.loading'));
  const next = section('next', t('portal.next'), t('app.loading'));
  const plan = section('plan', t('portal.plan'), t('app.loading'));
  const msgs = section('messages', t('portal.messages'), t('app.loading'));
  main.append(agreement.el, h('div', { class: 'grid' }, team.el, next.el), plan.el, msgs.el);
  const from = ctx.kind === 'relative' ? `RelatedPerson/${ctx.relatedId}` : `Patient/${ctx.patientId}`;
  await Promise.all([
    fillAgreement(agreement, ctx),
    fillTeam(team, ctx.patientId),
    fillNext(next, ctx.patientId),
    fillPlan(plan, ctx.patientId),
    teamRecipients(ctx.patientId).then((recipients) => fillMessages(msgs, ctx.patientId, { from, recipients })),
  ]);
}
