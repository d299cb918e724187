import { html } from 'htm/preact';
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

export interface Series {
  label: string;
  color: string;
  /** Bars instead of a line (usage per day). */
  bars?: boolean;
}

const PALETTE = { grid: '#e3e6ea', axis: '#4a5260' };

/**
 * A uPlot chart sized to its container. `x` is seconds since the epoch (uPlot's time scale) and `ys`
 * one array per series; new data is set on the existing plot, so a chart updated every second does
 * not rebuild its DOM.
 */
export function Chart({ title, x, ys, series, height = 180, yLabel }: { title: string; x: number[]; ys: (number | null)[][]; series: Series[]; height?: number; yLabel?: string }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const key = series.map((s) => s.label).join('|');

  useEffect(() => {
    const el = box.current!;
    const bars = uPlot.paths.bars?.({ size: [0.6, 40] });
    const opts: uPlot.Options = {
      width: Math.max(300, el.clientWidth),
      height,
      legend: { live: false },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true } },
      axes: [
        { stroke: PALETTE.axis, grid: { stroke: PALETTE.grid } },
        { stroke: PALETTE.axis, grid: { stroke: PALETTE.grid }, label: yLabel, size: 60 },
      ],
      series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2, fill: s.bars ? s.color : undefined, paths: s.bars ? bars : undefined, spanGaps: false }))],
    };
    plot.current = new uPlot(opts, [x, ...ys] as uPlot.AlignedData, el);
    const resize = new ResizeObserver(() => plot.current?.setSize({ width: Math.max(300, el.clientWidth), height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
    // The plot is rebuilt only when its series change; data updates go through setData below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, height]);

  useEffect(() => {
    plot.current?.setData([x, ...ys] as uPlot.AlignedData);
  }, [x, ys]);

  return html`<figure class="chart"><figcaption>${title}</figcaption><div ref=${box} role="img" aria-label=${`${title} chart`}></div></figure>`;
}
