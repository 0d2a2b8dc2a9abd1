// Numbers and times as people read them: compact on the page (1.2T), exact on hover, never "-0".
const compactNumber = new Intl.NumberFormat(undefined, { notation: "compact", maximumFractionDigits: 1, signDisplay: "negative" });
const exactNumber = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2, signDisplay: "negative" });
const signedCompact = new Intl.NumberFormat(undefined, { notation: "compact", maximumFractionDigits: 1, signDisplay: "exceptZero" });
const signedPercent = new Intl.NumberFormat(undefined, { style: "percent", maximumFractionDigits: 0, signDisplay: "exceptZero" });
const clock = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
const dayClock = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });

export const compact = (value) => (value == null ? "–" : compactNumber.format(value));
export const exact = (value) => (value == null ? "" : exactNumber.format(value));

/** Put a number into an element: compact text, exact value in the tooltip. */
export function setNumber(element, value) {
  element.textContent = compact(value);
  element.title = exact(value);
}

/** "+31 (+14%)" against the previous window; "new" when there was none. */
export function delta(current, previous) {
  const change = current - previous;
  if (previous === 0) return { text: change === 0 ? "±0" : "new", direction: change > 0 ? "up" : "flat" };
  const direction = change > 0 ? "up" : change < 0 ? "down" : "flat";
  return { text: `${signedCompact.format(change)} (${signedPercent.format(change / previous)})`, direction };
}

export function timeOfDay(ms) {
  return Date.now() - ms > 20 * 3_600_000 ? dayClock.format(ms) : clock.format(ms);
}

export function windowLabel(window) {
  return `${clock.format(window.window_start)}–${clock.format(window.window_end)}`;
}

/** "45 s ago", "8 min ago", "3 h ago", "2 d ago". */
export function ago(ms, now = Date.now()) {
  const seconds = Math.max(0, Math.round((now - ms) / 1000));
  if (seconds < 90) return `${seconds} s ago`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 36 * 3600) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} d ago`;
}

/** "30s" -> 30000; null for anything that is not a whole number of s, m or h (the API's rule). */
export function durationMs(label) {
  const match = /^(\d+)([smh])$/.exec(label ?? "");
  return match && Number(match[1]) > 0 ? Number(match[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[match[2]] : null;
}
