// Users and API keys, for admins: the tenant's users, a new user with a role, the keys and a
// new key (shown once).

import {all, post, remove} from '../api.js';
import {busy, errorBox, field, h, heading, report, select, table, toast, when} from '../view.js';

const roles = ['admin', 'agent', 'viewer', 'member'];

export async function render(root) {
  const users = h('div');
  const keys = h('div');
  const problems = h('div', {'aria-live': 'assertive'});
  const shown = h('div', {'aria-live': 'polite'});
  async function load() {
    try {
      const [userRows, keyRows] = await Promise.all([all('/api/v1/users'), all('/api/v1/api-keys')]);
      users.replaceChildren(table([
        {label: 'Username', cell: (user) => user.username},
        {label: 'Role', cell: (user) => user.role},
        {label: 'External id', cell: (user) => user.externalId || ''},
        {label: 'Created', cell: (user) => when(user.createdAt)},
      ], userRows, 'Users'));
      keys.replaceChildren(table([
        {label: 'Name', cell: (key) => key.name},
        {label: 'Role', cell: (key) => key.role || ''},
        {label: 'Created', cell: (key) => when(key.createdAt)},
        {label: 'Actions', cell: (key) => {
          const button = h('button', {type: 'button', 'aria-label': `Revoke key ${key.name}`}, 'Revoke');
          button.addEventListener('click', () => busy(button, () => remove(`/api/v1/api-keys/${key.id}`).then(load, (error) => report(problems, error))));
          return button;
        }},
      ], keyRows, 'API keys'));
    } catch (error) {
      users.replaceChildren(errorBox(error));
    }
  }
  const userButton = h('button', {type: 'submit', class: 'primary'}, 'Create user');
  const userForm = h('form', {class: 'card', 'aria-labelledby': 'new-user'}, h('h2', {id: 'new-user'}, 'New user'),
    field('Username', {name: 'username', required: true, autocomplete: 'off'}),
    field('Password', {name: 'password', type: 'password', required: true, autocomplete: 'new-password'}),
    field('Role', select('role', roles.map((role) => [role, role]), 'agent')),
    field('External id (members)', {name: 'externalId'}), userButton);
  userForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const data = Object.fromEntries([...new FormData(userForm)].filter(([, value]) => value !== ''));
    try {
      await busy(userButton, () => post('/api/v1/users', data));
      toast(`User ${data.username} created`);
      userForm.reset();
      report(problems, null);
      await load();
    } catch (error) {
      report(problems, error);
    }
  });
  const keyButton = h('button', {type: 'submit'}, 'Create key');
  const keyForm = h('form', {class: 'card', 'aria-labelledby': 'new-key'}, h('h2', {id: 'new-key'}, 'New API key'),
    field('Name', {name: 'name', required: true}),
    field('Role (at most yours)', select('role', [['', 'Yours'], ...roles.map((role) => [role, role])])), keyButton);
  keyForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const data = Object.fromEntries([...new FormData(keyForm)].filter(([, value]) => value !== ''));
    try {
      const created = await busy(keyButton, () => post('/api/v1/api-keys', data));
      shown.replaceChildren(h('div', {class: 'card success', role: 'status'}, 'Key (shown once, copy it now): ', h('code', {}, created.key)));
      keyForm.reset();
      report(problems, null);
      await load();
    } catch (error) {
      report(problems, error);
    }
  });
  root.append(heading('Users and API keys'), problems, shown, users, keys, h('div', {class: 'columns'}, userForm, keyForm));
  await load();
}
