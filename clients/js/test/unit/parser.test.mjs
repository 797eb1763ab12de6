import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventStreamParser } from '../../src/index.js';

function collect(options = {}) {
  const events = [];
  const retries = [];
  const parser = new EventStreamParser({
    onEvent: (event) => events.push(event),
    onRetry: (ms) => retries.push(ms),
    ...options,
  });
  return { parser, events, retries };
}

function feedAll(parser, chunks) {
  for (const chunk of chunks) parser.feed(chunk);
}

const bytes = (text) => new TextEncoder().encode(text);

test('dispatches an event on an empty line with type, data and id', () => {
  const { parser, events } = collect();
  parser.feed('id: 1-1\nevent: order\ndata: {"a":1}\n\n');
  assert.deepEqual(events, [{ type: 'order', data: '{"a":1}', lastEventId: '1-1', hasId: true, topic: '' }]);
});

test('does not dispatch before the empty line', () => {
  const { parser, events } = collect();
  parser.feed('data: x\n');
  assert.equal(events.length, 0);
  parser.feed('\n');
  assert.equal(events.length, 1);
});

test('joins multi-line data with LF and strips only the final newline', () => {
  const { parser, events } = collect();
  parser.feed('data: line1\ndata:  line2\ndata\ndata: \n\n');
  assert.equal(events[0].data, 'line1\n line2\n\n');
});

test('default type is message; ids persist across events', () => {
  const { parser, events } = collect();
  parser.feed('id: 5\ndata: a\n\ndata: b\n\n');
  assert.equal(events[0].type, 'message');
  assert.equal(events[1].lastEventId, '5');
  assert.equal(events[1].hasId, false);
});

test('an id field containing NUL is ignored', () => {
  const { parser, events } = collect();
  parser.feed('id: good\ndata: a\n\nid: b\0ad\ndata: b\n\n');
  assert.equal(events[1].lastEventId, 'good');
  assert.equal(events[1].hasId, false);
  assert.equal(parser.lastEventId, 'good');
});

test('an empty id resets the last event id', () => {
  const { parser, events } = collect({ lastEventId: 'start' });
  assert.equal(parser.lastEventId, 'start');
  parser.feed('id\ndata: a\n\n');
  assert.equal(events[0].lastEventId, '');
});

test('an event without data is not dispatched but its id is kept', () => {
  const { parser, events } = collect();
  parser.feed('id: 9\nevent: nothing\n\ndata: after\n\n');
  assert.equal(events.length, 1);
  assert.equal(events[0].type, 'message'); // the event type was reset
  assert.equal(events[0].lastEventId, '9');
});

test('comments and unknown fields are ignored', () => {
  const { parser, events } = collect();
  parser.feed(': comment\n:\nfoo: bar\ndata: x\n: inner\n\n');
  assert.deepEqual(events.map((e) => e.data), ['x']);
});

test('only one space after the colon is stripped; a line without colon is a field with empty value', () => {
  const { parser, events } = collect();
  parser.feed('event:  spaced\ndata:nospace\n\n');
  assert.equal(events[0].type, ' spaced');
  assert.equal(events[0].data, 'nospace');
});

test('retry: only all-digit values are reported', () => {
  const { parser, retries } = collect();
  parser.feed('retry: 2500\nretry: 12a\nretry: -5\nretry:\nretry: 0\n\n');
  assert.deepEqual(retries, [2500, 0]);
});

test('CR, LF and CRLF line endings are all accepted', () => {
  for (const eol of ['\n', '\r', '\r\n']) {
    const { parser, events } = collect();
    parser.feed(`id: 1${eol}data: a${eol}data: b${eol}${eol}data: c${eol}${eol}`);
    assert.deepEqual(events.map((e) => e.data), ['a\nb', 'c'], JSON.stringify(eol));
  }
});

test('a CRLF split across chunks is a single line end', () => {
  const { parser, events } = collect();
  feedAll(parser, ['data: a\r', '\ndata: b\r', '\n\r', '\n']);
  assert.deepEqual(events.map((e) => e.data), ['a\nb']);
});

test('a lone CR at the end of a chunk followed by a non-LF ends the line', () => {
  const { parser, events } = collect();
  feedAll(parser, ['data: a\r', 'data: b\r', '\r']);
  assert.deepEqual(events.map((e) => e.data), ['a\nb']);
});

test('chunks split mid-line and mid-field name produce the same events', () => {
  const stream = 'id: 3-7\r\nevent: order\r\ndata: {"n":1}\r\n\r\n:hb\ndata: two\n\n';
  const whole = collect();
  whole.parser.feed(stream);
  for (let size = 1; size <= 7; size++) {
    const pieces = collect();
    for (let i = 0; i < stream.length; i += size) pieces.parser.feed(stream.slice(i, i + size));
    assert.deepEqual(pieces.events, whole.events, `piece size ${size}`);
  }
  assert.equal(whole.events.length, 2);
});

test('a leading BOM is skipped, also when split across byte chunks', () => {
  const { parser, events } = collect();
  const data = bytes('\uFEFFdata: x\n\n');
  feedAll(parser, [data.slice(0, 1), data.slice(1, 2), data.slice(2, 5), data.slice(5)]);
  assert.deepEqual(events.map((e) => e.data), ['x']);
});

test('a leading BOM in a string chunk is skipped; a second BOM is not', () => {
  const { parser, events } = collect();
  parser.feed('\uFEFF');
  parser.feed('\uFEFFdata: ignored\n\ndata: y\n\n');
  // The second BOM becomes part of the field name "\uFEFFdata", which is unknown.
  assert.deepEqual(events.map((e) => e.data), ['y']);
});

test('multi-byte UTF-8 split across chunks is decoded correctly', () => {
  const { parser, events } = collect();
  const data = bytes('data: héllo €\n\n');
  for (const byte of data) parser.feed(Uint8Array.of(byte));
  assert.equal(events[0].data, 'héllo €');
});

test('an unterminated event at end of stream is discarded', () => {
  const { parser, events } = collect();
  parser.feed('data: complete\n\ndata: partial\n');
  parser.end();
  assert.deepEqual(events.map((e) => e.data), ['complete']);
});

test("ssehub's topic field is read per block and not carried into the next", () => {
  const events = [];
  const parser = new EventStreamParser({ onEvent: (e) => events.push(e) });
  parser.feed('id: 1-1\nevent: t\ntopic: orders\ndata: 1\n\nid: 1-2\ndata: 2\n\n');
  assert.deepEqual(
    events.map((e) => [e.lastEventId, e.topic]),
    [
      ['1-1', 'orders'],
      ['1-2', ''],
    ],
  );
});

test('lastEventId can be set to resume from a position', () => {
  const parser = new EventStreamParser({ onEvent: () => {} });
  parser.lastEventId = 'ab-7';
  parser.feed('data: x\n\n');
  assert.equal(parser.lastEventId, 'ab-7');
});
