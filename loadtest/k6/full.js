// Everything at once, weighted like `switchboard loadtest --scenario full`: 20% health, 40%
// webhooks, 40% REST — as three k6 scenarios sharing the profile's VUs in that proportion.
// Usage: k6 run -e PROFILE=average -e SWITCHBOARD_ADMIN_PASSWORD=… loadtest/k6/full.js
import { scenario, login, seed, thresholds } from './common.js';
import { health } from './health.js';
import { send } from './webhook.js';
import { mix } from './rest.js';

function share(exec, fraction) {
  const base = scenario(exec);
  for (const key of ['vus', 'preAllocatedVUs', 'rate', 'startRate']) {
    if (base[key]) base[key] = Math.max(1, Math.round(base[key] * fraction));
  }
  if (base.stages) base.stages = base.stages.map((s) => ({ ...s, target: Math.max(1, Math.round(s.target * fraction)) }));
  return base;
}

export const options = {
  scenarios: { health: share('health', 0.2), webhook: share('send', 0.4), rest: share('mix', 0.4) },
  thresholds: thresholds({ http_req_duration: ['p(95)<200'], http_req_failed: ['rate<0.01'] }),
};

export function setup() {
  return seed(login(), { conversations: 50 });
}

export { health, send, mix };
