import { expect } from 'vitest';
import { TempestInputError } from '../../core/errors';

/** The TempestInputError `action` throws; fails the test when it throws nothing or something else. */
export function inputErrorOf(action: () => unknown): TempestInputError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(TempestInputError);
    return error as TempestInputError;
  }
  throw new Error('expected a TempestInputError');
}
