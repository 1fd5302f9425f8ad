// WebSocket round trips: each iteration connects to /ws with an access token, subscribes to a
// broadcast stream of its own, publishes 20 events and times each until it comes back through
// the fan-out (`ws_round_trip`). Usage: k6 run -e PROFILE=smoke -e SWITCHBOARD_ADMIN_PASSWORD=… loadtest/k6/ws.js
import ws from 'k6/ws';
import { check } from 'k6';
import { Trend } from 'k6/metrics';
import { BASE, login, scenario, thresholds } from './common.js';

const roundTrip = new Trend('ws_round_trip', true);
const EVENTS = 20;

export const options = {
  scenarios: { ws: scenario('roundTrips') },
  thresholds: thresholds({ ws_round_trip: ['p(95)<100'], checks: ['rate>0.99'] }),
};

export function setup() {
  return { token: login() };
}

export function roundTrips(data) {
  const url = `${BASE.replace(/^http/, 'ws')}/ws?token=${data.token}`;
  const stream = `broadcast:k6-${__VU}-${__ITER}`;
  let published = 0;
  let sentAt = 0;
  const publish = (socket) => {
    published += 1;
    sentAt = Date.now();
    socket.send(JSON.stringify({ type: 'publish', stream, data: { n: published } }));
  };
  const response = ws.connect(url, {}, (socket) => {
    socket.on('message', (text) => {
      const frame = JSON.parse(text);
      if (frame.type === 'authenticated') {
        socket.send(JSON.stringify({ type: 'subscribe', stream }));
      } else if (frame.type === 'subscribed') {
        publish(socket);
      } else if (frame.type === 'event' && frame.event.data.n === published) {
        roundTrip.add(Date.now() - sentAt);
        if (published >= EVENTS) {
          socket.close();
        } else {
          publish(socket);
        }
      } else if (frame.type === 'error') {
        check(frame, { 'no error frame': () => false });
        socket.close();
      }
    });
    socket.setTimeout(() => socket.close(), 10000);
  });
  check(response, { 'upgraded (101)': (r) => r && r.status === 101 });
  check(published, { 'every event came back': (n) => n === EVENTS });
}
