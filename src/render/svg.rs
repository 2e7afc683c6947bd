//! SVG drawings of the graphs — a deadlock's wait-for cycle, the live lock-wait
//! DAG — made in-process: no Graphviz, nothing fetched, no reference outside the
//! document but its own arrow markers. [`deadlock_svg`] and [`waits_svg`] give one
//! standalone `<svg>` element each (inline in HTML too); the renderer stacks a
//! view's drawings in one document. Where things go is [`super::svg_layout`].

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write;

use crate::analyze::deadlock::{describe_lock, describe_mode};
use crate::analyze::sql_text::shorten_sql;
use crate::analyze::views::DeadlocksView;
use crate::analyze::waits::SessionState;
use crate::analyze::{DeadlockReport, WaitAnalysis};

use super::svg_layout::{
    self, Curve, Drawn, Occupied, Point, Rect, WaitDrawing, WaitGraph, WaitNode,
};
use super::text::{printable, transaction_label_lines, wait_label};
use super::{Format, Renderer, TableStyle, View, ViewKind};

/// SVG: the graphs (waits, deadlocks, and the waits graph of `status`).
pub struct Svg;

impl Renderer for Svg {
    fn format(&self) -> Format {
        Format::Svg
    }

    fn prints(&self, view: ViewKind) -> bool {
        matches!(
            view,
            ViewKind::Waits | ViewKind::Deadlock | ViewKind::Status
        )
    }

    fn render(&self, view: &View, _style: &TableStyle) -> Option<String> {
        render(view)
    }
}

/// A whole document (XML declaration, one `<svg>`) for a view that is a graph;
/// `None` for the others.
pub fn render(view: &View) -> Option<String> {
    let panels = match view {
        View::Waits(v) => vec![waits_panel(v.analysis.as_ref())],
        View::Status(v) => vec![waits_panel(v.analysis.as_ref())],
        View::Deadlocks(v) => deadlocks_panels(v),
        _ => return None,
    };
    Some(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}\n",
        document(&panels)
    ))
}

/// One deadlock's graph: a standalone `<svg>` element, no XML declaration.
pub fn deadlock_svg(report: &DeadlockReport) -> String {
    document(&[deadlock_panel(report)])
}

/// One lock-waits graph: a standalone `<svg>` element, no XML declaration.
pub fn waits_svg(analysis: &WaitAnalysis) -> String {
    document(&[waits_panel(Some(analysis))])
}

/// A drawing's marker ids made its own with `scope`, for a page that holds several
/// drawings (an HTML document's ids are one namespace). Only markup is rewritten: the
/// patterns include a `"`, which drawn text always has escaped.
pub fn with_scoped_ids(svg: &str, scope: usize) -> String {
    let mut out = svg.to_string();
    for id in [ARROW, ARROW_RED] {
        out = out
            .replace(
                &format!("<marker id=\"{id}\""),
                &format!("<marker id=\"{id}-{scope}\""),
            )
            .replace(
                &format!("marker-end=\"url(#{id})\""),
                &format!("marker-end=\"url(#{id}-{scope})\""),
            );
    }
    out
}

/// Text as XML character data or attribute value: `&<>"'` as entities, control
/// characters (line breaks too: every text drawn is one line) and the code points
/// XML forbids replaced.
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in printable(text).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' | '\t' => out.push(' '),
            '\u{FFFE}' | '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

// Sizes (px). Text is cut by character count, so a box's width is fixed.
const FONT: f64 = 11.0;
const LABEL_FONT: f64 = 10.0;
const TITLE_FONT: f64 = 14.0;
const LINE: f64 = 14.0;
const LABEL_LINE: f64 = 12.0;
/// Wide enough for the widest average character at each size (sans-serif).
const CHAR_WIDTH: f64 = 0.62;
const MARGIN: f64 = 16.0;

const TRX_WIDTH: f64 = 270.0;
const TRX_CHARS: usize = 38;
/// What fits in a box of the waits drawing ([`svg_layout::SESSION_WIDTH`]).
const SESSION_CHARS: usize = 31;
/// What fits in an edge label of a deadlock drawing, and of a waits drawing (whose
/// labels stand between two columns of boxes).
const LABEL_CHARS: usize = 40;
const WAIT_LABEL_CHARS: usize = 36;

/// How a box looks.
#[derive(Clone, Copy)]
struct BoxStyle {
    fill: &'static str,
    stroke: &'static str,
    width: f64,
    dashed: bool,
}

const PLAIN: BoxStyle = BoxStyle {
    fill: "#f4f7fc",
    stroke: "#4a6fa5",
    width: 1.2,
    dashed: false,
};
/// A deadlock's victim, an idle-in-transaction or sessionless root blocker.
const ALARM: BoxStyle = BoxStyle {
    fill: "#fdecea",
    stroke: "#c62828",
    width: 3.0,
    dashed: false,
};
const ROOT: BoxStyle = BoxStyle {
    fill: "#fff4e0",
    stroke: "#e08a00",
    width: 2.0,
    dashed: false,
};
const CYCLE_NODE: BoxStyle = BoxStyle {
    fill: "#f4f7fc",
    stroke: "#c62828",
    width: 2.0,
    dashed: false,
};
/// Folded waiters, a holder the print does not name.
const VAGUE: BoxStyle = BoxStyle {
    fill: "#f2f2f2",
    stroke: "#888888",
    width: 1.2,
    dashed: true,
};

const INK: &str = "#222222";
const RED: &str = "#c62828";
const GREY: &str = "#555555";
const ARROW: &str = "lockdiag-arrow";
const ARROW_RED: &str = "lockdiag-arrow-cycle";

/// How an edge looks: the cycle's in red, an inferred or folded one dashed.
#[derive(Clone, Copy)]
struct EdgeStyle {
    in_cycle: bool,
    dashed: bool,
}

/// Coordinates with at most one decimal, `-0` as `0`: stable text for reviews.
fn num(value: f64) -> String {
    let rounded = (value * 10.0).round() / 10.0;
    if rounded == 0.0 {
        "0".into()
    } else if rounded.fract() == 0.0 {
        format!("{}", rounded as i64)
    } else {
        format!("{rounded:.1}")
    }
}

/// Words in lines of at most `width` characters, at most `max_lines` of them (the
/// last cut with `…` when the text is longer).
fn wrap(text: &str, width: usize, max_lines: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    for word in text.split_whitespace() {
        let needed = current.chars().count() + 1 + word.chars().count();
        if !current.is_empty() && needed > width {
            lines.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
    }
    if !current.is_empty() {
        lines.push(current);
    }
    if lines.len() > max_lines.max(1) {
        let rest = lines[max_lines.max(1) - 1..].join(" ");
        lines.truncate(max_lines.max(1) - 1);
        lines.push(rest);
    }
    lines.iter().map(|l| shorten_sql(l, width)).collect()
}

/// One drawing in its own coordinates, and the box it covers.
#[derive(Default)]
struct Panel {
    body: String,
    bounds: Option<Rect>,
}

impl Panel {
    fn cover(&mut self, area: Rect) {
        self.bounds = Some(self.bounds.map_or(area, |b| b.union(&area)));
    }

    fn rect(&mut self, area: &Rect, style: BoxStyle) {
        let dash = if style.dashed {
            " stroke-dasharray=\"5 3\""
        } else {
            ""
        };
        let _ = writeln!(
            self.body,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"6\" fill=\"{}\" stroke=\"{}\" stroke-width=\"{}\"{dash}/>",
            num(area.x),
            num(area.y),
            num(area.w),
            num(area.h),
            style.fill,
            style.stroke,
            num(style.width)
        );
        self.cover(*area);
    }

    /// One line of text from `(x, baseline)`; `extra` holds further attributes.
    fn text(&mut self, x: f64, baseline: f64, size: f64, text: &str, extra: &str) {
        let size_attr = if size == FONT {
            String::new()
        } else {
            format!(" font-size=\"{}\"", num(size))
        };
        let _ = writeln!(
            self.body,
            "<text x=\"{}\" y=\"{}\"{size_attr}{extra}>{}</text>",
            num(x),
            num(baseline),
            xml_escape(text)
        );
        let width = text.chars().count() as f64 * size * CHAR_WIDTH;
        self.cover(Rect {
            x,
            y: baseline - size,
            w: width,
            h: size * 1.3,
        });
    }

    /// Lines of text in a box, the first in bold, `red` ones in red.
    fn boxed(&mut self, area: &Rect, style: BoxStyle, lines: &[(String, bool)], tooltip: &str) {
        let _ = writeln!(self.body, "<g><title>{}</title>", xml_escape(tooltip));
        self.rect(area, style);
        for (i, (line, red)) in lines.iter().enumerate() {
            let mut extra = String::new();
            if i == 0 {
                extra.push_str(" font-weight=\"bold\"");
            }
            if *red {
                extra.push_str(&format!(" fill=\"{RED}\" font-weight=\"bold\""));
            }
            let baseline = area.y + 8.0 + FONT + i as f64 * LINE;
            self.text(area.x + 8.0, baseline, FONT, line, &extra);
        }
        self.body.push_str("</g>\n");
    }

    fn edge(&mut self, curve: &Curve, style: EdgeStyle) {
        let (colour, width, marker) = if style.in_cycle {
            (RED, 2.4, ARROW_RED)
        } else {
            (GREY, 1.4, ARROW)
        };
        let dash = if style.dashed {
            " stroke-dasharray=\"6 4\""
        } else {
            ""
        };
        let _ = writeln!(
            self.body,
            "<path d=\"M{},{} C{},{} {},{} {},{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"{}\"{dash} marker-end=\"url(#{marker})\"/>",
            num(curve.start.x),
            num(curve.start.y),
            num(curve.c1.x),
            num(curve.c1.y),
            num(curve.c2.x),
            num(curve.c2.y),
            num(curve.end.x),
            num(curve.end.y),
            num(width)
        );
        self.cover(curve.bounds());
    }

    /// An edge's label: its lines on a white ground, so crossing lines stay behind;
    /// the whole text as its tooltip.
    fn label(&mut self, area: &Rect, lines: &[String], in_cycle: bool, tooltip: &str) {
        let _ = writeln!(self.body, "<g><title>{}</title>", xml_escape(tooltip));
        let _ = writeln!(
            self.body,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#ffffff\" fill-opacity=\"0.9\"/>",
            num(area.x),
            num(area.y),
            num(area.w),
            num(area.h)
        );
        self.cover(*area);
        let colour = if in_cycle {
            format!(" fill=\"{RED}\"")
        } else {
            String::new()
        };
        for (i, line) in lines.iter().enumerate() {
            let baseline = area.y + 2.0 + LABEL_FONT + i as f64 * LABEL_LINE;
            self.text(area.x + 4.0, baseline, LABEL_FONT, line, &colour);
        }
        self.body.push_str("</g>\n");
    }

    /// The title line(s) above what is drawn so far.
    fn title(&mut self, lines: &[String]) -> String {
        let top = self.bounds.map_or(0.0, |b| b.y) - 12.0 - lines.len() as f64 * 18.0;
        let left = self.bounds.map_or(0.0, |b| b.x);
        let mut out = Panel::default();
        for (i, line) in lines.iter().enumerate() {
            let (size, weight) = if i == 0 {
                (TITLE_FONT, " font-weight=\"bold\"")
            } else {
                (FONT, "")
            };
            out.text(left, top + TITLE_FONT + i as f64 * 18.0, size, line, weight);
        }
        if let Some(b) = out.bounds {
            self.cover(b);
        }
        out.body
    }
}

/// The size a label of these lines takes.
fn label_size(lines: &[String]) -> (f64, f64) {
    let chars = lines.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    (
        chars as f64 * LABEL_FONT * CHAR_WIDTH + 8.0,
        lines.len() as f64 * LABEL_LINE + 5.0,
    )
}

/// The drawings stacked top to bottom in one `<svg>` element.
fn document(panels: &[Panel]) -> String {
    const BETWEEN: f64 = 32.0;
    let sizes: Vec<Rect> = panels
        .iter()
        .map(|p| {
            p.bounds.unwrap_or(Rect {
                x: 0.0,
                y: 0.0,
                w: 0.0,
                h: 0.0,
            })
        })
        .collect();
    let width = sizes.iter().map(|b| b.w).fold(0.0, f64::max) + 2.0 * MARGIN;
    let height = sizes.iter().map(|b| b.h).sum::<f64>()
        + BETWEEN * panels.len().saturating_sub(1) as f64
        + 2.0 * MARGIN;
    let (width, height) = (num(width.ceil()), num(height.ceil()));
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"{}\" fill=\"{INK}\">\n",
        num(FONT)
    );
    out.push_str("<defs>\n");
    for (id, colour) in [(ARROW, GREY), (ARROW_RED, RED)] {
        let _ = writeln!(
            out,
            "<marker id=\"{id}\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"{colour}\"/></marker>"
        );
    }
    out.push_str("</defs>\n");
    let _ = writeln!(
        out,
        "<rect x=\"0\" y=\"0\" width=\"{width}\" height=\"{height}\" fill=\"#ffffff\"/>"
    );
    let mut top = MARGIN;
    for (panel, bounds) in panels.iter().zip(&sizes) {
        let _ = writeln!(
            out,
            "<g transform=\"translate({},{})\">",
            num(MARGIN - bounds.x),
            num(top - bounds.y)
        );
        out.push_str(&panel.body);
        out.push_str("</g>\n");
        top += bounds.h + BETWEEN;
    }
    out.push_str("</svg>");
    out
}

/// A drawing that is one sentence (nothing to draw, or nothing known).
fn note_panel(title: &str, text: &str) -> Panel {
    let mut panel = Panel::default();
    let area = Rect {
        x: 0.0,
        y: 0.0,
        w: (text.chars().count() as f64 * FONT * CHAR_WIDTH + 24.0).max(180.0),
        h: LINE + 18.0,
    };
    panel.boxed(&area, VAGUE, &[(text.to_string(), false)], text);
    let title = panel.title(&[title.to_string()]);
    panel.body.insert_str(0, &title);
    panel
}

fn deadlocks_panels(view: &DeadlocksView) -> Vec<Panel> {
    let Some(reports) = &view.deadlocks else {
        return vec![note_panel(
            "Deadlocks",
            "deadlocks unknown: the InnoDB status could not be read",
        )];
    };
    if reports.is_empty() {
        return vec![note_panel("Deadlocks", "no deadlocks")];
    }
    let mut panels: Vec<Panel> = reports.iter().map(deadlock_panel).collect();
    if let Some(omitted) = view.deadlocks_omitted.filter(|n| *n > 0) {
        panels.push(note_panel(
            "Deadlocks",
            &format!("{omitted} older deadlock(s) not drawn (--last)"),
        ));
    }
    panels
}

/// A box of a deadlock drawing: a transaction, or a holder the print does not name.
struct TrxBox {
    lines: Vec<(String, bool)>,
    style: BoxStyle,
    tooltip: String,
}

fn trx_boxes(report: &DeadlockReport) -> (Vec<TrxBox>, HashMap<u32, usize>) {
    let mut boxes = Vec::new();
    let mut index = HashMap::new();
    for t in &report.deadlock.transactions {
        index.insert(t.number, boxes.len());
        let mut text = transaction_label_lines(t, TRX_CHARS);
        if t.rolled_back {
            // Its last line, `(rolled back)`, said louder.
            text.pop();
        }
        let mut lines: Vec<(String, bool)> = text
            .iter()
            .map(|l| (shorten_sql(l, TRX_CHARS), false))
            .collect();
        if t.rolled_back {
            lines.push(("✗ rolled back (the victim)".into(), true));
        }
        let mut tooltip = transaction_label_lines(t, 300).join(" · ");
        if let Some(trx) = &t.trx_id {
            tooltip.push_str(&format!(" · trx {trx}"));
        }
        boxes.push(TrxBox {
            lines,
            style: if t.rolled_back { ALARM } else { PLAIN },
            tooltip,
        });
    }
    (boxes, index)
}

/// A deadlock edge's label: who waits for which mode, then table, index and key.
fn deadlock_edge_lines(
    report: &DeadlockReport,
    edge: &crate::analyze::deadlock::DeadlockEdge,
) -> Vec<String> {
    let lock = report
        .deadlock
        .transactions
        .iter()
        .find(|t| t.number == edge.waiter)
        .and_then(|t| t.waits_for.as_ref());
    let mut lines = match lock {
        Some(lock) => {
            let mut lines = vec![shorten_sql(
                &format!("T{} waits for {}", edge.waiter, describe_mode(lock)),
                LABEL_CHARS,
            )];
            lines.extend(wrap(&describe_lock(lock), LABEL_CHARS, 2));
            lines
        }
        None => wrap(
            &format!("T{} waits for {}", edge.waiter, edge.waits_for),
            LABEL_CHARS,
            3,
        ),
    };
    if edge.inferred {
        lines.push("(holder deduced, not printed)".into());
    }
    lines
}

fn deadlock_panel(report: &DeadlockReport) -> Panel {
    let analysis = &report.analysis;
    let (mut boxes, index) = trx_boxes(report);
    // Edges as (waiter box, holder box); a holder the print does not name gets a box of its own.
    let mut edges: Vec<(usize, usize, &crate::analyze::deadlock::DeadlockEdge)> = Vec::new();
    for edge in &analysis.edges {
        let Some(&from) = index.get(&edge.waiter) else {
            continue;
        };
        let to = match edge.holder.and_then(|h| index.get(&h).copied()) {
            Some(to) => to,
            None => {
                boxes.push(TrxBox {
                    lines: vec![("holder not printed".into(), false)],
                    style: VAGUE,
                    tooltip: "the print does not say which transaction holds this lock".into(),
                });
                boxes.len() - 1
            }
        };
        edges.push((from, to, edge));
    }
    let lines = boxes.iter().map(|b| b.lines.len()).max().unwrap_or(1);
    let height = lines as f64 * LINE + 14.0;
    let rects = svg_layout::on_circle(boxes.len(), TRX_WIDTH, height, 150.0);
    let pairs: BTreeSet<(usize, usize)> = edges.iter().map(|(a, b, _)| (*a, *b)).collect();
    let cycle = &analysis.cycle;
    let in_cycle = |edge: &crate::analyze::deadlock::DeadlockEdge| {
        cycle
            .iter()
            .position(|n| *n == edge.waiter)
            .is_some_and(|i| Some(cycle[(i + 1) % cycle.len()]) == edge.holder && cycle.len() > 1)
    };
    let mut occupied = Occupied::default();
    rects.iter().for_each(|r| occupied.add(*r));
    let mut panel = Panel::default();
    let mut labels = Vec::new();
    for (from, to, edge) in &edges {
        let (a, b) = (&rects[*from], &rects[*to]);
        let (curve, side) = if from == to {
            (self_loop(a), Point::new(0.0, -1.0))
        } else {
            let both_ways = pairs.contains(&(*to, *from));
            let side =
                svg_layout::bend_side(a.centre(), b.centre(), Point::new(0.0, 0.0), both_ways);
            let chord = (b.centre().x - a.centre().x).hypot(b.centre().y - a.centre().y);
            (Curve::bowed(a, b, side, 40.0 + chord * 0.12), side)
        };
        let style = EdgeStyle {
            in_cycle: in_cycle(edge),
            dashed: edge.inferred,
        };
        panel.edge(&curve, style);
        let text = deadlock_edge_lines(report, edge);
        let (w, h) = label_size(&text);
        let beside = side.x.abs() * w / 2.0 + side.y.abs() * h / 2.0 + 6.0;
        let mut spots = curve.label_spots_beside(side, beside);
        spots.extend(curve.label_spots());
        spots.extend(curve.label_spots_beside(side, beside + h + 8.0));
        let mut tooltip = format!("T{} waits for {}", edge.waiter, edge.waits_for);
        if let (Some(holder), Some(held)) = (edge.holder, &edge.held_lock) {
            tooltip.push_str(&format!("; T{holder} holds {held}"));
        }
        labels.push((occupied.place(&spots, w, h), text, style.in_cycle, tooltip));
    }
    for (b, rect) in boxes.iter().zip(&rects) {
        panel.boxed(rect, b.style, &b.lines, &b.tooltip);
    }
    for (area, text, red, tooltip) in &labels {
        panel.label(area, text, *red, tooltip);
    }
    let d = &report.deadlock;
    let title = panel.title(&[
        format!(
            "Deadlock {} · {}{}",
            d.timestamp.as_deref().unwrap_or("(no timestamp)"),
            analysis.diagnosis.kind.as_str(),
            if d.truncated { " (truncated)" } else { "" }
        ),
        shorten_sql(&analysis.diagnosis.text, 110),
    ]);
    panel.body.insert_str(0, &title);
    panel
}

/// A transaction waiting for itself: a loop over its box.
fn self_loop(area: &Rect) -> Curve {
    let centre = area.centre();
    Curve {
        start: Point::new(centre.x - 30.0, area.y),
        c1: Point::new(centre.x - 70.0, area.y - 70.0),
        c2: Point::new(centre.x + 70.0, area.y - 70.0),
        end: Point::new(centre.x + 30.0, area.y),
    }
}

/// A session's box: its lines (the state line in red for an idle-in-transaction or
/// sessionless root blocker), look and tooltip.
fn session_box(node: &WaitNode) -> (Vec<(String, bool)>, BoxStyle, String) {
    let Some(b) = node.info else {
        let lines = vec![
            (format!("thread {}", node.key.0), false),
            (format!("waiting {}s", node.waits_secs.unwrap_or(0)), false),
            match node.in_cycle {
                true => ("in a wait cycle".to_string(), true),
                false => ("behind a wait cycle".to_string(), false),
            },
        ];
        let style = if node.in_cycle { CYCLE_NODE } else { PLAIN };
        return (lines, style, format!("thread {}", node.key.0));
    };
    let head = match b.state {
        SessionState::NoSession => {
            format!("no session · trx {}", b.trx_id.as_deref().unwrap_or("?"))
        }
        _ => format!(
            "thread {} · {}",
            b.thread_id,
            b.user.as_deref().unwrap_or("?")
        ),
    };
    let idle = b.idle_secs.unwrap_or(0);
    let state = match b.state {
        SessionState::IdleInTrx => format!("idle in trx {idle}s"),
        SessionState::Idle => format!("idle {idle}s, holds metadata locks"),
        SessionState::Running => "running".into(),
        SessionState::Waiting => "waiting".into(),
        SessionState::Unknown => "not in processlist".into(),
        SessionState::NoSession => "XA PREPARED or recovered".into(),
    };
    let alarm = node.root && matches!(b.state, SessionState::IdleInTrx | SessionState::NoSession);
    let style = match (node.root, alarm, node.in_cycle) {
        (true, true, _) => ALARM,
        (true, false, _) => ROOT,
        (false, _, true) => CYCLE_NODE,
        _ => PLAIN,
    };
    let state_line = match (node.root, node.waits_secs) {
        (true, _) => format!("ROOT BLOCKER · {state}"),
        (false, Some(w)) => match b.fails_in_secs {
            Some(f) => format!("waiting {w}s · fails in {f}s"),
            None => format!("waiting {w}s"),
        },
        (false, None) => state.clone(),
    };
    let sql = b
        .query
        .as_deref()
        .map_or("(no statement)".into(), |q| shorten_sql(q, SESSION_CHARS));
    let mut lines = vec![
        (shorten_sql(&head, SESSION_CHARS), false),
        (shorten_sql(&state_line, SESSION_CHARS), alarm),
        (sql, false),
    ];
    if b.blocked_sessions > 0 {
        let held = format!(
            "holds up {}, longest wait {}s",
            b.blocked_sessions, b.longest_wait_secs
        );
        lines.push((shorten_sql(&held, SESSION_CHARS), false));
    }
    let mut tooltip = format!(
        "thread {} {}@{} db {}: {state}",
        b.thread_id,
        b.user.as_deref().unwrap_or("?"),
        b.host.as_deref().unwrap_or("?"),
        b.db.as_deref().unwrap_or("-"),
    );
    if let Some(q) = &b.query {
        tooltip.push_str(&format!(" · {}", shorten_sql(q, 300)));
    }
    (lines, style, tooltip)
}

fn waits_panel(analysis: Option<&WaitAnalysis>) -> Panel {
    let Some(analysis) = analysis else {
        return note_panel("Lock waits", "lock waits could not be read");
    };
    if analysis.waits.is_empty() && analysis.root_blockers.is_empty() {
        return note_panel("Lock waits", "no lock waits");
    }
    let graph = WaitGraph::of(analysis);
    let drawing = svg_layout::wait_drawing(&graph);
    let mut panel = draw_waits(&graph, &drawing);
    if drawing.hidden > 0 {
        let bottom = panel.bounds.map_or(0.0, |b| b.bottom());
        let left = panel.bounds.map_or(0.0, |b| b.x);
        let text = format!(
            "{} session(s) not drawn (folded, or waiting behind a folded one): --format json lists every one",
            drawing.hidden
        );
        panel.text(left, bottom + 20.0, FONT, &text, "");
    }
    let mut title = format!(
        "Lock waits · {} session(s) waiting, {} root blocker(s)",
        analysis.waiting_sessions,
        analysis.root_blockers.len()
    );
    if !analysis.cycles.is_empty() {
        title.push_str(&format!(", {} wait cycle(s)", analysis.cycles.len()));
    }
    let title = panel.title(&[
        title,
        "an arrow points from a waiter to the session it waits for".into(),
    ]);
    panel.body.insert_str(0, &title);
    panel
}

/// A wait in full: who, how long, the lock.
fn wait_tooltip(wait: &crate::model::LockWait) -> String {
    let mut text = format!(
        "thread {} waits {}s for thread {}: {}",
        wait.waiting_thread_id,
        wait.wait_secs,
        wait.blocking_thread_id,
        wait_label(wait)
    );
    if let Some(index) = &wait.index {
        text.push_str(&format!(" index {index}"));
    }
    if let Some(data) = &wait.lock_data {
        text.push_str(&format!(" ({data})"));
    }
    text
}

/// The edges (under), the boxes, then the edge labels (over everything).
fn draw_waits(graph: &WaitGraph, drawing: &WaitDrawing) -> Panel {
    let mut occupied = Occupied::default();
    drawing.rects.iter().for_each(|r| occupied.add(*r));
    let mut panel = Panel::default();
    let mut labels = Vec::new();
    for (b, w, curve) in &drawing.curves {
        let (waits, in_cycle) = match (&drawing.boxes[*b], &drawing.boxes[*w]) {
            (Drawn::Session(blocker), Drawn::Session(waiter)) => (
                graph.edges.get(&(*waiter, *blocker)),
                graph.nodes[*waiter].in_cycle && graph.nodes[*blocker].in_cycle,
            ),
            _ => (None, false),
        };
        let dashed = waits.is_none();
        panel.edge(curve, EdgeStyle { in_cycle, dashed });
        if let Some(waits) = waits {
            let mut text: Vec<String> = Vec::new();
            for label in waits
                .iter()
                .map(|w| shorten_sql(&wait_label(w), WAIT_LABEL_CHARS))
            {
                if !text.contains(&label) && text.len() < 2 {
                    text.push(label);
                }
            }
            let (w, h) = label_size(&text);
            let spots = curve.label_spots_stacked(h);
            let tooltip = waits
                .iter()
                .map(|w| wait_tooltip(w))
                .collect::<Vec<_>>()
                .join("; ");
            labels.push((occupied.place(&spots, w, h), text, in_cycle, tooltip));
        }
    }
    for (drawn, rect) in drawing.boxes.iter().zip(&drawing.rects) {
        match drawn {
            Drawn::Session(i) => {
                let (lines, style, tooltip) = session_box(&graph.nodes[*i]);
                panel.boxed(rect, style, &lines, &tooltip);
            }
            Drawn::Folded {
                blocker,
                count,
                longest_secs,
            } => {
                let thread = graph.nodes[*blocker].key.0;
                let lines = [
                    format!("+{count} more waiting"),
                    format!("for thread {thread}"),
                    format!("longest wait {longest_secs}s"),
                ];
                let lines: Vec<(String, bool)> = lines.into_iter().map(|l| (l, false)).collect();
                let tooltip = format!(
                    "{count} more sessions wait for thread {thread}: --format json lists every one"
                );
                panel.boxed(rect, VAGUE, &lines, &tooltip);
            }
        }
    }
    for (area, text, red, tooltip) in &labels {
        panel.label(area, text, *red, tooltip);
    }
    panel
}
