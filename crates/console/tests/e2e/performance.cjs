// The inbox's first load over `count` conversations: seeds them over REST, then loads the
// console with the browser's cache emptied (cold) and again with it (warm), timing from the
// navigation's start to the first rows on screen, with a Playwright trace of the first cold
// load and the bytes it transferred.

const path = require('node:path');

async function seed(base, api, channelId, count) {
  const started = Date.now();
  const rows = Array.from({length: count}, (_, index) => `+1415${3000000 + index},Seeded ${index}`);
  const response = await fetch(`${base}/api/v1/imports?kind=contacts`, {method: 'POST', body: `phone,name\n${rows.join('\n')}\n`,
    headers: {'content-type': 'text/csv', authorization: api.authorization}});
  let job = await response.json();
  while (job.status !== 'completed' && job.status !== 'failed') {
    await new Promise((resolve) => setTimeout(resolve, 200));
    job = await api('GET', `/api/v1/imports/${job.id}`);
  }
  const contacts = [];
  let cursor = '';
  do {
    const page = await api('GET', `/api/v1/contacts?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    contacts.push(...page.data.filter((contact) => (contact.name || '').startsWith('Seeded ')));
    cursor = page.nextCursor;
  } while (cursor);
  let next = 0;
  const worker = async () => {
    while (next < contacts.length) {
      const contact = contacts[next];
      next += 1;
      await api('POST', '/api/v1/conversations', {channelId, contactId: contact.id});
    }
  };
  await Promise.all(Array.from({length: 16}, worker));
  return {seedMs: Date.now() - started, seeded: contacts.length};
}

async function load(page, base, label) {
  await page.goto(`${base}/?load=${label}#/inbox`);
  await page.waitForFunction(() => window.firstRowsAt !== undefined, null, {timeout: 20000});
  return page.evaluate(() => {
    const navigation = performance.getEntriesByType('navigation')[0];
    const resources = performance.getEntriesByType('resource');
    const bytes = [navigation, ...resources].reduce((sum, entry) => sum + (entry.transferSize || 0), 0);
    return {
      firstRowsMs: Math.round(window.firstRowsAt),
      domContentLoadedMs: Math.round(navigation.domContentLoadedEventEnd),
      transferredBytes: bytes,
      requests: resources.length + 1,
      rows: document.querySelectorAll('.inbox li').length,
    };
  });
}

async function measureFirstLoad({base, api, page, channelId, count, artifacts}) {
  const {seedMs, seeded} = await seed(base, api, channelId, count);
  await page.context().addInitScript(() => {
    new MutationObserver((_, observer) => {
      if (document.querySelector('.inbox li')) {
        window.firstRowsAt = performance.now();
        observer.disconnect();
      }
    }).observe(document, {subtree: true, childList: true});
  });
  const protocol = await page.context().newCDPSession(page);
  const cold = [];
  const warm = [];
  for (let round = 0; round < 5; round += 1) {
    await protocol.send('Network.clearBrowserCache');
    if (round === 0) await page.context().tracing.start({screenshots: true, snapshots: false});
    cold.push(await load(page, base, `cold${round}`));
    if (round === 0) await page.context().tracing.stop({path: path.join(artifacts, 'inbox-first-load-trace.zip')});
    warm.push(await load(page, base, `warm${round}`));
  }
  const median = (runs, field) => runs.map((run) => run[field]).sort((a, b) => a - b)[Math.floor(runs.length / 2)];
  return {
    conversations: seeded, seedMs,
    coldFirstRowsMs: cold.map((run) => run.firstRowsMs), coldMedianMs: median(cold, 'firstRowsMs'),
    warmFirstRowsMs: warm.map((run) => run.firstRowsMs), warmMedianMs: median(warm, 'firstRowsMs'),
    coldTransferredBytes: cold[0].transferredBytes, coldRequests: cold[0].requests, rowsShown: cold[0].rows,
  };
}

module.exports = {measureFirstLoad};
