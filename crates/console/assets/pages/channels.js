// Channels: the tenant's channels with the webhook URL each provider posts to, and the setup
// of a new one. WhatsApp's form shows, once created, the callback URL and verify token to
// paste into Meta's console; other kinds take their configuration as JSON.

import {all, post} from '../api.js';
import {busy, errorBox, field, h, heading, report, select, table, values, when} from '../view.js';

const examples = {
  twilio: {accountSid: 'AC…', authToken: '…', fromNumber: '+15550000000'},
  telegram: {botToken: '…', secretToken: '…'},
  api: {callbackUrl: 'https://app.example.com/switchboard'},
  voice: {accountSid: 'AC…', authToken: '…', fromNumber: '+15550000000', answerUrl: 'https://…'},
};

function webhookUrl(channel) {
  const path = channel.kind === 'voice' ? `voice/${channel.id}/status` : `${channel.kind}/${channel.id}`;
  return `${location.origin}/webhooks/${path}`;
}

export async function render(root) {
  const list = h('div');
  const problems = h('div', {'aria-live': 'assertive'});
  const created = h('div', {'aria-live': 'polite'});
  let agents = [];

  async function load() {
    try {
      const [channels, agentRows] = await Promise.all([all('/api/v1/channels'), all('/api/v1/agents')]);
      agents = agentRows;
      list.replaceChildren(table([
        {label: 'Name', cell: (channel) => channel.name},
        {label: 'Kind', cell: (channel) => channel.kind},
        {label: 'Agent', cell: (channel) => (agents.find((agent) => agent.id === channel.agentId) || {}).name || '—'},
        {label: 'Webhook URL', cell: (channel) => h('code', {}, webhookUrl(channel))},
        {label: 'Created', cell: (channel) => when(channel.createdAt)},
      ], channels));
    } catch (error) {
      list.replaceChildren(errorBox(error));
    }
  }
  await load();

  const agentChoices = () => [['', 'None'], ...agents.map((agent) => [agent.id, `${agent.name} (${agent.kind})`])];
  const whatsappButton = h('button', {type: 'submit', class: 'primary'}, 'Create WhatsApp channel');
  const whatsapp = h('form', {class: 'card', 'aria-labelledby': 'whatsapp-title'},
    h('h2', {id: 'whatsapp-title'}, 'Set up WhatsApp (Cloud API)'),
    field('Name', {name: 'name', required: true, value: 'WhatsApp'}),
    field('Agent', select('agentId', agentChoices())),
    field('Phone number id', {name: 'phoneNumberId', required: true}, 'From WhatsApp → API setup in Meta’s console'),
    field('Access token', {name: 'accessToken', required: true, type: 'password', autocomplete: 'off'}),
    field('App secret', {name: 'appSecret', required: true, type: 'password', autocomplete: 'off'}, 'Signs the webhooks Meta sends'),
    field('Verify token', {name: 'verifyToken', required: true, value: randomToken()}, 'Any string; paste it into Meta’s console too'),
    field('Graph API base URL (optional)', {name: 'apiBaseUrl', placeholder: 'https://graph.facebook.com/v21.0'}),
    whatsappButton);
  whatsapp.addEventListener('submit', async (event) => {
    event.preventDefault();
    const form = values(whatsapp);
    const config = {phoneNumberId: form.phoneNumberId, accessToken: form.accessToken, appSecret: form.appSecret, verifyToken: form.verifyToken};
    if (form.apiBaseUrl) config.apiBaseUrl = form.apiBaseUrl;
    try {
      const channel = await busy(whatsappButton, () => post('/api/v1/channels', {kind: 'whatsapp', name: form.name, agentId: form.agentId, config}));
      report(problems, null);
      created.replaceChildren(h('div', {class: 'card success', role: 'status'},
        h('h2', {}, `“${channel.name}” is ready`),
        h('p', {}, 'In Meta’s console, under WhatsApp → Configuration → Webhook, paste:'),
        h('dl', {class: 'figures'},
          h('dt', {}, 'Callback URL'), h('dd', {}, h('code', {class: 'webhook-url'}, webhookUrl(channel))),
          h('dt', {}, 'Verify token'), h('dd', {}, h('code', {class: 'verify-token'}, form.verifyToken))),
        h('p', {}, 'then subscribe to the “messages” field.')));
      whatsapp.reset();
      await load();
    } catch (error) {
      report(problems, error);
    }
  });

  const otherButton = h('button', {type: 'submit'}, 'Create channel');
  const kind = select('kind', Object.keys(examples).map((name) => [name, name]), 'twilio');
  const config = h('textarea', {name: 'config', rows: 5, class: 'code'}, JSON.stringify(examples.twilio, null, 2));
  kind.addEventListener('change', () => { config.value = JSON.stringify(examples[kind.value], null, 2); });
  const other = h('form', {class: 'card', 'aria-labelledby': 'other-title'},
    h('h2', {id: 'other-title'}, 'Other channels'),
    field('Kind', kind), field('Name', {name: 'name', required: true}), field('Agent', select('agentId', agentChoices())),
    field('Configuration (JSON)', config), otherButton);
  other.addEventListener('submit', async (event) => {
    event.preventDefault();
    const form = values(other);
    try {
      const channel = await busy(otherButton, () => post('/api/v1/channels', {kind: form.kind, name: form.name, agentId: form.agentId, config: JSON.parse(form.config || '{}')}));
      report(problems, null);
      created.replaceChildren(h('div', {class: 'card success', role: 'status'},
        h('p', {}, `“${channel.name}” created. Webhook URL: `, h('code', {}, webhookUrl(channel))),
        channel.signingSecret ? h('p', {}, 'Signing secret (shown once): ', h('code', {}, channel.signingSecret)) : null));
      await load();
    } catch (error) {
      report(problems, error instanceof SyntaxError ? {code: 'invalid_json', message: `The configuration is not JSON: ${error.message}`} : error);
    }
  });
  root.append(heading('Channels'), list, problems, created, h('div', {class: 'columns'}, whatsapp, other));
}

function randomToken() {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}
