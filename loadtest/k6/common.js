// Shared by the Switchboard k6 scripts: the profiles of `switchboard loadtest`, login, seeding
// through the public API, and signed WhatsApp Cloud API webhook bodies.
//
// Environment:
//   SWITCHBOARD_URL        target base URL (default http://127.0.0.1:3000)
//   SWITCHBOARD_ADMIN_USERNAME / SWITCHBOARD_ADMIN_PASSWORD   a platform admin (or tenant admin)
//   PROFILE                smoke | average | stress | spike | soak | breakpoint (default smoke)
//   VUS, DURATION, RATE    override the profile (RATE switches to an open model, arrivals/s)
//   BUSINESS_NUMBERS, CONTACTS   webhook traffic shape (default 10 numbers, 100 contacts)
//   PROVIDER_URL           the channels' apiBaseUrl (default: the target itself, where sends
//                          get 404 and are refused without retries; k6 cannot serve a fake
//                          provider, so e2e here measures "reply stored", not "reply delivered")

import http from 'k6/http';
import crypto from 'k6/crypto';
import { check, fail } from 'k6';

export const BASE = (__ENV.SWITCHBOARD_URL || 'http://127.0.0.1:3000').replace(/\/$/, '');
const PROFILE = __ENV.PROFILE || 'smoke';

const PROFILES = {
  smoke: { vus: 1, duration: '30s' },
  average: { vus: 10, duration: '5m' },
  stress: { vus: 50, duration: '10m' },
  soak: { vus: 20, duration: '1h' },
  spike: { stages: [{ duration: '10s', target: 100 }, { duration: '70s', target: 100 }, { duration: '10s', target: 1 }] },
};

// The k6 `scenarios` entry for the chosen profile, running `exec`.
export function scenario(exec) {
  if (PROFILE === 'breakpoint') {
    // Ramp the arrival rate; `abortOnFail` thresholds stop the test where it breaks.
    const start = Number(__ENV.RATE || 100);
    return {
      executor: 'ramping-arrival-rate', exec, startRate: start, timeUnit: '1s',
      preAllocatedVUs: 50, maxVUs: 2000,
      stages: [{ duration: __ENV.DURATION || '10m', target: start * 100 }],
    };
  }
  if (__ENV.RATE) {
    return {
      executor: 'constant-arrival-rate', exec, rate: Number(__ENV.RATE), timeUnit: '1s',
      duration: __ENV.DURATION || (PROFILES[PROFILE] || PROFILES.smoke).duration || '30s',
      preAllocatedVUs: Number(__ENV.VUS || 50), maxVUs: 2000,
    };
  }
  const profile = PROFILES[PROFILE] || fail(`unknown PROFILE ${PROFILE}`);
  if (profile.stages) {
    return { executor: 'ramping-vus', exec, startVUs: 1, stages: profile.stages };
  }
  return {
    executor: 'constant-vus', exec,
    vus: Number(__ENV.VUS || profile.vus), duration: __ENV.DURATION || profile.duration,
  };
}

// Thresholds abort a breakpoint run once they break.
export function thresholds(list) {
  const abortOnFail = PROFILE === 'breakpoint';
  const result = {};
  for (const [metric, expressions] of Object.entries(list)) {
    result[metric] = expressions.map((threshold) => ({ threshold, abortOnFail }));
  }
  return result;
}

export function login() {
  const response = http.post(`${BASE}/auth/login`, JSON.stringify({
    username: __ENV.SWITCHBOARD_ADMIN_USERNAME || 'admin',
    password: __ENV.SWITCHBOARD_ADMIN_PASSWORD || fail('set SWITCHBOARD_ADMIN_PASSWORD'),
  }), { headers: { 'content-type': 'application/json' } });
  check(response, { 'logged in': (r) => r.status === 200 }) || fail(`login: ${response.status} ${response.body}`);
  return response.json('tokens.accessToken');
}

export function headers(token) {
  return { headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } };
}

function created(response, what) {
  if (response.status !== 201 && response.status !== 200) {
    fail(`${what}: ${response.status} ${response.body}`);
  }
  return response.json();
}

// Seeds an echo agent, credits, WhatsApp channels and REST conversations; returns what the
// iterations need (k6 passes setup()'s result to every VU).
export function seed(token, { numbers = Number(__ENV.BUSINESS_NUMBERS || 10), conversations = 0 } = {}) {
  const run = `${Date.now() % 100000}`;
  const auth = headers(token);
  const agent = created(http.post(`${BASE}/api/v1/agents`,
    JSON.stringify({ name: `k6-echo-${run}`, kind: 'echo' }), auth), 'agent');
  created(http.post(`${BASE}/api/v1/credits/grants`, JSON.stringify({
    amount: 1000000000, reason: 'k6', idempotencyKey: `k6-${run}` }), auth), 'credits');
  const provider = __ENV.PROVIDER_URL || `${BASE}/k6-provider`;
  const channels = [];
  for (let index = 0; index < numbers; index++) {
    const phoneNumberId = `8${run.padStart(5, '0')}${String(index).padStart(3, '0')}`;
    const appSecret = `k6-secret-${run}-${index}`;
    const channel = created(http.post(`${BASE}/api/v1/channels`, JSON.stringify({
      kind: 'whatsapp', name: `k6 ${run} #${index}`, agentId: agent.id,
      config: { phoneNumberId, appSecret, verifyToken: 'k6', accessToken: 'k6', apiBaseUrl: provider },
    }), auth), 'channel');
    channels.push({ id: channel.id, phoneNumberId, appSecret });
  }
  const rest = [];
  for (let index = 0; index < conversations; index++) {
    const contact = created(http.post(`${BASE}/api/v1/contacts`, JSON.stringify({
      name: `k6 contact ${index}`, externalId: `k6-${run}-${index}` }), auth), 'contact');
    const conversation = created(http.post(`${BASE}/api/v1/conversations`, JSON.stringify({
      channelId: channels[0].id, contactId: contact.id }), auth), 'conversation');
    http.post(`${BASE}/api/v1/conversations/${conversation.id}/messages`,
      JSON.stringify({ text: `seed message about the invoice for contact ${index}` }), auth);
    rest.push({ contact: contact.id, conversation: conversation.id });
  }
  return { run, token, channels, rest };
}

// A signed WhatsApp Cloud API webhook from contact `contact` (writing to number contact % M).
export function webhook(data, contact, seq) {
  const channel = data.channels[contact % data.channels.length];
  const from = `45${data.run.padStart(5, '0')}${String(contact).padStart(6, '0')}`;
  const text = `k6-${data.run}-${contact}-${seq}`;
  const body = JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [{ id: channel.phoneNumberId, changes: [{ field: 'messages', value: {
      messaging_product: 'whatsapp',
      metadata: { display_phone_number: channel.phoneNumberId, phone_number_id: channel.phoneNumberId },
      contacts: [{ profile: { name: `k6 ${contact}` }, wa_id: from }],
      messages: [{ from, id: `wamid.${text}`, timestamp: `${Math.floor(Date.now() / 1000)}`,
        type: 'text', text: { body: text } }],
    } }] }],
  });
  const signature = `sha256=${crypto.hmac('sha256', channel.appSecret, body, 'hex')}`;
  return http.post(`${BASE}/webhooks/whatsapp/${channel.id}`, body, {
    headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature },
    tags: { name: 'webhook' },
  });
}
