import { execFileSync } from 'node:child_process';
import { userInfo } from 'node:os';

/** The system account the embedded server runs as when the governor runs as root. */
export const SERVER_USER = 'governor-pg';

export interface ServerAccount {
  name: string;
  uid: number;
  gid: number;
  /** false when the governor itself is unprivileged and the server simply runs as the same user */
  switchUser: boolean;
}

function lookup(name: string): { uid: number; gid: number } | undefined {
  try {
    const fields = execFileSync('getent', ['passwd', name], { encoding: 'utf8' }).trim().split(':');
    return { uid: Number(fields[2]), gid: Number(fields[3]) };
  } catch (err) {
    if ((err as { status?: number }).status === 2) return undefined; // getent: key not found
    throw new Error(`cannot look up the user ${name} (getent passwd): ${(err as Error).message}`, { cause: err });
  }
}

/**
 * PostgreSQL refuses to run as root. A root governor runs it as SERVER_USER, a system account with no home
 * and no login shell, created here on first start (as Debian's postgresql package creates "postgres"); an
 * unprivileged governor runs it as itself.
 */
export function serverAccount(): ServerAccount {
  const me = userInfo();
  if (me.uid !== 0) return { name: me.username, uid: me.uid, gid: me.gid, switchUser: false };
  let account = lookup(SERVER_USER);
  if (account === undefined) {
    try {
      execFileSync(
        'useradd',
        [
          '--system',
          '--user-group',
          '--no-create-home',
          '--home-dir',
          '/nonexistent',
          '--shell',
          '/usr/sbin/nologin',
          '--comment',
          'Governor embedded PostgreSQL',
          SERVER_USER,
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
    } catch (err) {
      // Two governors on two data dirs may race to create it: the loser finds it made.
      if (lookup(SERVER_USER) === undefined) {
        const stderr = String((err as { stderr?: Buffer }).stderr ?? '').trim();
        throw new Error(`cannot create the system user ${SERVER_USER} for the embedded PostgreSQL (useradd: ${stderr || (err as Error).message})`, {
          cause: err,
        });
      }
    }
    account = lookup(SERVER_USER);
    if (account === undefined) throw new Error(`the system user ${SERVER_USER} was created but cannot be found`);
  }
  return { name: SERVER_USER, ...account, switchUser: true };
}
