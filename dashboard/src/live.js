// The /live-metrics WebSocket with reconnection (capped exponential backoff) and a visible state.
const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 10000;

export function connectLive({ windowSize, onMessage, onState, onOpen }) {
  let retryMs = FIRST_RETRY_MS;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const url = `${scheme}://${location.host}/live-metrics?window_size=${encodeURIComponent(windowSize)}`;

  function open() {
    onState("connecting", "Connecting…");
    const socket = new WebSocket(url);
    socket.addEventListener("open", () => {
      retryMs = FIRST_RETRY_MS;
      onState("live", "Live");
      onOpen();
    });
    socket.addEventListener("message", (event) => {
      try {
        onMessage(JSON.parse(event.data));
      } catch (error) {
        console.warn("ignoring a message that is not JSON", error);
      }
    });
    socket.addEventListener("close", () => {
      const seconds = Math.round(retryMs / 1000);
      onState("reconnecting", `Disconnected, retrying in ${seconds}s`);
      setTimeout(open, retryMs);
      retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
    });
  }
  open();
}
