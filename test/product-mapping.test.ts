import { describe, expect, it } from 'vitest';
import type { Course, Plan } from '../src/events/types.ts';
import {
  productInputs,
  productName,
  productProperties,
  type ProductMappingOptions,
} from '../src/hubspot/product-mapping.ts';
import { fixture } from './support/env.ts';

const single: ProductMappingOptions = { multiCurrency: false, currencyDigits: {} };
const multi: ProductMappingOptions = { multiCurrency: true, currencyDigits: {} };

const course = (over: Partial<Course> = {}): Course => ({
  id: 'c1',
  name: 'Course',
  description: 'course text',
  state: 'published',
  slug: 'course',
  updated_at: '2024-01-01T00:00:00Z',
  plans: [],
  ...over,
});
const plan = (over: Partial<Plan> = {}): Plan => ({
  id: 'p1',
  name: 'Plan',
  description: 'plan text',
  currency: 'USD',
  amount: 1999,
  ...over,
});

describe('productProperties', () => {
  const cases: [title: string, c: Course, p: Plan, opts: ProductMappingOptions, expected: Record<string, string>][] = [
    [
      'USD plan, every field',
      course(),
      plan(),
      single,
      {
        name: 'Course – Plan',
        description: 'plan text',
        hs_sku: 'p1',
        price: '19.99',
        loopwise_plan_id: 'p1',
        loopwise_course_id: 'c1',
        loopwise_course_slug: 'course',
        loopwise_course_state: 'published',
        loopwise_plan_currency: 'USD',
      },
    ],
    [
      'KWD has three decimals',
      course(),
      plan({ currency: 'KWD', amount: 1234 }),
      single,
      expect.objectContaining({ price: '1.234', loopwise_plan_currency: 'KWD' }),
    ],
    [
      'TWD is whole dollars',
      course(),
      plan({ currency: 'twd', amount: 7500 }),
      single,
      expect.objectContaining({ price: '7500', loopwise_plan_currency: 'TWD' }),
    ],
    [
      'config override of digits',
      course(),
      plan({ currency: 'TWD', amount: 7500 }),
      { multiCurrency: false, currencyDigits: { TWD: 2 } },
      expect.objectContaining({ price: '75.00' }),
    ],
    [
      'multi-currency adds hs_price_<currency>',
      course(),
      plan({ currency: 'JPY', amount: 500 }),
      multi,
      expect.objectContaining({ price: '500', hs_price_jpy: '500' }),
    ],
    [
      'empty and missing values are not sent',
      course({ slug: null, state: '  ', description: null }),
      plan({ description: '' }),
      single,
      {
        name: 'Course – Plan',
        hs_sku: 'p1',
        price: '19.99',
        loopwise_plan_id: 'p1',
        loopwise_course_id: 'c1',
        loopwise_plan_currency: 'USD',
      },
    ],
    [
      'names and ids are trimmed; a free plan costs 0',
      course({ name: ' Course ' }),
      plan({ id: ' p9 ', name: ' Gold ', amount: 0 }),
      single,
      expect.objectContaining({ name: 'Course – Gold', hs_sku: 'p9', loopwise_plan_id: 'p9', price: '0.00' }),
    ],
  ];
  it.each(cases)('%s', (_title, c, p, opts, expected) => {
    expect(productProperties(c, p, opts)).toEqual(expected);
  });

  it('writes no hs_price_* without multi-currency', () => {
    const props = productProperties(course(), plan(), single);
    expect(Object.keys(props).filter((k) => k.startsWith('hs_price_'))).toEqual([]);
  });
});

describe('productName', () => {
  const cases: [string, string, string][] = [
    ['Intro', 'Basic Plan', 'Intro – Basic Plan'],
    ['程式入門', '基本方案', '程式入門 – 基本方案'],
    ['Intro', '', 'Intro'],
  ];
  it.each(cases)('%s + %s → %s', (c, p, expected) => {
    expect(productName({ name: c }, { name: p })).toBe(expected);
  });
});

describe('productInputs', () => {
  it('maps the seed course.updated to one input per plan, upserted by loopwise_plan_id', () => {
    const inputs = productInputs(fixture('course.updated').data, single);
    expect(inputs).toEqual([
      {
        idProperty: 'loopwise_plan_id',
        id: 'plan_123',
        properties: {
          name: 'Advanced Programming Techniques – Standard Plan',
          description: '6 months access to all course materials',
          hs_sku: 'plan_123',
          price: '7500',
          loopwise_plan_id: 'plan_123',
          loopwise_course_id: '550e8400-e29b-41d4-a716-446655440000',
          loopwise_course_slug: 'advanced-programming-techniques',
          loopwise_course_state: 'published',
          loopwise_plan_currency: 'TWD',
        },
      },
      expect.objectContaining({
        id: 'plan_456',
        properties: expect.objectContaining({ price: '15000', name: 'Advanced Programming Techniques – Premium Plan' }),
      }),
    ]);
  });

  it('keeps the last entry of a plan id listed twice', () => {
    const inputs = productInputs(
      course({ plans: [plan({ amount: 100 }), plan({ id: 'p2' }), plan({ amount: 200 })] }),
      single,
    );
    expect(inputs.map((i) => [i.id, i.properties.price])).toEqual([
      ['p2', '19.99'],
      ['p1', '2.00'],
    ]);
  });

  it('maps a course without plans to no inputs', () => {
    expect(productInputs(course({ plans: [] }), single)).toEqual([]);
  });
});
