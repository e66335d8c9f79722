/** Polls `probe` every 200 ms until it gives something other than undefined, or fails after `timeoutMs` naming `what`. */
export async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs: number, what = 'the condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} did not hold within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
