import type { ValueTransformer } from 'typeorm';

/** pg returns int8 as a string; counters here stay far below 2^53, so a number is exact. */
export const bigintAsNumber: ValueTransformer = {
  to: (value: number | undefined | null) => value,
  from: (value: string | null) => (value === null ? null : Number(value)),
};
