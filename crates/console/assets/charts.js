// Charts drawn as SVG by hand: lines over time (several series, e.g. p50/p95/p99 or this
// period against the one before) and horizontal bars (outcomes). Each has a title, a text
// summary for screen readers and a legend.

const ns = 'http://www.w3.org/2000/svg';
const palette = ['#1d4ed8', '#c2410c', '#15803d', '#7e22ce', '#0e7490', '#a16207'];

function svg(tag, attributes = {}, ...children) {
  const element = document.createElementNS(ns, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  for (const child of children) if (child) element.append(child);
  return element;
}

function text(x, y, content, attributes = {}) {
  const node = svg('text', {x, y, ...attributes});
  node.textContent = content;
  return node;
}

function compact(value) {
  if (value === null || value === undefined || Number.isNaN(value)) return '–';
  if (Math.abs(value) >= 1e6) return `${(value / 1e6).toFixed(1)}M`;
  if (Math.abs(value) >= 1e3) return `${(value / 1e3).toFixed(1)}k`;
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

/** A line chart. `series: [{name, points: [{x: label, y: number|null}]}]`, all of one length. */
export function lineChart(title, series, {width = 640, height = 220} = {}) {
  const left = 44, right = 12, top = 12, bottom = 28;
  const count = Math.max(1, ...series.map((one) => one.points.length));
  const values = series.flatMap((one) => one.points.map((point) => point.y)).filter((y) => y !== null && y !== undefined);
  const maximum = Math.max(1, ...values);
  const x = (index) => left + (count === 1 ? 0 : (index * (width - left - right)) / (count - 1));
  const y = (value) => top + (height - top - bottom) * (1 - value / maximum);
  const chart = svg('svg', {viewBox: `0 0 ${width} ${height}`, role: 'img', class: 'chart'});
  chart.append(svg('title', {}, document.createTextNode(title)));
  for (const fraction of [0, 0.5, 1]) {
    const level = maximum * fraction;
    chart.append(svg('line', {x1: left, x2: width - right, y1: y(level), y2: y(level), class: 'grid'}));
    chart.append(text(left - 6, y(level) + 4, compact(level), {'text-anchor': 'end', class: 'axis'}));
  }
  const labels = series[0] ? series[0].points : [];
  const step = Math.max(1, Math.ceil(labels.length / 6));
  labels.forEach((point, index) => {
    if (index % step === 0) chart.append(text(x(index), height - 8, point.x, {'text-anchor': 'middle', class: 'axis'}));
  });
  series.forEach((one, index) => {
    const color = palette[index % palette.length];
    let path = '';
    one.points.forEach((point, position) => {
      if (point.y === null || point.y === undefined) return;
      path += `${path ? 'L' : 'M'}${x(position).toFixed(1)},${y(point.y).toFixed(1)}`;
      chart.append(svg('circle', {cx: x(position), cy: y(point.y), r: 2.5, fill: color}));
    });
    if (path) chart.append(svg('path', {d: path, stroke: color, fill: 'none', 'stroke-width': 2, ...(one.dashed ? {'stroke-dasharray': '5 4'} : {})}));
  });
  return figure(title, chart, series, (one) => {
    const present = one.points.map((point) => point.y).filter((value) => value !== null && value !== undefined);
    return `${one.name}: ${present.length} points, highest ${compact(Math.max(0, ...present))}`;
  });
}

/** Horizontal bars: `bars: [{name, value}]`. */
export function barChart(title, bars, {width = 640} = {}) {
  const row = 26, left = 120, right = 48;
  const height = Math.max(row, bars.length * row) + 8;
  const maximum = Math.max(1, ...bars.map((bar) => bar.value));
  const chart = svg('svg', {viewBox: `0 0 ${width} ${height}`, role: 'img', class: 'chart'});
  chart.append(svg('title', {}, document.createTextNode(title)));
  bars.forEach((bar, index) => {
    const length = ((width - left - right) * bar.value) / maximum;
    const top = 4 + index * row;
    chart.append(text(left - 6, top + 16, bar.name, {'text-anchor': 'end', class: 'axis'}));
    chart.append(svg('rect', {x: left, y: top + 3, width: Math.max(1, length), height: row - 8, fill: palette[index % palette.length]}));
    chart.append(text(left + length + 6, top + 16, compact(bar.value), {class: 'axis'}));
  });
  const series = bars.map((bar) => ({name: `${bar.name}: ${bar.value}`}));
  return figure(title, chart, series, (one) => one.name, false);
}

function figure(title, chart, series, describe, legend = true) {
  const holder = document.createElement('figure');
  holder.className = 'chart-figure';
  const caption = document.createElement('figcaption');
  caption.textContent = title;
  holder.append(caption, chart);
  if (legend) {
    const key = document.createElement('ul');
    key.className = 'legend';
    series.forEach((one, index) => {
      const item = document.createElement('li');
      item.style.setProperty('--swatch', palette[index % palette.length]);
      item.textContent = one.name;
      key.append(item);
    });
    holder.append(key);
  }
  const summary = document.createElement('p');
  summary.className = 'visually-hidden';
  summary.textContent = series.map(describe).join('; ');
  holder.append(summary);
  return holder;
}
