//! `check` for people: one PASS/FAIL/ERROR line per assertion with its figure.

use crate::analyze::checks::CheckStatus;
use crate::analyze::views::CheckView;

pub fn view(view: &CheckView) -> String {
    let mut text = String::new();
    for r in &view.checks {
        let word = match r.status {
            CheckStatus::Pass => "PASS ",
            CheckStatus::Fail => "FAIL ",
            CheckStatus::Error => "ERROR",
        };
        text.push_str(&format!("{word} {}: {}\n", r.name, r.figure));
    }
    text
}
