//! `status --hosts` for people: one row per server, worst first; a server that
//! could not be read says why in its row; `?` is a figure that could not be read.

use comfy_table::Color;

use crate::analyze::fleet::{FleetFigures, FleetView};
use crate::render::TableStyle;

use super::{new_table, styled};

const HEADER: [&str; 7] = [
    "target",
    "waiting row/mdl",
    "root blockers",
    "longest wait",
    "oldest trx",
    "last deadlock",
    "problem",
];

pub fn view(view: &FleetView, style: &TableStyle) -> String {
    let mut table = new_table(style, &HEADER);
    for server in &view.servers {
        let row = match server.outcome() {
            Err(error) => {
                let mut cells = vec![styled(style, &server.target, Some(Color::Red), true)];
                cells.extend((0..5).map(|_| styled(style, "-", None, false)));
                cells.push(styled(style, error, Some(Color::Red), false));
                cells
            }
            Ok(f) => figures_row(&server.target, f, style),
        };
        table.add_row(row);
    }
    let unread = view.servers.iter().filter(|s| s.outcome().is_err()).count();
    let mut text = format!("{table}\n");
    if unread > 0 {
        text.push_str(&format!(
            "{unread} of {} server(s) could not be read\n",
            view.servers.len()
        ));
    }
    text
}

fn figures_row(target: &str, f: &FleetFigures, style: &TableStyle) -> Vec<comfy_table::Cell> {
    let count = |n: Option<u64>| n.map_or("?".to_string(), |n| n.to_string());
    let waiting = format!(
        "{}/{}",
        count(f.waiting_sessions.row),
        count(f.waiting_sessions.metadata)
    );
    let roots = match &f.root_blockers {
        None => "?".to_string(),
        Some(by_state) => {
            let named: Vec<String> = by_state
                .iter()
                .filter(|(_, n)| **n > 0)
                // The exporter's label, shortened for the column.
                .map(|(state, n)| format!("{n} {}", state.replace("transaction", "trx")))
                .collect();
            if named.is_empty() {
                "0".to_string()
            } else {
                named.join(", ")
            }
        }
    };
    let problem = if f.waits_complete {
        f.incomplete.join("; ")
    } else {
        format!("waits incomplete: {}", f.incomplete.join("; "))
    };
    let waits_seen = f.waiting().is_some_and(|n| n > 0);
    let colour = (waits_seen || !f.waits_complete).then_some(Color::Red);
    vec![
        styled(style, target, colour, waits_seen),
        styled(style, &waiting, colour, false),
        styled(style, &roots, None, false),
        styled(style, &age(f.longest_wait()), None, false),
        styled(style, &age(f.oldest_transaction_secs), None, false),
        styled(style, &latest_deadlock(f), None, false),
        styled(style, &problem, None, false),
    ]
}

/// "3m ago"; "none" since the server started; "undated"; "?" when the status was not read.
fn latest_deadlock(f: &FleetFigures) -> String {
    match (f.latest_deadlock_age_secs, f.deadlock_since_start) {
        (Some(secs), _) => format!("{} ago", age(Some(secs))),
        (None, Some(false)) => "none".to_string(),
        (None, Some(true)) => "undated".to_string(),
        (None, None) => "?".to_string(),
    }
}

fn age(secs: Option<u64>) -> String {
    secs.map_or("?".to_string(), crate::render::text::human_secs)
}
