import koffi, { type KoffiFunc } from 'koffi';
import { KoffiNative } from '../../native/src/native';
import type { GovernorNative } from '../../native/src/native.types';

/** nft_ctx_output_set_flags of libnftables: NFT_CTX_OUTPUT_JSON. */
const OUTPUT_JSON = 1 << 4;
const LIBRARY = 'libnftables.so.1';

/** A refused nftables command: the command's first line and what libnftables said. */
export class NftablesError extends Error {
  constructor(
    readonly command: string,
    readonly detail: string,
  ) {
    super(`nftables refused ${JSON.stringify(command.split('\n')[0])}: ${detail.trim() || 'no message'}`);
    this.name = 'NftablesError';
  }
}

/** libnftables is a host library, not part of this package: a load failure names it and how to get it. */
function load(): ReturnType<typeof koffi.load> {
  try {
    return koffi.load(LIBRARY);
  } catch (err) {
    throw new Error(
      `${LIBRARY} could not be loaded (${(err as Error).message}); the tenant firewall needs it: ` +
        'on Debian or Ubuntu install the libnftables1 package (npm install does so when run as root)',
      { cause: err },
    );
  }
}

function bind() {
  const lib = load();
  const ctx = koffi.pointer(koffi.opaque('nft_ctx'));
  const fn = <T extends (...args: never[]) => unknown>(prototype: string): KoffiFunc<T> => lib.func(prototype) as KoffiFunc<T>;
  return {
    ctx,
    create: fn<(flags: number) => unknown>('nft_ctx *nft_ctx_new(uint32_t flags)'),
    free: fn<(ctx: unknown) => void>('void nft_ctx_free(nft_ctx *ctx)'),
    bufferOutput: fn<(ctx: unknown) => number>('int nft_ctx_buffer_output(nft_ctx *ctx)'),
    bufferError: fn<(ctx: unknown) => number>('int nft_ctx_buffer_error(nft_ctx *ctx)'),
    output: fn<(ctx: unknown) => string | null>('const char *nft_ctx_get_output_buffer(nft_ctx *ctx)'),
    error: fn<(ctx: unknown) => string | null>('const char *nft_ctx_get_error_buffer(nft_ctx *ctx)'),
    setOutputFlags: fn<(ctx: unknown, flags: number) => void>('void nft_ctx_output_set_flags(nft_ctx *ctx, unsigned int flags)'),
    run: fn<(ctx: unknown, commands: string) => number>('int nft_run_cmd_from_buffer(nft_ctx *ctx, const char *buf)'),
  };
}

let bindings: ReturnType<typeof bind> | undefined;

/**
 * nftables through libnftables (the library nft(8) itself is built on) in this process: a listing or a
 * transaction costs a netlink round trip, not a process start, so a pass over a firewall in sync starts
 * nothing. A context is made per call, because libnftables contexts are not safe to share.
 */
export class Nftables {
  constructor(private readonly native: Pick<GovernorNative, 'nftGeneration'> = new KoffiNative()) {}

  /**
   * The ruleset generation of this network namespace, over nfnetlink and without libnftables' cache: every
   * committed transaction of any table bumps it, so an unchanged one means every table is as it was.
   */
  generation(): number {
    return this.native.nftGeneration();
  }

  private get lib(): ReturnType<typeof bind> {
    bindings ??= bind();
    return bindings;
  }

  /** Runs commands (nft -f syntax; one buffer is one transaction) and returns their output. */
  run(commands: string, options: { json?: boolean } = {}): string {
    const { lib } = this;
    const ctx = lib.create(0);
    if (ctx === null) throw new NftablesError(commands, 'nft_ctx_new failed');
    try {
      lib.bufferOutput(ctx);
      lib.bufferError(ctx);
      if (options.json) lib.setOutputFlags(ctx, OUTPUT_JSON);
      const ret = lib.run(ctx, commands);
      if (ret !== 0) throw new NftablesError(commands, lib.error(ctx) ?? '');
      return lib.output(ctx) ?? '';
    } finally {
      lib.free(ctx);
    }
  }

  /** `list table inet <name>` as nft -j prints it, or undefined when the table does not exist. */
  listTable(table: string): unknown[] | undefined {
    const text = this.listTableText(table);
    return text === undefined ? undefined : parseListing(text);
  }

  /** The same listing as nft -j's text, unparsed (handles included), or undefined when the table does not exist. */
  listTableText(table: string): string | undefined {
    try {
      return this.run(`list table inet ${table}`, { json: true });
    } catch (err) {
      if (err instanceof NftablesError && /No such file or directory/.test(err.detail)) return undefined;
      throw err;
    }
  }
}

/** The entries of an nft -j listing's text. */
export function parseListing(text: string): unknown[] {
  return (JSON.parse(text) as { nftables?: unknown[] }).nftables ?? [];
}
