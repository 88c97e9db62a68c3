/**
 * The controller's status page: nodes, their latest scores with a plot of the recent ones,
 * membership and reason, the epoch and its expiry. It polls `/v1/status` every 2 s; no
 * external resources, so it works offline and under a strict CSP.
 */

/** The page served at `/`. */
export const STATUS_PAGE_HTML: string = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>meshguard controller</title>
<style>
body{font:14px system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse}td,th{padding:.4em .8em;border-bottom:1px solid #ddd;text-align:left}
.ALLOWED{color:#087f23;font-weight:bold}.DENIED{color:#b00020;font-weight:bold}.UNKNOWN{color:#777}
svg{vertical-align:middle}
</style></head><body>
<h1>meshguard controller</h1>
<p id="epoch">loading…</p>
<table><thead><tr><th>node</th><th>membership</th><th>score</th><th>recent</th><th>reason</th>
<th>last report</th></tr></thead><tbody id="nodes"></tbody></table>
<p id="error"></p>
<script>
"use strict";
function plot(history, threshold) {
  const w = 120, h = 30, ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("width", w); svg.setAttribute("height", h);
  const y = (v) => (h - 2 - v * (h - 4)).toFixed(1);
  const line = document.createElementNS(ns, "line");
  line.setAttribute("x1", 0); line.setAttribute("x2", w);
  line.setAttribute("y1", y(threshold)); line.setAttribute("y2", y(threshold));
  line.setAttribute("stroke", "#bbb"); line.setAttribute("stroke-dasharray", "3 3");
  svg.appendChild(line);
  if (history.length > 0) {
    const step = history.length > 1 ? w / (history.length - 1) : 0;
    const poly = document.createElementNS(ns, "polyline");
    poly.setAttribute("points", history.map((p, i) => (i * step).toFixed(1) + "," + y(p.overall)).join(" "));
    poly.setAttribute("fill", "none"); poly.setAttribute("stroke", "#1565c0");
    svg.appendChild(poly);
  }
  return svg;
}
function cell(row, text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  row.appendChild(td);
  return td;
}
async function refresh() {
  try {
    const response = await fetch("/v1/status", { cache: "no-store" });
    const status = await response.json();
    const left = Math.max(0, Math.round((Date.parse(status.epoch.expiry_utc) - status.now_ms) / 1000));
    document.getElementById("epoch").textContent = "epoch " + status.epoch.id + ", expires " +
      status.epoch.expiry_utc + " (in " + left + " s), threshold " + status.threshold.toFixed(2);
    const body = document.getElementById("nodes");
    body.replaceChildren();
    for (const [id, node] of Object.entries(status.nodes)) {
      const row = document.createElement("tr");
      row.dataset.node = id;
      cell(row, id);
      cell(row, node.membership, node.membership).dataset.field = "membership";
      const score = node.last_benchmark ? node.last_benchmark.overall.toFixed(3) : "–";
      cell(row, score).dataset.field = "score";
      cell(row, "").appendChild(plot(node.history || [], status.threshold));
      cell(row, node.reason || "");
      cell(row, node.last_benchmark ? node.last_benchmark.timestamp : "never");
      body.appendChild(row);
    }
    document.getElementById("error").textContent = "";
    document.body.dataset.updated = String(Date.now());
  } catch (error) {
    document.getElementById("error").textContent = "controller unreachable: " + error;
  }
}
refresh();
setInterval(refresh, 2000);
</script></body></html>
`;
