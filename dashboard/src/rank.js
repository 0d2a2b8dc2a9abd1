// Which series the page shows: the top N event types by recent volume (mean count of their newest windows),
// an "other" aggregate of the rest that are still active, and the ones that went quiet, out of the way.

/** A series with no window for this long (behind the newest window of any type) has gone quiet. */
export function staleAfterMs(sizeMs) {
  return Math.max(60_000, 2 * sizeMs);
}

export function rankSeries(store, eventTypes, query, top) {
  const needle = query.trim().toLowerCase();
  const staleBefore = store.frontier === null ? null : store.frontier - staleAfterMs(store.sizeMs);
  const rows = eventTypes
    .filter((type) => type.toLowerCase().includes(needle))
    .map((type) => {
      const latest = store.latest(type);
      const stale = latest === null || (staleBefore !== null && latest.window_start < staleBefore);
      return { type, latest, stale, volume: stale ? 0 : store.volume(type) };
    });
  rows.sort(
    (a, b) =>
      a.stale - b.stale ||
      b.volume - a.volume ||
      (b.latest?.window_start ?? -1) - (a.latest?.window_start ?? -1) ||
      a.type.localeCompare(b.type),
  );
  const rest = rows.slice(top);
  return {
    shown: rows.slice(0, top),
    others: rest.filter((row) => !row.stale),
    quiet: rest.filter((row) => row.stale),
    matching: rows.length,
  };
}
