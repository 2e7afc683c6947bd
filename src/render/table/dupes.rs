//! `dupes` for people: the verdict, the duplicate groups, then the fix.

use crate::analyze::duplicates::DupesReport;
use crate::render::TableStyle;

use super::{new_table, styled};

pub fn view(report: &DupesReport, style: &TableStyle) -> String {
    let mut text = String::new();
    let what = format!(
        "{}.{} ({})",
        report.schema,
        report.table,
        report.columns.join(", ")
    );
    if report.interrupted {
        text.push_str(&format!(
            "Interrupted after {} rows: the figures below cover those rows only.\n",
            report.rows_scanned
        ));
    }
    if report.duplicate_groups == 0 {
        text.push_str(&format!(
            "No duplicates in {what}: {} rows scanned in {} chunk(s), {} ms.\n",
            report.rows_scanned, report.chunks, report.elapsed_ms
        ));
    } else {
        text.push_str(&format!(
            "{} duplicate key(s) in {what}: {} rows share them ({} beyond one per key); {} rows scanned in {} chunk(s), {} ms.\n",
            report.duplicate_groups, report.duplicated_rows, report.extra_rows, report.rows_scanned, report.chunks, report.elapsed_ms
        ));
        let mut table = new_table(
            style,
            &[
                "key",
                "rows",
                &format!("primary key ({})", report.primary_key.join(",")),
            ],
        );
        for g in &report.groups {
            table.add_row(vec![
                styled(style, &g.key.join(", "), None, true),
                styled(style, &g.count.to_string(), None, false),
                styled(style, &g.primary_keys.join(" "), None, false),
            ]);
        }
        text.push_str(&format!("{table}\n"));
        if report.groups_omitted > 0 {
            text.push_str(&format!(
                "{} more group(s) not listed (--limit)\n",
                report.groups_omitted
            ));
        }
    }
    match (&report.unique_index, &report.fix) {
        (Some(index), _) => text.push_str(&format!(
            "UNIQUE index {index} already covers these columns: new duplicates are impossible.\n"
        )),
        (None, Some(fix)) => {
            text.push_str("No UNIQUE index covers these columns.");
            if let Some(cleanup) = &fix.cleanup {
                text.push_str(&format!(" First remove the extra rows (keeps the lowest primary key per key):\n  {cleanup};\nthen add the key:\n"));
            } else {
                text.push_str(" To prevent duplicates:\n");
            }
            text.push_str(&format!("  {};\n", fix.add_unique));
        }
        (None, None) => {}
    }
    if report.rows_with_null_key > 0 {
        text.push_str(&format!(
            "{} row(s) have a NULL in the key (a UNIQUE index allows any number of those).\n",
            report.rows_with_null_key
        ));
    }
    text
}
