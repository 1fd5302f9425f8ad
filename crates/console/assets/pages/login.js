// Login: username and password to /auth/login; the tokens stay in this tab's session storage.

import {login} from '../api.js';
import {busy, errorBox, field, h} from '../view.js';

export function render(root) {
  document.title = 'Log in · Switchboard';
  const message = h('div', {'aria-live': 'assertive'});
  const button = h('button', {type: 'submit', class: 'primary'}, 'Log in');
  const form = h('form', {class: 'login card', novalidate: true},
    h('h1', {}, 'Switchboard'),
    h('p', {}, 'Log in to the operator console.'),
    field('Username', {name: 'username', autocomplete: 'username', required: true}),
    field('Password', {name: 'password', type: 'password', autocomplete: 'current-password', required: true}),
    message, button);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    message.replaceChildren();
    try {
      await busy(button, () => login(data.get('username'), data.get('password')));
      location.hash = '#/inbox';
    } catch (error) {
      message.replaceChildren(errorBox(error));
    }
  });
  root.append(form);
  form.querySelector('input').focus();
}
