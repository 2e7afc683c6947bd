//! Where the SVG drawings put things: a deadlock's boxes evenly on a circle; the
//! waits DAG (each session once, more than [`MAX_WAITERS_DRAWN`] waiters of one
//! session folded into one box) in layers, its edges routed; curved edges between
//! boxes, and edge labels at the first spot along their edge that overlaps
//! nothing already drawn. Geometry and structure only: no words, no SVG.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::analyze::waits::BlockerNode;
use crate::analyze::WaitAnalysis;
use crate::model::LockWait;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

impl Point {
    pub fn new(x: f64, y: f64) -> Self {
        Point { x, y }
    }

    fn plus(self, other: Point, times: f64) -> Point {
        Point::new(self.x + other.x * times, self.y + other.y * times)
    }

    fn minus(self, other: Point) -> Point {
        Point::new(self.x - other.x, self.y - other.y)
    }

    fn length(self) -> f64 {
        self.x.hypot(self.y)
    }

    /// This vector scaled to length 1 (zero stays zero).
    fn unit(self) -> Point {
        let length = self.length();
        if length < 1e-9 {
            Point::new(0.0, 0.0)
        } else {
            Point::new(self.x / length, self.y / length)
        }
    }
}

/// A box by its top-left corner and size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

impl Rect {
    pub fn centred(centre: Point, w: f64, h: f64) -> Rect {
        Rect {
            x: centre.x - w / 2.0,
            y: centre.y - h / 2.0,
            w,
            h,
        }
    }

    pub fn centre(&self) -> Point {
        Point::new(self.x + self.w / 2.0, self.y + self.h / 2.0)
    }

    pub fn right(&self) -> f64 {
        self.x + self.w
    }

    pub fn bottom(&self) -> f64 {
        self.y + self.h
    }

    /// Whether the two boxes share any area (touching edges do not count).
    pub fn overlaps(&self, other: &Rect) -> bool {
        self.x < other.right()
            && other.x < self.right()
            && self.y < other.bottom()
            && other.y < self.bottom()
    }

    /// The smallest box holding both.
    pub fn union(&self, other: &Rect) -> Rect {
        let (x, y) = (self.x.min(other.x), self.y.min(other.y));
        Rect {
            x,
            y,
            w: self.right().max(other.right()) - x,
            h: self.bottom().max(other.bottom()) - y,
        }
    }

    /// Where the ray from the centre towards `target` leaves the box.
    pub fn exit_towards(&self, target: Point) -> Point {
        let centre = self.centre();
        let d = target.minus(centre);
        let scale_x = if d.x.abs() > 1e-9 {
            self.w / 2.0 / d.x.abs()
        } else {
            f64::INFINITY
        };
        let scale_y = if d.y.abs() > 1e-9 {
            self.h / 2.0 / d.y.abs()
        } else {
            f64::INFINITY
        };
        let scale = scale_x.min(scale_y);
        if scale.is_finite() {
            centre.plus(d, scale)
        } else {
            centre
        }
    }
}

/// `n` boxes of `w`×`h` evenly on a circle around (0, 0): the first on top and on
/// clockwise, two side by side, one alone in the middle. The radius keeps
/// neighbours at least `gap` apart across the width of a box.
pub fn on_circle(n: usize, w: f64, h: f64, gap: f64) -> Vec<Rect> {
    if n <= 1 {
        return vec![Rect::centred(Point::new(0.0, 0.0), w, h); n];
    }
    let step = std::f64::consts::TAU / n as f64;
    let radius = (w + gap) / (2.0 * (step / 2.0).sin());
    // Two side by side (left, right) read better than one above the other.
    let first = if n == 2 {
        std::f64::consts::PI
    } else {
        -std::f64::consts::FRAC_PI_2
    };
    (0..n)
        .map(|i| {
            let angle = first + step * i as f64;
            Rect::centred(Point::new(radius * angle.cos(), radius * angle.sin()), w, h)
        })
        .collect()
}

/// Which side an edge between two boxes on a circle bends to: away from the
/// circle's centre, so that labels sit outside; to its own right when the
/// opposite edge is drawn too (or the edge passes through the centre), so that
/// the two of a pair part.
pub fn bend_side(from: Point, to: Point, centre: Point, both_ways: bool) -> Point {
    let direction = to.minus(from).unit();
    // Screen coordinates (y down): the traveller's right.
    let right = Point::new(-direction.y, direction.x);
    let mid = from.plus(to.minus(from), 0.5);
    let outward = mid.minus(centre);
    if both_ways || outward.length() < 1.0 {
        right
    } else {
        outward.unit()
    }
}

/// A cubic Bézier curve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Curve {
    pub start: Point,
    pub c1: Point,
    pub c2: Point,
    pub end: Point,
}

impl Curve {
    /// From box to box, bowed by `amount` towards `side` (a unit vector), each end
    /// where the line towards the bow leaves its box.
    pub fn bowed(from: &Rect, to: &Rect, side: Point, amount: f64) -> Curve {
        let (a, b) = (from.centre(), to.centre());
        let control = a.plus(b.minus(a), 0.5).plus(side, amount);
        let start = from.exit_towards(control);
        let end = to.exit_towards(control);
        // The quadratic through `control`, as a cubic.
        Curve {
            start,
            c1: start.plus(control.minus(start), 2.0 / 3.0),
            c2: end.plus(control.minus(end), 2.0 / 3.0),
            end,
        }
    }

    pub fn at(&self, t: f64) -> Point {
        let u = 1.0 - t;
        let (a, b, c, d) = (u * u * u, 3.0 * u * u * t, 3.0 * u * t * t, t * t * t);
        Point::new(
            a * self.start.x + b * self.c1.x + c * self.c2.x + d * self.end.x,
            a * self.start.y + b * self.c1.y + c * self.c2.y + d * self.end.y,
        )
    }

    /// A box holding the whole curve (its control points hold it).
    pub fn bounds(&self) -> Rect {
        let xs = [self.start.x, self.c1.x, self.c2.x, self.end.x];
        let ys = [self.start.y, self.c1.y, self.c2.y, self.end.y];
        let (x0, x1) = (
            xs.iter().copied().fold(f64::INFINITY, f64::min),
            xs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        );
        let (y0, y1) = (
            ys.iter().copied().fold(f64::INFINITY, f64::min),
            ys.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        );
        Rect {
            x: x0,
            y: y0,
            w: x1 - x0,
            h: y1 - y0,
        }
    }

    /// Spots for a label along the curve, the middle first, then ever further out.
    pub fn label_spots(&self) -> Vec<Point> {
        [0.5, 0.4, 0.6, 0.3, 0.7, 0.2, 0.8, 0.15, 0.85]
            .iter()
            .map(|t| self.at(*t))
            .collect()
    }

    /// The spots along the curve, then each of them moved up and down by a label's
    /// `height`, once and twice.
    pub fn label_spots_stacked(&self, height: f64) -> Vec<Point> {
        let along = self.label_spots();
        let mut spots = along.clone();
        for step in [1.0, -1.0, 2.0, -2.0] {
            spots.extend(
                along
                    .iter()
                    .map(|p| Point::new(p.x, p.y + step * (height + 2.0))),
            );
        }
        spots
    }

    /// The same spots, each also moved `offset` towards `side`.
    pub fn label_spots_beside(&self, side: Point, offset: f64) -> Vec<Point> {
        self.label_spots()
            .into_iter()
            .map(|p| p.plus(side, offset))
            .collect()
    }
}

/// Boxes already drawn; a label goes to the first spot where it overlaps none.
#[derive(Debug, Default)]
pub struct Occupied(Vec<Rect>);

impl Occupied {
    pub fn add(&mut self, taken: Rect) {
        self.0.push(taken);
    }

    /// A `w`×`h` box centred on the first of `spots` where it overlaps nothing
    /// taken (the first spot when every one does); the box is then taken.
    pub fn place(&mut self, spots: &[Point], w: f64, h: f64) -> Rect {
        let fits = |r: &Rect| !self.0.iter().any(|t| t.overlaps(r));
        let chosen = spots
            .iter()
            .map(|p| Rect::centred(*p, w, h))
            .find(fits)
            .or_else(|| spots.first().map(|p| Rect::centred(*p, w, h)))
            .unwrap_or(Rect::centred(Point::new(0.0, 0.0), w, h));
        self.0.push(chosen);
        chosen
    }
}

/// A layered drawing of a directed graph: `layer` is each node's depth (the
/// longest path to it from a start, so every edge but the `back_edges` goes one
/// or more layers on), `rows` the nodes of each layer in order, `across` each
/// node's centre along its layer.
#[derive(Debug, Clone, PartialEq)]
pub struct Layers {
    pub layer: Vec<usize>,
    pub rows: Vec<Vec<usize>>,
    pub across: Vec<f64>,
    /// Edges (parent, child) that close a cycle: drawn against the flow.
    pub back_edges: BTreeSet<(usize, usize)>,
}

/// Lays out `children` (each node's successors, in the order to draw them) from
/// `starts` (the roots; nodes no start reaches begin a search of their own).
/// Nodes of a layer are ordered by the mean position of their parents (then by
/// their rank among the first parent's children), which keeps crossings few;
/// each sits beside its parents where its neighbours leave room, `slot` apart.
pub fn layered(children: &[Vec<usize>], starts: &[usize], slot: f64) -> Layers {
    let n = children.len();
    let (order, discovered, back_edges) = depth_first(children, starts);
    let mut parents: Vec<Vec<(usize, usize)>> = vec![Vec::new(); n];
    let mut layer = vec![0usize; n];
    // Reverse post-order is a topological order of the graph without its back edges.
    for &node in order.iter().rev() {
        for (rank, &child) in children[node].iter().enumerate() {
            if !back_edges.contains(&(node, child)) {
                layer[child] = layer[child].max(layer[node] + 1);
                parents[child].push((node, rank));
            }
        }
    }
    let depth = layer.iter().max().map_or(0, |d| d + 1);
    let mut rows: Vec<Vec<usize>> = vec![Vec::new(); depth];
    for &node in order.iter().rev() {
        rows[layer[node]].push(node);
    }
    let mut across = vec![0.0; n];
    for row in rows.iter_mut() {
        order_row(row, &parents, &discovered, &across);
        let wanted: Vec<f64> = (row.iter().enumerate())
            .map(|(rank, &node)| mean(&parents[node], &across).unwrap_or(rank as f64 * slot))
            .collect();
        place_row(row, &wanted, &mut across, slot);
    }
    // Back up, each parent moved towards the middle of its children where there is room.
    let mut below: Vec<Vec<(usize, usize)>> = vec![Vec::new(); n];
    for (child, list) in parents.iter().enumerate() {
        for &(parent, rank) in list {
            below[parent].push((child, rank));
        }
    }
    for row in rows.iter().rev().skip(1) {
        let wanted: Vec<f64> = (row.iter())
            .map(|&node| mean(&below[node], &across).unwrap_or(across[node]))
            .collect();
        place_row(row, &wanted, &mut across, slot);
    }
    let first = across.iter().copied().fold(f64::INFINITY, f64::min);
    if first.is_finite() {
        across.iter_mut().for_each(|v| *v -= first);
    }
    Layers {
        layer,
        rows,
        across,
        back_edges,
    }
}

/// The mean position of `nodes` (parents or children, with their ranks); `None` for none.
fn mean(nodes: &[(usize, usize)], across: &[f64]) -> Option<f64> {
    (!nodes.is_empty())
        .then(|| nodes.iter().map(|(p, _)| across[*p]).sum::<f64>() / nodes.len() as f64)
}

/// Orders one layer by its parents' positions, then by rank among the first parent's
/// children (the first layer, which has no parents, in the order the search found it:
/// the starts' order).
fn order_row(
    row: &mut [usize],
    parents: &[Vec<(usize, usize)>],
    discovered: &[usize],
    across: &[f64],
) {
    row.sort_by(|a, b| {
        let key = |node: usize| {
            let first = parents[node].first().map(|(p, rank)| (across[*p], *rank));
            (mean(&parents[node], across), first)
        };
        let ((wa, fa), (wb, fb)) = (key(*a), key(*b));
        let by_mean = match (wa, wb) {
            (Some(a), Some(b)) => a.total_cmp(&b),
            _ => std::cmp::Ordering::Equal,
        };
        let by_first = match (fa, fb) {
            (Some((pa, ra)), Some((pb, rb))) => pa.total_cmp(&pb).then(ra.cmp(&rb)),
            _ => std::cmp::Ordering::Equal,
        };
        by_mean
            .then(by_first)
            .then(discovered[*a].cmp(&discovered[*b]))
    });
}

/// Places a layer in its order, each node as near where it is `wanted` as it can
/// be with `slot` between neighbours: the least squares placement, found by pooling
/// adjacent violators (with `y = position - rank * slot` the constraint is only that
/// `y` never decreases: an isotonic regression). Linear in the row.
fn place_row(row: &[usize], wanted: &[f64], across: &mut [f64], slot: f64) {
    // Blocks of neighbours pushed together: (sum of targets, count).
    let mut blocks: Vec<(f64, usize)> = Vec::with_capacity(row.len());
    for (rank, want) in wanted.iter().enumerate() {
        blocks.push((want - rank as f64 * slot, 1));
        while let [.., (s1, n1), (s2, n2)] = blocks[..] {
            if s1 / n1 as f64 <= s2 / n2 as f64 {
                break;
            }
            blocks.truncate(blocks.len() - 2);
            blocks.push((s1 + s2, n1 + n2));
        }
    }
    let mut rank = 0;
    for (sum, count) in blocks {
        for _ in 0..count {
            across[row[rank]] = sum / count as f64 + rank as f64 * slot;
            rank += 1;
        }
    }
}

/// An iterative depth-first search from `starts` (then from every node not
/// reached): its post-order, each node's rank in the order found, and the edges
/// that led back to a node still on the path.
fn depth_first(
    children: &[Vec<usize>],
    starts: &[usize],
) -> (Vec<usize>, Vec<usize>, BTreeSet<(usize, usize)>) {
    #[derive(Clone, Copy, PartialEq)]
    enum Seen {
        No,
        OnPath,
        Done,
    }
    let n = children.len();
    let mut seen = vec![Seen::No; n];
    let mut order = Vec::with_capacity(n);
    let mut discovered = vec![0; n];
    let mut found = 0;
    let mut back = BTreeSet::new();
    for start in starts.iter().copied().chain(0..n) {
        if start >= n || seen[start] != Seen::No {
            continue;
        }
        let mut path: Vec<(usize, usize)> = vec![(start, 0)];
        seen[start] = Seen::OnPath;
        discovered[start] = found;
        found += 1;
        while let Some(&mut (node, ref mut next)) = path.last_mut() {
            if let Some(&child) = children[node].get(*next) {
                *next += 1;
                match seen[child] {
                    Seen::No => {
                        seen[child] = Seen::OnPath;
                        discovered[child] = found;
                        found += 1;
                        path.push((child, 0));
                    }
                    Seen::OnPath => {
                        back.insert((node, child));
                    }
                    Seen::Done => {}
                }
                continue;
            }
            seen[node] = Seen::Done;
            order.push(node);
            path.pop();
        }
    }
    (order, discovered, back)
}

// The waits drawing.

/// Box sizes of the waits drawing: text is cut to fit, so every box has the same.
pub const SESSION_WIDTH: f64 = 220.0;
pub const SESSION_HEIGHT: f64 = 68.0;
/// Room between layers (columns) for the edges and their labels: a label's width.
const LAYER_GAP: f64 = 250.0;
/// From one box's centre to the next one's in a column.
const SLOT: f64 = SESSION_HEIGHT + 26.0;
/// Waiters drawn below one session; the rest are folded into one "+N more" box.
pub const MAX_WAITERS_DRAWN: usize = 20;

/// A session in the waits graph: the thread, or the transaction of a blocker without one.
pub type SessionKey = (u64, Option<String>);

/// One session of the waits graph, drawn once however many it waits for.
pub struct WaitNode<'a> {
    pub key: SessionKey,
    /// As described in the tree; `None` for a session only the edge list names (a cycle's).
    pub info: Option<&'a BlockerNode>,
    pub root: bool,
    pub in_cycle: bool,
    /// Its longest wait, when it waits.
    pub waits_secs: Option<u64>,
}

/// The waits DAG: sessions once each, edges (waiter, blocker) with the waits they stand
/// for (a row and a metadata wait between the same two are one edge).
pub struct WaitGraph<'a> {
    pub nodes: Vec<WaitNode<'a>>,
    index: HashMap<SessionKey, usize>,
    pub edges: BTreeMap<(usize, usize), Vec<&'a LockWait>>,
    pub roots: Vec<usize>,
}

impl<'a> WaitGraph<'a> {
    pub fn of(analysis: &'a WaitAnalysis) -> Self {
        let mut graph = WaitGraph {
            nodes: Vec::new(),
            index: HashMap::new(),
            edges: BTreeMap::new(),
            roots: Vec::new(),
        };
        let key = |n: &BlockerNode| {
            (
                n.thread_id,
                (n.thread_id == 0).then(|| n.trx_id.clone()).flatten(),
            )
        };
        let mut stack: Vec<&BlockerNode> = Vec::new();
        for root in &analysis.root_blockers {
            let i = graph.node(key(root));
            graph.nodes[i].root = true;
            graph.roots.push(i);
            stack.push(root);
        }
        // Roots first, then each tree in order (each session is expanded under one parent).
        stack.reverse();
        while let Some(node) = stack.pop() {
            let i = graph.node(key(node));
            if graph.nodes[i].info.is_none() || !node.expanded_elsewhere {
                graph.nodes[i].info = Some(node);
            }
            stack.extend(node.waiters.iter().rev());
        }
        let cycle_members: BTreeSet<u64> = analysis.cycles.iter().flatten().copied().collect();
        for w in &analysis.waits {
            let waiter = graph.node((w.waiting_thread_id, None));
            let blocker_trx = (w.blocking_thread_id == 0)
                .then(|| w.blocking_trx_id.clone())
                .flatten();
            let blocker = graph.node((w.blocking_thread_id, blocker_trx));
            graph.edges.entry((waiter, blocker)).or_default().push(w);
            let secs = &mut graph.nodes[waiter].waits_secs;
            *secs = Some(secs.unwrap_or(0).max(w.wait_secs));
        }
        for node in graph.nodes.iter_mut() {
            node.in_cycle = node.key.1.is_none() && cycle_members.contains(&node.key.0);
        }
        graph
    }

    fn node(&mut self, key: SessionKey) -> usize {
        if let Some(&i) = self.index.get(&key) {
            return i;
        }
        self.nodes.push(WaitNode {
            key: key.clone(),
            info: None,
            root: false,
            in_cycle: false,
            waits_secs: None,
        });
        self.index.insert(key, self.nodes.len() - 1);
        self.nodes.len() - 1
    }

    /// Each session's waiters, the most important first: those holding up most, then
    /// the longest waiting.
    fn waiters(&self) -> Vec<Vec<usize>> {
        let mut waiters = vec![Vec::new(); self.nodes.len()];
        for &(waiter, blocker) in self.edges.keys() {
            waiters[blocker].push(waiter);
        }
        let weight = |i: usize| {
            let n = &self.nodes[i];
            (
                std::cmp::Reverse(n.info.map_or(0, |b| b.blocked_sessions)),
                std::cmp::Reverse(n.waits_secs.unwrap_or(0)),
                n.key.0,
            )
        };
        for list in waiters.iter_mut() {
            list.sort_by_key(|&i| weight(i));
        }
        waiters
    }
}

/// What a box of the waits drawing stands for.
pub enum Drawn {
    /// A node of the [`WaitGraph`].
    Session(usize),
    /// Waiters of a session beyond [`MAX_WAITERS_DRAWN`].
    Folded {
        blocker: usize,
        count: usize,
        longest_secs: u64,
    },
}

/// The part of the waits graph that is drawn, and where: boxes, their children
/// (waiters) in layout order, the starts of the layout, how many sessions no box
/// shows; then each box's place and a curve per (blocker box, waiter box) edge.
pub struct WaitDrawing {
    pub boxes: Vec<Drawn>,
    children: Vec<Vec<usize>>,
    starts: Vec<usize>,
    /// Graph node → its box.
    box_of: HashMap<usize, usize>,
    pub hidden: usize,
    pub rects: Vec<Rect>,
    pub curves: Vec<(usize, usize, Curve)>,
}

/// The drawing of a waits graph: folded, layered (the root blockers in the first
/// column, each column one step further from them; a column grows down, so a
/// pile-up makes the drawing long, not wide), its edges routed.
pub fn wait_drawing(graph: &WaitGraph) -> WaitDrawing {
    let mut drawing = fold(graph);
    let layers = layered(&drawing.children, &drawing.starts, SLOT);
    drawing.rects = (0..drawing.boxes.len())
        .map(|b| Rect {
            x: layers.layer[b] as f64 * (SESSION_WIDTH + LAYER_GAP),
            y: layers.across[b] - SESSION_HEIGHT / 2.0,
            w: SESSION_WIDTH,
            h: SESSION_HEIGHT,
        })
        .collect();
    drawing.curves = wait_curves(&drawing, &layers);
    drawing
}

/// Which sessions get a box: every waiter of a box, up to [`MAX_WAITERS_DRAWN`] of
/// them, the rest in one folded box.
fn fold(graph: &WaitGraph) -> WaitDrawing {
    let waiters = graph.waiters();
    let n = graph.nodes.len();
    // Starts: the roots, then a session of each part no root reaches (a cycle of its own).
    let mut starts = graph.roots.clone();
    let mut reached = vec![false; n];
    let reach = |from: usize, reached: &mut Vec<bool>| {
        let mut stack = vec![from];
        while let Some(i) = stack.pop() {
            if !std::mem::replace(&mut reached[i], true) {
                stack.extend(waiters[i].iter().copied());
            }
        }
    };
    for &root in &graph.roots {
        reach(root, &mut reached);
    }
    for i in 0..n {
        if !reached[i] {
            starts.push(i);
            reach(i, &mut reached);
        }
    }
    // Visible: reached from a start through the first MAX_WAITERS_DRAWN waiters of each.
    let mut visible = vec![false; n];
    let mut stack = starts.clone();
    while let Some(i) = stack.pop() {
        if !std::mem::replace(&mut visible[i], true) {
            stack.extend(waiters[i].iter().take(MAX_WAITERS_DRAWN).copied());
        }
    }
    let mut drawing = WaitDrawing {
        boxes: Vec::new(),
        children: Vec::new(),
        starts: Vec::new(),
        box_of: HashMap::new(),
        hidden: visible.iter().filter(|v| !**v).count(),
        rects: Vec::new(),
        curves: Vec::new(),
    };
    for i in (0..n).filter(|i| visible[*i]) {
        drawing.box_of.insert(i, drawing.boxes.len());
        drawing.boxes.push(Drawn::Session(i));
        drawing.children.push(Vec::new());
    }
    for i in (0..n).filter(|i| visible[*i]) {
        let b = drawing.box_of[&i];
        let shown = waiters[i].iter().take(MAX_WAITERS_DRAWN);
        drawing.children[b] = shown.map(|w| drawing.box_of[w]).collect();
        let folded = &waiters[i][waiters[i].len().min(MAX_WAITERS_DRAWN)..];
        if !folded.is_empty() {
            let longest_secs = folded
                .iter()
                .filter_map(|w| graph.nodes[*w].waits_secs)
                .max()
                .unwrap_or(0);
            drawing.children[b].push(drawing.boxes.len());
            drawing.boxes.push(Drawn::Folded {
                blocker: i,
                count: folded.len(),
                longest_secs,
            });
            drawing.children.push(Vec::new());
        }
    }
    drawing.starts = starts.iter().map(|s| drawing.box_of[s]).collect();
    drawing
}

/// Where along a box's side (from its top) the `k`-th of `m` edges meets it.
fn spread(area: &Rect, k: usize, m: usize) -> f64 {
    area.y + area.h * (k + 1) as f64 / (m + 1) as f64
}

/// The curves of the waits drawing, one per (blocker box, waiter box) drawn: between
/// the sides the two boxes turn to each other (every edge joins two layers: a cycle's
/// edge against the flow too), ends spread along each side in the order of the other
/// ends, so that arrows into one box do not meet in one point.
fn wait_curves(drawing: &WaitDrawing, layers: &Layers) -> Vec<(usize, usize, Curve)> {
    let rects = &drawing.rects;
    let mut pairs: Vec<(usize, usize)> = Vec::new();
    for (blocker, waiters) in drawing.children.iter().enumerate() {
        pairs.extend(waiters.iter().map(|w| (blocker, *w)));
    }
    // Per box, the edges on its right side and on its left side: (other box, pair).
    let mut right: Vec<Vec<(usize, usize)>> = vec![Vec::new(); rects.len()];
    let mut left: Vec<Vec<(usize, usize)>> = vec![Vec::new(); rects.len()];
    for (k, &(b, w)) in pairs.iter().enumerate() {
        let (first, second) = if layers.layer[b] < layers.layer[w] {
            (b, w)
        } else {
            (w, b)
        };
        right[first].push((second, k));
        left[second].push((first, k));
    }
    // Each pair's attachment heights: (on the first box, on the second).
    let mut heights = vec![(0.0, 0.0); pairs.len()];
    for (i, side) in right.iter_mut().enumerate() {
        side.sort_by(|p, q| rects[p.0].y.total_cmp(&rects[q.0].y));
        for (rank, (_, k)) in side.iter().enumerate() {
            heights[*k].0 = spread(&rects[i], rank, side.len());
        }
    }
    for (i, side) in left.iter_mut().enumerate() {
        side.sort_by(|p, q| rects[p.0].y.total_cmp(&rects[q.0].y));
        for (rank, (_, k)) in side.iter().enumerate() {
            heights[*k].1 = spread(&rects[i], rank, side.len());
        }
    }
    pairs
        .iter()
        .zip(heights)
        .map(|(&(b, w), (first_y, second_y))| {
            let waiter_first = layers.layer[w] < layers.layer[b];
            let (first, second) = if waiter_first { (w, b) } else { (b, w) };
            let a = Point::new(rects[first].right(), first_y);
            let z = Point::new(rects[second].x, second_y);
            let pull = (z.x - a.x) * 0.45;
            let (a1, z1) = (Point::new(a.x + pull, a.y), Point::new(z.x - pull, z.y));
            // From the waiter to the blocker, the arrow at the blocker.
            let curve = if waiter_first {
                Curve {
                    start: a,
                    c1: a1,
                    c2: z1,
                    end: z,
                }
            } else {
                Curve {
                    start: z,
                    c1: z1,
                    c2: a1,
                    end: a,
                }
            };
            (b, w, curve)
        })
        .collect()
}
