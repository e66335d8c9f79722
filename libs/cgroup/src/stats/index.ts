export { isDeviceNumber, parseFlatKeyed, parseKernelDecimal, parseKernelInteger, parseMaxOrInteger, splitLines } from './flat-keyed';
export { parseNestedKeyed, type NestedKeyedLine } from './nested-keyed';
export { parseCpuStat, parseCpuStatLocal, type CpuStat, type CpuStatLocal } from './cpu-stat';
export { parseMemoryEvents, parseMemoryStat, parseSwapEvents, type MemoryEvents, type MemoryStat, type SwapEvents } from './memory';
export { parseLimitValue, parsePidsEvents, type PidsEvents } from './pids';
export { parseIoStat, type IoStatEntry } from './io-stat';
export { parsePressure, parsePressureLines, type Pressure, type PressureLine, type PressureLines } from './pressure';
export { parseCgroupEvents, type CgroupEvents } from './cgroup-events';
export { parseCpuMax, parseIoMax, parseIoWeight, type CpuMax, type IoMaxEntry, type IoWeight } from './cpu-max';
