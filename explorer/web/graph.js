// The message graph: a small tidy-tree layout of the messages one message caused (API /messages/{id}/graph),
// drawn as SVG whose nodes link to their message pages. Our own code, no library.
"use strict";

const GRAPH = { w: 150, h: 44, gapX: 18, gapY: 46 };

// layoutGraph places each node: depth sets the row, leaves get consecutive columns in depth-first order and
// a parent sits above the middle of its children. The caused-by parent, when known, sits above the root.
function layoutGraph(g) {
  const byId = new Map(g.nodes.map(n => [n.id, { ...n, kids: [] }]));
  const tree = new Set();
  for (const e of g.edges) {
    // The first edge into a node makes the tree; later ones (assignments of it) are drawn but not followed.
    if (tree.has(e.to) || !byId.has(e.from) || !byId.has(e.to) || e.to === g.root) continue;
    tree.add(e.to);
    byId.get(e.from).kids.push(byId.get(e.to));
  }
  const root = byId.get(g.root);
  const top = g.parent ? 1 : 0;
  let col = 0;
  const place = (n, depth) => {
    n.row = depth + top;
    if (n.kids.length === 0) { n.col = col++; return; }
    n.kids.forEach(k => place(k, depth + 1));
    n.col = (n.kids[0].col + n.kids[n.kids.length - 1].col) / 2;
  };
  if (root) place(root, 0);
  const nodes = [...byId.values()].filter(n => n.row !== undefined);
  if (g.parent && root) nodes.push({ ...g.parent, row: 0, col: root.col, isParent: true, kids: [] });
  const pos = n => ({ x: GRAPH.gapX + n.col * (GRAPH.w + GRAPH.gapX), y: GRAPH.gapY / 2 + n.row * (GRAPH.h + GRAPH.gapY) });
  for (const n of nodes) Object.assign(n, pos(n));
  const at = new Map(nodes.filter(n => !n.isParent).map(n => [n.id, n]));
  const edges = [];
  const curve = (a, b, kind) => {
    const x1 = a.x + GRAPH.w / 2, y1 = a.y + GRAPH.h, x2 = b.x + GRAPH.w / 2, y2 = b.y, my = (y1 + y2) / 2;
    edges.push({ kind, d: `M${x1},${y1} C${x1},${my} ${x2},${my} ${x2},${y2}` });
  };
  for (const e of g.edges) if (at.has(e.from) && at.has(e.to)) curve(at.get(e.from), at.get(e.to), e.kind);
  const parent = nodes.find(n => n.isParent);
  if (parent && root) curve(parent, at.get(root.id), "message");
  const width = Math.max(1, col) * (GRAPH.w + GRAPH.gapX) + GRAPH.gapX;
  const rows = Math.max(0, ...nodes.map(n => n.row)) + 1;
  return { nodes, edges, width, height: rows * (GRAPH.h + GRAPH.gapY) };
}

const SVGNS = "http://www.w3.org/2000/svg";
function svgEl(name, attrs, ...kids) {
  const el = document.createElementNS(SVGNS, name);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
  for (const k of kids) el.append(k);
  return el;
}

function short(id) { return id ? id.slice(0, 6) + "…" + id.slice(-4) : ""; }

// drawGraph returns the SVG of g; clicking a node goes to its message page.
function drawGraph(g) {
  const L = layoutGraph(g);
  const svg = svgEl("svg", { width: L.width, height: L.height, viewBox: `0 0 ${L.width} ${L.height}`, role: "img", "aria-label": "message graph" });
  for (const e of L.edges) svg.append(svgEl("path", { class: "edge " + e.kind, d: e.d }));
  for (const n of L.nodes) {
    const cls = "node" + (n.id === g.root && !n.isParent ? " root" : "") + (n.isParent ? " parent" : "");
    const label = n.action || (n.kind === "spawn" ? "Spawn" : "(no Action)");
    const a = svgEl("a", { href: "#/message/" + n.id, class: cls, "data-id": n.id, "data-action": n.action || "" },
      svgEl("title", {}, `${label} ${n.id} → ${n.process || "?"} (${n.kind})`),
      svgEl("rect", { x: n.x, y: n.y, width: GRAPH.w, height: GRAPH.h, rx: 5 }),
      svgEl("text", { x: n.x + 8, y: n.y + 18 }, label.length > 20 ? label.slice(0, 19) + "…" : label),
      svgEl("text", { x: n.x + 8, y: n.y + 34, class: "sub" }, short(n.id) + (n.kind !== "message" && n.kind !== "push" ? " · " + n.kind : "")));
    svg.append(a);
  }
  return svg;
}

// sparkline draws counts (oldest first) as a small SVG line.
function sparkline(counts, w = 120, h = 24) {
  const max = Math.max(1, ...counts);
  const step = counts.length > 1 ? w / (counts.length - 1) : w;
  const d = counts.map((c, i) => `${i ? "L" : "M"}${(i * step).toFixed(1)},${(h - 1 - (c / max) * (h - 2)).toFixed(1)}`).join(" ");
  const total = counts.reduce((a, b) => a + b, 0);
  return svgEl("svg", { class: "spark", width: w, height: h, viewBox: `0 0 ${w} ${h}`, role: "img", "aria-label": `${total} messages in the last ${counts.length} s` },
    svgEl("title", {}, `${total} messages in the last ${counts.length} s (peak ${max}/s)`), svgEl("path", { d }));
}
