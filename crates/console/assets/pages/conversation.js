// One conversation: its messages with delivery statuses (live from its stream), the agent's
// runs as a timeline of their events (live from the tenant stream: thinking, tool calls with
// arguments and results, the answer), and the operator's actions: hand off to me, release to
// the agent, resolve or reopen, and reply (sent through the channel while handed off).

import {currentUser, get, patch, post} from '../api.js';
import {subscribe} from '../live.js';
import {busy, errorBox, h, heading, json, link, report, toast, when} from '../view.js';

const staff = ['platform-admin', 'admin', 'agent'];

export async function render(root, [id]) {
  const me = currentUser();
  const path = `/api/v1/conversations/${encodeURIComponent(id)}`;
  let conversation;
  try {
    conversation = await get(path);
  } catch (error) {
    root.append(heading('Conversation'), errorBox(error));
    return;
  }
  const contact = conversation.contactId
    ? await get(`/api/v1/contacts/${conversation.contactId}`).catch(() => null) : null;
  const name = (contact && (contact.name || contact.phone || contact.externalId)) || 'Conversation';
  const messages = new Map();
  const messageList = h('ol', {class: 'messages', 'aria-label': 'Messages', 'aria-live': 'polite', tabindex: 0});
  const problems = h('div', {'aria-live': 'assertive'});
  const statusPill = h('span', {class: `pill ${conversation.status}`, role: 'status'}, conversation.status);
  const canAct = staff.includes(me.role);
  const actions = canAct ? [
    action('Hand off to me', () => post(`${path}/handoff`, {assigneeId: me.id})),
    action('Release to agent', () => post(`${path}/release`, {})),
    action('Resolve', () => patch(path, {status: 'resolved'})),
    action('Reopen', () => patch(path, {status: 'open'})),
  ] : [];
  root.append(
    h('p', {}, link('inbox', '← Inbox')),
    heading(name, statusPill, ...actions),
    h('p', {class: 'muted'}, `Conversation ${conversation.id} · channel ${conversation.channelId}`),
    problems);

  const text = h('textarea', {name: 'text', rows: 3, required: true, id: 'reply-text'});
  const send = h('button', {type: 'submit', class: 'primary'}, 'Send as operator');
  const reply = h('form', {class: 'reply', 'aria-label': 'Operator reply'},
    h('label', {for: 'reply-text'}, 'Reply'), text, send);
  reply.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = {text: text.value, idempotencyKey: crypto.randomUUID()};
    try {
      const message = await busy(send, () => post(`${path}/messages`, body));
      text.value = '';
      upsert(message);
    } catch (error) {
      report(problems, error);
    }
  });

  const timeline = h('div', {class: 'timeline', 'aria-label': 'Agent runs', 'aria-live': 'polite'});
  root.append(h('div', {class: 'conversation-layout'},
    h('section', {'aria-labelledby': 'messages-title'}, h('h2', {id: 'messages-title'}, 'Messages'),
      messageList, me.role === 'viewer' ? null : reply),
    me.role === 'member' ? null : h('section', {'aria-labelledby': 'runs-title'},
      h('h2', {id: 'runs-title'}, 'Agent runs'), timeline)));

  function action(label, work) {
    const button = h('button', {type: 'button'}, label);
    button.addEventListener('click', async () => {
      try {
        const updated = await busy(button, work);
        if (updated && updated.status) setStatus(updated.status);
        toast(`${label}: done`);
        report(problems, null);
      } catch (error) {
        report(problems, error);
      }
    });
    return button;
  }

  function setStatus(status) {
    statusPill.textContent = status;
    statusPill.className = `pill ${status}`;
  }

  function bubble(message) {
    return h('li', {class: `message ${message.direction} author-${message.authorKind}`, dataset: {id: message.id, seq: message.seq}},
      h('div', {class: 'text'}, message.deletedAt ? '(deleted)' : (message.text || JSON.stringify(message.content))),
      h('div', {class: 'meta'}, `${message.authorKind} · `, when(message.createdAt, 'long'), ' · ',
        h('span', {class: `delivery ${message.status}`}, message.status)));
  }

  function drawMessages() {
    const sorted = [...messages.values()].sort((a, b) => a.seq - b.seq);
    messageList.replaceChildren(...sorted.map(bubble));
    messageList.lastElementChild?.scrollIntoView({block: 'nearest'});
  }

  function upsert(message) {
    messages.set(message.id, message);
    drawMessages();
  }

  async function loadMessages() {
    const page = await get(`${path}/messages`, {limit: 100});
    messages.clear();
    for (const message of page.data) messages.set(message.id, message);
    drawMessages();
    markRead();
  }

  function markRead() {
    post(`${path}/read`, {}).catch(() => {});
  }

  const runs = new Map();
  function runCard(run) {
    const events = h('ol', {class: 'events'}, run.events.map(eventItem));
    return h('article', {class: `run run-${run.status || 'running'}`, dataset: {id: run.id}},
      h('h3', {}, `Run ${run.id.slice(-8)} · `, h('span', {class: 'run-status'}, run.status || 'running'), ' · ', when(run.startedAt, 'long')),
      events);
  }

  function eventItem(event) {
    const details = [];
    if (event.type === 'agent_thinking' && event.delta) details.push(h('span', {class: 'delta'}, event.delta));
    if (event.type === 'tool_executing') details.push(h('span', {}, `${event.tool} with `), json(event.arguments));
    if (event.type === 'tool_completed') details.push(h('span', {}, `${event.tool} ${event.isError ? 'failed' : 'returned'} in ${event.durationMs} ms:`), json(event.result));
    if (event.type === 'agent_completed') details.push(h('span', {}, event.text ? `Answered: ${event.text}` : 'Chose silence', event.durationMs !== undefined ? ` (${event.durationMs} ms)` : ''));
    if (event.type === 'agent_failed') details.push(h('span', {class: 'failed'}, `${event.code}: ${event.message}`));
    return h('li', {class: `event ${event.type}`}, h('strong', {}, event.type), ' ', details);
  }

  function drawRuns() {
    const sorted = [...runs.values()].sort((a, b) => (b.startedAt || '').localeCompare(a.startedAt || ''));
    timeline.replaceChildren(...(sorted.length ? sorted.map(runCard) : [h('p', {class: 'muted'}, 'No runs yet.')]));
  }

  async function loadRuns() {
    try {
      const page = await get('/api/v1/runs', {conversationId: conversation.id, limit: 5});
      const full = await Promise.all(page.data.map((run) => get(`/api/v1/runs/${run.id}`)));
      for (const run of full) runs.set(run.id, run);
      drawRuns();
    } catch (error) {
      timeline.replaceChildren(errorBox(error));
    }
  }

  function onRunEvent(runId, event) {
    let run = runs.get(runId);
    if (!run) {
      if (event.type !== 'agent_started' || event.conversationId !== conversation.id) return;
      run = {id: runId, status: 'running', startedAt: new Date().toISOString(), events: []};
      runs.set(runId, run);
    }
    run.events.push(event);
    if (event.type === 'agent_completed') run.status = 'completed';
    if (event.type === 'agent_failed') run.status = 'failed';
    drawRuns();
  }

  const stops = [];
  stops.push(subscribe(`conversation:${conversation.id}`, (event) => {
    if (event.type === 'message_created') {
      upsert(event.message);
      if (event.message.direction === 'inbound') markRead();
    } else if (event.type === 'message_status') {
      const message = messages.get(event.messageId);
      if (message) { message.status = event.status; drawMessages(); }
    } else if (event.type === 'message_deleted') {
      const message = messages.get(event.messageId);
      if (message) { message.deletedAt = new Date().toISOString(); drawMessages(); }
    } else if (event.type === 'conversation_updated') {
      setStatus(event.status);
    }
  }, loadMessages));
  if (me.role !== 'member') {
    stops.push(subscribe('tenant', (wrapper) => {
      if ((wrapper.stream || '').startsWith('run:')) onRunEvent(wrapper.stream.slice(4), wrapper.event);
    }));
  }
  await loadMessages().catch((error) => report(problems, error));
  if (me.role !== 'member') await loadRuns();
  return () => stops.forEach((stop) => stop());
}
