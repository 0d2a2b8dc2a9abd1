// One /live-metrics connection and the windows it feeds: a SizeStore per window size, and whether the
// snapshot the server sends on connect is in (settled). From the snapshot's newest window on, every window
// of every series it carries arrives over the socket: the stores' live spans start there and end when the
// socket drops. The page has one for the event types and, while the chart is split, one for the breakdown.
import { connectLive } from "./api.js";
import { durationMs } from "./format.js";
import { SizeStore } from "./store.js";

// The snapshot arrives as one burst on connect: it is in once no message came for SETTLE_MS, or after
// SETTLE_MAX_MS when windows never stop coming.
export const SETTLE_MS = 400;
const SETTLE_MAX_MS = 3000;

export class LiveSource {
  /**
   * filters: the WebSocket's (event_type, breakdown); keyField: what tells series apart in a store
   * (event_type, or breakdown_value for a breakdown); onWindow(message) for each window; onChange(what)
   * with "window", "state" or "open".
   */
  constructor({ filters = {}, keyField = "event_type", onWindow = () => {}, onChange }) {
    this.keyField = keyField;
    this.stores = new Map();
    this.connection = { name: "connecting" };
    this.openedAt = null; // performance.now() of the last connect: the snapshot arrives just after it
    this.connectedAtMs = null; // and its wall-clock time
    this.lastMessageAt = 0;
    this.settled = false; // this connection's snapshot is in
    this.everSettled = false; // until then a ranking is a guess
    this.onWindow = onWindow;
    this.onChange = onChange;
    this.socket = connectLive({
      filters,
      onMessage: (message) => this.receive(message),
      onState: (name, info) => this.changeState(name, info),
      onOpen: () => this.opened(),
    });
  }

  storeFor(windowSize) {
    let store = this.stores.get(windowSize);
    if (!store) {
      store = new SizeStore(windowSize, durationMs(windowSize) ?? 0, this.keyField);
      store.livePending = true;
      this.stores.set(windowSize, store);
    }
    return store;
  }

  receive(message) {
    if (typeof message?.[this.keyField] !== "string" || typeof message.window_size !== "string") return;
    this.lastMessageAt = performance.now();
    this.storeFor(message.window_size).upsert(message);
    this.onWindow(message);
    this.onChange("window");
  }

  changeState(name, info) {
    if (name === "reconnecting" && this.connection.name === "live") {
      // Windows published while the socket is down never arrive: the live spans end here.
      for (const store of this.stores.values()) store.live.close((store.frontier ?? Date.now()) + 1);
    }
    this.connection = { name, ...info };
    this.onChange("state");
  }

  opened() {
    for (const store of this.stores.values()) store.livePending = true;
    this.openedAt = performance.now();
    this.connectedAtMs = Date.now();
    this.settled = false;
    this.onChange("open");
  }

  /** Whether the snapshot is in; once it is, every store's live span is open. */
  settle() {
    const now = performance.now();
    const quiet = now - Math.max(this.openedAt, this.lastMessageAt) >= SETTLE_MS || now - this.openedAt >= SETTLE_MAX_MS;
    this.settled = this.connection.name === "live" && (this.settled || quiet);
    this.everSettled ||= this.settled;
    if (this.settled) {
      // From the newest window of the snapshot on (or, with none yet, from the connect on).
      for (const store of this.stores.values()) {
        if (store.livePending) store.live.add(store.frontier ?? this.connectedAtMs, Infinity);
        store.livePending = false;
      }
    }
    return this.settled;
  }

  close() {
    this.socket.close();
  }
}
