// Analytics: the period's totals beside the period before, a count series and a percentile
// series over time (bucketed in the operator's zone), and CSV exports of each.

import {get, send} from '../api.js';
import {lineChart} from '../charts.js';
import {busy, errorBox, field, h, heading, report, select, table, timeZone} from '../view.js';

const counts = ['messagesInbound', 'messagesOutbound', 'conversationsOpened', 'conversationsResolved', 'handoffs', 'runsCompleted', 'runsFailed', 'toolCalls', 'creditsSpent'];
const durations = ['agentLatencyMs', 'queueWaitMs', 'webhookAckMs', 'firstResponseSeconds', 'resolutionSeconds'];
const ranges = {day: [24 * 3600e3, 'hour'], week: [7 * 24 * 3600e3, 'day'], month: [30 * 24 * 3600e3, 'day'], hour: [3600e3, 'minute']};

export async function render(root) {
  const problems = h('div', {'aria-live': 'assertive'});
  const output = h('div', {'aria-live': 'polite'});
  const controls = h('form', {class: 'filters', 'aria-label': 'Analytics'},
    field('Period', select('range', [['hour', 'Last hour'], ['day', 'Last 24 hours'], ['week', 'Last 7 days'], ['month', 'Last 30 days']], 'day')),
    field('Count', select('count', counts.map((name) => [name, name]), 'messagesInbound')),
    field('Duration', select('duration', durations.map((name) => [name, name]), 'agentLatencyMs')));
  const exportButton = h('button', {type: 'button'}, 'Export CSV');
  root.append(heading('Analytics', exportButton), controls, problems, output);

  function period() {
    const data = new FormData(controls);
    const [length, interval] = ranges[data.get('range')];
    const to = new Date(Math.ceil(Date.now() / 60000) * 60000);
    return {from: new Date(to - length).toISOString(), to: to.toISOString(), interval, count: data.get('count'), duration: data.get('duration')};
  }

  async function load() {
    const chosen = period();
    const common = {from: chosen.from, to: chosen.to, interval: chosen.interval, timezone: timeZone()};
    try {
      const [summary, countSeries, durationSeries] = await Promise.all([
        get('/api/v1/analytics/summary', {from: chosen.from, to: chosen.to}),
        get('/api/v1/analytics/series', {...common, metric: chosen.count}),
        get('/api/v1/analytics/series', {...common, metric: chosen.duration})]);
      const label = (start) => start.slice(chosen.interval === 'day' ? 5 : 11, chosen.interval === 'day' ? 10 : 16);
      output.replaceChildren(
        comparison(summary),
        h('div', {class: 'columns'},
          lineChart(`${chosen.count} per ${chosen.interval}`, [{name: chosen.count, points: countSeries.data.map((point) => ({x: label(point.start), y: point.value}))}]),
          lineChart(`${chosen.duration} percentiles per ${chosen.interval}`, ['p50', 'p95', 'p99'].map((quantile) => ({
            name: quantile, points: durationSeries.data.map((point) => ({x: label(point.start), y: point.value ? point.value[quantile] : null}))})))));
      report(problems, null);
    } catch (error) {
      output.replaceChildren(errorBox(error));
    }
  }

  exportButton.addEventListener('click', () => busy(exportButton, async () => {
    const chosen = period();
    try {
      const response = await send('GET', '/api/v1/analytics/series', {accept: 'text/csv', raw: true,
        query: {from: chosen.from, to: chosen.to, interval: chosen.interval, timezone: timeZone(), metric: chosen.count}});
      const url = URL.createObjectURL(await response.blob());
      const anchor = h('a', {href: url, download: `${chosen.count}-${chosen.interval}.csv`});
      document.body.append(anchor);
      anchor.click();
      anchor.remove();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    } catch (error) {
      report(problems, error);
    }
  }));
  controls.addEventListener('change', load);
  await load();
}

function comparison(summary) {
  const rows = [...counts, 'handoffRate'].map((name) => ({name, current: summary.current[name], previous: summary.previous[name]}))
    .concat(durations.map((name) => ({name: `${name} p95`, current: summary.current[name].p95, previous: summary.previous[name].p95})));
  const format = (value) => value === null || value === undefined ? '–' : (Number.isInteger(value) ? value : value.toFixed(2));
  return table([
    {label: 'Metric', cell: (row) => row.name},
    {label: 'This period', cell: (row) => format(row.current)},
    {label: 'Period before', cell: (row) => format(row.previous)},
    {label: 'Change', cell: (row) => change(row.current, row.previous)},
  ], rows, 'This period against the one before');
}

function change(current, previous) {
  if (current === null || previous === null || current === undefined || previous === undefined) return '–';
  if (previous === 0) return current === 0 ? '0 %' : 'new';
  const percent = Math.round(((current - previous) / previous) * 100);
  return `${percent > 0 ? '+' : ''}${percent} %`;
}
