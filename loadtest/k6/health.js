// GET /health. Usage: k6 run -e PROFILE=smoke loadtest/k6/health.js
import http from 'k6/http';
import { check } from 'k6';
import { BASE, scenario, thresholds } from './common.js';

export const options = {
  scenarios: { health: scenario('health') },
  thresholds: thresholds({ http_req_duration: ['p(95)<20'], http_req_failed: ['rate<0.01'] }),
};

export function health() {
  check(http.get(`${BASE}/health`), { 'status 200': (r) => r.status === 200 });
}
