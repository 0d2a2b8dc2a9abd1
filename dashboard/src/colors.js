// Stable colours: an event type's colour comes from a hash of its name, so it does not depend on load
// order and is the same after a reload. Two shown types whose hashes collide do not share a colour: the
// one later in alphabetical order takes the next free one. Past 9 shown types, colours repeat dashed.
// The palette is d3's category10 without its grey (grey is "other"): nine hues people tell apart.
const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf"];
export const OTHER_COLOR = "#64748b";
const DASHES = [null, [6, 4], [2, 3]];

function hash(text) {
  let value = 2166136261; // FNV-1a
  for (let i = 0; i < text.length; i++) value = Math.imul(value ^ text.charCodeAt(i), 16777619);
  return value >>> 0;
}

/** Map event type -> {color, dash} for the shown types, distinct within each round of nine. */
export function assignColors(eventTypes) {
  const styles = new Map();
  const sorted = [...eventTypes].sort();
  for (let round = 0; round * PALETTE.length < sorted.length; round++) {
    const used = new Set();
    for (const type of sorted.slice(round * PALETTE.length, (round + 1) * PALETTE.length)) {
      let slot = hash(type) % PALETTE.length;
      while (used.has(slot)) slot = (slot + 1) % PALETTE.length;
      used.add(slot);
      styles.set(type, { color: PALETTE[slot], dash: DASHES[Math.min(round, DASHES.length - 1)] });
    }
  }
  return styles;
}
