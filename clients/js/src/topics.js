// Pure helpers for stream URLs, topic sets and ssehub event ids.

/** The `topic` parameters of a stream URL, in order, without repeats. */
export function topicsOfUrl(url) {
  return normalizeTopics(new URL(String(url), 'http://localhost').searchParams.getAll('topic'));
}

/** Topics as a list of distinct non-empty strings, in first-seen order. */
export function normalizeTopics(topics) {
  const list = typeof topics === 'string' ? [topics] : Array.from(topics ?? [], String);
  return [...new Set(list.filter((topic) => topic.length > 0))];
}

/** `url` with its `topic` parameters replaced by `topics`; other parameters are kept. */
export function urlWithTopics(url, topics) {
  const parsed = new URL(String(url));
  parsed.searchParams.delete('topic');
  for (const topic of topics) parsed.searchParams.append('topic', topic);
  return parsed.toString();
}

/**
 * What identifies one shared stream: the URL without its topics (origin, path
 * and the other parameters, sorted). Tabs whose URLs differ only in topics
 * share a stream.
 */
export function streamKey(url) {
  const parsed = new URL(String(url));
  const params = [...parsed.searchParams].filter(([name]) => name !== 'topic');
  params.sort(([a, x], [b, y]) => (a === b ? (x < y ? -1 : x > y ? 1 : 0) : a < b ? -1 : 1));
  const query = new URLSearchParams(params).toString();
  return `${parsed.origin}${parsed.pathname}${query ? `?${query}` : ''}`;
}

/** The sorted union of several topic lists. */
export function unionTopics(lists) {
  const all = new Set();
  for (const list of lists) for (const topic of list) all.add(topic);
  return [...all].sort();
}

const ID = /^([A-Za-z0-9]{1,16})-(0|[1-9][0-9]{0,19})$/;

function parseId(id) {
  const match = ID.exec(id);
  return match ? { epoch: match[1], seq: BigInt(match[2]) } : undefined;
}

/**
 * Whether event id `id` comes after position `position` ('' = before
 * everything). Ids of another epoch come after: the store was replaced, and
 * ssehub said so with `replay-truncated` before sending them. Ids that are
 * not ssehub's compare by inequality only.
 */
export function isAfter(id, position) {
  if (!id) return false;
  if (!position) return true;
  const a = parseId(id);
  const b = parseId(position);
  if (!a || !b) return id !== position;
  if (a.epoch !== b.epoch) return true;
  return a.seq > b.seq;
}

/** The store epoch of an ssehub id, or undefined for anything else. */
export function epochOf(id) {
  return parseId(id)?.epoch;
}

/** Whether two ssehub ids (or positions) come from the same store epoch. */
export function sameEpoch(a, b) {
  const x = parseId(a);
  const y = parseId(b);
  return x !== undefined && y !== undefined && x.epoch === y.epoch;
}

/** The earliest of several positions ('' entries are ignored; '' if none is set). */
export function earliestPosition(positions) {
  let earliest = '';
  for (const position of positions) {
    if (!position) continue;
    if (!earliest || isAfter(earliest, position)) earliest = position;
  }
  return earliest;
}
