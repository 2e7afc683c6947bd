//! Small SVG charts for the HTML report: a time-series line chart (gaps where a figure
//! is unknown, never drawn as 0) with marked moments, and a sparkline. Plain SVG,
//! every text escaped, nothing referenced outside the element.

use std::fmt::Write as _;

use super::svg::xml_escape;

/// One line of a chart: `None` values break the line (unknown is not 0).
pub struct Series<'a> {
    pub name: &'a str,
    pub colour: &'a str,
    pub points: Vec<(i64, Option<f64>)>,
}

/// A moment marked with a vertical line, its text in a tooltip (`<title>`).
pub struct Mark {
    pub epoch: i64,
    pub text: String,
    pub colour: &'static str,
}

const WIDTH: f64 = 960.0;
const HEIGHT: f64 = 200.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 28.0;
const BOTTOM: f64 = 34.0;

/// A time-series chart over `range` (epoch seconds): one polyline per series, marks as
/// vertical lines, the y axis from 0 to the largest known value, labelled with `unit`.
pub fn line_chart(
    title: &str,
    unit: &str,
    series: &[Series],
    marks: &[Mark],
    range: (i64, i64),
) -> String {
    let (from, to) = (range.0, range.1.max(range.0 + 1));
    let max = series
        .iter()
        .flat_map(|s| s.points.iter().filter_map(|p| p.1))
        .fold(0.0_f64, f64::max)
        .max(1.0);
    let x = |t: i64| LEFT + (t - from) as f64 / (to - from) as f64 * (WIDTH - LEFT - RIGHT);
    let y = |v: f64| TOP + (1.0 - v / max) * (HEIGHT - TOP - BOTTOM);
    let mut out = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" font-family="sans-serif" font-size="11"><title>{}</title>"#,
        xml_escape(title)
    );
    let _ = write!(
        out,
        r##"<text x="{LEFT}" y="16" font-size="13" font-weight="bold">{}</text>"##,
        xml_escape(title)
    );
    axes(&mut out, max, unit, from, to);
    for mark in marks {
        let mx = x(mark.epoch);
        let _ = write!(
            out,
            r#"<line x1="{mx:.1}" y1="{TOP}" x2="{mx:.1}" y2="{:.1}" stroke="{}" stroke-width="1.5" stroke-dasharray="3 2"><title>{}</title></line>"#,
            HEIGHT - BOTTOM,
            mark.colour,
            xml_escape(&mark.text)
        );
    }
    for s in series {
        for run in known_runs(&s.points) {
            let points: Vec<String> = run
                .iter()
                .map(|(t, v)| format!("{:.1},{:.1}", x(*t), y(*v)))
                .collect();
            if points.len() == 1 {
                let (t, v) = run[0];
                let _ = write!(
                    out,
                    r#"<circle cx="{:.1}" cy="{:.1}" r="2.5" fill="{}"/>"#,
                    x(t),
                    y(v),
                    s.colour
                );
            } else {
                let _ = write!(
                    out,
                    r#"<polyline fill="none" stroke="{}" stroke-width="2" points="{}"><title>{}</title></polyline>"#,
                    s.colour,
                    points.join(" "),
                    xml_escape(s.name)
                );
            }
        }
    }
    legend(&mut out, series);
    out.push_str("</svg>");
    out
}

/// The runs of consecutive known values.
fn known_runs(points: &[(i64, Option<f64>)]) -> Vec<Vec<(i64, f64)>> {
    let mut runs = vec![Vec::new()];
    for (t, v) in points {
        match v {
            Some(v) => runs.last_mut().expect("never empty").push((*t, *v)),
            None => runs.push(Vec::new()),
        }
    }
    runs.retain(|r| !r.is_empty());
    runs
}

fn axes(out: &mut String, max: f64, unit: &str, from: i64, to: i64) {
    let bottom = HEIGHT - BOTTOM;
    let _ = write!(
        out,
        r##"<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{bottom}" stroke="#888"/><line x1="{LEFT}" y1="{bottom}" x2="{:.1}" y2="{bottom}" stroke="#888"/>"##,
        WIDTH - RIGHT
    );
    let _ = write!(
        out,
        r##"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text><text x="{:.1}" y="{:.1}" text-anchor="end">0</text><text x="4" y="{:.1}" fill="#555">{}</text>"##,
        LEFT - 4.0,
        TOP + 4.0,
        format_value(max),
        LEFT - 4.0,
        bottom + 4.0,
        TOP - 8.0 + 20.0,
        xml_escape(unit)
    );
    for (anchor, at, t) in [("start", LEFT, from), ("end", WIDTH - RIGHT, to)] {
        let _ = write!(
            out,
            r##"<text x="{at:.1}" y="{:.1}" text-anchor="{anchor}" fill="#333">{}</text>"##,
            bottom + 16.0,
            clock(t)
        );
    }
}

fn legend(out: &mut String, series: &[Series]) {
    let mut at = WIDTH - RIGHT - 190.0 * series.len() as f64;
    for s in series {
        let _ = write!(
            out,
            r#"<rect x="{at:.1}" y="7" width="12" height="4" fill="{}"/><text x="{:.1}" y="13">{}</text>"#,
            s.colour,
            at + 16.0,
            xml_escape(s.name)
        );
        at += 190.0;
    }
}

fn format_value(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// `HH:MM:SS` UTC of an epoch second (the page says the zone once).
fn clock(epoch: i64) -> String {
    chrono::DateTime::from_timestamp(epoch, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

/// A sparkline of counts (one bar per bucket), `title` as its tooltip.
pub fn sparkline(counts: &[u64], title: &str) -> String {
    let (w, h) = (4.0 * counts.len() as f64, 20.0);
    let max = counts.iter().copied().max().unwrap_or(0).max(1) as f64;
    let mut out = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="spark" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img"><title>{}</title>"#,
        xml_escape(title)
    );
    for (i, &count) in counts.iter().enumerate() {
        let bar = if count == 0 {
            1.0
        } else {
            (count as f64 / max * (h - 2.0)).max(2.0)
        };
        let fill = if count == 0 { "#ddd" } else { "#c0392b" };
        let _ = write!(
            out,
            r#"<rect x="{:.1}" y="{:.1}" width="3" height="{bar:.1}" fill="{fill}"/>"#,
            i as f64 * 4.0,
            h - bar
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_values_break_the_line_and_names_are_escaped() {
        let chart = line_chart(
            "Waiting <sessions>",
            "sessions",
            &[Series {
                name: "a&b",
                colour: "#000",
                points: vec![(0, Some(1.0)), (10, Some(3.0)), (20, None), (30, Some(2.0))],
            }],
            &[Mark {
                epoch: 15,
                text: "<script>alert(1)</script>".into(),
                colour: "#c00",
            }],
            (0, 30),
        );
        assert_eq!(chart.matches("<polyline").count(), 1, "{chart}");
        assert_eq!(
            chart.matches("<circle").count(),
            1,
            "the lone point after the gap"
        );
        assert!(!chart.contains("<script>") && chart.contains("&lt;script&gt;"));
        assert!(chart.contains("a&amp;b") && chart.contains("Waiting &lt;sessions&gt;"));
    }

    #[test]
    fn sparkline_has_a_bar_per_bucket() {
        let spark = sparkline(&[0, 2, 1], "x");
        assert_eq!(spark.matches("<rect").count(), 3);
    }
}
