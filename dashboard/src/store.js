// Windows of one window size, per event type, and what the page knows for certain: a window that is
// missing inside a span the page has fully read (history loaded, or the live stream while connected)
// is a window with no events, a count of 0. Outside those spans nothing is known and nothing is drawn.
const MAX_WINDOWS_PER_TYPE = 4000;
const TRIM_BATCH = 500;
const VOLUME_SLOTS = 6; // "recent volume": mean count over the newest six windows

/** Half-open time spans [from, to), merged; `to` may be Infinity (still open). */
export class Spans {
  constructor() {
    this.list = [];
  }

  add(from, to) {
    if (!(to > from)) return;
    const all = [...this.list, [from, to]].sort((a, b) => a[0] - b[0]);
    this.list = [];
    for (const [start, end] of all) {
      const last = this.list.at(-1);
      if (last && start <= last[1]) last[1] = Math.max(last[1], end);
      else this.list.push([start, end]);
    }
  }

  contains(x) {
    return this.list.some(([from, to]) => from <= x && x < to);
  }

  /** Close open spans at `at`. */
  close(at) {
    for (const span of this.list) if (span[1] === Infinity) span[1] = Math.max(span[0] + 1, at);
  }

  /** Parts of [from, to) not covered by these spans or the `other` ones. */
  missing(from, to, other) {
    const covered = [...this.list, ...other.list].sort((a, b) => a[0] - b[0]);
    const gaps = [];
    let cursor = from;
    for (const [start, end] of covered) {
      if (end <= cursor) continue;
      if (start >= to) break;
      if (start > cursor) gaps.push([cursor, Math.min(start, to)]);
      cursor = Math.max(cursor, end);
    }
    if (cursor < to) gaps.push([cursor, to]);
    return gaps;
  }
}

function gcd(a, b) {
  while (b) [a, b] = [b, a % b];
  return a;
}

/**
 * The windows of one window size per series: per event type, or (keyed by `breakdown_value`) per value of a
 * breakdown property of one event type. "type" below is the series' key.
 */
export class SizeStore {
  constructor(windowSize, sizeMs, keyField = "event_type") {
    this.windowSize = windowSize;
    this.sizeMs = sizeMs;
    this.keyField = keyField;
    this.byType = new Map(); // key -> Map(window_start -> window)
    this.latestByType = new Map();
    this.loaded = new Map(); // key -> Spans read from history
    this.loadedAll = new Spans(); // spans read from history for every key at once (a breakdown's series)
    this.knownFrom = new Map(); // event type -> oldest window kept after trimming
    this.live = new Spans(); // spans during which every window of every type arrived over the socket
    this.frontier = null; // newest window_start seen
    this.step = 0; // gcd of window_start differences: the slide
    this.origin = null;
    this.percentiles = false; // whether any window had percentiles (the job's WINDOW_PERCENTILES)
  }

  upsert(window) {
    const type = window[this.keyField];
    let windows = this.byType.get(type);
    if (!windows) this.byType.set(type, (windows = new Map()));
    windows.set(window.window_start, window);
    if (window.p50 != null) this.percentiles = true;
    const latest = this.latestByType.get(type);
    if (!latest || latest.window_start <= window.window_start) this.latestByType.set(type, window);
    if (this.origin === null) this.origin = window.window_start;
    this.step = gcd(this.step, Math.abs(window.window_start - this.origin));
    const advanced = this.frontier === null || window.window_start > this.frontier;
    if (advanced) this.frontier = window.window_start;
    if (windows.size > MAX_WINDOWS_PER_TYPE + TRIM_BATCH) this.trim(type, windows);
    return advanced;
  }

  trim(type, windows) {
    const starts = [...windows.keys()].sort((a, b) => a - b);
    for (const start of starts.slice(0, TRIM_BATCH)) windows.delete(start);
    this.knownFrom.set(type, starts[TRIM_BATCH]);
  }

  /** The slide (ms) once two windows tell it; null before (below 1 s means misaligned data: not trusted). */
  slideMs() {
    return this.step >= 1000 ? this.step : null;
  }

  eventTypes() {
    return [...this.byType.keys()];
  }

  latest(type) {
    return this.latestByType.get(type) ?? null;
  }

  windowAt(type, start) {
    return this.byType.get(type)?.get(start) ?? null;
  }

  /** History of [from, to) was read for `type` (null: for every key, as one breakdown request reads them all). */
  markLoaded(type, from, to) {
    if (type === null) return this.loadedAll.add(from, to);
    if (!this.loaded.has(type)) this.loaded.set(type, new Spans());
    this.loaded.get(type).add(from, to);
  }

  knownSpans(type) {
    return [...this.live.list, ...this.loadedAll.list, ...(this.loaded.get(type)?.list ?? [])];
  }

  /** Spans of [from, to) whose windows of `type` (null: of every key) the page has not read yet. */
  missing(type, from, to) {
    const known = new Spans();
    for (const [a, b] of this.knownSpans(type)) known.add(a, b);
    return known.missing(from, to, new Spans());
  }

  /** Spans (clipped to [from, to)) in which every window of `type` is known. */
  coverage(type, from, to) {
    const floor = Math.max(from, this.knownFrom.get(type) ?? -Infinity);
    const spans = new Spans();
    for (const [a, b] of this.knownSpans(type)) spans.add(Math.max(a, floor), Math.min(b, to));
    return spans;
  }

  covered(type, x) {
    return this.coverage(type, x, x + 1).list.length > 0;
  }

  /** Mean count over the newest VOLUME_SLOTS windows the page knows (missing ones count 0). */
  volume(type) {
    const slide = this.slideMs();
    if (this.frontier === null) return 0;
    if (!slide) return this.windowAt(type, this.frontier)?.count ?? 0;
    let sum = 0;
    let slots = 0;
    for (let i = 0; i < VOLUME_SLOTS; i++) {
      const start = this.frontier - i * slide;
      const window = this.windowAt(type, start);
      if (window || this.covered(type, start)) {
        sum += window?.count ?? 0;
        slots++;
      }
    }
    return slots ? sum / slots : 0;
  }

  /** The window one slide before `window`, or a zero window when the page knows there was none. */
  previous(window) {
    const slide = this.slideMs();
    if (!slide) return null;
    const start = window.window_start - slide;
    const key = window[this.keyField];
    const found = this.windowAt(key, start);
    if (found) return found;
    return this.covered(key, start) ? { count: 0, unique_users: 0, total_value: 0 } : null;
  }

  /**
   * One chart line as Map(x -> value): every window in [xMin, xMax] (`values`: Map(window_start -> value)),
   * and a zero at both ends of each run of missing windows inside `spans`, so a gap is drawn down at 0,
   * never as a line across it. Without `zeroFill` (a percentile: a window without events has none) a missing
   * window is a break in the line.
   */
  linePoints(values, spans, xMin, xMax, zeroFill = true) {
    const points = new Map();
    for (const [start, value] of values) if (start >= xMin && start <= xMax) points.set(start, value);
    const slide = this.slideMs();
    if (!zeroFill || !slide || this.frontier === null) return points;
    const alignUp = (x) => this.origin + Math.ceil((x - this.origin) / slide) * slide;
    const starts = [...points.keys()].sort((a, b) => a - b);
    for (const [from, to] of spans.list) {
      const first = alignUp(Math.max(from, xMin));
      const last = Math.min(alignUp(Math.min(to, xMax + 1)) - slide, this.frontier);
      let expected = first;
      for (const start of starts) {
        if (start < first || start > last) continue;
        if (start - slide >= expected) {
          points.set(expected, 0);
          points.set(start - slide, 0);
        }
        expected = Math.max(expected, start + slide);
      }
      if (expected <= last) {
        points.set(expected, 0);
        points.set(last, 0);
      }
    }
    return points;
  }
}
