//! "Did you mean": the known names closest to a mistyped one.

/// Edit distance with adjacent transpositions (optimal string alignment),
/// case-insensitive: `pya` is one edit from `pay`.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_lowercase().chars().collect();
    let b: Vec<char> = b.to_lowercase().chars().collect();
    // rows[i][j]: distance between a[..i] and b[..j]
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = d;
        }
    }
    rows[a.len()][b.len()]
}

/// The part after the last `.` (the table of `schema.table`), lower-cased.
fn last_part(name: &str) -> String {
    name.rsplit('.').next().unwrap_or(name).to_lowercase()
}

/// Up to `n` of `known`, closest to `wanted` first (edit distance over the
/// whole name). A name is suggested only when its last part is related to
/// `wanted`'s: within half the longer one's length, sharing its first four
/// characters, or one containing the other — a shared schema alone is no reason.
pub fn closest<'a>(wanted: &str, known: &'a [String], n: usize) -> Vec<&'a str> {
    let want = last_part(wanted);
    let mut scored: Vec<(usize, &str)> = known
        .iter()
        .filter_map(|name| {
            let other = last_part(name);
            let prefix = want
                .chars()
                .zip(other.chars())
                .take_while(|(a, b)| a == b)
                .count();
            let near =
                distance(&want, &other) * 2 <= want.chars().count().max(other.chars().count());
            // Containment counts for names of three characters or more (`t.p` is no hint for `pya`).
            let contains =
                |long: &str, short: &str| short.chars().count() >= 3 && long.contains(short);
            let related = near
                || prefix >= 4.min(want.chars().count())
                || contains(&other, &want)
                || contains(&want, &other);
            related.then(|| (distance(wanted, name), name.as_str()))
        })
        .collect();
    scored.sort();
    scored.dedup();
    scored.into_iter().take(n).map(|(_, name)| name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_names_first_and_unrelated_ones_left_out() {
        let known: Vec<String> = [
            "shop.payments",
            "shop.payment_events",
            "shop.users",
            "audit.log",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            closest("shop.paymnts", &known, 3),
            vec!["shop.payments", "shop.payment_events"]
        );
        assert_eq!(closest("shop.Users", &known, 3), vec!["shop.users"]);
        assert!(closest("zzzzzz", &known, 3).is_empty());
        assert_eq!(distance("kitten", "sitting"), 3);
        let short: Vec<String> = ["t.p", "t.pay", "t.big"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(closest("t.pya", &short, 3), vec!["t.pay"]);
    }
}
