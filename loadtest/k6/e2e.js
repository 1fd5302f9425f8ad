// Webhook → agent reply. k6 cannot host the fake WhatsApp provider the native harness uses, so
// here "end to end" is: webhook sent → the echo agent's reply is stored and visible over REST.
// Loss and order are checked per conversation (each VU owns one contact). For delivery to the
// provider and duplicate checks, use `switchboard loadtest --scenario e2e`.
// Usage: k6 run -e PROFILE=smoke -e SWITCHBOARD_ADMIN_PASSWORD=… loadtest/k6/e2e.js
import http from 'k6/http';
import { check, sleep } from 'k6';
import exec from 'k6/execution';
import { Counter, Trend } from 'k6/metrics';
import { BASE, headers, login, scenario, seed, thresholds, webhook } from './common.js';

const endToEnd = new Trend('e2e', true);
const lost = new Counter('lost');
const orderViolations = new Counter('order_violations');

export const options = {
  scenarios: { e2e: scenario('converse') },
  thresholds: thresholds({ e2e: ['p(95)<2000'], lost: ['count==0'], order_violations: ['count==0'] }),
};

export function setup() {
  return seed(login());
}

const conversationOf = {};

export function converse(data) {
  const contact = exec.vu.idInTest - 1;
  const seq = exec.vu.iterationInScenario;
  const sent = Date.now();
  const response = webhook(data, contact, seq);
  if (!check(response, { 'acknowledged': (r) => r.status === 200 })) {
    return;
  }
  const auth = headers(data.token);
  const from = `45${data.run.padStart(5, '0')}${String(contact).padStart(6, '0')}`;
  for (let attempt = 0; attempt < 200; attempt++) {
    if (!conversationOf[contact]) {
      const contacts = http.get(`${BASE}/api/v1/contacts?phone=%2B${from}`, auth).json('data') || [];
      if (contacts.length) {
        const list = http.get(`${BASE}/api/v1/conversations?contactId=${contacts[0].id}`, auth).json('data') || [];
        if (list.length) conversationOf[contact] = list[0].id;
      }
    }
    if (conversationOf[contact]) {
      const messages = http.get(`${BASE}/api/v1/conversations/${conversationOf[contact]}/messages?limit=20`,
        auth).json('data') || [];
      const replies = messages.filter((m) => m.direction === 'outbound' && (m.text || '').includes(`-${contact}-`));
      const mine = replies.filter((m) => (m.text || '').split('\n').includes(`k6-${data.run}-${contact}-${seq}`));
      if (mine.length) {
        endToEnd.add(Date.now() - sent);
        // Newest first: the newest reply must answer this message or a later one.
        const newest = (replies[0].text || '').split('\n').pop();
        if (Number(newest.split('-').pop()) < seq) orderViolations.add(1);
        return;
      }
    }
    sleep(0.05);
  }
  lost.add(1);
}
