import { closeSync, openSync } from 'node:fs';
import koffi, { type KoffiFunc } from 'koffi';
import { koffiAsync, loadLibrary } from '../../native/src/koffi-runtime';
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
    return loadLibrary(LIBRARY);
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
    bufferOutput: fn<(ctx: unknown) => number>('int nft_ctx_buffer_output(nft_ctx *ctx)'),
    bufferError: fn<(ctx: unknown) => number>('int nft_ctx_buffer_error(nft_ctx *ctx)'),
    output: fn<(ctx: unknown) => string | null>('const char *nft_ctx_get_output_buffer(nft_ctx *ctx)'),
    error: fn<(ctx: unknown) => string | null>('const char *nft_ctx_get_error_buffer(nft_ctx *ctx)'),
    setOutputFlags: fn<(ctx: unknown, flags: number) => void>('void nft_ctx_output_set_flags(nft_ctx *ctx, unsigned int flags)'),
    run: fn<(ctx: unknown, commands: string) => number>('int nft_run_cmd_from_buffer(nft_ctx *ctx, const char *buf)'),
  };
}

let bindings: ReturnType<typeof bind> | undefined;
/** The process's one libnftables context, made at its first use and kept: see `context()`. */
let shared: unknown;
/** The last call on the shared context: the next one starts after it (libnftables contexts are not thread-safe). */
let serial: Promise<unknown> = Promise.resolve();

/** select(2)'s limit: libnftables (1.0.6, Debian 12) waits for its netlink socket with select. */
const FD_SETSIZE = 1024;

/**
 * nftables through libnftables (the library nft(8) itself is built on) in this process: a listing or a
 * transaction costs a netlink round trip, not a process start, so a pass over a firewall in sync starts
 * nothing.
 *
 * One context serves the whole process, made at the first use and never freed. libnftables opens the
 * context's netlink socket in nft_ctx_new and waits on it with select(2), whose fd_set holds fds below 1024
 * only: glibc aborts the process (`bit out of range 0 - FD_SETSIZE on fd_set`) when the socket is fd 1024 or
 * above. A governor with 1,000 tenants holds that many fds (a pidfd per tenant init, among others), and a
 * context made per call, as before, killed it at about the 1,000th tenant. The governor's first use is its
 * first resync, before any tenant is worked on, so the kept context's socket is a low fd. Calls come from the
 * JavaScript thread only, one at a time, so the context is never used by two threads at once.
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

  /** The process's context, made now if this is the first use; refused rather than made where select would abort. */
  private context(commands: string): unknown {
    if (shared !== undefined) return shared;
    const { lib } = this;
    const lowest = lowestFreeFd();
    if (lowest >= FD_SETSIZE) {
      throw new NftablesError(
        commands,
        `every fd below ${FD_SETSIZE} is in use (the next is ${lowest}), and libnftables would abort the process on a socket above ` +
          "select()'s limit: the context must be made while fewer fds are open (the governor makes it at its first resync)",
      );
    }
    const ctx = lib.create(0);
    if (ctx === null) throw new NftablesError(commands, 'nft_ctx_new failed');
    lib.bufferOutput(ctx);
    lib.bufferError(ctx);
    shared = ctx;
    return ctx;
  }

  /**
   * Runs commands (nft -f syntax; one buffer is one transaction) and returns their output. libnftables runs on
   * a worker of libuv's pool, off the event loop: at 1,000 tenants a listing or a replace of the table takes
   * hundreds of milliseconds (seconds in the kernel guest), which the API, NOTIFY and /metrics used to wait
   * for. The process has one context (see context()), so calls run one at a time, in the order made.
   */
  run(commands: string, options: { json?: boolean } = {}): Promise<string> {
    const turn = serial.then(() => this.runNow(commands, options));
    serial = turn.catch(() => undefined);
    return turn;
  }

  private async runNow(commands: string, options: { json?: boolean }): Promise<string> {
    const { lib } = this;
    const ctx = this.context(commands);
    lib.setOutputFlags(ctx, options.json ? OUTPUT_JSON : 0);
    const ret = await koffiAsync<number>((done) => lib.run.async(ctx, commands, done));
    // Both buffers are read after every command: a read also empties them for the next one.
    const output = lib.output(ctx) ?? '';
    const error = lib.error(ctx) ?? '';
    if (ret !== 0) throw new NftablesError(commands, error);
    return output;
  }

  /** `list table inet <name>` as nft -j prints it, or undefined when the table does not exist. */
  async listTable(table: string): Promise<unknown[] | undefined> {
    const text = await this.listTableText(table);
    return text === undefined ? undefined : parseListing(text);
  }

  /** The same listing as nft -j's text, unparsed (handles included), or undefined when the table does not exist. */
  async listTableText(table: string): Promise<string | undefined> {
    try {
      return await this.run(`list table inet ${table}`, { json: true });
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

/** The fd the next open of this process gets (the lowest free one). */
function lowestFreeFd(): number {
  const fd = openSync('/dev/null', 'r');
  closeSync(fd);
  return fd;
}
