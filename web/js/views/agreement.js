// agreement.js - the citizen portal's "your plan awaits your agreement": for
// each active plan whose current version the citizen has not agreed to, what
// it is and an Agree button that writes the citizen's own Provenance (the one
// Provenance a citizen may write, docs/access.md).  A relative sees the state
// but cannot agree for the citizen.
import { h } from '../dom.js';
import { t, tCode, fmtDate } from '../i18n.js';
import { code, nameOf, SYS } from '../fhir.js';
import { activePlans, agreementOf, agree } from '../plan.js';
import { errorText, status, refresh } from '../ui.js';

// Fills sec (a dom.section) and shows it only when there is something to say.
export async function fillAgreement(sec, ctx) {
  try {
    const me = `Patient/${ctx.patientId}`;
    const plans = await activePlans(ctx.patientId);
    const items = [];
    for (const plan of plans) {
      const view = await agreementOf(plan.id).catch(() => null);
      const mine = view?.parties?.find((p) => p.party.reference === me);
      if (!mine) continue;
      const title = plan.title || tCode('plancat', code(plan.category?.[0], SYS.careplanCategory) || 'other');
      const others = view.parties.filter((p) => p.party.reference !== me);
      const othersAgreed = others.filter((p) => p.agreed).length;
      if (mine.agreed) {
        items.push(h('li', { 'data-plan': plan.id, 'data-agreed': 'true' }, h('span', { class: 'grow' }, h('strong', {}, title), h('br'),
          t('portal.youAgreed', { when: fmtDate(mine.provenance?.recorded) })), h('span', { class: 'badge ok' }, t('agreement.agreed'))));
        continue;
      }
      const names = h('span', { class: 'muted' });
      Promise.all(others.filter((p) => p.agreed).map((p) => nameOf(p.party))).then((ns) => (names.textContent = ns.length ? t('portal.alreadyAgreed', { who: ns.join(', ') }) : ''));
      let button = null;
      if (ctx.kind === 'citizen') {
        button = h('button', { type: 'button', 'data-agree': plan.id, 'aria-label': t('portal.agreeTo', { title }) }, t('portal.agree'));
        button.addEventListener('click', async () => {
          button.disabled = true;
          try {
            await agree(view.plan.reference, me);
            status(t('portal.agreedNow'));
            refresh();
          } catch (e) {
            status(errorText(e));
            button.disabled = false;
          }
        });
      }
      items.push(h('li', { 'data-plan': plan.id, 'data-agreed': 'false' }, h('span', { class: 'grow' }, h('strong', {}, title), h('br'),
        t('portal.awaitingText', { n: othersAgreed, of: others.length }), h('br'), names), button));
    }
    if (!items.length) {
      sec.el.hidden = true;
      sec.fill();
      return;
    }
    const waiting = items.some((li) => li.dataset.agreed === 'false');
    sec.el.querySelector('h2').textContent = waiting ? t('portal.awaiting') : t('portal.agreement');
    sec.el.classList.toggle('attention', waiting);
    sec.fill(waiting ? h('p', {}, t('portal.awaitingIntro')) : null, h('ul', { class: 'list', 'data-list': 'agreement' }, items));
  } catch (e) {
    sec.fill(h('p', { class: 'error' }, errorText(e)));
  }
}
