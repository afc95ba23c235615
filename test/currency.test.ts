import { describe, expect, it } from 'vitest';
import { currencyDigits, minorToDecimal } from '../src/hubspot/currency.ts';

describe('minorToDecimal', () => {
  const cases: [amount: number | bigint, currency: string, overrides: Record<string, number>, expected: string][] = [
    [1999, 'USD', {}, '19.99'],
    [5, 'USD', {}, '0.05'],
    [100, 'USD', {}, '1.00'],
    [0, 'USD', {}, '0.00'],
    [1234, 'KWD', {}, '1.234'],
    [5, 'BHD', {}, '0.005'],
    [7500, 'TWD', {}, '7500'],
    [15000, 'TWD', {}, '15000'],
    [500, 'JPY', {}, '500'],
    [1999, 'usd', {}, '19.99'],
    [12345, 'CLF', {}, '1.2345'],
    // unknown codes use 2 digits
    [1999, 'XYZ', {}, '19.99'],
    // overrides win over the table, in either direction
    [7500, 'TWD', { TWD: 2 }, '75.00'],
    [1999, 'USD', { USD: 0 }, '1999'],
    [1999, 'XYZ', { XYZ: 3 }, '1.999'],
    // exact where floats drift: 0.1 + 0.2 style values and amounts past 2^53
    [30, 'USD', {}, '0.30'],
    [1_000_000_007, 'USD', {}, '10000000.07'],
    [9_007_199_254_740_993n, 'USD', {}, '90071992547409.93'],
    [-1999, 'USD', {}, '-19.99'],
  ];
  it.each(cases)('%s %s %o → %s', (amount, currency, overrides, expected) => {
    expect(minorToDecimal(amount, currency, overrides)).toBe(expected);
  });

  it('refuses an amount that is not a whole number of the smallest unit', () => {
    expect(() => minorToDecimal(19.99, 'USD')).toThrow(RangeError);
    expect(() => minorToDecimal(Number.MAX_SAFE_INTEGER + 2, 'USD')).toThrow(RangeError);
  });
});

describe('currencyDigits', () => {
  const cases: [string, Record<string, number>, number][] = [
    ['USD', {}, 2],
    ['EUR', {}, 2],
    ['JPY', {}, 0],
    ['KRW', {}, 0],
    ['TWD', {}, 0],
    ['KWD', {}, 3],
    ['OMR', {}, 3],
    ['ZZZ', {}, 2],
    [' twd ', {}, 0],
    ['HUF', { HUF: 0 }, 0],
  ];
  it.each(cases)('%s %o → %i', (currency, overrides, digits) => {
    expect(currencyDigits(currency, overrides)).toBe(digits);
  });
});
