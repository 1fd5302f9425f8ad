// Platform, for platform admins: each adapter's state, traffic and latency on this node
// (/adapters/status, refreshed every few seconds) and the database's metrics.

import {get} from '../api.js';
import {errorBox, h, heading, table} from '../view.js';

export async function render(root) {
  const adapters = h('section', {'aria-labelledby': 'adapters-title'});
  const database = h('section', {'aria-labelledby': 'database-title'});
  root.append(heading('Platform'), adapters, database);
  async function load() {
    try {
      const status = await get('/adapters/status');
      const rows = Array.isArray(status) ? status : (status.adapters || Object.entries(status).map(([name, value]) => ({name, ...value})));
      adapters.replaceChildren(h('h2', {id: 'adapters-title'}, 'Adapters on this node'), table([
        {label: 'Adapter', cell: (row) => row.name || row.adapter},
        {label: 'State', cell: (row) => row.state},
        {label: 'Connections', cell: (row) => row.connections ?? '—'},
        {label: 'Requests', cell: (row) => row.requests},
        {label: '5xx', cell: (row) => row.errors},
        {label: '4xx', cell: (row) => row.clientErrors},
        {label: 'p50 / p95 / p99 ms', cell: (row) => row.latencyMs ? ['p50', 'p95', 'p99'].map((key) => row.latencyMs[key] ?? '–').join(' / ') : '–'},
      ], rows));
    } catch (error) {
      adapters.replaceChildren(errorBox(error));
    }
  }
  try {
    const metrics = await get('/admin/database/metrics');
    const pool = metrics.pool || {};
    database.append(h('h2', {id: 'database-title'}, 'Database'),
      h('p', {}, `${metrics.backend} · connections: ${pool.size ?? '–'} open, ${pool.idle ?? '–'} idle, at most ${pool.max ?? '–'}`),
      table([
        {label: 'Table', cell: (row) => row.name},
        {label: 'Rows', cell: (row) => row.rows.toLocaleString()},
        {label: 'Size', cell: (row) => (row.bytes === null || row.bytes === undefined ? '–' : `${(row.bytes / 1024).toFixed(0)} KB`)},
      ], metrics.tables || [], 'Tables'),
      metrics.slowestQueries ? table([
        {label: 'Query', cell: (row) => h('code', {}, row.query)},
        {label: 'Calls', cell: (row) => row.calls},
        {label: 'Mean ms', cell: (row) => row.meanMs.toFixed(2)},
      ], metrics.slowestQueries, 'Slowest queries') : null);
  } catch (error) {
    database.append(errorBox(error));
  }
  await load();
  const timer = setInterval(load, 5000);
  return () => clearInterval(timer);
}
