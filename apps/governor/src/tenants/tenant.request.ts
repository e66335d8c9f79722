import { type FieldError, type Quota, readQuota, readTenantName } from '../../../../libs/domain/src';
import { readObject } from '../../../../libs/domain/src/json';
import { text, throwIfAny } from '../common/body';

export const MAX_DISPLAY_NAME = 200;
export const MAX_NODES = 64;
const NODE_NAME = /^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$/;

/** The parts of a tenant that PATCH may change. */
export interface TenantSpec {
  displayName: string | null;
  quota: Quota;
  nodes: string[];
  suspended: boolean;
}

export interface CreateTenantInput extends Omit<TenantSpec, 'suspended'> {
  name: string;
  rootfs: string | null;
  hostname: string | null;
}

const CREATE_KEYS = ['name', 'displayName', 'quota', 'nodes', 'rootfs', 'hostname'] as const;
const HOSTNAME = /^(?=.{1,64}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
const MAX_ROOTFS = 4096;

export const PATCH_KEYS = ['displayName', 'quota', 'nodes', 'suspended'] as const;

/**
 * The shape of a tenant create. Whether its rootfs is a directory is a question for the hosts that will run the
 * tenant (TenantHostRouter.checkRootfs): this host in role all, the agents of its nodes in role api.
 */
export function parseCreateTenant(body: unknown): CreateTenantInput {
  const errors: FieldError[] = [];
  const record = readObject(body, '', 'a tenant', CREATE_KEYS, errors);
  if (!record) throwIfAny(errors);
  const name = readTenantName(record?.name, 'name', errors) ?? '';
  const spec = parseSpecFields({ ...record, suspended: false }, errors);
  const rootfs = record?.rootfs === undefined || record.rootfs === null ? null : (text(record.rootfs, 'rootfs', MAX_ROOTFS, errors) ?? null);
  if (rootfs !== null && (!rootfs.startsWith('/') || rootfs.split('/').includes('..') || rootfs === '/')) {
    errors.push({ path: 'rootfs', message: 'must be an absolute path to a directory other than /, without ".." components' });
  }
  const hostname = record?.hostname === undefined || record.hostname === null ? null : (text(record.hostname, 'hostname', 64, errors) ?? null);
  if (hostname !== null && !HOSTNAME.test(hostname)) {
    errors.push({ path: 'hostname', message: 'must be a hostname: dot-separated labels of a-z, 0-9 and "-", 64 characters at most' });
  }
  throwIfAny(errors);
  return { name, displayName: spec.displayName, quota: spec.quota, nodes: spec.nodes, rootfs, hostname };
}

/** The error of a rootfs that is not a directory on `host` ("this host", "node a-1"). */
export function rootfsNotADirectory(rootfs: string, host: string): FieldError {
  return { path: 'rootfs', message: `must be an existing directory (an unpacked image) on ${host}; ${rootfs} is missing or not a directory` };
}

/** Checks the shape of a merge patch before it is applied: only the known fields, as an object. */
export function parseTenantPatch(body: unknown): Record<string, unknown> {
  const errors: FieldError[] = [];
  const record = readObject(body, '', 'a tenant merge patch', PATCH_KEYS, errors);
  throwIfAny(errors);
  return record ?? {};
}

/** Validates a whole spec: the body of a create, or the result of applying a merge patch. */
export function parseSpec(document: Record<string, unknown>): TenantSpec {
  const errors: FieldError[] = [];
  const spec = parseSpecFields(document, errors);
  throwIfAny(errors);
  return spec;
}

function parseSpecFields(document: Record<string, unknown>, errors: FieldError[]): TenantSpec {
  const displayName =
    document.displayName === undefined || document.displayName === null ? null : (text(document.displayName, 'displayName', MAX_DISPLAY_NAME, errors) ?? null);
  const quota: Quota = readQuota(document.quota ?? {}, 'quota', errors) ?? {};
  const nodes = parseNodes(document.nodes ?? [], errors);
  const suspended = document.suspended ?? false;
  if (typeof suspended !== 'boolean') errors.push({ path: 'suspended', message: 'must be true or false' });
  return { displayName, quota, nodes, suspended: suspended === true };
}

function parseNodes(value: unknown, errors: FieldError[]): string[] {
  if (!Array.isArray(value) || value.length > MAX_NODES) {
    errors.push({ path: 'nodes', message: `must be an array of at most ${MAX_NODES} node names; an empty array means every node` });
    return [];
  }
  const nodes: string[] = [];
  value.forEach((node, i) => {
    if (typeof node !== 'string' || !NODE_NAME.test(node)) {
      errors.push({ path: `nodes[${i}]`, message: "must be a node name: 1 to 63 characters of a-z, 0-9, '.' and '-'" });
    } else if (nodes.includes(node)) {
      errors.push({ path: `nodes[${i}]`, message: `names ${node} a second time; list each node once` });
    } else {
      nodes.push(node);
    }
  });
  return nodes.sort();
}
