// Agents: the tenant's agents and a form for a new one (kind and its configuration as JSON;
// the API names the field it refuses).

import {all, post} from '../api.js';
import {busy, errorBox, field, h, heading, json, report, select, table, values, when} from '../view.js';

const examples = {
  echo: {},
  scripted: {rules: [{match: {keywords: ['human']}, handoff: true, reply: 'Passing you to a person.'}], fallback: 'You said: {{message.text}}'},
  openai: {model: 'gpt-4o-mini', baseUrl: 'https://api.openai.com/v1', apiKey: '…', systemPrompt: 'You are helpful.', tools: ['get_time']},
  http: {url: 'https://bot.example.com/switchboard'},
};

export async function render(root) {
  const list = h('div');
  const problems = h('div', {'aria-live': 'assertive'});
  async function load() {
    try {
      list.replaceChildren(table([
        {label: 'Name', cell: (agent) => agent.name},
        {label: 'Kind', cell: (agent) => agent.kind},
        {label: 'Cost per run', cell: (agent) => agent.costPerRun},
        {label: 'Configuration', cell: (agent) => h('details', {}, h('summary', {}, 'Show'), json(agent.config))},
        {label: 'Created', cell: (agent) => when(agent.createdAt)},
      ], await all('/api/v1/agents')));
    } catch (error) {
      list.replaceChildren(errorBox(error));
    }
  }
  const kind = select('kind', Object.keys(examples).map((name) => [name, name]), 'scripted');
  const config = h('textarea', {name: 'config', rows: 7, class: 'code'}, JSON.stringify(examples.scripted, null, 2));
  kind.addEventListener('change', () => { config.value = JSON.stringify(examples[kind.value], null, 2); });
  const button = h('button', {type: 'submit', class: 'primary'}, 'Create agent');
  const form = h('form', {class: 'card', 'aria-labelledby': 'new-agent'}, h('h2', {id: 'new-agent'}, 'New agent'),
    field('Name', {name: 'name', required: true}), field('Kind', kind),
    field('Cost per run (credits)', {name: 'costPerRun', type: 'number', min: 0, value: 1}),
    field('Configuration (JSON)', config), button);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const data = values(form);
    try {
      const body = {name: data.name, kind: data.kind, config: JSON.parse(data.config || '{}'), costPerRun: Number(data.costPerRun || 1)};
      await busy(button, () => post('/api/v1/agents', body));
      report(problems, null);
      form.reset();
      await load();
    } catch (error) {
      report(problems, error instanceof SyntaxError ? {code: 'invalid_json', message: `The configuration is not JSON: ${error.message}`} : error);
    }
  });
  root.append(heading('Agents'), list, problems, form);
  await load();
}
