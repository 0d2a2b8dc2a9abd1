// Live dashboard: follows /live-metrics for every series, loads history for the shown ones over HTTP
// (api.js), ranks event types by recent volume and keeps the view's state in the URL. The chart can be
// split by a breakdown property of one event type (a second socket, filtered to it), and the job's ledger
// of skipped records is read every few seconds.
import "./style.css";
import * as api from "./api.js";
import { WindowChart } from "./chart.js";
import { OTHER_COLOR, assignColors } from "./colors.js";
import { ago, durationMs, timeOfDay } from "./format.js";
import { EMPTY_LEDGER, cardSkipped, summarizeSkipped, sumCounts, totalSkipped } from "./ledger.js";
import { LiveSource, SETTLE_MS } from "./live.js";
import { OTHER_KEY, addFeedItem, filterFeed, lastSeen, renderCards, renderQuiet } from "./panels.js";
import { rankSeries } from "./rank.js";
import { ADDITIVE, METRICS, MAX_TOP, isLiveRange, rangeBounds, readState, writeState } from "./state.js";
import { Spans } from "./store.js";

const RECONCILE_DELAY_MS = 250;
const RENDER_EVERY_MS = 250;
const LOAD_RETRY_MS = 10_000;
const PROPERTIES_REFRESH_MS = 60_000; // a job restarted with other BREAKDOWN_PROPERTIES shows within a minute
const NO_DATA_MARGIN_MS = 15_000; // watermark delay and pipeline lag before "no data" is said
const SPLIT_KEY = "="; // a split chart's line keys: "=" + value (event types start with [a-z0-9]: no clash)
const EMPTY_VIEW = { shown: [], others: [], quiet: [], matching: 0 };

const state = readState();
let knownSizes = null;
let breakdowns = null; // event type -> its breakdown properties, once read
let ledger = EMPTY_LEDGER;
let view = EMPTY_VIEW;
let split = null; // {property, type, source, view} while the chart is split by a breakdown property
const loading = new Set();
const retryAfter = new Map();
const historyFloor = new Map(); // load key -> oldest window a capped load reached: no further back
// The chart's resolution per view (window size and range): the history tier the API picked for the range
// (`resolution=auto`, never finer than the window size), learnt from the view's first history answer.
const chartSizes = new Map();

const $ = (id) => document.getElementById(id);
const el = {
  connection: $("connection"),
  lastUpdate: $("last-update"),
  skippedTotal: $("skipped-total"),
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
  chartSplit: $("chart-split-label"),
  breakdown: $("breakdown-select"),
  breakdownOf: $("breakdown-of"),
  breakdownOfControl: $("breakdown-of-control"),
  splitControls: $("split-controls"),
  legend: $("legend"),
};
const chart = new WindowChart($("chart"), el.legend, toggleSeries);

function onSourceChange(what) {
  if (what === "open") scheduleReconcile(SETTLE_MS);
  if (what === "window") scheduleReconcile();
  scheduleRender();
}

const current = () => types.storeFor(state.windowSize);
const viewKey = () => [state.windowSize, state.range, ...(state.range === "custom" ? [state.from, state.to] : [])].join("|");
const chartStore = () => types.storeFor(chartSizes.get(viewKey()) ?? state.windowSize);

// ---- ranking and loading -----------------------------------------------------------------------------

let reconcileTimer = null;
function scheduleReconcile(delay = RECONCILE_DELAY_MS) {
  if (reconcileTimer === null) reconcileTimer = setTimeout(reconcile, delay);
}

function reconcile() {
  reconcileTimer = null;
  const settled = types.settle();
  if (!settled && types.connection.name === "live") scheduleReconcile(SETTLE_MS);
  const store = current();
  view = rankSeries(store, store.eventTypes(), state.query, state.top);
  const size = store.windowSize;
  if (settled && durationMs(size)) {
    loadNewestOfEveryType(store);
    const tier = chartSizes.get(viewKey());
    const chartSource = tier === undefined ? null : types.storeFor(tier);
    for (const { type } of view.shown) {
      if (!chartSource) loadAuto(type);
      else {
        loadRange(chartSource, `${tier}|${type}`, type, {
          history: (from, to) => api.history(type, tier, chartSource.sizeMs, from, to),
          recent: () => api.recent(type, tier, chartSource.sizeMs),
        });
      }
    }
  }
  const splitSettled = reconcileSplit(settled);
  // For tests and scripts: ranked after the snapshot(s), for which view, and how many loads are in flight.
  document.body.dataset.settled = String(settled && splitSettled);
  document.body.dataset.view = location.search;
  document.body.dataset.pendingLoads = String(loading.size);
  scheduleRender();
}

/** The event types that have windows of `property`, by name. */
function typesWith(property) {
  return Object.keys(breakdowns ?? {})
    .filter((type) => breakdowns[type].includes(property))
    .sort();
}

/** The split's socket follows the property and type picked (the biggest shown type that has it, unless named). */
function reconcileSplit(typesSettled) {
  const property = state.breakdown;
  if (property && !state.breakdownOf && typesSettled && breakdowns) {
    const candidates = typesWith(property);
    const pick = view.shown.find((row) => candidates.includes(row.type))?.type ?? candidates[0];
    if (pick) {
      state.breakdownOf = pick;
      writeState(state);
      renderSplitControls();
    }
  }
  const type = property ? state.breakdownOf : "";
  if (split && (split.property !== property || split.type !== type)) {
    split.source.close();
    split = null;
  }
  if (!split && property && type) {
    const source = new LiveSource({ filters: { event_type: type, breakdown: property }, keyField: "breakdown_value", onChange: onSourceChange });
    split = { property, type, source, view: EMPTY_VIEW };
  }
  // With a property asked but no type to split yet, the view is not settled until the properties are read.
  if (!split) return !property || breakdowns !== null;
  const settled = split.source.settle();
  if (!settled && split.source.connection.name === "live") scheduleReconcile(SETTLE_MS);
  const store = split.source.storeFor(state.windowSize);
  split.view = rankSeries(store, store.eventTypes(), "", state.top);
  const size = store.windowSize;
  if (settled && durationMs(size)) {
    loadRange(store, `${size}|${type}|${property}`, null, {
      history: (from, to) => api.history(type, size, store.sizeMs, from, to, property),
      recent: () => api.recent(type, size, store.sizeMs, property),
    });
  }
  return settled;
}

/**
 * Read the parts of the picked range the page has not read yet, for one series (`seriesKey`) or for every
 * series of the store at once (null: a breakdown's values); api.js bounds how much.
 */
function loadRange(store, key, seriesKey, read) {
  if (loading.has(key) || (retryAfter.get(key) ?? 0) > Date.now()) return;
  const [from, to] = rangeBounds(state);
  const end = isLiveRange(state) ? Infinity : to;
  const minimum = store.slideMs() ?? 1000;
  const gaps = store
    .missing(seriesKey, Math.max(from, historyFloor.get(key) ?? -Infinity), end)
    .filter(([a, b]) => b - a >= minimum)
    .reverse(); // newest first
  if (gaps.length === 0) return;
  loading.add(key);
  (async () => {
    for (const [a, b] of gaps) {
      const requestedAt = Date.now();
      const open = b === Infinity;
      const result = await read.history(a, open ? null : b);
      for (const window of result.windows) store.upsert(window);
      if (open || store.live.contains(b)) {
        // Windows not closed yet are left out of history: the newest ones come from Redis.
        for (const window of await read.recent()) store.upsert(window);
      }
      store.markLoaded(seriesKey, result.coveredFromMs, open ? requestedAt : b);
      if (result.coveredFromMs > a) {
        historyFloor.set(key, result.coveredFromMs);
        break;
      }
    }
  })()
    .catch((error) => {
      console.warn(`could not load the history of ${key}`, error);
      retryAfter.set(key, Date.now() + LOAD_RETRY_MS);
    })
    .finally(() => {
      loading.delete(key);
      scheduleReconcile();
    });
}

/**
 * The view's first read of a shown type: the whole picked range in one request, at the resolution the API picks
 * (`resolution=auto`, never finer than the window size); its tier becomes the chart's for the view.
 */
function loadAuto(type) {
  const key = `auto|${type}`;
  if (loading.has(key) || (retryAfter.get(key) ?? 0) > Date.now()) return;
  const forView = viewKey();
  const windowSize = state.windowSize;
  const [from, to] = rangeBounds(state);
  const live = isLiveRange(state);
  const requestedAt = Date.now();
  loading.add(key);
  (async () => {
    const result = await api.rangeHistory(type, windowSize, from, live ? null : to);
    const store = types.storeFor(result.windowSize);
    for (const window of result.windows) store.upsert(window);
    // Windows not closed yet are left out of history: the newest ones come from Redis.
    if (live) for (const window of await api.recent(type, store.windowSize, store.sizeMs)) store.upsert(window);
    // Up to where the live stream took over (what closes later, the socket brings), else up to the request.
    const liveFrom = store.live.list.find(([a, b]) => a <= requestedAt && requestedAt < b)?.[0];
    store.markLoaded(type, result.coveredFromMs, live ? Math.max(result.coveredFromMs, liveFrom ?? requestedAt) : to);
    if (result.coveredFromMs > from) historyFloor.set(`${result.windowSize}|${type}`, result.coveredFromMs);
    chartSizes.set(forView, result.windowSize);
  })()
    .catch((error) => {
      console.warn(`could not load the history of ${type}`, error);
      // A window size the API has no tier for (422): the chart reads it as it is, page by page.
      if (error.status === 422) chartSizes.set(forView, windowSize);
      else retryAfter.set(key, Date.now() + LOAD_RETRY_MS);
    })
    .finally(() => {
      loading.delete(key);
      scheduleReconcile();
    });
}

/**
 * Every live type of this window size with its newest window, in one request: the ranking's candidates
 * beyond those the socket's snapshot named (types whose windows were all synced to PostgreSQL), and when
 * each was last seen.
 */
function loadNewestOfEveryType(store) {
  const key = `${store.windowSize}|top`;
  if (store.newestRead || loading.has(key) || (retryAfter.get(key) ?? 0) > Date.now()) return;
  loading.add(key);
  api
    .newestOfEveryType(store.windowSize)
    .then((windows) => {
      for (const window of windows) store.upsert(window);
      store.newestRead = true;
    })
    .catch((error) => {
      console.warn("could not read the newest window of every event type", error);
      retryAfter.set(key, Date.now() + LOAD_RETRY_MS);
    })
    .finally(() => {
      loading.delete(key);
      scheduleReconcile();
    });
}

async function loadWindowSizes() {
  try {
    knownSizes = await api.windowSizes();
  } catch (error) {
    console.warn("could not load the window sizes", error);
  }
  renderWindowSizes();
  scheduleRender();
}

async function loadBreakdownProperties() {
  try {
    breakdowns = await api.breakdownProperties();
  } catch (error) {
    console.warn("could not load the breakdown properties", error);
    breakdowns ??= {};
  }
  renderSplitControls();
  scheduleReconcile();
}

async function loadSkipped() {
  try {
    ledger = summarizeSkipped(await api.skipped());
  } catch (error) {
    console.warn("could not read the skipped records", error);
  }
  scheduleRender();
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
  renderSkippedTotal();
  renderMetricChoices(store);
  if (!types.everSettled) {
    // Until the snapshot is in, the ranking is a guess: only the axis of the picked range.
    chart.render([], [[]], rangeBounds(state).map((ms) => ms / 1000), METRICS[state.metric]);
    return;
  }
  const colors = assignColors(view.shown.map((row) => row.type));
  renderCardsSection(store, colors);
  renderQuiet(el.quiet, view.quiet, (type) => setState({ query: type }));
  el.chartSplit.textContent = split ? ` · ${split.type} by ${split.property}` : "";
  if (split) {
    $("chart-window-size").textContent = state.windowSize;
    renderSplitChart();
  } else {
    const tier = chartStore();
    $("chart-window-size").textContent = tier.windowSize;
    renderChart(tier, view, colors, "", floorNote(view.shown.map((row) => `${tier.windowSize}|${row.type}`), "type"));
  }
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
  const connection = types.connection;
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

function renderSkippedTotal() {
  const { text, title } = totalSkipped(ledger);
  el.skippedTotal.textContent = text;
  el.skippedTotal.title = title;
  el.skippedTotal.hidden = !text;
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
  const total = store.eventTypes().length;
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
    skipped: cardSkipped(ledger.byType.get(row.type)),
    focused: split?.type === row.type,
  }));
  const others = view.others.length;
  if (others) {
    const skipped = cardSkipped(sumCounts(view.others.map((row) => ledger.byType.get(row.type))));
    cards.push({ key: OTHER_KEY, title: `Other (${others} type${others === 1 ? "" : "s"})`, color: OTHER_COLOR, ...otherLatest(store), stale: false, skipped });
  }
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

/**
 * One line per shown series of `ranked` (keys: `keyPrefix` + the series' key) and, for a metric that adds up,
 * one for the sum of the others. Counts are 0 where the page knows no window came; percentiles break there.
 */
function renderChart(store, ranked, colors, keyPrefix, note) {
  const [fromMs, toMs] = rangeBounds(state);
  const metric = state.metric;
  const additive = ADDITIVE.has(metric);
  const lines = ranked.shown.map((row) => {
    const values = new Map();
    for (const [start, window] of store.byType.get(row.type) ?? []) values.set(start, window[metric] ?? null);
    const spans = store.coverage(row.type, fromMs, toMs + 1);
    return { key: keyPrefix + row.type, label: row.type, ...colors.get(row.type), values, spans };
  });
  if (ranked.others.length && additive) {
    const values = new Map();
    for (const row of ranked.others) {
      for (const [start, window] of store.byType.get(row.type) ?? []) {
        if (start >= fromMs && start <= toMs) values.set(start, (values.get(start) ?? 0) + window[metric]);
      }
    }
    const spans = new Spans();
    for (const [a, b] of store.live.list) spans.add(Math.max(a, fromMs), Math.min(b, toMs + 1));
    lines.push({ key: OTHER_KEY, label: `other (${ranked.others.length})`, color: OTHER_COLOR, dash: [4, 3], width: 1.5, values, spans });
  }
  const points = lines.map((line) => store.linePoints(line.values, line.spans, fromMs, toMs, additive));
  const xs = [...new Set(points.flatMap((p) => [...p.keys()]))].sort((a, b) => a - b);
  const frontier = store.frontier ?? -Infinity;
  const columns = lines.map((line, i) =>
    xs.map((x) => points[i].get(x) ?? (additive && x <= frontier && line.spans.contains(x) ? 0 : null)),
  );
  const series = lines.map((line) => ({ ...line, shown: !state.hidden.has(line.key) }));
  chart.render(series, [xs.map((x) => x / 1000), ...columns], [fromMs / 1000, toMs / 1000], METRICS[metric]);
  el.chartNote.textContent = note;
}

/** "· history from 10:05: …" when a load stopped at its cap after the range's start. */
function floorNote(loadKeys, per) {
  const [fromMs] = rangeBounds(state);
  const floors = loadKeys.map((key) => historyFloor.get(key)).filter((floor) => floor > fromMs);
  if (!floors.length) return "";
  return `· history from ${timeOfDay(Math.max(...floors))}: the page loads at most ${(api.HISTORY_PAGE * api.HISTORY_PAGES).toLocaleString()} windows per ${per}`;
}

/** The chart of one event type split by the values of a breakdown property, top N by volume and the rest. */
function renderSplitChart() {
  const { property, type, source } = split;
  const store = source.storeFor(state.windowSize);
  const colors = assignColors(split.view.shown.map((row) => row.type));
  let note = floorNote([`${store.windowSize}|${type}|${property}`], "value");
  if (source.everSettled && store.eventTypes().length === 0) note = `· no ${state.windowSize} windows of ${type} by ${property} yet`;
  renderChart(store, split.view, colors, SPLIT_KEY, note);
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

/**
 * Percentiles are offered once a window has them: with WINDOW_PERCENTILES=false the job writes none, and the
 * page learns its settings from the data only. A percentile the URL asks for stays listed, so it can be left.
 */
function renderMetricChoices(store) {
  const percentiles = store.percentiles || chartStore().percentiles;
  for (const option of el.metric.options) {
    if (!ADDITIVE.has(option.value)) option.hidden = !percentiles && option.value !== state.metric;
  }
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
  renderSplitControls();
}

function optionsKey(select) {
  return [...select.options].map((option) => `${option.value}=${option.text}`).join("\n");
}

/** Replace a select's options only when they change (not under an open list), then select `value`. */
function setOptions(select, options, value) {
  const fresh = options.map(([optionValue, text]) => new Option(text, optionValue));
  if (optionsKey({ options: fresh }) !== optionsKey(select)) select.replaceChildren(...fresh);
  select.value = value;
}

/** "Split by": the properties any live type has; "of": the types that have the one picked. */
function renderSplitControls() {
  const properties = [...new Set(Object.values(breakdowns ?? {}).flat())].sort();
  const property = state.breakdown;
  const listed = property && !properties.includes(property) ? [...properties, property] : properties;
  const noData = (name, names) => (names.includes(name) ? name : `${name} (no data)`);
  setOptions(el.breakdown, [["", "nothing"], ...listed.map((name) => [name, noData(name, properties)])], property);
  // Without breakdowns (the job's BREAKDOWN_PROPERTIES is empty) there is nothing to split by.
  el.splitControls.hidden = listed.length === 0;
  el.breakdownOfControl.hidden = !property;
  if (!property) return;
  const candidates = typesWith(property);
  const of = state.breakdownOf;
  const names = of && !candidates.includes(of) ? [...candidates, of] : candidates;
  setOptions(el.breakdownOf, names.map((name) => [name, noData(name, candidates)]), of);
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
el.breakdown.addEventListener("change", () => {
  const property = el.breakdown.value;
  // Keep the type split so far if it has the new property too; else the page picks one.
  const keep = property && typesWith(property).includes(state.breakdownOf);
  setState({ breakdown: property, breakdownOf: keep ? state.breakdownOf : "" });
});
el.breakdownOf.addEventListener("change", () => setState({ breakdownOf: el.breakdownOf.value }));

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

// One socket for every event type (no filter: switching window size keeps the feed).
const types = new LiveSource({
  onWindow: (message) => {
    if (message.window_size === state.windowSize) addFeedItem(el.feed, message, feedVisible);
  },
  onChange: onSourceChange,
});
writeState(state);
renderControls();
scheduleRender();
loadWindowSizes();
loadBreakdownProperties();
setInterval(loadBreakdownProperties, PROPERTIES_REFRESH_MS);
loadSkipped();
setInterval(loadSkipped, api.SKIPPED_REFRESH_MS);
setInterval(scheduleRender, 1000); // the x axis follows now; "last seen" and the status age
