// Runs: the agent's recent runs, newest first, each opening its conversation's timeline.

import {get} from '../api.js';
import {errorBox, h, heading, link, table, when} from '../view.js';

export async function render(root) {
  root.append(heading('Runs'));
  try {
    const page = await get('/api/v1/runs', {limit: 100});
    root.append(table([
      {label: 'Run', cell: (run) => h('code', {}, run.id.slice(-12))},
      {label: 'Status', cell: (run) => h('span', {class: `pill ${run.status}`}, run.status)},
      {label: 'Started', cell: (run) => when(run.startedAt, 'long')},
      {label: 'Took', cell: (run) => run.finishedAt ? `${new Date(run.finishedAt) - new Date(run.startedAt)} ms` : '…'},
      {label: 'Tokens', cell: (run) => run.usage ? `${run.usage.promptTokens ?? 0} + ${run.usage.completionTokens ?? 0}` : ''},
      {label: 'Error', cell: (run) => run.error || ''},
      {label: 'Conversation', cell: (run) => link(`conversations/${run.conversationId}`, 'Open')},
    ], page.data));
  } catch (error) {
    root.append(errorBox(error));
  }
}
