// Campaigns: the list, a new campaign whose recipients come from a CSV file (a preview of the
// file's first rows, then the import's progress and the rows it refused, while the campaign is
// still a draft), and one campaign's live progress (from the tenant stream), controls and
// outcome chart.

import {all, get, post, send} from '../api.js';
import {barChart} from '../charts.js';
import {subscribe} from '../live.js';
import {busy, errorBox, field, h, heading, link, report, select, table, toast, when} from '../view.js';

const outcomes = ['completed', 'noAnswer', 'busy', 'voicemail', 'failed', 'doNotCall', 'canceled', 'insufficientCredits'];

export async function render(root, [id]) {
  if (id) return campaign(root, id);
  const list = h('div');
  const problems = h('div', {'aria-live': 'assertive'});
  const progress = h('div', {'aria-live': 'polite'});
  const [campaigns, channels, agents] = await Promise.all([
    all('/api/v1/campaigns', {}, 200).catch((error) => { problems.append(errorBox(error)); return []; }),
    all('/api/v1/channels').catch(() => []), all('/api/v1/agents').catch(() => [])]);
  list.append(table([
    {label: 'Name', cell: (one) => link(`campaigns/${one.id}`, one.name)},
    {label: 'Status', cell: (one) => h('span', {class: `pill ${one.status}`}, one.status)},
    {label: 'Calls', cell: (one) => `${one.stats.total - one.stats.queued - one.stats.inProgress} of ${one.stats.total} done`},
    {label: 'Created', cell: (one) => when(one.createdAt)},
  ], campaigns));

  const file = h('input', {type: 'file', name: 'file', accept: '.csv,text/csv', required: true});
  const preview = h('div', {'aria-live': 'polite'});
  file.addEventListener('change', async () => {
    const text = await file.files[0].text();
    const rows = text.split(/\r?\n/).filter(Boolean).slice(0, 6).map((line) => line.split(','));
    preview.replaceChildren(rows.length ? table(rows[0].map((name, index) => ({label: name, cell: (row) => row[index] ?? ''})),
      rows.slice(1), `First rows of ${file.files[0].name}`) : '');
  });
  const button = h('button', {type: 'submit', class: 'primary'}, 'Create and import');
  const voice = channels.filter((channel) => channel.kind === 'voice');
  const form = h('form', {class: 'card', 'aria-labelledby': 'new-campaign'},
    h('h2', {id: 'new-campaign'}, 'New campaign from a CSV file'),
    field('Name', {name: 'name', required: true}),
    field('Voice channel', select('channelId', voice.map((channel) => [channel.id, channel.name]))),
    field('Agent', select('agentId', [['', 'The channel’s'], ...agents.map((agent) => [agent.id, agent.name])])),
    field('Recipients (CSV: phone, name, timezone, other columns become variables)', file),
    preview, button);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    try {
      await busy(button, async () => {
        const created = await post('/api/v1/campaigns', {name: data.get('name'), channelId: data.get('channelId') || undefined,
          agentId: data.get('agentId') || undefined, contactIds: []});
        const upload = file.files[0];
        let job = await send('POST', '/api/v1/imports', {body: upload, contentType: 'text/csv',
          query: {kind: 'calls', campaignId: created.id, fileName: upload.name}});
        const bar = h('progress', {max: 1, value: 0, 'aria-label': 'Import progress'});
        const label = h('span', {});
        progress.replaceChildren(h('div', {class: 'card'}, h('h2', {}, `Importing ${upload.name}`), bar, label));
        while (job.status !== 'completed' && job.status !== 'failed') {
          bar.value = job.progress || 0;
          label.textContent = ` ${job.rowsRead} rows read`;
          await new Promise((resolve) => setTimeout(resolve, 300));
          job = await get(`/api/v1/imports/${job.id}`);
        }
        bar.value = 1;
        label.textContent = ` ${job.rowsRead} rows read: ${job.created + job.updated + job.unchanged} added, ${job.failed} refused${job.error ? ` (${job.error})` : ''}`;
        const errors = job.failed ? (await get(`/api/v1/imports/${job.id}/errors`, {limit: 200})).data : [];
        progress.append(errors.length ? table([
          {label: 'Line', cell: (row) => row.line}, {label: 'Column', cell: (row) => row.column},
          {label: 'Problem', cell: (row) => row.code}, {label: 'Message', cell: (row) => row.message},
        ], errors, `${errors.length} rows refused`) : h('p', {}, 'Every row was accepted.'),
        h('p', {}, link(`campaigns/${created.id}`, `Open “${created.name}” to start it`)));
      });
      report(problems, null);
    } catch (error) {
      report(problems, error);
    }
  });
  root.append(heading('Campaigns'), problems, list, form, progress);
}

async function campaign(root, id) {
  const path = `/api/v1/campaigns/${encodeURIComponent(id)}`;
  const title = h('div');
  const body = h('div', {'aria-live': 'polite'});
  const problems = h('div', {'aria-live': 'assertive'});
  root.append(h('p', {}, link('campaigns', '← Campaigns')), title, problems, body);
  const controls = ['start', 'pause', 'resume', 'cancel'].map((verb) => {
    const button = h('button', {type: 'button', dataset: {verb}}, verb[0].toUpperCase() + verb.slice(1));
    button.addEventListener('click', async () => {
      try {
        draw(await busy(button, () => post(`${path}/${verb}`, {})));
        toast(`Campaign: ${verb}`);
        report(problems, null);
      } catch (error) {
        report(problems, error);
      }
    });
    return button;
  });
  function draw(one) {
    const enabled = {draft: ['start', 'cancel'], running: ['pause', 'cancel'], paused: ['resume', 'cancel']}[one.status] || [];
    for (const button of controls) button.disabled = !enabled.includes(button.dataset.verb);
    title.replaceChildren(heading(one.name, h('span', {class: `pill ${one.status}`, role: 'status'}, one.status), ...controls));
    const stats = one.stats;
    const done = stats.total - stats.queued - stats.inProgress;
    body.replaceChildren(
      h('p', {}, h('progress', {max: Math.max(1, stats.total), value: done, 'aria-label': 'Calls finished'}),
        ` ${done} of ${stats.total} calls finished · ${stats.inProgress} on the line · ${stats.attempts} attempts`,
        one.waitingForCredits ? ' · waiting for credits' : ''),
      h('dl', {class: 'figures'},
        h('dt', {}, 'Answer rate'), h('dd', {}, stats.answerRate === null || stats.answerRate === undefined ? '–' : `${Math.round(stats.answerRate * 100)} %`),
        h('dt', {}, 'Average duration'), h('dd', {}, stats.averageDurationSeconds ? `${stats.averageDurationSeconds.toFixed(1)} s` : '–'),
        h('dt', {}, 'p95 duration'), h('dd', {}, stats.p95DurationSeconds ? `${stats.p95DurationSeconds.toFixed(1)} s` : '–')),
      barChart('Calls by outcome', outcomes.map((name) => ({name, value: stats[name] || 0}))));
  }
  async function load() {
    try {
      draw(await get(path));
    } catch (error) {
      report(problems, error);
    }
  }
  await load();
  // campaign_progress (at most four a second) and campaign_completed come on the tenant stream;
  // a slow poll covers a stream that is reconnecting.
  let pending = null;
  const stop = subscribe('tenant', (wrapper) => {
    if (wrapper.stream !== `campaign:${id}` || pending) return;
    pending = setTimeout(() => { pending = null; load(); }, 100);
  }, load);
  const timer = setInterval(load, 5000);
  return () => { stop(); clearInterval(timer); clearTimeout(pending); };
}
