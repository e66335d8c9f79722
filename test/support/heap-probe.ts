/**
 * Preloaded into a governor under test (`node --expose-gc -r …/heap-probe.js`, see `HEAP_PROBE_FLAGS` in service.process.ts), never into
 * production: on SIGUSR2 it collects all garbage, then writes the process's memory figures to stderr as one line,
 * so that a test compares what is still reachable rather than where V8 chose to let its heap settle.
 */
const collect = (globalThis as { gc?: () => void }).gc;
if (collect === undefined) throw new Error('heap-probe needs node --expose-gc');

process.on('SIGUSR2', () => {
  // Twice: objects with finalizers (and weak references) are freed only by the collection after the one that found them.
  collect();
  collect();
  const usage = process.memoryUsage();
  process.stderr.write(`heap-probe ${JSON.stringify(usage)}\n`);
});
