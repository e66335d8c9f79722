import './styles.css';
import { AdminView } from './admin-view';
import { Api } from './api';
import { fill, h } from './dom';
import { clearSession, loadSession, saveSession, type Session } from './session';
import { signInForm } from './sign-in';
import { TenantView } from './tenant-view';

const main = document.getElementById('main')!;
const account = document.getElementById('account')!;
let current: { stop(): void } | undefined;

function signOut(notice?: string): void {
  current?.stop();
  current = undefined;
  clearSession();
  fill(account);
  fill(main, signInForm(signIn, notice));
  document.getElementById('key')?.focus();
}

function signIn(session: Session): void {
  saveSession(session);
  current?.stop();
  const api = new Api(session.key, () => signOut('Your key stopped working (revoked or expired). Sign in again.'));
  const view = session.kind === 'tenant' ? new TenantView(api) : new AdminView(api);
  current = view;
  const out = h('button', { type: 'button', class: 'secondary' }, 'Sign out');
  out.addEventListener('click', () => signOut());
  fill(account, h('span', { class: 'who' }, session.kind === 'tenant' ? 'Tenant' : 'Admin'), out);
  fill(main, view.element);
  document.title = session.kind === 'tenant' ? 'Governor portal: tenant' : 'Governor portal: admin';
  void view.start();
}

const saved = loadSession();
if (saved) signIn(saved);
else signOut();
