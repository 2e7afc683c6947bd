//! Human output: the most important line first, then comfy-table tables.

mod check;
mod deadlock;
mod dupes;
mod fleet;
mod kill;
mod live;

pub use deadlock::{deadlock_groups, deadlocks};
pub use live::{locks, ps, server_line, source_notes, status, unknown_waits_line, waits_tree};

use comfy_table::{presets, Attribute, Cell, Color, ContentArrangement, Table};

use super::{Format, Renderer, TableStyle, View, ViewKind};

/// Tables for people: every view but a snapshot (a document for machines).
pub struct Tables;

impl Renderer for Tables {
    fn format(&self) -> Format {
        Format::Table
    }

    fn prints(&self, view: ViewKind) -> bool {
        !matches!(view, ViewKind::Snapshot | ViewKind::Report)
    }

    fn render(&self, view: &View, style: &TableStyle) -> Option<String> {
        render(view, style)
    }
}

/// The view for people. Every view has a table form except a snapshot (a
/// document for machines) and the incident report (a page). Names from the server can carry control characters:
/// the whole text is cleaned, keeping only lockdiag's own colour codes.
pub fn render(view: &View, style: &TableStyle) -> Option<String> {
    let text = text_of(view, style)?;
    Some(if style.color {
        super::text::printable_keeping_colour(&text)
    } else {
        super::text::printable(&text).into_owned()
    })
}

fn text_of(view: &View, style: &TableStyle) -> Option<String> {
    Some(match view {
        View::Status(v) => status(v, style),
        View::Ps(v) => ps(v, style),
        View::Locks(v) => locks(v, style),
        View::Waits(v) => format!(
            "{}{}{}",
            unknown_waits_line(&v.header.sources),
            source_notes(&v.header.sources),
            waits_tree(v.analysis.as_ref(), &v.header.sources, style, v.all)
        ),
        View::Deadlocks(v) => deadlock::view(v, style),
        View::KillPlan(v) => kill::plan(v),
        View::Kill(v) => kill::report(v),
        View::Check(v) => check::view(v),
        View::Dupes(v) => dupes::view(v, style),
        View::Fleet(v) => fleet::view(v, style),
        View::Snapshot(_) | View::Report(_) => return None,
    })
}

/// A table with the project's look: condensed UTF-8 borders, wrapped to the terminal.
pub fn new_table(style: &TableStyle, header: &[&str]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    if let Some(width) = style.width {
        table.set_width(width);
    }
    table.set_header(header.iter().map(|h| styled(style, h, None, true)));
    table
}

/// A cell, coloured and/or bold only when colour is on.
pub fn styled(style: &TableStyle, text: &str, color: Option<Color>, bold: bool) -> Cell {
    let mut cell = Cell::new(text);
    if style.color {
        if let Some(c) = color {
            cell = cell.fg(c);
        }
        if bold {
            cell = cell.add_attribute(Attribute::Bold);
        }
    }
    cell
}

/// A headline: bold red on a colour terminal, plain otherwise.
pub fn headline(style: &TableStyle, text: &str) -> String {
    if style.color {
        format!("\x1b[1;31m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

/// Max characters of SQL in a table cell, from the terminal width.
pub fn sql_width(style: &TableStyle, share: u16) -> usize {
    usize::from(style.width.unwrap_or(200).saturating_mul(share) / 100).max(24)
}
