// Search: full-text over messages (every word of the query; quotes group a phrase), each hit
// linking to its conversation.

import {get} from '../api.js';
import {busy, errorBox, field, h, heading, link, table, when} from '../view.js';

export function render(root) {
  const results = h('div', {'aria-live': 'polite'});
  const button = h('button', {type: 'submit', class: 'primary'}, 'Search');
  const form = h('form', {class: 'inline', role: 'search'},
    field('Words to find', {name: 'q', type: 'search', required: true}), button);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const q = new FormData(form).get('q');
    try {
      const page = await busy(button, () => get('/api/v1/search/messages', {q, limit: 50}));
      results.replaceChildren(table([
        {label: 'Message', cell: (hit) => hit.message.text || ''},
        {label: 'Direction', cell: (hit) => hit.message.direction},
        {label: 'When', cell: (hit) => when(hit.message.createdAt)},
        {label: 'Conversation', cell: (hit) => link(`conversations/${hit.message.conversationId}`, 'Open')},
      ], page.data, `${page.data.length} messages match “${q}”`));
    } catch (error) {
      results.replaceChildren(errorBox(error));
    }
  });
  root.append(heading('Search'), form, results);
  form.querySelector('input').focus();
}
