// The cards (newest window per shown type, an "other" card, quiet ones greyed), the quiet list and the feed.
import { ago, delta, setNumber, windowLabel } from "./format.js";

const FEED_LENGTH = 50;
export const QUIET_LIST_LENGTH = 8;
export const OTHER_KEY = "_other"; // event types start with [a-z0-9]: no clash

export const PERCENTILES = ["p50", "p95", "p99"];

const CARD_HTML = `
  <header><h3></h3><span class="seen"></span></header>
  <p class="headline"><span class="count"></span><span class="unit">events</span><span class="delta"></span></p>
  <dl>
    <div><dt>Unique users</dt><dd class="unique-users"></dd></div>
    <div><dt>Total value</dt><dd class="total-value"></dd></div>
  </dl>
  <dl class="percentiles" title="Percentiles of value in the window (p50: the median)">
    <div><dt>p50</dt><dd class="p50"></dd></div>
    <div><dt>p95</dt><dd class="p95"></dd></div>
    <div><dt>p99</dt><dd class="p99"></dd></div>
  </dl>
  <p class="window"></p>
  <p class="skipped"></p>`;

/** cards: [{key, title, color, latest, previous, stale, seen, skipped: {text, title}, focused}] in display order. */
export function renderCards(container, cards) {
  const existing = new Map([...container.querySelectorAll(".card")].map((card) => [card.dataset.eventType, card]));
  const elements = cards.map((spec) => {
    let card = existing.get(spec.key);
    if (!card) {
      card = document.createElement("article");
      card.className = "card";
      card.innerHTML = CARD_HTML;
      card.dataset.eventType = spec.key;
    }
    fillCard(card, spec);
    return card;
  });
  if (elements.length === 0) return;
  const current = [...container.children];
  if (current.length !== elements.length || current.some((child, i) => child !== elements[i])) container.replaceChildren(...elements);
}

function fillCard(card, spec) {
  const { latest, previous } = spec;
  card.classList.toggle("stale", spec.stale);
  card.classList.toggle("other", spec.key === OTHER_KEY);
  card.style.setProperty("--accent", spec.color);
  const title = card.querySelector("h3");
  title.textContent = spec.title;
  title.title = spec.title;
  card.classList.toggle("focused", Boolean(spec.focused));
  card.querySelector(".seen").textContent = spec.seen ?? "";
  const skipped = card.querySelector(".skipped");
  skipped.textContent = spec.skipped?.text ?? "";
  skipped.title = spec.skipped?.title ?? "";
  setNumber(card.querySelector(".count"), latest?.count ?? null);
  setNumber(card.querySelector(".unique-users"), latest?.unique_users ?? null);
  setNumber(card.querySelector(".total-value"), latest?.total_value ?? null);
  // Windows written before the job kept percentiles (and the "other" sum) have none.
  card.querySelector(".percentiles").hidden = latest?.p50 == null;
  for (const name of PERCENTILES) setNumber(card.querySelector(`.${name}`), latest?.[name] ?? null);
  const change = card.querySelector(".delta");
  const shownDelta = latest && previous ? delta(latest.count, previous.count) : null;
  change.textContent = shownDelta ? shownDelta.text : "";
  change.dataset.direction = shownDelta?.direction ?? "";
  change.title = shownDelta ? `${previous.count} events in the previous window` : "";
  card.querySelector(".window").textContent = latest?.window_start != null ? windowLabel(latest) : "";
  const start = String(latest?.window_start ?? "");
  if (card.dataset.windowStart && card.dataset.windowStart !== start) {
    card.classList.remove("flash");
    void card.offsetWidth; // restart the animation
    card.classList.add("flash");
  }
  card.dataset.windowStart = start;
}

/** Quiet types beyond the top N: name and when they were last seen; clicking one searches for it. */
export function renderQuiet(section, rows, onPick) {
  section.hidden = rows.length === 0;
  const items = rows.slice(0, QUIET_LIST_LENGTH).map((row) => {
    const item = document.createElement("li");
    item.innerHTML = `<button type="button"><span class="name"></span><span class="seen"></span></button>`;
    item.dataset.eventType = row.type;
    item.querySelector(".name").textContent = row.type;
    item.querySelector(".seen").textContent = lastSeen(row.latest);
    item.querySelector("button").addEventListener("click", () => onPick(row.type));
    return item;
  });
  if (rows.length > QUIET_LIST_LENGTH) {
    const more = document.createElement("li");
    more.className = "more";
    more.textContent = `and ${rows.length - QUIET_LIST_LENGTH} more: search to find one`;
    items.push(more);
  }
  section.querySelector("ul").replaceChildren(...items);
  section.querySelector("h2").textContent = `Gone quiet (${rows.length})`;
}

export function lastSeen(latest) {
  return latest ? `last seen ${ago(latest.window_end)}` : "no recent window";
}

export function addFeedItem(feed, message, visible) {
  const item = document.createElement("li");
  item.dataset.eventType = message.event_type;
  item.dataset.windowSize = message.window_size;
  item.innerHTML = `<span class="badge"></span><span class="numbers"><span class="count"></span> events · <span class="users"></span> users · value <span class="value"></span></span><time></time>`;
  item.querySelector(".badge").textContent = message.event_type;
  item.querySelector(".badge").title = message.event_type;
  setNumber(item.querySelector(".count"), message.count);
  setNumber(item.querySelector(".users"), message.unique_users);
  setNumber(item.querySelector(".value"), message.total_value);
  item.querySelector("time").textContent = windowLabel(message);
  item.hidden = !visible(item);
  feed.prepend(item);
  while (feed.children.length > FEED_LENGTH) feed.lastElementChild.remove();
}

export function filterFeed(feed, visible) {
  for (const item of feed.children) item.hidden = !visible(item);
}
