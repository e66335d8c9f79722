import { readFileSync } from 'node:fs';
import type { LinkCounters } from './tenant-link';

/**
 * /proc/net/dev as counters per interface, from the tenant's side of a host-side veth end: what the host end
 * transmitted is what the tenant received. The same dev_get_stats figures as /sys/class/net/<if>/statistics.
 */
export function parseNetDev(text: string): Map<string, LinkCounters> {
  const counters = new Map<string, LinkCounters>();
  // Two header lines, then "<name>: <8 receive fields> <8 transmit fields>"; a name never holds ':'.
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const fields = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .map(Number);
    if (fields.length < 16 || fields.some((field) => !Number.isFinite(field))) continue;
    const [rxBytes, , , rxDrop, , , , , txBytes, , , txDrop] = fields;
    counters.set(line.slice(0, colon).trim(), { receiveBytes: txBytes, transmitBytes: rxBytes, drops: txDrop + rxDrop });
  }
  return counters;
}

/**
 * Every link of this network namespace (the host's) in one read, in place: one procfs file made on read,
 * for a sample of every tenant, where /sys/class/net costs four reads per tenant.
 */
export function hostLinkCounters(): Map<string, LinkCounters> {
  return parseNetDev(readFileSync('/proc/net/dev', 'utf8'));
}
