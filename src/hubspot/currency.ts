/**
 * Money amounts from Loopwise come in the currency's smallest unit as the platform uses it.
 * HubSpot's `price` wants a decimal in major units. The conversion is done on integers (BigInt)
 * so no floating-point drift can creep in: 1999 USD cents is "19.99", never "19.990000000000002".
 *
 * Rule: digits come from the per-currency override (CURRENCY_DIGITS), else from the table below
 * (ISO 4217 minor units, with TWD as 0 because the platform uses whole dollars for TWD), else 2
 * (the ISO 4217 minor unit of most currencies). The result always has exactly that many decimals
 * ("1.00" for 100 USD cents, "7500" for 7500 TWD).
 */

/** Currencies whose number of decimals is not 2 (ISO 4217), plus TWD treated as 0. */
export const CURRENCY_DIGITS: Readonly<Record<string, number>> = {
  // zero-decimal
  BIF: 0,
  CLP: 0,
  DJF: 0,
  GNF: 0,
  ISK: 0,
  JPY: 0,
  KMF: 0,
  KRW: 0,
  PYG: 0,
  RWF: 0,
  UGX: 0,
  UYI: 0,
  VND: 0,
  VUV: 0,
  XAF: 0,
  XOF: 0,
  XPF: 0,
  // Loopwise's TWD amounts are whole dollars (see DESIGN.md), although ISO 4217 says 2.
  TWD: 0,
  // three-decimal
  BHD: 3,
  IQD: 3,
  JOD: 3,
  KWD: 3,
  LYD: 3,
  OMR: 3,
  TND: 3,
  // four-decimal
  CLF: 4,
  UYW: 4,
};

/** Digits used for a currency that is neither overridden nor in the table. */
export const DEFAULT_DIGITS = 2;

/** Number of decimals of `currency`: the override, else the table, else DEFAULT_DIGITS. */
export function currencyDigits(currency: string, overrides: Readonly<Record<string, number>> = {}): number {
  const code = currency.trim().toUpperCase();
  return overrides[code] ?? CURRENCY_DIGITS[code] ?? DEFAULT_DIGITS;
}

/** Converts a smallest-unit integer amount to an exact decimal string with the currency's digits. */
export function minorToDecimal(
  amount: number | bigint,
  currency: string,
  overrides: Readonly<Record<string, number>> = {},
): string {
  if (typeof amount === 'number' && !Number.isSafeInteger(amount)) {
    throw new RangeError(`amount must be a whole number of the smallest unit, got ${amount}`);
  }
  const digits = currencyDigits(currency, overrides);
  const value = BigInt(amount);
  const negative = value < 0n;
  const abs = negative ? -value : value;
  if (digits === 0) return `${negative ? '-' : ''}${abs}`;
  const scale = 10n ** BigInt(digits);
  const whole = abs / scale;
  const fraction = (abs % scale).toString().padStart(digits, '0');
  return `${negative ? '-' : ''}${whole}.${fraction}`;
}
