// Signed WhatsApp webhooks from CONTACTS contacts over BUSINESS_NUMBERS numbers; ack latency.
// Usage: k6 run -e PROFILE=average -e SWITCHBOARD_ADMIN_PASSWORD=… loadtest/k6/webhook.js
import { check } from 'k6';
import exec from 'k6/execution';
import { login, scenario, seed, thresholds, webhook } from './common.js';

const CONTACTS = Number(__ENV.CONTACTS || 100);

export const options = {
  scenarios: { webhook: scenario('send') },
  thresholds: thresholds({ 'http_req_duration{name:webhook}': ['p(95)<200'], http_req_failed: ['rate<0.05'] }),
};

export function setup() {
  return seed(login());
}

export function send(data) {
  // Each VU owns the contacts ≡ its id (mod VUs) and sends their messages one at a time.
  const vu = exec.vu.idInTest - 1;
  const vus = Math.max(1, exec.instance.vusInitialized);
  const iteration = exec.vu.iterationInScenario;
  const mine = Math.max(1, Math.ceil((CONTACTS - vu) / vus));
  const contact = vu + (iteration % mine) * vus;
  const response = webhook(data, contact, Math.floor(iteration / mine));
  check(response, { 'acknowledged': (r) => r.status === 200 });
}
