// The time-series chart (uPlot): one line per visible event type, rebuilt when that set changes.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

const PALETTE = ["#2563eb", "#db2777", "#059669", "#d97706", "#7c3aed", "#0891b2", "#dc2626", "#4b5563"];

export function colorFor(eventType, allTypes) {
  return PALETTE[Math.max(0, allTypes.indexOf(eventType)) % PALETTE.length];
}

export class WindowChart {
  constructor(container) {
    this.container = container;
    this.plot = null;
    this.key = "";
    new ResizeObserver(() => this.plot?.setSize(this.size())).observe(container);
  }

  size() {
    const width = Math.max(240, this.container.clientWidth);
    return { width, height: width < 520 ? 220 : 300 };
  }

  render(data, eventTypes, allTypes, metricLabel) {
    const key = JSON.stringify([eventTypes, metricLabel]);
    if (key !== this.key || !this.plot) {
      this.plot?.destroy();
      this.key = key;
      this.plot = new uPlot(
        {
          ...this.size(),
          scales: { x: { time: true } },
          series: [
            {},
            ...eventTypes.map((type) => ({
              label: type,
              stroke: colorFor(type, allTypes),
              width: 2,
              spanGaps: true,
              points: { show: true, size: 5 },
            })),
          ],
          axes: [{}, { label: metricLabel, size: 60 }],
          legend: { live: true },
        },
        data,
        this.container,
      );
    } else {
      this.plot.setData(data);
    }
    this.container.dataset.points = String(data.slice(1).reduce((n, column) => n + column.filter((v) => v !== null).length, 0));
  }
}
