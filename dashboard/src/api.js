// Every request the dashboard makes goes through this module, so a new endpoint (a top-N summary,
// `resolution=auto` on history) is one change here. Today the page asks, per event type it shows:
//   history: at most HISTORY_PAGES requests of HISTORY_PAGE windows for a time range,
//   recent:  one /metrics/realtime request (windows not closed yet, which history leaves out),
// per quiet type it lists (at most QUIET_LIST_LENGTH): one history request of one window (last seen),
// plus /metrics/event-types and /metrics/window-sizes once, and one WebSocket for every series.
// At open that is at most 2 + top × (HISTORY_PAGES + 1) + QUIET_LIST_LENGTH requests, whatever the
// number of event types (2 + 8 × 2 + 8 = 26 for the default 1 h range and top 8).
export const HISTORY_PAGE = 1000; // the API's largest `limit`
export const HISTORY_PAGES = 3; // per event type and load: 3,000 windows (8.3 h of 30s/10s windows)
const RECENT_LIMIT = 30;
const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 15000;

async function getJson(path, params = {}) {
  const query = new URLSearchParams(Object.entries(params).filter(([, value]) => value != null));
  const response = await fetch(`${path}?${query}`);
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
}

/** Windows of one (event type, window size) in the seed's message format. */
function windowsOf(body, sizeMs) {
  return body.entries.map((entry) => ({
    ...entry,
    window_end: entry.window_start + sizeMs,
    event_type: body.event_type,
    window_size: body.window_size,
  }));
}

export async function eventTypes() {
  return (await getJson("/metrics/event-types")).event_types;
}

export async function windowSizes() {
  return (await getJson("/metrics/window-sizes")).window_sizes;
}

/**
 * Windows with fromMs <= window_start < toMs (toMs null = up to now), newest first, paging back at most
 * HISTORY_PAGES times. `coveredFromMs` is how far back every window is known (fromMs unless truncated).
 */
export async function history(eventType, windowSize, sizeMs, fromMs, toMs) {
  const windows = [];
  let endMs = toMs;
  for (let page = 0; page < HISTORY_PAGES; page++) {
    const body = await getJson("/metrics/history", {
      event_type: eventType,
      window_size: windowSize,
      start_time: new Date(fromMs).toISOString(),
      end_time: endMs == null ? null : new Date(endMs).toISOString(),
      limit: HISTORY_PAGE,
    });
    windows.push(...windowsOf(body, sizeMs));
    if (body.entries.length < HISTORY_PAGE) return { windows, coveredFromMs: fromMs };
    endMs = body.entries.at(-1).window_start;
  }
  return { windows, coveredFromMs: endMs };
}

/** The newest window with window_start >= fromMs (null if none): when a quiet type was last seen. */
export async function newest(eventType, windowSize, sizeMs, fromMs) {
  const body = await getJson("/metrics/history", {
    event_type: eventType,
    window_size: windowSize,
    start_time: new Date(fromMs).toISOString(),
    limit: 1,
  });
  return windowsOf(body, sizeMs)[0] ?? null;
}

/** The newest windows from Redis, including ones not closed yet. */
export async function recent(eventType, windowSize, sizeMs) {
  const body = await getJson("/metrics/realtime", { event_type: eventType, window_size: windowSize, limit: RECENT_LIMIT });
  return windowsOf(body, sizeMs);
}

/**
 * The /live-metrics WebSocket for every series (no filter: switching window size keeps the feed), with
 * capped exponential backoff. The server sends the newest window of each series first, then each update.
 * onState(name, {retryMs}) gets "connecting", "live" or "reconnecting"; onOpen(isReconnect) after each connect.
 */
export function connectLive({ onMessage, onState, onOpen }) {
  let retryMs = FIRST_RETRY_MS;
  let connectedBefore = false;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const url = `${scheme}://${location.host}/live-metrics`;

  function open() {
    onState(connectedBefore ? "reconnecting" : "connecting", { retryMs: 0 });
    const socket = new WebSocket(url);
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
      connectedBefore = true;
      onState("reconnecting", { retryMs, retryAt: Date.now() + retryMs });
      setTimeout(open, retryMs);
      retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
    });
  }
  open();
}
