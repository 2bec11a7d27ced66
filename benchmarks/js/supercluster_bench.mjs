// Baseline for benchmarks/map_viewport.py: supercluster over the same points, no filters.
// Usage: node supercluster_bench.mjs <points.f64> <viewports.json>
//   points.f64: little-endian float64 pairs (lon, lat); viewports.json: [[w, s, e, n, zoom], ...]
// Prints one JSON line: load_ms, p50_ms, p95_ms, max_bytes, p95_bytes.
import { readFileSync } from 'node:fs';
import Supercluster from 'supercluster';

const [pointsPath, viewportsPath] = process.argv.slice(2);
const buf = readFileSync(pointsPath);
const coords = new Float64Array(buf.buffer, buf.byteOffset, buf.byteLength / 8);
const viewports = JSON.parse(readFileSync(viewportsPath, 'utf8'));

const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

let t0 = performance.now();
const features = [];
for (let i = 0; i < coords.length; i += 2) {
  features.push({ type: 'Feature', properties: { id: i / 2 },
    geometry: { type: 'Point', coordinates: [coords[i], coords[i + 1]] } });
}
// 64 px cells in qorgau; supercluster's radius is in pixels of a 256 px tile here.
const index = new Supercluster({ radius: 64, extent: 256, maxZoom: 16 }).load(features);
const loadMs = performance.now() - t0;

const times = [];
const sizes = [];
for (const [w, s, e, n, z] of viewports) {
  t0 = performance.now();
  const clusters = index.getClusters([w, s, e, n], z);
  const body = JSON.stringify(clusters);
  times.push(performance.now() - t0);
  sizes.push(Buffer.byteLength(body));
}
console.log(JSON.stringify({
  load_ms: loadMs, p50_ms: quantile(times, 0.5), p95_ms: quantile(times, 0.95),
  max_bytes: Math.max(...sizes), p95_bytes: quantile(sizes, 0.95),
}));
