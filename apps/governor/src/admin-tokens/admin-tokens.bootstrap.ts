import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { GOVERNOR_CONFIG, type GovernorConfig } from '../config/governor.config';
import { AdminTokensService } from './admin-tokens.service';

/**
 * At first start without GOVERNOR_ADMIN_TOKEN, a root token is generated, written to
 * <data dir>/admin-token (0600) and printed once to the terminal. It goes to stderr directly and never
 * through the structured log, which may be shipped elsewhere.
 */
@Injectable()
export class AdminTokensBootstrap implements OnApplicationBootstrap {
  constructor(
    private readonly tokens: AdminTokensService,
    @Inject(GOVERNOR_CONFIG) private readonly config: GovernorConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const file = join(this.config.dataDir, 'admin-token');
    const generated = await this.tokens.ensureRoot((token) => writeDurably(file, `${token}\n`));
    if (generated === undefined) return;
    process.stderr.write(`\nGenerated the root admin token (shown once; also saved to ${file}, mode 0600):\n\n  ${generated}\n\n`);
  }
}

/**
 * Writes the file whole or not at all, and durably before the token's row commits: a temporary file
 * (0600 from its creation) is synced, renamed over the target, and the directory synced, so a crash or
 * a full disk never leaves a committed token without its file, nor a half-written file.
 */
async function writeDurably(file: string, content: string): Promise<void> {
  const dir = join(file, '..');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const temporary = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    const handle = await open(temporary, 'wx', 0o600);
    try {
      await handle.writeFile(content);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, file);
  } catch (err) {
    await rm(temporary, { force: true });
    throw err;
  }
  const directory = await open(dir, 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}
