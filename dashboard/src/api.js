// Every request the dashboard makes goes through this module, so a new endpoint is one change here.
// At open the page asks, once: /metrics/window-sizes, /metrics/breakdown-properties, /metrics/skipped (then
// every SKIPPED_REFRESH_MS) and /metrics/top for the window size shown (every live type with its newest
// window: ranking candidates, and when the quiet ones were last seen); and per event type it shows:
//   history: the range once at the resolution the API picks (`resolution=auto`), then only what it has not
//            read yet, at most HISTORY_PAGES requests of HISTORY_PAGE windows of that tier,
//   recent:  one /metrics/realtime request (windows not closed yet, which history leaves out),
// plus one WebSocket for every series. At open that is at most 4 + top × 2 requests, whatever the number of
// event types (4 + 8 × 2 = 20 for the default 1 h range and top 8). A chart split
// by a breakdown property adds its own WebSocket and, for all values at once, history and recent windows.
import { durationMs } from "./format.js";

export const HISTORY_PAGE = 1000; // the API's largest `limit`
export const HISTORY_PAGES = 3; // per event type and later load: 3,000 windows of the chart's tier
export const SKIPPED_SINCE = "5m";
export const SKIPPED_REFRESH_MS = 10_000; // the job adds to its ledger every 10 s
const RECENT_LIMIT = 30;
const TOP_LIMIT = 1000; // the API's largest `limit`: every live type (TRACK_MAX_EVENT_TYPES is 1000 by default)
const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 15000;

async function getJson(path, params = {}) {
  const query = new URLSearchParams(Object.entries(params).filter(([, value]) => value != null));
  const response = await fetch(`${path}?${query}`);
  if (!response.ok) throw Object.assign(new Error(`${path}: HTTP ${response.status}`), { status: response.status });
  return response.json();
}

/**
 * Windows in the seed's message format: of one (event type, window size), or, in an answer with `breakdown=`,
 * of every value of the property (each carrying `breakdown` and `breakdown_value`, as live messages do).
 */
function windowsOf(body, sizeMs) {
  const asWindow = (entry, extra) => ({
    ...entry,
    window_end: entry.window_start + sizeMs,
    event_type: body.event_type,
    window_size: body.window_size,
    ...extra,
  });
  if (!body.series) return body.entries.map((entry) => asWindow(entry, {}));
  return body.series.flatMap((series) =>
    series.entries.map((entry) => asWindow(entry, { breakdown: body.breakdown, breakdown_value: series.value })),
  );
}

export async function windowSizes() {
  return (await getJson("/metrics/window-sizes")).window_sizes;
}

/** Every live event type with a window of this size, each with its newest window (Redis, else PostgreSQL). */
export async function newestOfEveryType(windowSize) {
  return (await getJson("/metrics/top", { window_size: windowSize, limit: TOP_LIMIT })).event_types;
}

/** Event type -> the breakdown properties it has windows for. */
export async function breakdownProperties() {
  return (await getJson("/metrics/breakdown-properties")).breakdown_properties;
}

/** Records the job skipped lately: {total, entries: [{reason, event_type, count}]}. */
export async function skipped() {
  return getJson("/metrics/skipped", { since: SKIPPED_SINCE });
}

/**
 * Windows with fromMs <= window_start < toMs (toMs null = up to now), newest first, paging back at most
 * HISTORY_PAGES times. `coveredFromMs` is how far back every window is known (fromMs unless truncated).
 * With `breakdown`, the windows of every value of that property instead, in one request per page: the
 * next page starts where the fullest value's series ends.
 */
export async function history(eventType, windowSize, sizeMs, fromMs, toMs, breakdown = null) {
  const windows = [];
  let endMs = toMs;
  for (let page = 0; page < HISTORY_PAGES; page++) {
    const body = await getJson("/metrics/history", {
      event_type: eventType,
      window_size: windowSize,
      breakdown,
      start_time: new Date(fromMs).toISOString(),
      end_time: endMs == null ? null : new Date(endMs).toISOString(),
      limit: HISTORY_PAGE,
    });
    windows.push(...windowsOf(body, sizeMs));
    const full = (breakdown ? body.series : [body]).filter((series) => series.entries.length >= HISTORY_PAGE);
    if (full.length === 0) return { windows, coveredFromMs: fromMs };
    endMs = Math.max(...full.map((series) => series.entries.at(-1).window_start));
  }
  return { windows, coveredFromMs: endMs };
}

/**
 * The picked range [fromMs, toMs) (toMs null = up to now) of one type in one request, at the resolution the API
 * picks for it (`resolution=auto`: the finest history tier answering the whole range in at most HISTORY_PAGE
 * windows, never finer than `windowSize`). Returns the tier's window size, its windows and `coveredFromMs`.
 */
export async function rangeHistory(eventType, windowSize, fromMs, toMs) {
  const body = await getJson("/metrics/history", {
    event_type: eventType,
    window_size: windowSize,
    start_time: new Date(fromMs).toISOString(),
    end_time: toMs == null ? null : new Date(toMs).toISOString(),
    limit: HISTORY_PAGE,
    resolution: "auto",
  });
  const windows = windowsOf(body, durationMs(body.window_size) ?? 0);
  const full = body.entries.length >= HISTORY_PAGE;
  return { windowSize: body.window_size, windows, coveredFromMs: full ? body.entries.at(-1).window_start : fromMs };
}

/** The newest windows from Redis, including ones not closed yet (with `breakdown`: of every value). */
export async function recent(eventType, windowSize, sizeMs, breakdown = null) {
  const body = await getJson("/metrics/realtime", { event_type: eventType, window_size: windowSize, breakdown, limit: RECENT_LIMIT });
  return windowsOf(body, sizeMs);
}

/**
 * The /live-metrics WebSocket (`filters`: event_type, breakdown; no window size: switching it keeps the
 * feed), with capped exponential backoff. The server sends the newest window of each series first, then
 * each update. onState(name, {retryMs}) gets "connecting", "live" or "reconnecting"; onOpen(isReconnect)
 * after each connect. Returns {close()}.
 */
export function connectLive({ filters = {}, onMessage, onState, onOpen }) {
  let retryMs = FIRST_RETRY_MS;
  let connectedBefore = false;
  let closed = false;
  let socket = null;
  let timer = null;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const query = new URLSearchParams(Object.entries(filters).filter(([, value]) => value));
  const url = `${scheme}://${location.host}/live-metrics${query.size ? `?${query}` : ""}`;

  function open() {
    onState(connectedBefore ? "reconnecting" : "connecting", { retryMs: 0 });
    socket = new WebSocket(url);
    socket.addEventListener("open", () => {
      retryMs = FIRST_RETRY_MS;
      onState("live", {});
      onOpen(connectedBefore);
      connectedBefore = true;
    });
    socket.addEventListener("message", (event) => {
      try {
        onMessage(JSON.parse(event.data));
      } catch (error) {
        console.warn("ignoring a message that is not JSON", error);
      }
    });
    socket.addEventListener("close", () => {
      if (closed) return;
      connectedBefore = true;
      onState("reconnecting", { retryMs, retryAt: Date.now() + retryMs });
      timer = setTimeout(open, retryMs);
      retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
    });
  }
  open();
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      socket?.close();
    },
  };
}
