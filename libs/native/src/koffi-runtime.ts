import koffi from 'koffi';
import { CallGate } from './call-gate';

/**
 * Sets of call memory koffi keeps for async calls (its default is 8, its maximum 32). A call made while every
 * set is taken allocates a set of its own (a 128 KiB stack and a 128 KiB heap) and frees it when it completes,
 * on the event loop. Measured on this host (2 cores, test/bench/native-calls.bench.ts): with koffi's defaults a
 * call costs 6.6 µs of CPU with 8 in flight and 36–56 µs with 16 to 64; through this module, 4.4–5.7 µs.
 */
export const ASYNC_POOLS = 32;

/**
 * koffi.load, after the process's koffi settings. They can only be changed before the first library is loaded,
 * so every library Governor loads (its own, libnftables) comes through here.
 */
export function loadLibrary(path: string): ReturnType<typeof koffi.load> {
  if (koffi.config().resident_async_pools !== ASYNC_POOLS) koffi.config({ resident_async_pools: ASYNC_POOLS });
  return koffi.load(path);
}

/**
 * Every async koffi call of the process, from any library: never more in flight than koffi has resident call
 * memory for. The rest wait here, in JavaScript, instead of in libuv's queue with memory of their own (and
 * koffi refuses a call outright past its max_async_calls, 256 by default).
 */
const gate = new CallGate(ASYNC_POOLS);

/**
 * Starts a koffi `.async` call through the gate: `start` receives the callback koffi calls on completion.
 * A koffi marshalling error rejects.
 */
export function koffiAsync<T>(start: (done: (err: unknown, value: T) => void) => void): Promise<T> {
  return gate.run(
    () =>
      new Promise<T>((resolve, reject) =>
        start((err, value) => (err ? reject(err instanceof Error ? err : new Error(`koffi async call failed: ${JSON.stringify(err)}`)) : resolve(value))),
      ),
  );
}
