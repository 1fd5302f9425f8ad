// Inbox: conversations newest activity first, filtered by status, channel, unread and
// assignment (asked of the API, and checked again on rows the live updates change); the tenant
// stream moves a row to the top, updates its last message and unread count, and adds new
// conversations, live.

import {currentUser, get, graphql} from '../api.js';
import {subscribe} from '../live.js';
import {errorBox, h, heading, select, when} from '../view.js';

// Members may not read contacts: their rows go without the contact's name.
const queries = (withContact) => {
  const fields = `id status channelId unreadCount lastActivityAt lastSeq
    ${withContact ? 'contact { name phone externalId }' : ''}
    lastMessage { text direction authorKind createdAt }
    participants { userId role }`;
  return {
    list: `query Inbox($status: String, $channelId: ID, $unread: Boolean, $assigned: String, $pagination: Pagination) {
      conversations(status: $status, channelId: $channelId, unread: $unread, assigned: $assigned, pagination: $pagination) {
        edges { node { ${fields} } } pageInfo { hasNextPage endCursor } } }`,
    one: `query One($id: ID!) { conversation(id: $id) { ${fields} } }`,
  };
};

export async function render(root) {
  const me = currentUser();
  const {list: listQuery, one: oneQuery} = queries(me.role !== 'member');
  // `changes` counts what events and refetches changed, each row keeping its number
  // (`changed`): a list asked for before a change must not undo it.
  const state = {rows: new Map(), cursor: null, more: false, changes: 0};
  const filters = {status: '', channelId: '', unread: '', assigned: ''};
  const list = h('ul', {class: 'inbox', 'aria-label': 'Conversations', 'aria-live': 'polite'});
  const status = h('p', {class: 'muted', role: 'status'});
  const moreButton = h('button', {type: 'button', hidden: true, onclick: () => load(false)}, 'Load more');
  const channels = await get('/api/v1/channels', {limit: 200}).then((page) => page.data, () => []);
  const channelNames = new Map(channels.map((channel) => [channel.id, channel.name]));
  const controls = h('form', {class: 'filters', 'aria-label': 'Filters', onsubmit: (event) => event.preventDefault()},
    filter('Status', select('status', [['', 'Any'], ['open', 'Open'], ['pending', 'Pending (with humans)'], ['resolved', 'Resolved']])),
    filter('Channel', select('channelId', [['', 'Any'], ...channels.map((channel) => [channel.id, `${channel.name} (${channel.kind})`])])),
    filter('Unread', select('unread', [['', 'All'], ['unread', 'Unread only']])),
    filter('Assigned', select('assigned', [['', 'Anyone'], ['me', 'To me'], ['nobody', 'To nobody']])));
  controls.addEventListener('change', (event) => {
    filters[event.target.name] = event.target.value;
    load(true);
  });
  root.append(heading('Inbox'), controls, status, list, moreButton);

  function filter(label, control) {
    control.id = `filter-${control.name}`;
    return h('div', {class: 'field'}, h('label', {for: control.id}, label), control);
  }

  function assignees(row) {
    return (row.participants || []).filter((one) => one.role === 'operator' && one.userId).map((one) => one.userId);
  }

  function visible(row) {
    if (filters.status && row.status !== filters.status) return false;
    if (filters.channelId && row.channelId !== filters.channelId) return false;
    if (filters.unread && row.unreadCount === 0) return false;
    if (filters.assigned === 'me' && !assignees(row).includes(me.id)) return false;
    if (filters.assigned === 'nobody' && assignees(row).length > 0) return false;
    return true;
  }

  function item(row) {
    const name = (row.contact && (row.contact.name || row.contact.phone || row.contact.externalId)) || (me.role === 'member' ? 'Conversation' : 'Unknown contact');
    const last = row.lastMessage;
    return h('li', {class: `conversation status-${row.status}`, dataset: {id: row.id}},
      h('a', {href: `#/conversations/${row.id}`},
        h('span', {class: 'name'}, name),
        row.unreadCount > 0 ? h('span', {class: 'badge', 'aria-label': `${row.unreadCount} unread`}, row.unreadCount) : null,
        h('span', {class: `pill ${row.status}`}, row.status),
        h('span', {class: 'channel'}, channelNames.get(row.channelId) || ''),
        h('span', {class: 'preview'}, last ? `${last.direction === 'inbound' ? '' : '↩ '}${last.text || '(no text)'}` : ''),
        when(row.lastActivityAt)));
  }

  function draw() {
    const rows = [...state.rows.values()].filter(visible)
      .sort((a, b) => b.lastActivityAt.localeCompare(a.lastActivityAt));
    list.replaceChildren(...rows.map(item));
    const unread = [...state.rows.values()].reduce((sum, row) => sum + (row.unreadCount > 0 ? 1 : 0), 0);
    status.textContent = `${rows.length} shown · ${unread} with unread messages`;
    moreButton.hidden = !state.more;
  }

  async function load(reset) {
    const asked = state.changes;
    try {
      const data = await graphql(listQuery, {
        status: filters.status || null, channelId: filters.channelId || null,
        unread: filters.unread ? true : null, assigned: filters.assigned || null,
        pagination: {first: 50, after: reset ? null : state.cursor},
      }, {partial: true});
      // Replaced only now: the list stays on screen while the new one loads.
      const rows = reset ? new Map() : state.rows;
      for (const {node} of data.conversations.edges) rows.set(node.id, newest(node));
      // A row an event or a refetch brought while the answer was on its way is newer than it.
      if (reset) {
        for (const [id, row] of state.rows) if (!rows.has(id) && row.changed > asked) rows.set(id, row);
      }
      state.rows = rows;
      state.cursor = data.conversations.pageInfo.endCursor;
      state.more = data.conversations.pageInfo.hasNextPage;
      draw();
    } catch (error) {
      list.replaceChildren(errorBox(error));
    }
  }

  /** `row` as an answer gives it, or the list's own if an event made that newer: answers may
   * arrive out of order, and an older one must not undo a newer one. */
  function newest(row) {
    const known = state.rows.get(row.id);
    return known && known.lastSeq > row.lastSeq ? known : row;
  }

  async function refetch(id) {
    try {
      const data = await graphql(oneQuery, {id}, {partial: true});
      const row = newest(data.conversation);
      row.changed = ++state.changes;
      state.rows.set(id, row);
      draw();
    } catch { /* gone or not ours: leave the list as it is */ }
  }

  function onEvent(wrapper) {
    const source = wrapper.stream || '';
    if (!source.startsWith('conversation:')) return;
    const id = source.slice('conversation:'.length);
    const event = wrapper.event || {};
    const row = state.rows.get(id);
    if (!row) { refetch(id); return; }
    row.changed = ++state.changes;
    if (event.type === 'message_created' && event.message) {
      const message = event.message;
      row.lastMessage = {text: message.text, direction: message.direction, authorKind: message.authorKind, createdAt: message.createdAt};
      row.lastActivityAt = message.createdAt;
      row.lastSeq = Math.max(row.lastSeq, message.seq);
      if (message.direction === 'inbound') row.unreadCount += 1;
    } else if (event.type === 'conversation_updated') {
      if (event.status) row.status = event.status;
      refetch(id);
    }
    draw();
  }

  await load(true);
  return subscribe('tenant', onEvent, () => load(true));
}
