// The REST mix of `switchboard loadtest --scenario rest`: create conversation 10%, post message
// 30%, list messages 30%, search 10%, list conversations (with unread counts) 20%.
// Usage: k6 run -e PROFILE=average -e SWITCHBOARD_ADMIN_PASSWORD=… loadtest/k6/rest.js
import http from 'k6/http';
import { check } from 'k6';
import { BASE, headers, login, scenario, seed, thresholds } from './common.js';

const WORDS = ['invoice', 'delivery', 'refund', 'appointment'];

export const options = {
  scenarios: { rest: scenario('mix') },
  thresholds: thresholds({ http_req_duration: ['p(95)<200'], http_req_failed: ['rate<0.01'] }),
};

export function setup() {
  return seed(login(), { numbers: 1, conversations: Number(__ENV.REST_CONVERSATIONS || 50) });
}

export function mix(data) {
  const auth = headers(data.token);
  const pick = data.rest[Math.floor(Math.random() * data.rest.length)];
  const roll = Math.random() * 100;
  let response;
  if (roll < 10) {
    response = http.post(`${BASE}/api/v1/conversations`, JSON.stringify({
      channelId: data.channels[0].id, contactId: pick.contact }), { ...auth, tags: { name: 'create_conversation' } });
    check(response, { created: (r) => r.status === 201 });
  } else if (roll < 40) {
    const word = WORDS[Math.floor(Math.random() * WORDS.length)];
    response = http.post(`${BASE}/api/v1/conversations/${pick.conversation}/messages`,
      JSON.stringify({ text: `k6 message about the ${word}` }), { ...auth, tags: { name: 'post_message' } });
    check(response, { created: (r) => r.status === 201 });
  } else if (roll < 70) {
    response = http.get(`${BASE}/api/v1/conversations/${pick.conversation}/messages?limit=20`,
      { ...auth, tags: { name: 'list_messages' } });
    check(response, { ok: (r) => r.status === 200 });
  } else if (roll < 80) {
    const word = WORDS[Math.floor(Math.random() * WORDS.length)];
    response = http.get(`${BASE}/api/v1/search/messages?q=${word}&limit=20`, { ...auth, tags: { name: 'search' } });
    check(response, { ok: (r) => r.status === 200 });
  } else {
    response = http.get(`${BASE}/api/v1/conversations?limit=20`, { ...auth, tags: { name: 'list_conversations' } });
    check(response, { ok: (r) => r.status === 200 });
  }
}
