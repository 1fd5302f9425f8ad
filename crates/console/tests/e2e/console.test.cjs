// The console end to end, in headless Chromium against a real server (SWITCHBOARD_URL, admin
// password in SWITCHBOARD_ADMIN_PASSWORD) and local fakes of WhatsApp and the voice provider:
// log in; a signed webhook's message and the agent's reply appear live; the run timeline; hand
// off and reply as operator; retry a dead letter; import a CSV with bad rows; start and pause a
// campaign; analytics charts; a member sees only their conversations and logs out; axe-core on
// every page; a screenshot of each page; then the first load of the inbox over many
// conversations.

const {test, before, after} = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const {launch, screenshot, accessibilityProblems, client, artifacts} = require('./browser.cjs');
const {startWhatsapp, startVoice, postWhatsappMessage} = require('./fakes.cjs');
const {measureFirstLoad} = require('./performance.cjs');

const base = process.env.SWITCHBOARD_URL;
const password = process.env.SWITCHBOARD_ADMIN_PASSWORD;
const appSecret = 'whatsapp-app-secret';
const phoneNumberId = '104000000001';
const voiceSid = 'ACconsole0000000000000000000000001';
const voiceToken = 'voice-auth-token';
const world = {};
const figures = {};

before(async () => {
  assert.ok(base && password, 'SWITCHBOARD_URL and SWITCHBOARD_ADMIN_PASSWORD are required');
  world.whatsapp = await startWhatsapp();
  world.voice = await startVoice(voiceSid, voiceToken);
  const session = await client(base)('POST', '/auth/login', {username: 'admin', password});
  world.admin = session.user;
  const api = world.api = client(base, session.tokens.accessToken);
  const agent = await api('POST', '/api/v1/agents', {name: 'Front desk', kind: 'scripted', config: {
    rules: [{match: {keywords: ['time']}, tools: [{name: 'get_time', arguments: {}}], reply: 'I looked at the clock for you.'}],
    fallback: 'Thanks {{contact.name}}, you said: {{message.text}}'}});
  world.channel = await api('POST', '/api/v1/channels', {kind: 'whatsapp', name: 'WhatsApp main', agentId: agent.id, config: {
    phoneNumberId, appSecret, verifyToken: 'verify-me', accessToken: 'graph-token', apiBaseUrl: world.whatsapp.url}});
  world.voiceChannel = await api('POST', '/api/v1/channels', {kind: 'voice', name: 'Outbound calls', agentId: agent.id, config: {
    accountSid: voiceSid, authToken: voiceToken, fromNumber: '+15550001111', apiBaseUrl: world.voice.url, answerUrl: 'https://voice.example.com/answer'}});
  await api('POST', '/api/v1/credits/grants', {amount: 100000, reason: 'tests', idempotencyKey: 'console-tests'});
  world.browser = await launch();
  world.page = world.browser.context.pages()[0] || await world.browser.context.newPage();
  world.page.on('pageerror', (error) => { world.pageError = error; });
});

after(async () => {
  if (world.browser) await world.browser.close();
  world.whatsapp?.close();
  world.voice?.close();
  fs.writeFileSync(path.join(artifacts, 'figures.json'), JSON.stringify(figures, null, 2));
  console.log(`artifacts: ${artifacts}`);
  console.log(`figures: ${JSON.stringify(figures)}`);
});

async function visit(route, ready) {
  await world.page.goto(`${base}/#/${route}`);
  await world.page.waitForSelector(ready);
  await world.page.waitForFunction(() => !document.querySelector('main[aria-busy]'));
}

/** Waits until the inbox lists exactly `ids` (in any order): filters are asked of the API. */
async function showsExactly(page, ids) {
  await page.waitForFunction((wanted) => {
    const shown = [...document.querySelectorAll('.inbox li')].map((row) => row.dataset.id).sort();
    return JSON.stringify(shown) === JSON.stringify([...wanted].sort());
  }, ids, {timeout: 15000});
}

async function audit(name) {
  await screenshot(world.page, name);
  assert.deepEqual(await accessibilityProblems(world.page), [], `accessibility of ${name}`);
  assert.equal(world.pageError, undefined, `no script error on ${name}`);
}

test('a wrong password is refused with the API\'s message, the right one opens the inbox', async () => {
  const page = world.page;
  await page.goto(base);
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', {name: 'Log in'}).click();
  await page.getByRole('alert').waitFor();
  assert.match(await page.getByRole('alert').innerText(), /unauthorized|password|credentials/i);
  await audit('login');
  // By keyboard alone: the username field has the focus, Tab moves to the password, Enter sends.
  await page.reload();
  await page.getByLabel('Username').waitFor();
  await page.keyboard.type('admin');
  await page.keyboard.press('Tab');
  await page.keyboard.type(password);
  await page.keyboard.press('Enter');
  await page.waitForSelector('h1:text("Inbox")');
  await audit('inbox-empty');
});

test('a signed webhook\'s message and the agent\'s reply appear live in the inbox', async () => {
  const page = world.page;
  await visit('inbox', '.filters');
  await page.evaluate(() => {
    window.seen = {};
    new MutationObserver(() => {
      for (const item of document.querySelectorAll('.inbox .preview')) {
        if (!window.seen[item.textContent]) window.seen[item.textContent] = Date.now();
      }
    }).observe(document.querySelector('.inbox'), {subtree: true, childList: true, characterData: true});
  });
  await postWhatsappMessage(base, world.channel.id, appSecret, phoneNumberId, '15551230001', 'Ada Lovelace', 'hello from the webhook');
  const row = page.locator('.inbox li', {hasText: 'Ada Lovelace'});
  await row.locator('.preview', {hasText: 'you said: hello from the webhook'}).waitFor({timeout: 15000});
  const conversations = (await world.api('GET', '/api/v1/conversations?limit=10')).data;
  world.conversation = conversations.find((one) => one.channelId === world.channel.id);
  const messages = (await world.api('GET', `/api/v1/conversations/${world.conversation.id}/messages?limit=10`)).data;
  const seen = await page.evaluate(() => window.seen);
  const lags = messages.map((message) => {
    const shown = Object.entries(seen).find(([text]) => text.endsWith(message.text));
    return shown ? shown[1] - Date.parse(message.createdAt) : null;
  }).filter((lag) => lag !== null);
  figures.liveUpdateMs = lags;
  assert.ok(lags.length >= 1, 'the browser saw the messages arrive');
  assert.ok(await row.locator('.badge').count() === 1, 'the unread count is shown');
  await world.whatsapp.waitFor((body) => body.to === '15551230001' && /hello from the webhook/.test(body.text?.body));
  await audit('inbox-live');
});

test('the conversation shows messages, statuses and the run timeline as it streams', async () => {
  const page = world.page;
  await visit(`conversations/${world.conversation.id}`, '.messages li');
  await page.locator('.run .event.agent_completed').first().waitFor();
  await postWhatsappMessage(base, world.channel.id, appSecret, phoneNumberId, '15551230001', 'Ada Lovelace', 'what time is it');
  const run = page.locator('.run', {has: page.locator('.event.tool_executing')});
  await run.locator('.event.tool_completed').waitFor({timeout: 15000});
  await run.locator('.event.agent_completed', {hasText: 'I looked at the clock'}).waitFor();
  for (const type of ['agent_started', 'agent_thinking', 'tool_executing', 'tool_completed', 'agent_completed']) {
    assert.equal(await run.locator(`.event.${type}`).count() >= 1, true, `${type} is on the timeline`);
  }
  assert.match(await run.locator('.event.tool_executing').innerText(), /get_time/);
  await page.locator('.messages li', {hasText: 'I looked at the clock'}).waitFor();
  await page.locator('.messages .delivery', {hasText: /sent|delivered/}).first().waitFor();
  const shown = page.locator('.messages time').first();
  const expected = new Intl.DateTimeFormat('en-US', {dateStyle: 'medium', timeStyle: 'medium', timeZone: 'America/New_York'})
    .format(new Date(await shown.getAttribute('datetime')));
  assert.equal(await shown.innerText(), expected, 'times are in the operator\'s zone');
  await audit('conversation');
});

test('an operator hands off, replies, and the provider receives the reply', async () => {
  const page = world.page;
  await page.getByRole('button', {name: 'Hand off to me'}).click();
  await page.locator('.heading .pill', {hasText: 'pending'}).waitFor();
  await page.getByLabel('Reply', {exact: true}).fill('A person here: how can I help?');
  await page.getByRole('button', {name: 'Send as operator'}).click();
  await page.locator('.messages li', {hasText: 'A person here'}).waitFor();
  const sent = await world.whatsapp.waitFor((body) => body.text?.body === 'A person here: how can I help?');
  assert.equal(sent.body.to, '15551230001');
  await page.getByRole('button', {name: 'Resolve'}).click();
  await page.locator('.heading .pill', {hasText: 'resolved'}).waitFor();
  // Assigned to me: a conversation handed to this operator (as its operator participant).
  await postWhatsappMessage(base, world.channel.id, appSecret, phoneNumberId, '15551230009', 'Alan Kay', 'please assign me');
  let assigned;
  for (const started = Date.now(); !assigned && Date.now() - started < 15000;) {
    const rows = (await world.api('GET', '/api/v1/conversations?limit=50')).data;
    assigned = rows.find((row) => row.lastMessage && /please assign me/.test(row.lastMessage.text || ''));
    if (!assigned) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await world.api('POST', `/api/v1/conversations/${assigned.id}/handoff`, {assigneeId: world.admin.id});
  await visit('inbox', '.inbox li');
  // Both are the admin's: the one handed to them by the API, and the one they handed off to
  // themselves above after reading it (which made them its operator, not an observer).
  await page.getByLabel('Assigned').selectOption('me');
  await showsExactly(page, [assigned.id, world.conversation.id]);
  await page.getByLabel('Status').selectOption('resolved');
  await showsExactly(page, [world.conversation.id]);
  await world.api('POST', `/api/v1/conversations/${assigned.id}/release`, {});
});

test('a dead letter is retried from the queue page and then delivered', async () => {
  const page = world.page;
  world.whatsapp.failing.add('15551230002');
  await postWhatsappMessage(base, world.channel.id, appSecret, phoneNumberId, '15551230002', 'Grace Hopper', 'please fail once');
  const deadline = Date.now() + 30000;
  let letters = [];
  while (Date.now() < deadline && letters.length === 0) {
    letters = (await world.api('GET', '/api/v1/dead-letters')).data;
    if (letters.length === 0) await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.equal(letters.length, 1, 'the failing reply became a dead letter');
  world.whatsapp.failing.clear();
  await visit('queue', '#letters-title');
  await audit('queue');
  await page.getByRole('button', {name: `Retry dead letter ${letters[0].id}`}).click();
  await page.locator('#letters-title', {hasText: 'Dead letters (0)'}).waitFor();
  await world.whatsapp.waitFor((body) => body.to === '15551230002' && /please fail once/.test(body.text?.body));
});

test('a CSV with bad rows shows them, then the campaign starts and pauses against the voice fake', async () => {
  const page = world.page;
  await visit('campaigns', '#new-campaign');
  const csv = 'phone,name,timezone\n+14155550101,Alan,America/Los_Angeles\nnot-a-number,Bad Row,\n+14155550102,Barbara,America/Chicago\n+1415,Short,\n';
  const file = path.join(artifacts, 'recipients.csv');
  fs.writeFileSync(file, csv);
  await page.getByLabel('Name', {exact: true}).fill('Spring reminders');
  await page.getByLabel(/^Recipients/).setInputFiles(file);
  await page.locator('table caption', {hasText: 'First rows of recipients.csv'}).waitFor();
  await page.getByRole('button', {name: 'Create and import'}).click();
  await page.locator('caption', {hasText: 'rows refused'}).waitFor({timeout: 20000});
  const refused = await page.locator('caption', {hasText: 'rows refused'}).locator('xpath=..').locator('tbody tr').count();
  assert.equal(refused, 2, 'both bad rows are listed');
  await audit('campaign-import');
  await page.getByRole('link', {name: /Open “Spring reminders”/}).click();
  await page.getByRole('button', {name: 'Start'}).click();
  await page.locator('.heading .pill', {hasText: 'running'}).waitFor();
  const deadline = Date.now() + 15000;
  while (world.voice.dials.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(world.voice.dials.length, 2, 'the two good rows were dialled');
  await page.getByRole('button', {name: 'Pause'}).click();
  await page.locator('.heading .pill', {hasText: 'paused'}).waitFor();
  for (const dial of world.voice.dials) await world.voice.complete(dial, 42);
  await page.locator('.chart-figure', {hasText: 'Calls by outcome'}).locator('text=completed: 2').waitFor({timeout: 10000, state: 'attached'});
  await audit('campaign');
});

test('analytics draws its charts from the data', async () => {
  const page = world.page;
  await visit('analytics', '.chart-figure svg path');
  assert.ok(await page.locator('.chart-figure svg circle').count() > 0, 'points are drawn');
  assert.match(await page.locator('table').first().innerText(), /messagesInbound/);
  await audit('analytics');
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', {name: 'Export CSV'}).click()]);
  const exported = fs.readFileSync(await download.path(), 'utf8');
  assert.match(exported, /^start,value\n/, 'the series exports as CSV');
  assert.ok(exported.trim().split('\n').length > 2, 'with its points');
  for (const [route, ready] of [['search', 'form[role=search]'], ['runs', 'table'], ['channels', '#whatsapp-title'], ['agents', '#new-agent'],
    ['credits', '.balance strong'], ['users', '#new-user'], ['platform', '#adapters-title']]) {
    await visit(route, ready);
    await audit(route);
  }
});

test('an admin creates an API key, shown once, that then works; a dead letter can be discarded', async () => {
  const page = world.page;
  await visit('users', '#new-key');
  await page.getByLabel('Name', {exact: true}).last().fill('Reporting');
  await page.getByRole('button', {name: 'Create key'}).click();
  const key = await page.locator('.card.success code').innerText();
  const answer = await fetch(`${base}/api/v1/credits`, {headers: {'x-api-key': key}});
  assert.equal(answer.status, 200, 'the key shown works');
  await page.locator('caption', {hasText: 'API keys'}).locator('xpath=..').locator('td', {hasText: 'Reporting'}).waitFor();

  world.whatsapp.failing.add('15551230004');
  await postWhatsappMessage(base, world.channel.id, appSecret, phoneNumberId, '15551230004', 'Edsger', 'this one is dropped');
  const deadline = Date.now() + 30000;
  let letters = [];
  while (Date.now() < deadline && letters.length === 0) {
    letters = (await world.api('GET', '/api/v1/dead-letters')).data;
    if (letters.length === 0) await new Promise((resolve) => setTimeout(resolve, 200));
  }
  world.whatsapp.failing.clear();
  assert.equal(letters.length, 1);
  await visit('queue', '#letters-title');
  await page.getByRole('button', {name: `Discard dead letter ${letters[0].id}`}).click();
  await page.locator('#letters-title', {hasText: 'Dead letters (0)'}).waitFor();
  assert.equal((await world.api('GET', '/api/v1/dead-letters')).data.length, 0);
});

test('the WhatsApp form shows the webhook URL and verify token to paste into Meta\'s console', async () => {
  const page = world.page;
  await visit('channels', '#whatsapp-title');
  await page.getByLabel('Phone number id').fill('104000000002');
  await page.getByLabel('Access token').fill('another-token');
  await page.getByLabel('App secret').fill('another-secret');
  const token = await page.getByLabel('Verify token').inputValue();
  await page.getByRole('button', {name: 'Create WhatsApp channel'}).click();
  const url = await page.locator('.webhook-url').innerText();
  assert.match(url, new RegExp(`^${base}/webhooks/whatsapp/`));
  assert.equal(await page.locator('.verify-token').innerText(), token);
  const check = await fetch(`${url}?hub.mode=subscribe&hub.verify_token=${token}&hub.challenge=4242`);
  assert.equal(await check.text(), '4242', 'Meta\'s verification succeeds with what the page shows');
});

test('a member sees only their own conversations, at phone width', async () => {
  await postWhatsappMessage(base, world.channel.id, appSecret, phoneNumberId, '15551230003', 'Member Contact', 'a third conversation');
  const member = await world.api('POST', '/api/v1/users', {username: 'mia', password: 'member-password-1', role: 'member', externalId: 'mia-1'});
  await world.api('POST', `/api/v1/conversations/${world.conversation.id}/participants`, {userId: member.id});
  const phone = await world.browser.context.newPage();
  await phone.setViewportSize({width: 390, height: 844});
  await phone.goto(base);
  await phone.evaluate(() => sessionStorage.clear());
  await phone.reload();
  await phone.getByLabel('Username').fill('mia');
  await phone.getByLabel('Password').fill('member-password-1');
  await phone.getByRole('button', {name: 'Log in'}).click();
  await phone.locator('.inbox li').first().waitFor();
  assert.equal(await phone.locator('.inbox li').count(), 1);
  assert.equal(await phone.locator('.inbox li').getAttribute('data-id'), world.conversation.id);
  await screenshot(phone, 'member-phone');
  assert.deepEqual(await accessibilityProblems(phone), []);
  await phone.getByRole('button', {name: 'Menu'}).click();
  await phone.getByRole('link', {name: 'Search'}).waitFor();
  assert.equal(await phone.getByRole('link', {name: 'Queue'}).count(), 0, 'a member has no queue page');
  await screenshot(phone, 'member-phone-menu');
  await phone.getByRole('button', {name: 'Menu'}).click();
  await phone.locator('.inbox li a').click();
  await phone.locator('.messages li').first().waitFor();
  assert.equal(await phone.locator('#runs-title').count(), 0, 'a member sees no agent runs');
  await screenshot(phone, 'member-phone-conversation');
  assert.deepEqual(await accessibilityProblems(phone), []);
  // Logging out revokes the session at the gateway, not only in this browser.
  const refreshToken = await phone.evaluate(() => JSON.parse(sessionStorage.getItem('switchboard.session')).tokens.refreshToken);
  await Promise.all([
    phone.waitForResponse((response) => response.url().endsWith('/auth/logout') && response.status() === 204),
    phone.getByRole('button', {name: 'Log out'}).click(),
  ]);
  await phone.getByLabel('Username').waitFor();
  const refused = await fetch(`${base}/auth/refresh`, {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify({refreshToken})});
  assert.equal(refused.status, 401, 'the refresh token no longer works');
  await phone.close();
});

test('first load of the inbox over many conversations', async () => {
  const count = Number(process.env.CONSOLE_PERF_CONVERSATIONS || 10000);
  Object.assign(figures, await measureFirstLoad({base, api: world.api, page: world.page, channelId: world.channel.id, count, artifacts}));
  await screenshot(world.page, 'inbox-large');
});
