//! Views → text. One module per format, each taking the typed views that
//! `analyze` (and `act`, for kills) build; rendering never queries and never
//! analyses. Which view prints in which format is said once, here.

pub mod chart;
pub mod dot;
pub mod html;
pub mod json;
pub mod junit;
pub mod mermaid;
pub mod prometheus;
pub mod schema;
pub mod svg;
mod svg_layout;
pub mod table;
pub mod text;

#[cfg(test)]
mod tests;

use std::io::IsTerminal;

use crate::analyze::duplicates::DupesReport;
use crate::analyze::fleet::FleetView;
use crate::analyze::incident::IncidentView;
use crate::analyze::kill::{KillPlan, KillReport};
use crate::analyze::views::{
    CheckView, DeadlocksView, LocksView, PsView, SnapshotView, StatusView, WaitsView,
};

/// Output formats. Not every view supports every format ([`ViewKind::formats`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Dot,
    Mermaid,
    /// Prometheus text format (`snapshot` only), for node_exporter's textfile collector.
    Prometheus,
    /// A drawing of the graphs (waits, deadlocks, status's waits), made in-process.
    Svg,
    /// A self-contained HTML page (`report` only).
    Html,
}

impl Format {
    pub const NAMES: [&'static str; 7] = [
        "table",
        "json",
        "dot",
        "mermaid",
        "prometheus",
        "svg",
        "html",
    ];

    pub fn name(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Json => "json",
            Format::Dot => "dot",
            Format::Mermaid => "mermaid",
            Format::Prometheus => "prometheus",
            Format::Svg => "svg",
            Format::Html => "html",
        }
    }
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        Ok(match text.to_ascii_lowercase().as_str() {
            "table" => Format::Table,
            "json" => Format::Json,
            "dot" => Format::Dot,
            "mermaid" => Format::Mermaid,
            "prometheus" => Format::Prometheus,
            "svg" => Format::Svg,
            "html" => Format::Html,
            _ => {
                return Err(format!(
                    "unknown format {text:?}: one of {}",
                    Format::NAMES.join(", ")
                ))
            }
        })
    }
}

/// Every document lockdiag prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewKind {
    Status,
    Ps,
    Locks,
    Waits,
    Deadlock,
    Snapshot,
    Kill,
    Check,
    Dupes,
    Report,
    /// Many servers at once (`status --hosts`).
    Fleet,
}

impl ViewKind {
    /// The command's name, also the JSON document's `kind`.
    pub fn name(self) -> &'static str {
        match self {
            ViewKind::Status => "status",
            ViewKind::Ps => "ps",
            ViewKind::Locks => "locks",
            ViewKind::Waits => "waits",
            ViewKind::Deadlock => "deadlock",
            ViewKind::Snapshot => "snapshot",
            ViewKind::Kill => "kill",
            ViewKind::Check => "check",
            ViewKind::Dupes => "dupes",
            ViewKind::Report => "report",
            ViewKind::Fleet => "fleet",
        }
    }

    /// The formats this view prints in, as the renderers say, the default first
    /// (in the order of [`RENDERERS`]: a table for people where there is one).
    pub fn formats(self) -> Vec<Format> {
        RENDERERS
            .iter()
            .filter(|r| r.prints(self))
            .map(|r| r.format())
            .collect()
    }

    /// The format asked for, or this view's default; an unsupported pair is an error.
    pub fn format(self, asked: Option<Format>) -> Result<Format, Unsupported> {
        let formats = self.formats();
        match asked {
            None => Ok(formats[0]),
            Some(format) if formats.contains(&format) => Ok(format),
            Some(format) => Err(Unsupported { view: self, format }),
        }
    }
}

/// A view asked for in a format it does not print in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("`{}` prints {}, not --format {}", .view.name(), format_list(&.view.formats()), .format.name())]
pub struct Unsupported {
    pub view: ViewKind,
    pub format: Format,
}

fn format_list(formats: &[Format]) -> String {
    let names: Vec<&str> = formats.iter().map(|f| f.name()).collect();
    names.join(", ")
}

/// One printable document.
#[derive(Debug, Clone)]
pub enum View {
    Status(StatusView),
    Ps(PsView),
    Locks(LocksView),
    Waits(WaitsView),
    Deadlocks(DeadlocksView),
    /// Boxed: a whole collection, far larger than the other views.
    Snapshot(Box<SnapshotView>),
    /// What `kill` is about to do (printed before the confirmation).
    KillPlan(KillPlan),
    /// What `kill` did.
    Kill(KillReport),
    Check(CheckView),
    Dupes(DupesReport),
    /// An incident over time (`report`). Boxed: it holds a whole recording's figures.
    Report(Box<IncidentView>),
    /// One line per server (`status --hosts`).
    Fleet(FleetView),
}

impl View {
    pub fn kind(&self) -> ViewKind {
        match self {
            View::Status(_) => ViewKind::Status,
            View::Ps(_) => ViewKind::Ps,
            View::Locks(_) => ViewKind::Locks,
            View::Waits(_) => ViewKind::Waits,
            View::Deadlocks(_) => ViewKind::Deadlock,
            View::Snapshot(_) => ViewKind::Snapshot,
            View::KillPlan(_) | View::Kill(_) => ViewKind::Kill,
            View::Check(_) => ViewKind::Check,
            View::Dupes(_) => ViewKind::Dupes,
            View::Report(_) => ViewKind::Report,
            View::Fleet(_) => ViewKind::Fleet,
        }
    }
}

/// One output format: which views it prints, and how. A format is one file with
/// one of these and one line in [`RENDERERS`]; which command accepts which
/// `--format` follows from them.
pub trait Renderer: Sync {
    fn format(&self) -> Format;
    /// Whether this format prints views of `view`'s kind.
    fn prints(&self, view: ViewKind) -> bool;
    /// The text; `None` only where [`Renderer::prints`] says no.
    fn render(&self, view: &View, style: &TableStyle) -> Option<String>;
}

/// Every format, the preferred first.
pub static RENDERERS: [&dyn Renderer; 7] = [
    &table::Tables,
    &json::Json,
    &dot::Dot,
    &mermaid::Mermaid,
    &prometheus::Prometheus,
    &svg::Svg,
    &html::Html,
];

/// Renders a view in a format, or says the pair is unsupported.
pub fn render(view: &View, format: Format, style: &TableStyle) -> Result<String, Unsupported> {
    let unsupported = Unsupported {
        view: view.kind(),
        format,
    };
    RENDERERS
        .iter()
        .find(|r| r.format() == format && r.prints(view.kind()))
        .and_then(|r| r.render(view, style))
        .ok_or(unsupported)
}

/// How table output looks.
#[derive(Debug, Clone, Copy)]
pub struct TableStyle {
    pub color: bool,
    /// Terminal width in columns; `None` when not a terminal (no wrapping).
    pub width: Option<u16>,
}

impl TableStyle {
    /// Colour only on a terminal, never with `NO_COLOR` set or `TERM=dumb`.
    pub fn detect(no_color_flag: bool) -> Self {
        let tty = std::io::stdout().is_terminal();
        let width = if tty { terminal_width() } else { None };
        TableStyle {
            color: colour_wanted(
                tty,
                no_color_flag,
                std::env::var_os("NO_COLOR").as_deref(),
                std::env::var_os("TERM").as_deref(),
            ),
            width,
        }
    }

    /// No colour, no wrapping: what a pipe gets.
    pub fn plain() -> Self {
        TableStyle {
            color: false,
            width: None,
        }
    }
}

/// The colour decision: a terminal that can show it (`TERM=dumb` is one that
/// cannot: Emacs shells, some CI consoles), not turned off by `--no-color` or
/// by a non-empty `NO_COLOR` (no-color.org).
fn colour_wanted(
    tty: bool,
    no_color_flag: bool,
    no_color_env: Option<&std::ffi::OsStr>,
    term: Option<&std::ffi::OsStr>,
) -> bool {
    let no_color = no_color_flag || no_color_env.is_some_and(|v| !v.is_empty());
    let dumb = term.is_some_and(|t| t == "dumb");
    tty && !no_color && !dumb
}

fn terminal_width() -> Option<u16> {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .or_else(|| comfy_table::Table::new().width())
}

#[cfg(test)]
mod colour_tests {
    use super::colour_wanted;
    use std::ffi::OsStr;

    #[test]
    fn colour_only_on_a_capable_terminal_not_turned_off() {
        let xterm = Some(OsStr::new("xterm-256color"));
        assert!(colour_wanted(true, false, None, xterm));
        assert!(colour_wanted(true, false, Some(OsStr::new("")), xterm));
        assert!(!colour_wanted(false, false, None, xterm), "a pipe");
        assert!(!colour_wanted(true, true, None, xterm), "--no-color");
        assert!(!colour_wanted(true, false, Some(OsStr::new("1")), xterm));
        assert!(!colour_wanted(true, false, None, Some(OsStr::new("dumb"))));
    }
}
