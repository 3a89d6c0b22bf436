// dom.js - builds elements from data without ever parsing data as HTML
// (no innerHTML): h('a', {href: '#/x', class: 'btn'}, 'text', child, …).
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k === 'class') el.className = v;
      else if (v === true) el.setAttribute(k, '');
      else el.setAttribute(k, String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

// A section with a heading (h2) whose content is filled in later: shows
// "loading" until then, so every part of a screen has a progress state.
export function section(id, title, loadingText) {
  const body = h('div', { class: 'section-body', 'aria-busy': 'true' }, h('p', { class: 'muted' }, loadingText));
  const el = h('section', { class: 'card', 'aria-labelledby': `${id}-h` }, h('h2', { id: `${id}-h` }, title), body);
  return {
    el,
    fill(...content) {
      clear(body);
      body.removeAttribute('aria-busy');
      append(body, content);
    },
  };
}
