// Local fakes of the providers the gateway talks to, answering as the real ones do: WhatsApp's
// Graph API (sends), and a Twilio-Voice-shaped provider (Calls.json dials, then signed status
// callbacks when the test says how a call ended). Each records what it received.

const http = require('node:http');
const crypto = require('node:crypto');

function listen(handler) {
  return new Promise((resolve) => {
    const server = http.createServer((request, response) => {
      const chunks = [];
      request.on('data', (chunk) => chunks.push(chunk));
      request.on('end', () => handler(request, Buffer.concat(chunks).toString('utf8'), response));
    });
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

function reply(response, status, body) {
  response.writeHead(status, {'content-type': 'application/json'});
  response.end(JSON.stringify(body));
}

/** WhatsApp Cloud API: `POST /{phoneNumberId}/messages`. Recipients in `failing` get a 500. */
async function startWhatsapp() {
  const fake = {sends: [], failing: new Set(), waiters: []};
  let sequence = 0;
  const server = await listen((request, raw, response) => {
    const body = raw ? JSON.parse(raw) : {};
    if (fake.failing.has(body.to)) {
      return reply(response, 500, {error: {message: 'fake outage', type: 'OAuthException', code: 2, fbtrace_id: 'fake'}});
    }
    sequence += 1;
    fake.sends.push({path: request.url, authorization: request.headers.authorization, body});
    fake.waiters = fake.waiters.filter((waiter) => !waiter());
    reply(response, 200, {messaging_product: 'whatsapp', contacts: [{input: body.to, wa_id: body.to}], messages: [{id: `wamid.fake${sequence}`}]});
  });
  fake.url = `http://127.0.0.1:${server.address().port}`;
  fake.close = () => server.close();
  /** Resolves with the first send matching `predicate`, now or later. */
  fake.waitFor = (predicate, timeout = 15000) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the WhatsApp fake received no matching send')), timeout);
    const check = () => {
      const found = fake.sends.find((send) => predicate(send.body));
      if (found) { clearTimeout(timer); resolve(found); return true; }
      return false;
    };
    if (!check()) fake.waiters.push(check);
  });
  return fake;
}

/** The `X-Twilio-Signature` of a form posted to `url`. */
function twilioSignature(authToken, url, params) {
  const data = Object.keys(params).sort().reduce((text, name) => text + name + params[name], url);
  return crypto.createHmac('sha1', authToken).update(data).digest('base64');
}

/** A Twilio-Voice-shaped provider: `POST /2010-04-01/Accounts/{sid}/Calls.json`. */
async function startVoice(accountSid, authToken) {
  const fake = {dials: []};
  const expected = `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`;
  const server = await listen((request, raw, response) => {
    if (request.headers.authorization !== expected) {
      return reply(response, 401, {code: 20003, message: 'Authenticate', status: 401});
    }
    const form = Object.fromEntries(new URLSearchParams(raw));
    const sid = `CA${crypto.randomBytes(16).toString('hex')}`;
    if (request.method === 'POST' && request.url.endsWith('/Calls.json')) {
      if (!form.To || !form.StatusCallback) {
        return reply(response, 400, {code: 21201, message: 'To and StatusCallback are required', status: 400});
      }
      const call = {sid, account_sid: accountSid, status: 'queued', to: form.To, from: form.From, duration: null, answered_by: null};
      fake.dials.push({...call, callback: form.StatusCallback, sequence: 0});
      return reply(response, 201, call);
    }
    const known = fake.dials.find((dial) => request.url.includes(dial.sid));
    if (known) return reply(response, 200, {sid: known.sid, account_sid: accountSid, status: known.status, to: known.to});
    reply(response, 404, {code: 20404, message: 'not found', status: 404});
  });
  fake.url = `http://127.0.0.1:${server.address().port}`;
  fake.close = () => server.close();
  /** Posts the signed status callbacks of a call that rang, was answered and lasted `seconds`. */
  fake.complete = async (dial, seconds = 42) => {
    for (const [status, extra] of [['ringing', {}], ['in-progress', {AnsweredBy: 'human'}], ['completed', {CallDuration: String(seconds), AnsweredBy: 'human'}]]) {
      dial.sequence += 1;
      dial.status = status;
      const params = {AccountSid: accountSid, CallSid: dial.sid, CallStatus: status, SequenceNumber: String(dial.sequence), To: dial.to, ...extra};
      const answer = await fetch(dial.callback, {method: 'POST', body: new URLSearchParams(params),
        headers: {'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twilioSignature(authToken, dial.callback, params)}});
      if (!answer.ok) throw new Error(`the status callback was refused: ${answer.status} ${await answer.text()}`);
    }
  };
  return fake;
}

/** Posts a WhatsApp webhook with one text message, signed with the app secret. */
async function postWhatsappMessage(baseUrl, channelId, appSecret, phoneNumberId, from, name, text) {
  const id = `wamid.in${crypto.randomBytes(8).toString('hex')}`;
  const body = JSON.stringify({object: 'whatsapp_business_account', entry: [{id: 'waba', changes: [{field: 'messages', value: {
    messaging_product: 'whatsapp', metadata: {display_phone_number: '15550000000', phone_number_id: phoneNumberId},
    contacts: [{profile: {name}, wa_id: from}],
    messages: [{from, id, timestamp: String(Math.floor(Date.now() / 1000)), type: 'text', text: {body: text}}]}}]}]});
  const signature = `sha256=${crypto.createHmac('sha256', appSecret).update(body).digest('hex')}`;
  const response = await fetch(`${baseUrl}/webhooks/whatsapp/${channelId}`, {method: 'POST', body,
    headers: {'content-type': 'application/json', 'x-hub-signature-256': signature}});
  if (response.status !== 200) throw new Error(`the webhook was refused: ${response.status} ${await response.text()}`);
  return id;
}

module.exports = {startWhatsapp, startVoice, postWhatsappMessage};
