//! JUnit XML for CI systems that show test reports.

use crate::analyze::checks::CheckStatus;
use crate::analyze::views::CheckView;

/// Escapes XML's five specials; control characters, which XML 1.0 cannot carry at all, are replaced.
fn xml_escape(text: &str) -> String {
    super::text::printable(text)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
        .replace('\n', "&#10;")
}

/// A JUnit report of a check: one testcase per assertion.
pub fn checks(view: &CheckView) -> String {
    let (results, elapsed_secs) = (&view.checks, view.elapsed_secs);
    let failures = results
        .iter()
        .filter(|r| r.status == CheckStatus::Fail)
        .count();
    let errors = results
        .iter()
        .filter(|r| r.status == CheckStatus::Error)
        .count();
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n  <testsuite name=\"lockdiag check\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{elapsed_secs:.3}\">\n",
        results.len()
    );
    for r in results.iter() {
        out.push_str(&format!(
            "    <testcase classname=\"lockdiag\" name=\"{}\">\n",
            xml_escape(&r.name)
        ));
        match r.status {
            CheckStatus::Pass => out.push_str(&format!(
                "      <system-out>{}</system-out>\n",
                xml_escape(&r.figure)
            )),
            CheckStatus::Fail => out.push_str(&format!(
                "      <failure message=\"{}\"/>\n",
                xml_escape(&r.figure)
            )),
            CheckStatus::Error => out.push_str(&format!(
                "      <error message=\"{}\"/>\n",
                xml_escape(&r.figure)
            )),
        }
        out.push_str("    </testcase>\n");
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}
