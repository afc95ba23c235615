/** ISO 8601 date-time with seconds, optional fraction, and `Z` or a ±hh:mm offset. */
const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})$/;

/** True for an ISO 8601 timestamp with `Z` or an offset that names a real instant. */
export function isIsoTimestamp(value: unknown): value is string {
  return typeof value === 'string' && ISO_8601.test(value) && !Number.isNaN(Date.parse(normalise(value)));
}

function normalise(value: string): string {
  // Date.parse wants "+08:00"; ISO 8601 also allows "+0800".
  return value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
}

/** Milliseconds since the epoch of an ISO 8601 timestamp; `+08:00` and `Z` forms of one instant are equal. */
export function instantOf(value: string): number {
  const ms = Date.parse(normalise(value));
  if (Number.isNaN(ms)) throw new RangeError(`not an ISO 8601 timestamp: ${value}`);
  return ms;
}
