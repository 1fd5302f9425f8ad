// Small DOM helpers every page shares: elements, times in the operator's zone, tables, forms,
// error boxes from the API's JSON errors, and busy buttons for long work.

/** An element: h('button', {class: 'x', onclick}, 'text', child, [more]). */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else if (name === 'class') element.className = value;
    else if (name === 'dataset') Object.assign(element.dataset, value);
    else if (name === 'value') element.value = value;
    else element.setAttribute(name, value === true ? '' : value);
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(element, child);
    else element.append(child instanceof Node ? child : String(child));
  }
}

/** The operator's time zone: the one chosen on this browser, else the browser's own. */
export function timeZone() {
  return localStorage.getItem('switchboard.timeZone') || Intl.DateTimeFormat().resolvedOptions().timeZone;
}

const formats = new Map();
/** `iso` as a date and time in the operator's zone. */
export function time(iso, style = 'short') {
  if (!iso) return '';
  const key = timeZone() + style;
  if (!formats.has(key)) {
    formats.set(key, new Intl.DateTimeFormat(undefined, {
      dateStyle: style === 'short' ? 'short' : 'medium', timeStyle: style === 'short' ? 'short' : 'medium',
      timeZone: timeZone(),
    }));
  }
  return formats.get(key).format(new Date(iso));
}

/** A <time> element for `iso`. */
export function when(iso, style) {
  return h('time', {datetime: iso, title: iso}, time(iso, style));
}

/** An alert box saying what the API said was wrong. */
export function errorBox(error) {
  const details = error && error.details ? JSON.stringify(error.details) : '';
  const code = error && error.code ? `${error.code}: ` : '';
  return h('div', {class: 'error', role: 'alert'},
    h('strong', {}, code), (error && error.message) || String(error),
    details ? h('pre', {}, details) : null);
}

/** Shows `error` in `slot` (an element whose content it replaces), or clears it. */
export function report(slot, error) {
  slot.replaceChildren(error ? errorBox(error) : '');
}

/** A table of `rows` with `columns: [{label, cell(row) → node|string}]`. */
export function table(columns, rows, caption) {
  return h('div', {class: 'scroll'}, h('table', {},
    caption ? h('caption', {}, caption) : null,
    h('thead', {}, h('tr', {}, columns.map((column) => h('th', {scope: 'col'}, column.label)))),
    h('tbody', {}, rows.length === 0
      ? h('tr', {}, h('td', {colspan: columns.length, class: 'empty'}, 'Nothing here yet.'))
      : rows.map((row) => h('tr', {}, columns.map((column) => h('td', {}, column.cell(row))))))));
}

let fieldCount = 0;
/** A labelled input; `control` is an element or options for an <input>. */
export function field(label, control, hint) {
  const input = control instanceof Node ? control : h('input', control);
  input.id ||= `field-${++fieldCount}`;
  return h('div', {class: 'field'}, h('label', {for: input.id}, label), input,
    hint ? h('small', {}, hint) : null);
}

/** A <select> of `[value, label]` pairs. */
export function select(name, options, selected) {
  return h('select', {name}, options.map(([value, label]) =>
    h('option', {value, selected: value === selected}, label)));
}

/** A form's named values, empty strings left out. */
export function values(form) {
  const result = {};
  for (const [name, value] of new FormData(form)) if (value !== '') result[name] = value;
  return result;
}

/** Disables `button` and marks it busy while `work` runs; returns its result. */
export async function busy(button, work) {
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
  }
}

/** A page heading with optional actions beside it. */
export function heading(title, ...actions) {
  document.title = `${title} · Switchboard`;
  return h('div', {class: 'heading'}, h('h1', {}, title), h('div', {class: 'actions'}, actions));
}

/** A short message for screen readers and eyes, gone after a few seconds. */
export function toast(message) {
  const box = h('div', {class: 'toast', role: 'status'}, message);
  document.body.append(box);
  setTimeout(() => box.remove(), 4000);
}

/** A link inside the console. */
export function link(route, ...children) {
  return h('a', {href: `#/${route}`}, children);
}

/** Pretty JSON for arguments and results. */
export function json(value) {
  // Focusable, so a keyboard can scroll a long one.
  return h('pre', {class: 'json', tabindex: 0}, typeof value === 'string' ? value : JSON.stringify(value, null, 2));
}
