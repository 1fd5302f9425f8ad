// One WebSocket to /ws for the whole console: subscriptions by stream name, each resumed from
// its last (epoch, offset) after a reconnect; a refused token is refreshed and the socket
// reopened. Handlers get the event object and its frame.

import {accessToken, refresh} from './api.js';

const subscriptions = new Map();
let socket = null;
let retry = 0;
let stateListener = () => {};

/** Calls `listener(state)` with 'live', 'connecting' or 'offline'. */
export function onConnection(listener) {
  stateListener = listener;
}

/**
 * Follows `stream`; `handler(event, frame)` per event, `onReset()` when history was lost: after
 * a reconnect that could not resume, and once when the subscription first goes live, since what
 * the page loaded before then may have missed the events published meanwhile.
 */
export function subscribe(stream, handler, onReset) {
  const entry = {handler, onReset, position: null};
  subscriptions.set(stream, entry);
  if (socket && socket.readyState === WebSocket.OPEN) sendSubscribe(stream, entry);
  else connect();
  return () => {
    if (subscriptions.get(stream) !== entry) return;
    subscriptions.delete(stream);
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({type: 'unsubscribe', stream}));
  };
}

/** Closes the socket (at logout). */
export function disconnect() {
  subscriptions.clear();
  if (socket) socket.close(1000);
  socket = null;
}

function sendSubscribe(stream, entry) {
  const frame = {type: 'subscribe', stream};
  if (entry.position) frame.since = entry.position;
  socket.send(JSON.stringify(frame));
}

function connect() {
  if (socket || !accessToken()) return;
  stateListener('connecting');
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const current = new WebSocket(`${scheme}://${location.host}/ws?token=${encodeURIComponent(accessToken())}`);
  socket = current;
  current.onopen = () => {
    retry = 0;
    stateListener('live');
    for (const [stream, entry] of subscriptions) sendSubscribe(stream, entry);
  };
  current.onmessage = (message) => receive(JSON.parse(message.data));
  current.onclose = async (close) => {
    if (socket !== current) return;
    socket = null;
    stateListener('offline');
    if (close.code === 1000 || subscriptions.size === 0) return;
    if (close.code === 4401) {
      try { await refresh(); } catch { return; }
    }
    retry = Math.min(retry + 1, 6);
    setTimeout(connect, 200 * 2 ** retry);
  };
}

function receive(frame) {
  const entry = subscriptions.get(frame.stream);
  if (!entry) return;
  if (frame.type === 'subscribed') {
    const lost = !entry.position || !frame.recovered;
    entry.position = {epoch: frame.epoch, offset: frame.offset};
    if (lost && entry.onReset) entry.onReset();
  } else if (frame.type === 'event') {
    entry.position = {epoch: frame.epoch, offset: frame.offset};
    entry.handler(frame.event, frame);
  }
}
