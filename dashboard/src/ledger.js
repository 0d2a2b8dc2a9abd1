// The job's ledger of skipped records (GET /metrics/skipped): late events and invalid records per reason and
// event type. Each type's count goes on its card, the total in the top bar.
import { compact, exact } from "./format.js";

const PERIOD = "in the last 5 min"; // api.SKIPPED_SINCE

function add(counts, reason, count) {
  counts.set(reason, (counts.get(reason) ?? 0) + count);
}

/** {total, reasons: Map(reason -> count), byType: Map(event type -> Map(reason -> count))} of an answer. */
export function summarizeSkipped(body) {
  const reasons = new Map();
  const byType = new Map();
  for (const { reason, event_type: type, count } of body.entries) {
    add(reasons, reason, count);
    if (type == null) continue;
    if (!byType.has(type)) byType.set(type, new Map());
    add(byType.get(type), reason, count);
  }
  return { total: body.total, reasons, byType };
}

export const EMPTY_LEDGER = { total: 0, reasons: new Map(), byType: new Map() };

/** Several types' counts added up (the "other" card). */
export function sumCounts(list) {
  const sum = new Map();
  for (const counts of list) for (const [reason, count] of counts ?? []) add(sum, reason, count);
  return sum;
}

/** "12 late · 3 invalid" (empty for none); `detail` names every reason, for the tooltip. */
export function describeSkipped(counts) {
  const late = counts?.get("late") ?? 0;
  let invalid = 0;
  for (const [reason, count] of counts ?? []) if (reason !== "late") invalid += count;
  const parts = [];
  if (late) parts.push(`${compact(late)} late`);
  if (invalid) parts.push(`${compact(invalid)} invalid`);
  const detail = [...(counts ?? [])].sort((a, b) => b[1] - a[1]).map(([reason, count]) => `${reason}: ${exact(count)}`);
  return { text: parts.join(" · "), detail: detail.join(", ") };
}

/** A card's line: "12 late in the last 5 min", and its tooltip. */
export function cardSkipped(counts) {
  const { text, detail } = describeSkipped(counts);
  return text ? { text: `${text} ${PERIOD}`, title: `Skipped by the job ${PERIOD}: ${detail}` } : { text: "", title: "" };
}

/** The top bar's total: "Skipped in the last 5 min: 12 late · 3 invalid". */
export function totalSkipped(ledger) {
  const { text, detail } = describeSkipped(ledger.reasons);
  if (!text) return { text: "", title: "" };
  const title = `Records the Flink job skipped ${PERIOD} (GET /metrics/skipped): ${detail}. Late events are kept in the dead-letter topic.`;
  return { text: `Skipped ${PERIOD}: ${text}`, title };
}
