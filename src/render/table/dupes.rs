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
    let collations: Vec<String> = report
        .columns
        .iter()
        .zip(&report.collations)
        .filter_map(|(c, coll)| Some(format!("{c} by {}", coll.as_deref()?)))
        .collect();
    if report.interrupted && report.duplicate_groups > 0 {
        text.push_str(&format!(
            "Interrupted before verification: about {} repeated key(s) in {what} so far ({} rows); run again to list them.\n",
            report.duplicate_groups, report.duplicated_rows
        ));
    } else if report.duplicate_groups == 0 {
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
                "spellings",
                &format!("primary key ({})", report.primary_key.join(",")),
            ],
        );
        for g in &report.groups {
            let spellings: Vec<String> = g.spellings.iter().map(|s| format!("{s:?}")).collect();
            let more = if g.count as usize > g.primary_keys.len() {
                " …"
            } else {
                ""
            };
            table.add_row(vec![
                styled(style, &g.key.join(", "), None, true),
                styled(style, &g.count.to_string(), None, false),
                styled(style, &spellings.join(" "), None, false),
                styled(
                    style,
                    &format!("{}{more}", g.primary_keys.join(" ")),
                    None,
                    false,
                ),
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
            match &fix.cleanup {
                Some(cleanup) => {
                    text.push_str(&format!(
                        " Advice to review (lockdiag runs none of it): remove {} extra row(s) by primary key",
                        fix.cleanup_rows
                    ));
                    if !fix.cleanup_covers_all {
                        text.push_str(&format!(
                            " — {} of {}; run dupes again afterwards for the rest",
                            fix.cleanup_rows, report.extra_rows
                        ));
                    }
                    text.push_str(":\n");
                    for line in cleanup.lines() {
                        text.push_str(&format!("  {line}\n"));
                    }
                    text.push_str("then add the key:\n");
                }
                None if report.duplicate_groups > 0 && report.primary_key.is_empty() => text.push_str(
                    " The table has no primary key to name rows by: remove the extra rows by hand, then add the key:\n",
                ),
                None => text.push_str(" To prevent duplicates:\n"),
            }
            text.push_str(&format!("  {};\n", fix.add_unique));
        }
        (None, None) => {}
    }
    if !collations.is_empty() {
        text.push_str(&format!(
            "Compared as a UNIQUE index compares: {}.\n",
            collations.join(", ")
        ));
    }
    if report.rows_with_null_key > 0 {
        text.push_str(&format!(
            "{} row(s) have a NULL in the key (a UNIQUE index allows any number of those).\n",
            report.rows_with_null_key
        ));
    }
    text
}
