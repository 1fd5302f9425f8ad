// Queue: stored entries by state and this node's dispatcher (queue statistics), and the dead
// letters, each retried or discarded.

import {get, post, remove} from '../api.js';
import {busy, errorBox, h, heading, json, link, report, table, toast, when} from '../view.js';

export async function render(root) {
  const stats = h('section', {'aria-labelledby': 'stats-title'});
  const letters = h('section', {'aria-labelledby': 'letters-title'});
  const problems = h('div', {'aria-live': 'assertive'});
  const refresh = h('button', {type: 'button', onclick: () => load()}, 'Refresh');
  root.append(heading('Queue', refresh), problems, stats, letters);

  async function load() {
    try {
      const [report, page] = await Promise.all([get('/api/v1/queue/stats'), get('/api/v1/dead-letters', {limit: 100})]);
      stats.replaceChildren(h('h2', {id: 'stats-title'}, 'Statistics'), figures(report));
      letters.replaceChildren(h('h2', {id: 'letters-title'}, `Dead letters (${page.data.length})`), table([
        {label: 'Kind', cell: (entry) => entry.kind},
        {label: 'Attempts', cell: (entry) => entry.attempts},
        {label: 'Last error', cell: (entry) => entry.lastError || ''},
        {label: 'Created', cell: (entry) => when(entry.createdAt)},
        {label: 'Conversation', cell: (entry) => link(`conversations/${entry.conversationId}`, 'Open')},
        {label: 'Actions', cell: (entry) => h('span', {class: 'row-actions'},
          act('Retry', entry, () => post(`/api/v1/dead-letters/${entry.id}/retry`, {})),
          act('Discard', entry, () => remove(`/api/v1/dead-letters/${entry.id}`)))},
      ], page.data));
    } catch (error) {
      report(problems, error);
    }
  }

  function act(label, entry, work) {
    const button = h('button', {type: 'button', 'aria-label': `${label} dead letter ${entry.id}`}, label);
    button.addEventListener('click', async () => {
      try {
        await busy(button, work);
        toast(`${label}: done`);
        report(problems, null);
        await load();
      } catch (error) {
        report(problems, error);
      }
    });
    return button;
  }

  await load();
}

/** Numbers as a definition list; nested objects as JSON. */
function figures(report) {
  return h('dl', {class: 'figures'}, Object.entries(report).map(([name, value]) => [
    h('dt', {}, name), h('dd', {}, typeof value === 'object' && value !== null ? json(value) : String(value))]));
}
