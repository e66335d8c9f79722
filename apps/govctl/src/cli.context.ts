import type { Command } from 'commander';
import { dump } from 'js-yaml';
import { GovernorClient, segment } from './api.client';
import type { Tenant } from './api.types';
import { ApiError, UsageError } from './cli.errors';
import { configPath, readConfig, resolveConnection } from './config.store';

export type OutputFormat = 'table' | 'wide' | 'json' | 'yaml';
export const OUTPUT_FORMATS: OutputFormat[] = ['table', 'wide', 'json', 'yaml'];

export interface GlobalFlags {
  server?: string;
  token?: string;
  context?: string;
  output?: string;
}

/** What every command gets: the global flags, a client made on first use, and where to print. */
export class Cli {
  private cachedClient: GovernorClient | undefined;
  private me: Promise<Tenant> | undefined;

  constructor(
    readonly program: Command,
    readonly env: NodeJS.ProcessEnv = process.env,
    readonly stdout: NodeJS.WriteStream = process.stdout,
    readonly stderr: NodeJS.WriteStream = process.stderr,
  ) {}

  get flags(): GlobalFlags {
    return this.program.opts<GlobalFlags>();
  }

  get configPath(): string {
    return configPath(this.env);
  }

  get format(): OutputFormat {
    const format = this.flags.output ?? 'table';
    if (!OUTPUT_FORMATS.includes(format as OutputFormat)) throw new UsageError(`-o must be one of ${OUTPUT_FORMATS.join(', ')}; got "${format}"`);
    return format as OutputFormat;
  }

  /** The terminal's width, or undefined when stdout is a pipe or a file (then nothing is cut). */
  get width(): number | undefined {
    return this.stdout.isTTY ? this.stdout.columns : undefined;
  }

  client(): GovernorClient {
    this.cachedClient ??= new GovernorClient(
      resolveConnection(
        this.flags,
        this.env,
        readConfig(this.configPath, (line) => this.warn(line)),
      ),
    );
    return this.cachedClient;
  }

  /**
   * The API path of a tenant's resource for the credential in use: /v1/tenants/<name>/… with an admin
   * token, /v1/me/… with that tenant's key (another name is not found, as the API says for another tenant).
   */
  async tenantPath(tenant: string, rest: string): Promise<string> {
    const client = this.client();
    if (!client.isTenantKey) return `/v1/tenants/${segment(tenant)}${rest}`;
    this.me ??= client.get<Tenant>('/v1/me');
    const mine = (await this.me).name;
    if (mine !== tenant) {
      throw new ApiError({ status: 404, title: 'Not Found', detail: `tenant "${tenant}" not found (this key belongs to "${mine}")` });
    }
    return `/v1/me${rest}`;
  }

  out(text: string): void {
    this.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  warn(text: string): void {
    this.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  /** Prints `data` as -o asks: JSON or YAML as the API gave it, or the command's table. */
  print(data: unknown, table: (wide: boolean) => string): void {
    const format = this.format;
    if (format === 'json') this.out(JSON.stringify(data, null, 2));
    else if (format === 'yaml') this.out(dump(data, { noRefs: true, lineWidth: -1 }));
    else this.out(table(format === 'wide'));
  }
}
