// directory.js - administration: the organisations and staff of the directory
// (admins see the directory, never a citizen's data: docs/access.md).
import { search } from '../api.js';
import { h, section } from '../dom.js';
import { t } from '../i18n.js';
import { display, nameOf } from '../fhir.js';
import { errorText } from '../ui.js';

export async function directoryView(main) {
  main.append(h('h1', {}, t('directory.title')));
  const orgs = section('orgs', t('directory.orgs'), t('app.loading'));
  const staff = section('staff', t('directory.staff'), t('app.loading'));
  main.append(h('div', { class: 'grid' }, orgs.el, staff.el));
  try {
    const { matches } = await search('/fhir/Organization?_count=200&_sort=name');
    orgs.fill(h('ul', { class: 'list' }, matches.map((o) => h('li', {}, h('span', { class: 'grow' }, display(o)),
      o.partOf ? h('span', { class: 'muted' }, o.partOf.display || '') : null))));
  } catch (e) {
    orgs.fill(h('p', { class: 'error' }, errorText(e)));
  }
  try {
    const { matches } = await search('/fhir/PractitionerRole?_count=200');
    const rows = await Promise.all(matches.map(async (r) => h('li', {}, h('span', { class: 'grow' }, await nameOf({ reference: `PractitionerRole/${r.id}` })),
      h('span', { class: 'muted' }, (r.code || []).flatMap((c) => c.coding || []).map((c) => c.code).join(', ')))));
    staff.fill(h('ul', { class: 'list' }, rows));
  } catch (e) {
    staff.fill(h('p', { class: 'error' }, errorText(e)));
  }
}
