// The time-series chart (uPlot) and its legend: one line per shown series, x range fixed to the picked
// time range (so the first paint has a sane axis), y from 0, gaps as zeros (the data says so; lines never
// span a missing value). The legend shows each series' latest value, or the value under the cursor.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { compact, exact, timeOfDay } from "./format.js";

const DAY_S = 86400;
const tickTime = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit" });
const tickTimeSeconds = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit", second: "2-digit" });
const tickNumber = new Intl.NumberFormat(undefined, { notation: "compact", maximumFractionDigits: 2, signDisplay: "negative" });
const tickDay = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });

/** Axis labels that fit the span: seconds under 10 min, dates for multi-day spans (one line, no overlap). */
function timeTicks(u, splits) {
  const span = u.scales.x.max - u.scales.x.min;
  return splits.map((s) => {
    const ms = s * 1000;
    if (span <= 600) return tickTimeSeconds.format(ms);
    if (span <= 2 * DAY_S) return tickTime.format(ms);
    return new Date(ms).getHours() === 0 && new Date(ms).getMinutes() === 0 ? tickDay.format(ms) : `${tickDay.format(ms)} ${tickTime.format(ms)}`;
  });
}

export class WindowChart {
  constructor(container, legend, onToggle) {
    this.container = container;
    this.legend = legend;
    this.list = legend.querySelector("ul");
    this.time = legend.querySelector(".legend-time");
    this.onToggle = onToggle;
    this.plot = null;
    this.key = "";
    this.series = [];
    this.range = [0, 1];
    this.hoverIdx = null;
    new ResizeObserver(() => this.plot?.setSize(this.size())).observe(container);
  }

  size() {
    const width = Math.max(240, this.container.clientWidth);
    return { width, height: width < 520 ? 200 : 300 };
  }

  /** series: [{key, label, color, dash, shown}], data: uPlot columns, range: [fromS, toS]. */
  render(series, data, range, metricLabel) {
    this.range = range;
    const key = JSON.stringify([series.map((s) => [s.key, s.color, s.dash]), metricLabel]);
    if (key !== this.key || !this.plot) {
      this.plot?.destroy();
      this.key = key;
      this.series = series;
      this.plot = this.create(series, data, metricLabel);
      this.renderLegendItems();
    } else {
      this.series = series;
      this.plot.setData(data);
    }
    series.forEach((s, i) => {
      if (this.plot.series[i + 1].show !== s.shown) this.plot.setSeries(i + 1, { show: s.shown });
    });
    const c = this.container.dataset;
    c.points = String(data.slice(1).reduce((n, column) => n + column.filter((v) => v !== null).length, 0));
    [c.xMin, c.xMax] = range.map(String);
    c.series = series.map((s) => s.key).join(",");
    c.hidden = series.filter((s, i) => !this.plot.series[i + 1].show).map((s) => s.key).join(",");
    this.updateLegendValues();
  }

  create(series, data, metricLabel) {
    return new uPlot(
      {
        ...this.size(),
        scales: {
          x: { time: true, range: () => this.range },
          y: { range: (u, min, max) => [Math.min(0, min ?? 0), max > 0 ? max * 1.08 : 1] },
        },
        series: [
          { value: (u, v) => (v == null ? "" : timeOfDay(v * 1000)) },
          ...series.map((s) => ({
            label: s.label,
            stroke: s.color,
            width: s.width ?? 2,
            dash: s.dash ?? undefined,
            spanGaps: false,
            show: s.shown,
            points: { size: 4 },
          })),
        ],
        axes: [
          // Room for the longest label of the span (seconds, or a date), so labels never overlap.
          { values: timeTicks, space: (u) => (u.scales.x.max - u.scales.x.min <= 600 ? 100 : u.scales.x.max - u.scales.x.min > 2 * DAY_S ? 120 : 80) },
          { label: metricLabel, size: 56, values: (u, splits) => splits.map(tickNumber.format) },
        ],
        legend: { show: false },
        cursor: { drag: { x: false, y: false } },
        hooks: {
          setCursor: [
            (u) => {
              this.hoverIdx = u.cursor.idx ?? null;
              this.updateLegendValues();
            },
          ],
        },
      },
      data,
      this.container,
    );
  }

  renderLegendItems() {
    this.list.replaceChildren(
      ...this.series.map((s) => {
        const item = document.createElement("li");
        item.innerHTML = `<button type="button" class="legend-item"><span class="swatch"></span><span class="name"></span><span class="value"></span></button>`;
        const button = item.querySelector("button");
        button.dataset.series = s.key;
        button.style.setProperty("--accent", s.color);
        if (s.dash) button.classList.add("dashed");
        button.querySelector(".name").textContent = s.label;
        button.addEventListener("click", () => this.onToggle(s.key));
        return item;
      }),
    );
    this.legend.querySelector(".legend-count").textContent = String(this.series.length);
  }

  /** Latest value of each series, or the one under the cursor while hovering. */
  updateLegendValues() {
    if (!this.plot) return;
    const data = this.plot.data;
    const xs = data[0];
    const idx = this.hoverIdx;
    this.time.textContent = idx != null && xs[idx] != null ? timeOfDay(xs[idx] * 1000) : "latest";
    this.list.querySelectorAll("button").forEach((button, i) => {
      const column = data[i + 1] ?? [];
      let value = null;
      if (idx != null) value = column[idx] ?? null;
      else for (let k = column.length - 1; k >= 0 && value === null; k--) value = column[k] ?? null;
      button.querySelector(".name").textContent = this.series[i]?.label ?? "";
      const cell = button.querySelector(".value");
      cell.textContent = compact(value);
      cell.title = exact(value);
      button.setAttribute("aria-pressed", String(this.series[i]?.shown ?? true));
    });
  }
}
