// The console's shell: the session, the navigation each role gets, and a hash router
// (#/inbox, #/conversations/<id>, …) that renders one page at a time into <main>. A page
// module exports `render(main, parameters)` and may return a function that tears it down.

import {currentUser, logout, onSession} from './api.js';
import {disconnect, onConnection} from './live.js';
import {errorBox, h} from './view.js';

const staff = ['platform-admin', 'admin', 'agent', 'viewer'];
const admins = ['platform-admin', 'admin'];
const pages = [
  {route: 'inbox', label: 'Inbox', roles: [...staff, 'member']},
  {route: 'search', label: 'Search', roles: [...staff, 'member']},
  {route: 'runs', label: 'Runs', roles: staff},
  {route: 'queue', label: 'Queue', roles: staff},
  {route: 'channels', label: 'Channels', roles: staff},
  {route: 'agents', label: 'Agents', roles: staff},
  {route: 'credits', label: 'Credits', roles: staff},
  {route: 'campaigns', label: 'Campaigns', roles: staff},
  {route: 'analytics', label: 'Analytics', roles: staff},
  {route: 'users', label: 'Users and keys', roles: admins},
  {route: 'platform', label: 'Platform', roles: ['platform-admin']},
];
const modules = {
  inbox: 'inbox', conversations: 'conversation', search: 'search', runs: 'runs', queue: 'queue',
  channels: 'channels', agents: 'agents', credits: 'credits', campaigns: 'campaigns',
  analytics: 'analytics', users: 'users', platform: 'platform', login: 'login',
};

const main = document.getElementById('main');
const navigation = document.getElementById('navigation');
const top = document.querySelector('.top');
const menu = document.querySelector('.menu');
let teardown = null;

function allowed(user) {
  return pages.filter((page) => page.roles.includes(user.role));
}

function drawShell(user) {
  top.hidden = navigation.hidden = !user;
  if (!user) return;
  top.querySelector('.who').textContent = `${user.username} (${user.role})`;
  navigation.replaceChildren(h('ul', {}, allowed(user).map((page) =>
    h('li', {}, h('a', {href: `#/${page.route}`, dataset: {route: page.route}}, page.label)))));
}

async function route() {
  const user = currentUser();
  const [name = '', ...parameters] = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  if (teardown) { teardown(); teardown = null; }
  document.body.classList.remove('menu-open');
  menu.setAttribute('aria-expanded', 'false');
  if (!user) {
    drawShell(null);
    return show('login', []);
  }
  const target = modules[name] && name !== 'login' ? name : 'inbox';
  const page = pages.find((one) => one.route === (target === 'conversations' ? 'inbox' : target));
  for (const item of navigation.querySelectorAll('a')) {
    if (item.dataset.route === page.route) item.setAttribute('aria-current', 'page');
    else item.removeAttribute('aria-current');
  }
  if (!page.roles.includes(user.role)) {
    main.replaceChildren(errorBox({code: 'forbidden', message: `Your role (${user.role}) cannot open ${page.label}.`}));
    return;
  }
  return show(target, parameters);
}

async function show(name, parameters) {
  main.setAttribute('aria-busy', 'true');
  try {
    const module = await import(`./pages/${modules[name]}.js`);
    const view = h('div', {class: `page page-${name}`});
    main.replaceChildren(view);
    teardown = (await module.render(view, parameters)) || null;
  } catch (error) {
    main.replaceChildren(errorBox(error));
  } finally {
    main.removeAttribute('aria-busy');
  }
}

onSession((user) => {
  drawShell(user);
  if (!user) disconnect();
  route();
});
onConnection((state) => {
  const label = {live: 'Live', connecting: 'Connecting…', offline: 'Offline, reconnecting'}[state];
  const badge = top.querySelector('.connection');
  badge.textContent = label;
  badge.dataset.state = state;
});
top.querySelector('.logout').addEventListener('click', () => {
  logout();
  location.hash = '#/login';
});
menu.addEventListener('click', () => {
  const open = document.body.classList.toggle('menu-open');
  menu.setAttribute('aria-expanded', String(open));
});
window.addEventListener('hashchange', route);
drawShell(currentUser());
route();
