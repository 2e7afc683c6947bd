//! Runs the parsers in a loop for profiling (`valgrind --tool=callgrind`):
//! `cargo run --release --example profile_parse -- status|log`.
fn main() {
    let mode = std::env::args().nth(1).unwrap_or_else(|| "status".into());
    let mut n = 0;
    if mode == "log" {
        let log = std::fs::read_to_string("fixtures/live/error.log")
            .unwrap()
            .repeat(300);
        n += lockdiag::parse::ErrorLogDeadlocks::new(log.as_bytes())
            .filter_map(Result::ok)
            .count();
    } else {
        let text = std::fs::read_to_string("fixtures/live/three-way-cycle.status.txt").unwrap();
        for _ in 0..2000 {
            let s = lockdiag::parse::parse_innodb_status(&text);
            n += s.latest_deadlock.map_or(0, |d| d.transactions.len());
        }
    }
    println!("{n}");
}
