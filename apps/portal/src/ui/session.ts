// The key lives in this tab's sessionStorage only: never a cookie, gone when the tab closes or the person
// signs out.

export interface Session {
  key: string;
  kind: 'tenant' | 'admin';
}

const STORAGE_KEY = 'governor.portal.session';

export function loadSession(): Session | undefined {
  try {
    const parsed = JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? 'null') as Partial<Session> | null;
    if (parsed && typeof parsed.key === 'string' && (parsed.kind === 'tenant' || parsed.kind === 'admin')) return { key: parsed.key, kind: parsed.kind };
  } catch {
    // a damaged entry is the same as none
  }
  return undefined;
}

export function saveSession(session: Session): void {
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify(session));
}

export function clearSession(): void {
  sessionStorage.removeItem(STORAGE_KEY);
}
