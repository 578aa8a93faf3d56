package explorer_test

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/aogo/aogo/internal/testenv"
)

// layoutCheck loads web/graph.js in node and checks layoutGraph on trees of many shapes: every node placed, no two
// boxes overlapping, each child one row below its parent, a parent above the middle of its children, the caused-by
// parent above the root, and every edge drawn between placed nodes.
const layoutCheck = `
const fs = require("fs"), vm = require("vm");
const ctx = {};
vm.createContext(ctx);
vm.runInContext(fs.readFileSync(process.argv[1], "utf8") + "\n;this.layoutGraph = layoutGraph; this.GRAPH = GRAPH;", ctx);
const { layoutGraph, GRAPH } = ctx;
let seed = 7;
const rnd = n => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
function fail(msg, g) { console.error(msg, JSON.stringify(g)); process.exit(1); }
for (let trial = 0; trial < 300; trial++) {
  const n = 1 + rnd(40);
  const nodes = [{ id: "n0", kind: "message", depth: 0 }], edges = [];
  for (let i = 1; i < n; i++) {
    const p = "n" + rnd(i);
    nodes.push({ id: "n" + i, kind: "push", depth: 0 });
    edges.push({ from: p, to: "n" + i, kind: "push" });
  }
  // A second edge into an existing node (an assignment of a message already drawn).
  if (n > 3) edges.push({ from: "n" + (n - 1), to: "n1", kind: "assign" });
  const g = { root: "n0", parent: trial % 2 ? { id: "up", kind: "message" } : null, nodes, edges };
  const L = layoutGraph(g);
  if (L.nodes.length !== n + (g.parent ? 1 : 0)) fail("nodes placed: " + L.nodes.length, g);
  const at = new Map(L.nodes.map(x => [x.isParent ? "parent" : x.id, x]));
  for (let i = 0; i < L.nodes.length; i++) for (let j = i + 1; j < L.nodes.length; j++) {
    const a = L.nodes[i], b = L.nodes[j];
    if (a.isParent || b.isParent) continue;
    if (Math.abs(a.x - b.x) < GRAPH.w && Math.abs(a.y - b.y) < GRAPH.h) fail("overlap " + a.id + " " + b.id, g);
  }
  const seen = new Set();
  for (const e of g.edges) {
    if (seen.has(e.to)) continue;
    seen.add(e.to);
    const p = at.get(e.from), c = at.get(e.to);
    if (c.row !== p.row + 1) fail("child " + e.to + " not one row below " + e.from, g);
  }
  for (const x of L.nodes) {
    if (!x.kids || !x.kids.length) continue;
    const mid = (x.kids[0].x + x.kids[x.kids.length - 1].x) / 2;
    if (Math.abs(x.x - mid) > 0.01) fail("parent not centred: " + x.id, g);
  }
  if (g.parent && !(at.get("parent").y < at.get("n0").y)) fail("caused-by parent not above the root", g);
  if (L.edges.length !== g.edges.length + (g.parent ? 1 : 0)) fail("edges drawn: " + L.edges.length, g);
  for (const x of L.nodes) if (x.x + GRAPH.w > L.width || x.y + GRAPH.h > L.height) fail("node outside the drawing", g);
}
console.log("ok");
`

func TestGraphLayout(t *testing.T) {
	node := testenv.Node(t)
	out, err := exec.Command(node, "-e", layoutCheck, filepath.Join("web", "graph.js")).CombinedOutput()
	if err != nil || string(out) != "ok\n" {
		t.Fatalf("layoutGraph: %v\n%s", err, out)
	}
}
