// Window results per event type, keyed by window_start: history and live updates merge here,
// so a window that arrives twice (history + snapshot + live) is shown once, newest value winning.
const MAX_WINDOWS_PER_TYPE = 180;

export class WindowStore {
  constructor() {
    this.byType = new Map();
  }

  eventTypes() {
    return [...this.byType.keys()].sort();
  }

  /** Insert or replace one window (seed message format). */
  upsert(message) {
    let windows = this.byType.get(message.event_type);
    if (!windows) {
      windows = new Map();
      this.byType.set(message.event_type, windows);
    }
    windows.set(message.window_start, message);
    if (windows.size > MAX_WINDOWS_PER_TYPE) {
      const oldest = Math.min(...windows.keys());
      windows.delete(oldest);
    }
  }

  latest(eventType) {
    const windows = this.byType.get(eventType);
    if (!windows || windows.size === 0) return null;
    return windows.get(Math.max(...windows.keys()));
  }

  /** uPlot's aligned data: [x seconds, ...one array per event type] with null where a type has no window. */
  aligned(eventTypes, metric) {
    const starts = new Set();
    for (const type of eventTypes) for (const start of this.byType.get(type)?.keys() ?? []) starts.add(start);
    const xs = [...starts].sort((a, b) => a - b);
    const columns = eventTypes.map((type) => {
      const windows = this.byType.get(type) ?? new Map();
      return xs.map((start) => (windows.has(start) ? windows.get(start)[metric] : null));
    });
    return [xs.map((start) => start / 1000), ...columns];
  }
}
