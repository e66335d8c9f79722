import { AlertArea } from './alert-area';
import { Api, isApiError } from './api';
import { h } from './dom';
import type { Session } from './session';

/**
 * Which kind of key this is: a tenant key reaches /v1/me; an admin token gets 403 there and reaches the
 * admin collection instead. Anything else is reported as the API words it.
 */
export async function identify(key: string): Promise<Session> {
  const api = new Api(key);
  try {
    await api.get('/v1/me');
    return { key, kind: 'tenant' };
  } catch (err) {
    if (!isApiError(err, 403)) throw err;
  }
  await api.get('/v1/quota-requests?state=pending&limit=1');
  return { key, kind: 'admin' };
}

/** The sign-in form: one field for a tenant key or an admin token. */
export function signInForm(onSignedIn: (session: Session) => void, notice?: string): HTMLElement {
  const alerts = new AlertArea();
  const input = h('input', {
    id: 'key',
    name: 'key',
    type: 'password',
    autocomplete: 'off',
    spellcheck: 'false',
    required: true,
    'aria-describedby': 'key-hint',
  });
  const button = h('button', { type: 'submit' }, 'Sign in');
  const form = h(
    'form',
    { class: 'sign-in panel', 'aria-labelledby': 'sign-in-heading' },
    h('h2', { id: 'sign-in-heading' }, 'Sign in'),
    h('div', { class: 'field' }, h('label', { for: 'key' }, 'Tenant key or admin token'), input),
    h('p', { class: 'hint', id: 'key-hint' }, 'A tenant key starts with gvt_. It stays in this tab only and is forgotten when you sign out or close the tab.'),
    button,
    alerts.element,
  );
  if (notice) alerts.error(new Error(notice));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const key = input.value.trim();
    if (key === '') {
      alerts.error(new Error('Paste your key first.'));
      input.focus();
      return;
    }
    button.disabled = true;
    alerts.done('Signing in…');
    identify(key).then(
      (session) => {
        input.value = '';
        onSignedIn(session);
      },
      (err: unknown) => {
        button.disabled = false;
        alerts.error(err);
        input.focus();
      },
    );
  });
  return form;
}
