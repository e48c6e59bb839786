import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Cancellation, type CancelSignal } from '../../../src/domain/cancellation.js';

describe('Cancellation', () => {
  it('tells each listener once, in order, and stays aborted', () => {
    const cancel = new Cancellation();
    const heard: string[] = [];
    cancel.addEventListener('abort', () => heard.push('a'));
    cancel.addEventListener('abort', () => heard.push('b'), { once: true });
    assert.equal(cancel.aborted, false);
    cancel.abort();
    cancel.abort();
    assert.equal(cancel.aborted, true);
    assert.deepEqual(heard, ['a', 'b']);
  });

  it('forgets removed listeners, and listeners added after the abort are never called', () => {
    const cancel = new Cancellation();
    const heard: string[] = [];
    const gone = () => heard.push('gone');
    cancel.addEventListener('abort', gone);
    cancel.addEventListener('abort', () => heard.push('kept'));
    cancel.removeEventListener('abort', gone);
    cancel.removeEventListener('abort', () => undefined);
    cancel.abort();
    cancel.addEventListener('abort', () => heard.push('late'));
    assert.deepEqual(heard, ['kept']);
  });

  it('is interchangeable with an AbortSignal where a CancelSignal is asked for', () => {
    const controller = new AbortController();
    const signals: CancelSignal[] = [controller.signal, new Cancellation()];
    let heard = 0;
    for (const signal of signals) signal.addEventListener('abort', () => heard++, { once: true });
    controller.abort();
    (signals[1] as Cancellation).abort();
    assert.equal(heard, 2);
  });
});
