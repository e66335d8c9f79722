export type { DirFd, GovernorNative, ProcessExit, SpareMonitor, SpawnRequest, SpawnedProcess } from './native.types';
export { NativeError } from './native.error';
export { KoffiNative, findLibrary, monitorPath } from './native';
export { KoffiNetlink } from './netlink';
export type { NetlinkStep, NetlinkWrites } from './netlink.types';
