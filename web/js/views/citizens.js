// citizens.js - the citizens this user may see (the server filters by care
// relationship and consent), searchable by name.
import { search } from '../api.js';
import { h, section } from '../dom.js';
import { t, fmtDate } from '../i18n.js';
import { humanName } from '../fhir.js';
import { errorText } from '../ui.js';

export async function citizensView(main, ctx, [query = '']) {
  main.append(h('h1', {}, t('citizens.title')));
  const input = h('input', { id: 'citizen-q', type: 'search', value: query, autocomplete: 'off' });
  const form = h('form', { class: 'stack', role: 'search' },
    h('div', { class: 'field' }, h('label', { for: 'citizen-q' }, t('citizens.search')), input),
    h('button', { type: 'submit' }, t('citizens.find')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    location.hash = `#/citizens/${encodeURIComponent(input.value.trim())}`;
  });
  const results = section('results', t('citizens.results'), t('app.loading'));
  main.append(h('div', { class: 'card' }, form), results.el);
  try {
    const q = query ? `name=${encodeURIComponent(query)}&` : '';
    const { matches } = await search(`/fhir/Patient?${q}_count=100&_sort=family`);
    results.fill(matches.length
      ? h('ul', { class: 'list' }, matches.map((p) => h('li', {}, h('a', { href: `#/citizen/${encodeURIComponent(p.id)}`, class: 'grow' }, humanName(p) || p.id),
        h('span', { class: 'muted' }, p.birthDate ? fmtDate(p.birthDate) : ''))))
      : h('p', { class: 'muted' }, t('citizens.none')));
  } catch (e) {
    results.fill(h('p', { class: 'error' }, errorText(e)));
  }
}
