import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { hashToken } from '../auth/token';
import { GOVERNOR_CONFIG, type GovernorConfig } from '../config/governor.config';

/**
 * The token GET /metrics needs: GOVERNOR_METRICS_TOKEN, or one generated at first start into
 * <data dir>/metrics-token (0600) and read from there afterwards, or none with GOVERNOR_METRICS_PUBLIC=true.
 * Tenant processes share the host's loopback with nothing (their own network namespace), but host users do:
 * per-tenant usage, names and workload ids are not theirs to read. A generated token is announced once on
 * stderr, with how to scrape, never through the structured log.
 */
@Injectable()
export class MetricsTokenSource implements OnModuleInit {
  private hash: Buffer | undefined;
  private resolved = false;

  constructor(@Inject(GOVERNOR_CONFIG) private readonly config: GovernorConfig) {}

  onModuleInit(): void {
    this.resolve();
  }

  /** The SHA-256 of the expected token, or undefined when /metrics is public. */
  expected(): Buffer | undefined {
    if (!this.resolved) this.resolve();
    return this.hash;
  }

  get file(): string {
    return join(this.config.dataDir, 'metrics-token');
  }

  private resolve(): void {
    this.resolved = true;
    if (this.config.metricsPublic) return;
    if (this.config.metricsToken !== undefined) {
      this.hash = hashToken(this.config.metricsToken);
      return;
    }
    let token: string;
    try {
      token = readFileSync(this.file, 'utf8').trim();
    } catch {
      token = `gvm_${randomBytes(24).toString('base64url')}`;
      mkdirSync(this.config.dataDir, { recursive: true, mode: 0o700 });
      writeFileSync(this.file, `${token}\n`, { mode: 0o600 });
      chmodSync(this.file, 0o600);
      const scheme = this.config.tls ? 'https' : 'http';
      process.stderr.write(
        `\nGenerated the metrics token (saved to ${this.file}, mode 0600). Scrape with:\n\n` +
          `  curl -H "Authorization: Bearer $(cat ${this.file})" ${scheme}://${this.config.host}:${this.config.port}/metrics\n\n` +
          `or in prometheus.yml: authorization: { credentials_file: ${this.file} } (config/prometheus/prometheus.yml).\n` +
          `Set GOVERNOR_METRICS_TOKEN to choose it, or GOVERNOR_METRICS_PUBLIC=true to need none.\n\n`,
      );
    }
    this.hash = hashToken(token);
  }
}
