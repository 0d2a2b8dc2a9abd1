// Live dashboard: loads recent windows over HTTP, then follows /live-metrics.
import "./style.css";
import { WindowChart, colorFor } from "./chart.js";
import { connectLive } from "./live.js";
import { WindowStore } from "./store.js";

const HISTORY_MINUTES = 30;
const FEED_LENGTH = 50;
const METRIC_LABELS = { count: "Events", unique_users: "Unique users", total_value: "Total value" };

const params = new URLSearchParams(location.search);
const windowSize = params.get("window_size") || "30s";
const store = new WindowStore();
const state = { eventType: params.get("event_type") || "", metric: "count" };

const filter = document.getElementById("event-type-filter");
const metricSelect = document.getElementById("metric-select");
const cards = document.getElementById("cards");
const feed = document.getElementById("feed");
const connection = document.getElementById("connection");
const chart = new WindowChart(document.getElementById("chart"));
for (const label of document.querySelectorAll(".window-size")) label.textContent = windowSize;

const number = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });
const clock = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });

function visibleTypes() {
  return state.eventType ? [state.eventType] : store.eventTypes();
}

function windowLabel(message) {
  return `${clock.format(message.window_start)}–${clock.format(message.window_end)}`;
}

function renderFilterOptions() {
  const known = new Set([...filter.options].map((option) => option.value));
  for (const type of store.eventTypes()) {
    if (!known.has(type)) filter.add(new Option(type, type));
  }
  filter.value = state.eventType;
}

function renderCards(updatedType) {
  const types = visibleTypes();
  if (types.length === 0) return;
  cards.replaceChildren(
    ...types.map((type) => {
      const latest = store.latest(type);
      const card = document.createElement("article");
      card.className = "card" + (type === updatedType ? " flash" : "");
      card.dataset.eventType = type;
      card.style.setProperty("--accent", colorFor(type, store.eventTypes()));
      card.innerHTML = `
        <h3></h3>
        <dl>
          <div><dt>Events</dt><dd class="count"></dd></div>
          <div><dt>Unique users</dt><dd class="unique-users"></dd></div>
          <div><dt>Total value</dt><dd class="total-value"></dd></div>
        </dl>
        <p class="window"></p>`;
      card.querySelector("h3").textContent = type;
      card.querySelector(".count").textContent = latest ? number.format(latest.count) : "–";
      card.querySelector(".unique-users").textContent = latest ? number.format(latest.unique_users) : "–";
      card.querySelector(".total-value").textContent = latest ? number.format(latest.total_value) : "–";
      card.querySelector(".window").textContent = latest ? windowLabel(latest) : "";
      return card;
    }),
  );
}

function renderChart() {
  const types = visibleTypes();
  document.getElementById("chart-metric-label").textContent = METRIC_LABELS[state.metric];
  chart.render(store.aligned(types, state.metric), types, store.eventTypes(), METRIC_LABELS[state.metric]);
}

function renderFeedFilter() {
  for (const item of feed.children) item.hidden = Boolean(state.eventType) && item.dataset.eventType !== state.eventType;
}

function addFeedItem(message) {
  const item = document.createElement("li");
  item.dataset.eventType = message.event_type;
  item.style.setProperty("--accent", colorFor(message.event_type, store.eventTypes()));
  item.innerHTML = `<span class="badge"></span><span class="numbers"></span><time></time>`;
  item.querySelector(".badge").textContent = message.event_type;
  item.querySelector(".numbers").textContent =
    `${number.format(message.count)} events · ${number.format(message.unique_users)} users · ` +
    `value ${number.format(message.total_value)}`;
  item.querySelector("time").textContent = windowLabel(message);
  item.hidden = Boolean(state.eventType) && message.event_type !== state.eventType;
  feed.prepend(item);
  while (feed.children.length > FEED_LENGTH) feed.lastElementChild.remove();
}

function renderAll(updatedType) {
  renderFilterOptions();
  renderCards(updatedType);
  renderChart();
}

async function fetchJson(path) {
  const response = await fetch(path);
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
}

async function loadRecent() {
  const { event_types: eventTypes } = await fetchJson("/metrics/event-types");
  const since = new Date(Date.now() - HISTORY_MINUTES * 60_000).toISOString();
  const query = (type) => `event_type=${encodeURIComponent(type)}&window_size=${encodeURIComponent(windowSize)}`;
  const bodies = await Promise.all(
    eventTypes.flatMap((type) => [
      fetchJson(`/metrics/history?${query(type)}&start_time=${since}&limit=1000`).catch(() => null),
      fetchJson(`/metrics/realtime?${query(type)}&limit=200`),
    ]),
  );
  const spanMs = durationMs(windowSize);
  for (const body of bodies) {
    for (const entry of body?.entries ?? []) {
      store.upsert({ ...entry, window_end: entry.window_start + spanMs, event_type: body.event_type, window_size: body.window_size });
    }
  }
  renderAll(null);
}

function durationMs(label) {
  const match = /^(\d+)([smh])$/.exec(label);
  return match ? Number(match[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[match[2]] : 0;
}

// Every socket message goes to the feed (the snapshot on connect first); the store keeps one per window.
function onMessage(message) {
  if (message.window_size !== windowSize) return;
  store.upsert(message);
  addFeedItem(message);
  renderAll(message.event_type);
}

function onState(name, text) {
  connection.dataset.state = name;
  connection.textContent = text;
}

filter.addEventListener("change", () => {
  state.eventType = filter.value;
  renderAll(null);
  renderFeedFilter();
});
metricSelect.addEventListener("change", () => {
  state.metric = metricSelect.value;
  renderChart();
});

renderChart();
connectLive({
  windowSize,
  onMessage,
  onState,
  // On every (re)connect, fill what was missed while the socket was down.
  onOpen: () => loadRecent().catch((error) => console.warn("could not load recent windows", error)),
});
