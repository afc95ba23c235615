import { describe, expect, it } from 'vitest';
import { withCourseOption } from '../src/hubspot/course-options.ts';

const opt = (value: string, label: string, displayOrder = 0) => ({
  value,
  label,
  displayOrder,
  hidden: false,
  description: '',
});

describe('withCourseOption', () => {
  const cases: [
    title: string,
    options: ReturnType<typeof opt>[],
    id: string,
    name: string,
    change: string,
    labels: [string, string][],
  ][] = [
    [
      'adds a missing course at the end',
      [opt('c1', 'Intro')],
      'c2',
      'Advanced',
      'added',
      [
        ['c1', 'Intro'],
        ['c2', 'Advanced'],
      ],
    ],
    [
      'relabels a renamed course in place',
      [opt('c1', 'Intro'), opt('c2', 'Old')],
      'c2',
      'New',
      'renamed',
      [
        ['c1', 'Intro'],
        ['c2', 'New'],
      ],
    ],
    ['keeps an unchanged course', [opt('c1', 'Intro')], 'c1', 'Intro', 'unchanged', [['c1', 'Intro']]],
    [
      'makes a label another course uses unique with the id',
      [opt('c1', 'Intro')],
      'c2',
      'Intro',
      'added',
      [
        ['c1', 'Intro'],
        ['c2', 'Intro (c2)'],
      ],
    ],
    [
      'keeps a label made unique before',
      [opt('c1', 'Intro'), opt('c2', 'Intro (c2)')],
      'c2',
      'Intro',
      'unchanged',
      [
        ['c1', 'Intro'],
        ['c2', 'Intro (c2)'],
      ],
    ],
    ['adds to an empty list', [], 'c1', ' Intro ', 'added', [['c1', 'Intro']]],
  ];
  it.each(cases)('%s', (_t, options, id, name, change, labels) => {
    const out = withCourseOption(options, id, name);
    expect(out.change).toBe(change);
    expect(out.options.map((o) => [o.value, o.label])).toEqual(labels);
    expect(out.options.every((o) => o.hidden === false && typeof o.displayOrder === 'number')).toBe(true);
  });
});
