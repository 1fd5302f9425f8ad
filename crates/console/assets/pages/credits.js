// Credits: the balance, a grant (idempotent by its key), and the ledger of grants and debits.

import {get, post} from '../api.js';
import {busy, errorBox, field, h, heading, report, table, toast, when} from '../view.js';

export async function render(root) {
  const balance = h('p', {class: 'balance', role: 'status'});
  const ledger = h('div');
  const problems = h('div', {'aria-live': 'assertive'});
  async function load() {
    try {
      const [credits, page] = await Promise.all([get('/api/v1/credits'), get('/api/v1/credits/ledger', {limit: 100})]);
      balance.replaceChildren('Balance: ', h('strong', {}, credits.balance), ' credits');
      ledger.replaceChildren(table([
        {label: 'When', cell: (entry) => when(entry.createdAt, 'long')},
        {label: 'Amount', cell: (entry) => h('span', {class: entry.amount < 0 ? 'debit' : 'grant'}, entry.amount > 0 ? `+${entry.amount}` : entry.amount)},
        {label: 'Balance after', cell: (entry) => entry.balanceAfter},
        {label: 'Reason', cell: (entry) => entry.reason},
      ], page.data, 'Ledger, newest first'));
    } catch (error) {
      ledger.replaceChildren(errorBox(error));
    }
  }
  const button = h('button', {type: 'submit', class: 'primary'}, 'Grant');
  const form = h('form', {class: 'inline', 'aria-label': 'Grant credits'},
    field('Amount', {name: 'amount', type: 'number', min: 1, required: true}),
    field('Reason', {name: 'reason', required: true, value: 'top-up'}), button);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    try {
      await busy(button, () => post('/api/v1/credits/grants', {amount: Number(data.get('amount')), reason: data.get('reason'), idempotencyKey: crypto.randomUUID()}));
      toast('Credits granted');
      report(problems, null);
      await load();
    } catch (error) {
      report(problems, error);
    }
  });
  root.append(heading('Credits'), balance, problems, form, ledger);
  await load();
}
