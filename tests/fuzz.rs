//! Property tests: the parsers never panic, whatever the input. Mutations of
//! real texts (cuts, deleted/duplicated/garbled lines) reach deep states that
//! random bytes alone do not.

use proptest::prelude::*;

use lockdiag::analyze::analyze_deadlock;
use lockdiag::parse::{parse_innodb_status, ErrorLogDeadlocks};

const SEEDS: [&str; 5] = [
    include_str!("../fixtures/live/payments-reservations.status.txt"),
    include_str!("../fixtures/live/three-way-cycle.status.txt"),
    include_str!("../fixtures/live/check-then-insert-gap.status.txt"),
    include_str!("../fixtures/live/error.log"),
    include_str!("../fixtures/percona/lock-wait-timeouts.log"),
];

fn mutate(seed: &str, ops: &[(u8, usize, String)]) -> String {
    let mut lines: Vec<String> = seed.lines().map(str::to_string).collect();
    for (op, at, junk) in ops {
        if lines.is_empty() {
            break;
        }
        let i = at % lines.len();
        match op % 5 {
            0 => {
                lines.remove(i);
            }
            1 => {
                let copy = lines[i].clone();
                lines.insert(i, copy);
            }
            2 => lines[i] = junk.clone(),
            3 => {
                let line = &lines[i];
                let cut = line
                    .char_indices()
                    .nth(at % (line.chars().count() + 1))
                    .map_or(line.len(), |(b, _)| b);
                lines[i] = line[..cut].to_string();
            }
            _ => lines.insert(i, junk.clone()),
        }
    }
    lines.join("\n")
}

fn check(text: &str) {
    let status = parse_innodb_status(text);
    if let Some(d) = &status.latest_deadlock {
        let _ = analyze_deadlock(d);
    }
    for d in ErrorLogDeadlocks::new(text.as_bytes()).flatten() {
        let _ = analyze_deadlock(&d);
    }
}

// 2,000 mutated real texts and 1,000 arbitrary strings per run (more: PROPTEST_CASES=N).
proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn mutated_real_texts_never_panic(seed in 0usize..4, ops in proptest::collection::vec((any::<u8>(), any::<usize>(), "(\\*\\*\\* \\(\\d\\) [A-Z ]{0,30}:?|RECORD LOCKS space id \\d+ [a-z ]{0,40}|TRANSACTION \\d+, [a-z ]{0,20}| \\d: len \\d+; hex [0-9a-f]{0,20}|.{0,40})"), 1..12)) {
        check(&mutate(SEEDS[seed], &ops));
    }

}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
        check(&text);
    }
}
