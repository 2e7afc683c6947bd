//! "Did you mean": the known names closest to a mistyped one.

/// Edit distance (insertions, deletions, substitutions), case-insensitive.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_lowercase().chars().collect();
    let b: Vec<char> = b.to_lowercase().chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
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
            let related = near
                || prefix >= 4.min(want.chars().count())
                || other.contains(&want)
                || want.contains(&other);
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
    }
}
