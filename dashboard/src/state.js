// The view's state lives in the URL (replaceState on every change): a reload or a shared link shows the same view.
export const RANGES = { "5m": 5 * 60_000, "1h": 3_600_000, "6h": 6 * 3_600_000, "24h": 24 * 3_600_000, "7d": 7 * 24 * 3_600_000 };
export const METRICS = {
  count: "Events",
  unique_users: "Unique users",
  total_value: "Total value",
  p50: "p50 of value",
  p95: "p95 of value",
  p99: "p99 of value",
};
/** Metrics a window without events has as 0, and that add up across series (percentiles do neither). */
export const ADDITIVE = new Set(["count", "unique_users", "total_value"]);
// "_other" (the sum of the types beyond the top N) starts hidden from the plot: it would flatten the rest.
const DEFAULTS = { window_size: "30s", range: "1h", metric: "count", top: 8, hide: "_other" };
export const MAX_TOP = 20;

function parseTime(text) {
  const ms = text ? Date.parse(text) : NaN;
  return Number.isFinite(ms) ? ms : null;
}

export function readState(search = location.search) {
  const params = new URLSearchParams(search);
  const range = params.get("range");
  const top = Number.parseInt(params.get("top") ?? "", 10);
  const metric = params.get("metric");
  return {
    windowSize: params.get("window_size") || DEFAULTS.window_size,
    range: Object.hasOwn(RANGES, range ?? "") || range === "custom" ? range : DEFAULTS.range,
    from: parseTime(params.get("from")),
    to: parseTime(params.get("to")),
    metric: Object.hasOwn(METRICS, metric ?? "") ? metric : DEFAULTS.metric,
    top: Number.isFinite(top) ? Math.min(MAX_TOP, Math.max(1, top)) : DEFAULTS.top,
    // `event_type` was the old single-type filter: it becomes the search.
    query: params.get("q") ?? params.get("event_type") ?? "",
    hidden: new Set((params.get("hide") ?? DEFAULTS.hide).split(",").filter(Boolean).map(unescapeKey)),
    // Split the chart by a breakdown property (`breakdown`) of one event type (`breakdown_of`).
    breakdown: params.get("breakdown") ?? "",
    breakdownOf: params.get("breakdown_of") ?? "",
  };
}

// Hidden line keys are joined by commas; a breakdown value may hold one.
const escapeKey = (key) => key.replaceAll("%", "%25").replaceAll(",", "%2C");
const unescapeKey = (key) => key.replaceAll("%2C", ",").replaceAll("%25", "%");

export function writeState(state) {
  const params = new URLSearchParams();
  if (state.windowSize !== DEFAULTS.window_size) params.set("window_size", state.windowSize);
  if (state.range !== DEFAULTS.range) params.set("range", state.range);
  if (state.range === "custom") {
    if (state.from != null) params.set("from", new Date(state.from).toISOString());
    if (state.to != null) params.set("to", new Date(state.to).toISOString());
  }
  if (state.metric !== DEFAULTS.metric) params.set("metric", state.metric);
  if (state.top !== DEFAULTS.top) params.set("top", String(state.top));
  if (state.query) params.set("q", state.query);
  if (state.breakdown) params.set("breakdown", state.breakdown);
  if (state.breakdown && state.breakdownOf) params.set("breakdown_of", state.breakdownOf);
  const hide = [...state.hidden].sort().map(escapeKey).join(",");
  if (hide !== DEFAULTS.hide) params.set("hide", hide);
  const search = params.size ? `?${params}` : "";
  if (search !== location.search) history.replaceState(null, "", `${location.pathname}${search}`);
}

/** [fromMs, toMs] of the picked range; toMs is now unless a custom range ends in the past. */
export function rangeBounds(state, now = Date.now()) {
  if (state.range === "custom") {
    const to = state.to != null && state.to < now ? state.to : now;
    const from = state.from != null && state.from < to ? state.from : to - RANGES[DEFAULTS.range];
    return [from, to];
  }
  return [now - RANGES[state.range], now];
}

/** Whether the view follows the live stream (its end is now). */
export function isLiveRange(state, now = Date.now()) {
  return state.range !== "custom" || state.to == null || state.to >= now;
}
