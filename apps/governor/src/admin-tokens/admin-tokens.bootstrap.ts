import { chmod, mkdir, writeFile } from 'node:fs/promises';
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
    const generated = await this.tokens.ensureRoot();
    if (generated === undefined) return;
    const file = join(this.config.dataDir, 'admin-token');
    await mkdir(this.config.dataDir, { recursive: true, mode: 0o700 });
    await writeFile(file, `${generated}\n`, { mode: 0o600 });
    await chmod(file, 0o600); // writeFile's mode applies only to a new file
    process.stderr.write(`\nGenerated the root admin token (shown once; also saved to ${file}, mode 0600):\n\n  ${generated}\n\n`);
  }
}
