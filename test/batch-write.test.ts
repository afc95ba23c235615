import { describe, expect, it } from 'vitest';
import { inputOfResult, inputsInMessage, inputsNamed, withTraceIds } from '../src/hubspot/batch-write.ts';

const inputs = withTraceIds(['ann@example.com', 'bob@example.com', 'ann@example.co'].map((id) => ({ id })));
const idOf = (i: { id: string }) => i.id;
const ids = (list: { id: string }[]) => list.map(idOf);

describe('withTraceIds', () => {
  it('gives every input a trace id unique in the request, keeping the input as it was', () => {
    expect(inputs.map((i) => i.objectWriteTraceId)).toEqual(['0', '1', '2']);
    expect(ids(inputs)).toEqual(['ann@example.com', 'bob@example.com', 'ann@example.co']);
  });
});

describe('inputsNamed: the inputs a per-record error is about', () => {
  it.each([
    ['by its trace id', { objectWriteTraceId: ['1'] }, ['bob@example.com']],
    [
      'by its trace id, whatever ids it names besides',
      { objectWriteTraceId: ['2'], ids: ['ann@example.com'] },
      ['ann@example.co'],
    ],
    ['by id when it echoes no trace id (case-insensitive)', { ids: ['ANN@example.com'] }, ['ann@example.com']],
    ['none when it names neither', { other: ['x'] }, []],
    ['none without a context', undefined, []],
  ])('%s', (_what, context, expected) => {
    expect(ids(inputsNamed({ category: 'VALIDATION_ERROR', message: 'no', context }, inputs, idOf))).toEqual(expected);
  });
});

describe('inputOfResult', () => {
  it.each([
    [
      'by the echoed trace id, even when the result shows another address',
      { objectWriteTraceId: '0' },
      'someone@else.example',
      'ann@example.com',
    ],
    ['by address when no trace id is echoed', {}, 'BOB@example.com', 'bob@example.com'],
    ['none for an unknown address without a trace id', {}, 'carl@example.com', undefined],
  ])('%s', (_what, result, address, expected) => {
    expect(inputOfResult(result, inputs, idOf, address)?.id).toBe(expected);
  });
});

describe('inputsInMessage: the inputs a whole-batch refusal names', () => {
  it.each([
    [
      "an address in HubSpot's words",
      'Property values were not valid: [{"message":"Email address ann@example.co is invalid"}]',
      ['ann@example.co'],
    ],
    ['not a longer address that contains it', 'Email address xann@example.com is invalid', []],
    ['at the end of a sentence', 'Email address bob@example.com.', ['bob@example.com']],
    ['two of them', 'ann@example.com and bob@example.com', ['ann@example.com', 'bob@example.com']],
    ['none when it names no input', 'Property "shoe_size" does not exist', []],
  ])('%s', (_what, message, expected) => {
    expect(ids(inputsInMessage(message, inputs, idOf))).toEqual(expected);
  });
});
