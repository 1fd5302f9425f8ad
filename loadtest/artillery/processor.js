// Helpers for the Switchboard Artillery scripts: seeding through the public API (run once in
// `before`), signed WhatsApp Cloud API webhook bodies, the REST and GraphQL mixes' choices, and
// the judging of GraphQL answers.
//
// Environment: SWITCHBOARD_URL (default http://127.0.0.1:3000), SWITCHBOARD_ADMIN_USERNAME,
// SWITCHBOARD_ADMIN_PASSWORD, BUSINESS_NUMBERS (10), CONTACTS (100), REST_CONVERSATIONS (50),
// PROVIDER_URL (the channels' apiBaseUrl; default the target itself, where sends get 404 and
// are refused without retries — Artillery cannot host the fake provider the native harness uses).

'use strict';

const crypto = require('node:crypto');

const BASE = (process.env.SWITCHBOARD_URL || 'http://127.0.0.1:3000').replace(/\/$/, '');
const WORDS = ['invoice', 'delivery', 'refund', 'appointment'];

async function call(method, path, token, body) {
  const response = await fetch(`${BASE}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) {
    throw new Error(`${method} ${path}: ${response.status} ${text}`);
  }
  return text ? JSON.parse(text) : {};
}

// `before` step of the WebSocket script: an access token and the `ws://` address.
async function logIn(context) {
  const login = await call('POST', '/auth/login', null, {
    username: process.env.SWITCHBOARD_ADMIN_USERNAME || 'admin',
    password: process.env.SWITCHBOARD_ADMIN_PASSWORD,
  });
  context.vars.token = login.tokens.accessToken;
  context.vars.wsUrl = BASE.replace(/^http/, 'ws');
}

// WebSocket steps: subscribe to a broadcast stream of this virtual user's own, then publish 20
// events, each timed (`ws.round_trip`) until it comes back. Frames are read by our own handler,
// so the `authenticated` frame, which may arrive before any step runs, is simply skipped.
async function wsRoundTrips(context, events) {
  const ws = context.ws;
  const stream = `broadcast:artillery-${WORKER}-${crypto.randomBytes(4).toString('hex')}`;
  const total = 20;
  await new Promise((resolve, reject) => {
    let published = 0;
    let sentAt = 0;
    const finish = (error) => {
      clearTimeout(timer);
      ws.removeListener('message', onMessage);
      return error ? reject(error) : resolve();
    };
    const timer = setTimeout(() => finish(new Error(`timed out after ${published} events`)), 10000);
    const publish = () => {
      published += 1;
      sentAt = Date.now();
      ws.send(JSON.stringify({ type: 'publish', stream, data: { n: published } }));
    };
    const onMessage = (data) => {
      const frame = JSON.parse(data);
      if (frame.type === 'subscribed') {
        publish();
      } else if (frame.type === 'event' && frame.event.data.n === published) {
        events.emit('histogram', 'ws.round_trip', Date.now() - sentAt);
        return published >= total ? finish() : publish();
      } else if (frame.type === 'error') {
        finish(new Error(`${frame.code}: ${frame.message}`));
      }
      return undefined;
    };
    ws.on('message', onMessage);
    ws.send(JSON.stringify({ type: 'subscribe', stream }));
  });
}

// `before` step: log in, create an echo agent, credits, WhatsApp channels and REST conversations.
async function seed(context) {
  const login = await call('POST', '/auth/login', null, {
    username: process.env.SWITCHBOARD_ADMIN_USERNAME || 'admin',
    password: process.env.SWITCHBOARD_ADMIN_PASSWORD,
  });
  const token = login.tokens.accessToken;
  const run = `${Date.now() % 100000}`.padStart(5, '0');
  const agent = await call('POST', '/api/v1/agents', token, { name: `artillery-echo-${run}`, kind: 'echo' });
  await call('POST', '/api/v1/credits/grants', token, {
    amount: 1000000000, reason: 'artillery', idempotencyKey: `artillery-${run}` });
  const provider = process.env.PROVIDER_URL || `${BASE}/artillery-provider`;
  const channels = [];
  const numbers = Number(process.env.BUSINESS_NUMBERS || 10);
  for (let index = 0; index < numbers; index++) {
    const phoneNumberId = `7${run}${String(index).padStart(3, '0')}`;
    const appSecret = crypto.randomBytes(16).toString('hex');
    const channel = await call('POST', '/api/v1/channels', token, {
      kind: 'whatsapp', name: `artillery ${run} #${index}`, agentId: agent.id,
      config: { phoneNumberId, appSecret, verifyToken: 'artillery', accessToken: 'artillery', apiBaseUrl: provider },
    });
    channels.push({ id: channel.id, phoneNumberId, appSecret });
  }
  const conversations = [];
  const contacts = [];
  for (let index = 0; index < Number(process.env.REST_CONVERSATIONS || 50); index++) {
    const contact = await call('POST', '/api/v1/contacts', token, {
      name: `artillery contact ${index}`, externalId: `artillery-${run}-${index}` });
    const conversation = await call('POST', '/api/v1/conversations', token, {
      channelId: channels[0].id, contactId: contact.id });
    await call('POST', `/api/v1/conversations/${conversation.id}/messages`, token, {
      text: `seed message about the ${WORDS[index % WORDS.length]} for contact ${index}` });
    contacts.push(contact.id);
    conversations.push(conversation.id);
  }
  // Variables set in `before` are copied into every virtual user.
  context.vars.token = token;
  context.vars.run = run;
  context.vars.channelsJson = JSON.stringify(channels);
  context.vars.contactsJson = JSON.stringify(contacts);
  context.vars.conversationsJson = JSON.stringify(conversations);
  context.vars.firstChannel = channels[0].id;
}

// Artillery may run several worker processes: each numbers its messages under its own prefix.
const WORKER = crypto.randomBytes(3).toString('hex');
let nextContact = 0;
const nextSeq = new Map();

// beforeRequest hook: the next simulated contact's next message, signed with its channel's secret.
function signWebhook(request, context, events, done) {
  const channels = JSON.parse(context.vars.channelsJson);
  const contacts = Number(process.env.CONTACTS || 100);
  const contact = nextContact++ % contacts;
  const seq = nextSeq.get(contact) || 0;
  nextSeq.set(contact, seq + 1);
  const channel = channels[contact % channels.length];
  const from = `46${context.vars.run}${String(contact).padStart(6, '0')}`;
  const text = `artillery-${context.vars.run}-${WORKER}-${contact}-${seq}`;
  const body = JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [{ id: channel.phoneNumberId, changes: [{ field: 'messages', value: {
      messaging_product: 'whatsapp',
      metadata: { display_phone_number: channel.phoneNumberId, phone_number_id: channel.phoneNumberId },
      contacts: [{ profile: { name: `artillery ${contact}` }, wa_id: from }],
      messages: [{ from, id: `wamid.${text}`, timestamp: `${Math.floor(Date.now() / 1000)}`,
        type: 'text', text: { body: text } }],
    } }] }],
  });
  request.url = `/webhooks/whatsapp/${channel.id}`;
  request.body = body;
  request.headers = {
    ...(request.headers || {}),
    'content-type': 'application/json',
    'x-hub-signature-256': `sha256=${crypto.createHmac('sha256', channel.appSecret).update(body).digest('hex')}`,
  };
  return done();
}

// Function step: picks a conversation, a contact and a search word for the REST mix.
function pickRest(context, events, done) {
  const pick = (json) => {
    const list = JSON.parse(json);
    return list[Math.floor(Math.random() * list.length)];
  };
  context.vars.conversation = pick(context.vars.conversationsJson);
  context.vars.contact = pick(context.vars.contactsJson);
  context.vars.word = WORDS[Math.floor(Math.random() * WORDS.length)];
  return done();
}

// afterResponse hook of the GraphQL script: GraphQL reports most failures inside a 200, so an
// answer whose `errors` list is not empty fails the request (counted as `errors.graphql <code>`).
function graphqlAnswer(request, response, context, events, done) {
  let answer;
  try {
    answer = JSON.parse(response.body);
  } catch (error) {
    return done(new Error('graphql answer that is not JSON'));
  }
  if (Array.isArray(answer.errors) && answer.errors.length > 0) {
    const code = (answer.errors[0].extensions || {}).code || 'error';
    return done(new Error(`graphql ${code}`));
  }
  return done();
}

// afterResponse hook of the MCP script: a tool that ran and failed answers a 200 with
// `isError: true`, and a JSON-RPC error may come in a 200 too, so either fails the request
// (counted as `errors.mcp <code>` or `errors.mcp tool error`).
function mcpAnswer(request, response, context, events, done) {
  let answer;
  try {
    answer = JSON.parse(response.body);
  } catch (error) {
    return done(new Error('mcp answer that is not JSON'));
  }
  if (answer.error) {
    return done(new Error(`mcp ${answer.error.code}`));
  }
  if (!answer.result || answer.result.isError) {
    return done(new Error('mcp tool error'));
  }
  return done();
}

module.exports = { seed, logIn, wsRoundTrips, signWebhook, pickRest, graphqlAnswer, mcpAnswer };
