// Live dashboard: follows /live-metrics for every series, loads history for the shown ones over HTTP
// (api.js), ranks event types by recent volume and keeps the view's state in the URL.
import "./style.css";
import * as api from "./api.js";
import { WindowChart } from "./chart.js";
import { OTHER_COLOR, assignColors } from "./colors.js";
import { ago, durationMs, timeOfDay } from "./format.js";
import { OTHER_KEY, QUIET_LIST_LENGTH, addFeedItem, filterFeed, lastSeen, renderCards, renderQuiet } from "./panels.js";
import { rankSeries } from "./rank.js";
import { METRICS, MAX_TOP, isLiveRange, rangeBounds, readState, writeState } from "./state.js";
import { SizeStore, Spans } from "./store.js";

const RECONCILE_DELAY_MS = 250;
// The snapshot arrives as one burst on connect: rank and load once it is in (no message for SETTLE_MS),
// or after SETTLE_MAX_MS when windows never stop coming.
const SETTLE_MS = 400;
const SETTLE_MAX_MS = 3000;
const RENDER_EVERY_MS = 250;
const LOAD_RETRY_MS = 10_000;
const NO_DATA_MARGIN_MS = 15_000; // watermark delay and pipeline lag before "no data" is said

const state = readState();
const stores = new Map();
const registry = new Set();
let knownSizes = null;
let connection = { name: "connecting" };
let openedAt = null; // performance.now() of the last connect: the snapshot arrives just after it
let connectedAtMs = null; // and its wall-clock time
let lastMessageAt = 0; // performance.now() of the last message
let connectionSettled = false; // this connection's snapshot is in
let everSettled = false; // until then the ranking is a guess: no cards or lines are drawn
let view = { shown: [], others: [], quiet: [], matching: 0 };
const loading = new Set();
const retryAfter = new Map();
const historyFloor = new Map(); // size|type -> oldest window a capped load reached: no further back

const $ = (id) => document.getElementById(id);
const el = {
  connection: $("connection"),
  lastUpdate: $("last-update"),
  cards: $("cards"),
  cardsTitle: $("cards-title"),
  notice: $("notice"),
  quiet: $("quiet"),
  feed: $("feed"),
  windowSize: $("window-size"),
  metric: $("metric-select"),
  top: $("top-n"),
  search: $("search"),
  from: $("range-from"),
  to: $("range-to"),
  customRange: $("custom-range"),
  chartNote: $("chart-note"),
  legend: $("legend"),
};
const chart = new WindowChart($("chart"), el.legend, toggleSeries);

function storeFor(windowSize) {
  let store = stores.get(windowSize);
  if (!store) {
    store = new SizeStore(windowSize, durationMs(windowSize) ?? 0);
    store.livePending = true;
    stores.set(windowSize, store);
  }
  return store;
}
const current = () => storeFor(state.windowSize);

// ---- live stream -------------------------------------------------------------------------------------

function onMessage(message) {
  if (typeof message?.event_type !== "string" || typeof message.window_size !== "string") return;
  lastMessageAt = performance.now();
  storeFor(message.window_size).upsert(message);
  registry.add(message.event_type);
  if (message.window_size === state.windowSize) addFeedItem(el.feed, message, feedVisible);
  scheduleReconcile();
  scheduleRender();
}

function onState(name, info) {
  if (name === "reconnecting" && connection.name === "live") {
    // Windows published while the socket is down never arrive: the live spans end here.
    for (const store of stores.values()) store.live.close((store.frontier ?? Date.now()) + 1);
  }
  connection = { name, ...info };
  scheduleRender();
}

function onOpen() {
  for (const store of stores.values()) store.livePending = true;
  openedAt = performance.now();
  connectionSettled = false;
  connectedAtMs = Date.now();
  scheduleReconcile(SETTLE_MS);
}

// ---- ranking and loading -----------------------------------------------------------------------------

let reconcileTimer = null;
function scheduleReconcile(delay = RECONCILE_DELAY_MS) {
  if (reconcileTimer === null) reconcileTimer = setTimeout(reconcile, delay);
}

function reconcile() {
  reconcileTimer = null;
  const now = performance.now();
  const quiet = now - Math.max(openedAt, lastMessageAt) >= SETTLE_MS || now - openedAt >= SETTLE_MAX_MS;
  const settled = connection.name === "live" && (connectionSettled || quiet);
  connectionSettled = settled;
  everSettled ||= settled;
  if (!settled && connection.name === "live") scheduleReconcile(SETTLE_MS);
  if (settled) {
    // From the newest window of the snapshot on (or, with none yet, from the connect on), every window
    // of every type arrives over the socket.
    for (const store of stores.values()) {
      if (store.livePending) store.live.add(store.frontier ?? connectedAtMs, Infinity);
      store.livePending = false;
    }
  }
  const store = current();
  const types = [...new Set([...registry, ...store.eventTypes()])];
  view = rankSeries(store, types, state.query, state.top);
  if (settled && durationMs(state.windowSize)) {
    for (const row of view.shown) loadHistory(store, row.type);
    for (const row of view.quiet.slice(0, QUIET_LIST_LENGTH)) if (!row.latest) loadLastSeen(store, row.type);
  }
  // For tests and scripts: ranked after the snapshot, for which view, and how many loads are in flight.
  document.body.dataset.settled = String(settled);
  document.body.dataset.view = location.search;
  document.body.dataset.pendingLoads = String(loading.size);
  scheduleRender();
}

/** Read the parts of the picked range the page has not read yet for one shown type (api.js bounds it). */
function loadHistory(store, type) {
  const key = `${store.windowSize}|${type}`;
  if (loading.has(key) || (retryAfter.get(key) ?? 0) > Date.now()) return;
  const [from, to] = rangeBounds(state);
  const end = isLiveRange(state) ? Infinity : to;
  const minimum = store.slideMs() ?? 1000;
  const gaps = store
    .missing(type, Math.max(from, historyFloor.get(key) ?? -Infinity), end)
    .filter(([a, b]) => b - a >= minimum)
    .reverse(); // newest first
  if (gaps.length === 0) return;
  loading.add(key);
  (async () => {
    for (const [a, b] of gaps) {
      const requestedAt = Date.now();
      const open = b === Infinity;
      const result = await api.history(type, store.windowSize, store.sizeMs, a, open ? null : b);
      for (const window of result.windows) store.upsert(window);
      if (open || store.live.contains(b)) {
        // Windows not closed yet are left out of history: the newest ones come from Redis.
        for (const window of await api.recent(type, store.windowSize, store.sizeMs)) store.upsert(window);
      }
      store.markLoaded(type, result.coveredFromMs, open ? requestedAt : b);
      if (result.coveredFromMs > a) {
        historyFloor.set(key, result.coveredFromMs);
        break;
      }
    }
  })()
    .catch((error) => {
      console.warn(`could not load history of ${type}`, error);
      retryAfter.set(key, Date.now() + LOAD_RETRY_MS);
    })
    .finally(() => {
      loading.delete(key);
      scheduleReconcile();
    });
}

/** For a listed quiet type the page knows nothing of: its newest window in the range (one request). */
function loadLastSeen(store, type) {
  const key = `${store.windowSize}|${type}|last`;
  if (loading.has(key) || retryAfter.has(key)) return;
  const [from] = rangeBounds(state);
  const requestedAt = Date.now();
  loading.add(key);
  api
    .newest(type, store.windowSize, store.sizeMs, from)
    .then((window) => {
      if (window) store.upsert(window);
      // Nothing newer exists: every window of the type up to now is known.
      store.markLoaded(type, window ? window.window_start : from, requestedAt);
    })
    .catch((error) => console.warn(`could not load when ${type} was last seen`, error))
    .finally(() => {
      retryAfter.set(key, Infinity);
      loading.delete(key);
      scheduleReconcile();
    });
}

async function loadRegistry() {
  try {
    const [types, sizes] = await Promise.all([api.eventTypes(), api.windowSizes()]);
    types.forEach((type) => registry.add(type));
    knownSizes = sizes;
  } catch (error) {
    console.warn("could not load the event types and window sizes", error);
  }
  renderWindowSizes();
  scheduleReconcile();
}

// ---- rendering ---------------------------------------------------------------------------------------

let renderQueued = false;
let lastRenderAt = 0;
function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  setTimeout(
    () =>
      requestAnimationFrame(() => {
        renderQueued = false;
        lastRenderAt = performance.now();
        render();
      }),
    Math.max(0, lastRenderAt + RENDER_EVERY_MS - performance.now()),
  );
}

function render() {
  const store = current();
  renderStatus(store);
  renderNotice(store);
  if (!everSettled) {
    // Until the snapshot is in, the ranking is a guess: only the axis of the picked range.
    chart.render([], [[]], rangeBounds(state).map((ms) => ms / 1000), METRICS[state.metric]);
    return;
  }
  const colors = assignColors(view.shown.map((row) => row.type));
  renderCardsSection(store, colors);
  renderQuiet(el.quiet, view.quiet, (type) => setState({ query: type }));
  renderChart(store, colors);
  // The feed wears the colours of the chart: a shown type's own, grey for the rest.
  for (const item of el.feed.children) item.style.setProperty("--accent", colors.get(item.dataset.eventType)?.color ?? OTHER_COLOR);
}

function noDataAfterMs(store) {
  return store.sizeMs + 3 * (store.slideMs() ?? store.sizeMs) + NO_DATA_MARGIN_MS;
}

function renderStatus(store) {
  const newestEnd = store.frontier === null ? null : store.frontier + store.sizeMs;
  el.lastUpdate.textContent = newestEnd === null ? "" : `Last window ${timeOfDay(newestEnd)}`;
  el.lastUpdate.title = newestEnd === null ? "" : new Date(newestEnd).toString();
  let name = connection.name;
  let text = { connecting: "Connecting…", live: "Live" }[name];
  if (name === "reconnecting") {
    const seconds = Math.max(0, Math.ceil(((connection.retryAt ?? 0) - Date.now()) / 1000));
    text = seconds > 0 ? `Reconnecting in ${seconds} s…` : "Reconnecting…";
  } else if (name === "live" && (newestEnd === null || Date.now() - newestEnd > noDataAfterMs(store))) {
    name = "no-data";
    text = newestEnd === null ? "No data yet" : `No new windows for ${ago(newestEnd).replace(" ago", "")}`;
  }
  el.connection.dataset.state = name;
  el.connection.dataset.retryMs = String(connection.retryMs ?? "");
  el.connection.textContent = text;
}

function sizeButtons(sizes) {
  return sizes.map((size) => {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = size;
    button.addEventListener("click", () => setState({ windowSize: size }));
    return button;
  });
}

/** A window size that is malformed or has no windows says which sizes exist; an empty pipeline says so. */
function renderNotice(store) {
  const size = state.windowSize;
  const sizes = knownSizes ?? [];
  let message = null;
  let offerSizes = false;
  if (durationMs(size) === null) {
    message = `“${size}” is not a window size: use a whole number of s, m or h.`;
    offerSizes = true;
  } else if (knownSizes && store.frontier === null && !sizes.includes(size)) {
    message = sizes.length ? `No ${size} windows: this pipeline computes other sizes.` : "No windows have been written yet: they appear here as soon as events arrive.";
    offerSizes = true;
  }
  el.notice.hidden = message === null;
  if (message === null) return;
  const parts = [document.createTextNode(message)];
  if (offerSizes && sizes.length) parts.push(document.createTextNode(" Window sizes with data: "), ...sizeButtons(sizes));
  el.notice.replaceChildren(...parts);
}

function renderCardsSection(store, colors) {
  const total = new Set([...registry, ...store.eventTypes()]).size;
  const shownCount = view.shown.length;
  const scope = state.query
    ? `${shownCount} of ${view.matching} matching “${state.query}”`
    : shownCount < total
      ? `Top ${shownCount} of ${total} event types`
      : `${total} event type${total === 1 ? "" : "s"}`;
  el.cardsTitle.textContent = `${scope} · newest ${state.windowSize} window`;
  const cards = view.shown.map((row) => ({
    key: row.type,
    title: row.type,
    color: colors.get(row.type).color,
    latest: store.latest(row.type),
    previous: store.latest(row.type) && store.previous(store.latest(row.type)),
    stale: row.stale,
    seen: row.stale ? lastSeen(store.latest(row.type)) : "",
  }));
  const others = view.others.length;
  if (others) cards.push({ key: OTHER_KEY, title: `Other (${others} type${others === 1 ? "" : "s"})`, color: OTHER_COLOR, ...otherLatest(store), stale: false });
  // Quiet types sink to the end of the shown cards, greyed.
  cards.sort((a, b) => a.stale - b.stale);
  if (cards.length === 0 && total > 0) el.cards.replaceChildren(emptyNote(`No event type matches “${state.query}”.`));
  else renderCards(el.cards, cards);
}

function emptyNote(text) {
  const note = document.createElement("p");
  note.className = "empty";
  note.textContent = text;
  return note;
}

/** The other types' newest window summed (at the newest window start), and the one before. */
function otherLatest(store) {
  const sum = (start) => {
    const total = { window_start: start, window_end: start + store.sizeMs, count: 0, unique_users: 0, total_value: 0 };
    for (const row of view.others) {
      const window = store.windowAt(row.type, start);
      if (window) for (const field of ["count", "unique_users", "total_value"]) total[field] += window[field];
    }
    return total;
  };
  const slide = store.slideMs();
  if (store.frontier === null) return { latest: null, previous: null };
  // The other types are read from the live stream only: before it started, their windows are unknown.
  const known = slide && store.live.contains(store.frontier - slide);
  return { latest: sum(store.frontier), previous: known ? sum(store.frontier - slide) : null };
}

function renderChart(store, colors) {
  const [fromMs, toMs] = rangeBounds(state);
  const metric = state.metric;
  const lines = view.shown.map((row) => {
    const values = new Map();
    for (const [start, window] of store.byType.get(row.type) ?? []) values.set(start, window[metric]);
    return { key: row.type, label: row.type, ...colors.get(row.type), values, spans: store.coverage(row.type, fromMs, toMs + 1) };
  });
  if (view.others.length) {
    const values = new Map();
    for (const row of view.others) {
      for (const [start, window] of store.byType.get(row.type) ?? []) {
        if (start >= fromMs && start <= toMs) values.set(start, (values.get(start) ?? 0) + window[metric]);
      }
    }
    const spans = new Spans();
    for (const [a, b] of store.live.list) spans.add(Math.max(a, fromMs), Math.min(b, toMs + 1));
    lines.push({ key: OTHER_KEY, label: `other (${view.others.length})`, color: OTHER_COLOR, dash: [4, 3], width: 1.5, values, spans });
  }
  const points = lines.map((line) => store.linePoints(line.values, line.spans, fromMs, toMs));
  const xs = [...new Set(points.flatMap((p) => [...p.keys()]))].sort((a, b) => a - b);
  const columns = lines.map((line, i) =>
    xs.map((x) => points[i].get(x) ?? (x <= (store.frontier ?? -Infinity) && line.spans.contains(x) ? 0 : null)),
  );
  const series = lines.map((line) => ({ ...line, shown: !state.hidden.has(line.key) }));
  chart.render(series, [xs.map((x) => x / 1000), ...columns], [fromMs / 1000, toMs / 1000], METRICS[metric]);
  const floors = view.shown.map((row) => historyFloor.get(`${store.windowSize}|${row.type}`)).filter((floor) => floor > fromMs);
  el.chartNote.textContent = floors.length
    ? `· history from ${timeOfDay(Math.max(...floors))}: the page loads at most ${(api.HISTORY_PAGE * api.HISTORY_PAGES).toLocaleString()} windows per type`
    : "";
}

// ---- controls and URL state ----------------------------------------------------------------------------

function feedVisible(item) {
  return item.dataset.windowSize === state.windowSize && item.dataset.eventType.toLowerCase().includes(state.query.trim().toLowerCase());
}

function toggleSeries(key) {
  const hidden = new Set(state.hidden);
  if (!hidden.delete(key)) hidden.add(key);
  setState({ hidden });
}

function setState(changes) {
  Object.assign(state, changes);
  writeState(state);
  renderControls();
  filterFeed(el.feed, feedVisible);
  scheduleReconcile(0);
}

function localInput(ms) {
  if (ms == null) return "";
  const date = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return date.toISOString().slice(0, 19);
}

function renderWindowSizes() {
  const sizes = [...new Set([...(knownSizes ?? []), state.windowSize])];
  el.windowSize.replaceChildren(...sizes.map((size) => new Option(knownSizes?.includes(size) ? size : `${size} (no data)`, size)));
  el.windowSize.value = state.windowSize;
}

function renderControls() {
  for (const button of document.querySelectorAll("[data-range]")) button.setAttribute("aria-pressed", String(button.dataset.range === state.range));
  el.customRange.hidden = state.range !== "custom";
  if (state.range === "custom") {
    const [from, to] = rangeBounds(state);
    if (document.activeElement !== el.from) el.from.value = localInput(state.from ?? from);
    if (document.activeElement !== el.to) el.to.value = localInput(state.to ?? (isLiveRange(state) ? null : to));
  }
  el.metric.value = state.metric;
  el.top.value = String(state.top);
  if (document.activeElement !== el.search) el.search.value = state.query;
  for (const label of document.querySelectorAll(".window-size")) label.textContent = state.windowSize;
  $("chart-metric-label").textContent = METRICS[state.metric];
  renderWindowSizes();
}

for (const button of document.querySelectorAll("[data-range]")) {
  button.addEventListener("click", () => {
    const range = button.dataset.range;
    const changes = { range };
    if (range === "custom" && state.range !== "custom") [changes.from, changes.to] = [rangeBounds(state)[0], null];
    setState(changes);
  });
}
el.from.addEventListener("change", () => setState({ from: el.from.value ? new Date(el.from.value).getTime() : null }));
el.to.addEventListener("change", () => setState({ to: el.to.value ? new Date(el.to.value).getTime() : null }));
el.windowSize.addEventListener("change", () => setState({ windowSize: el.windowSize.value }));
el.metric.addEventListener("change", () => setState({ metric: el.metric.value }));
el.top.addEventListener("change", () => {
  const top = Number.parseInt(el.top.value, 10);
  setState({ top: Number.isFinite(top) ? Math.min(MAX_TOP, Math.max(1, top)) : state.top });
});
el.search.addEventListener("input", () => setState({ query: el.search.value }));

// On a phone the legend starts collapsed: the chart comes first.
const phone = matchMedia("(max-width: 640px)");
el.legend.open = !phone.matches;
phone.addEventListener("change", () => (el.legend.open = !phone.matches));

writeState(state);
renderControls();
scheduleRender();
loadRegistry();
api.connectLive({ onMessage, onState, onOpen });
setInterval(scheduleRender, 1000); // the x axis follows now; "last seen" and the status age
