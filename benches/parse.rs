//! Parser throughput: status texts (structured parse + analysis), a generated
//! 200 MB error log with 20,000 deadlocks among unrelated lines, and the same
//! size of unrelated lines alone (the marker scan). `cargo bench --bench parse`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

use lockdiag::analyze::analyze_deadlock;
use lockdiag::parse::{parse_innodb_status, ErrorLogDeadlocks, ErrorLogEntries};

const STATUS: [(&str, &str); 3] = [
    (
        "payments-reservations",
        include_str!("../fixtures/live/payments-reservations.status.txt"),
    ),
    (
        "three-way-cycle",
        include_str!("../fixtures/live/three-way-cycle.status.txt"),
    ),
    (
        "check-then-insert-gap",
        include_str!("../fixtures/live/check-then-insert-gap.status.txt"),
    ),
];
const LOG: &str = include_str!("../fixtures/live/error.log");
/// Five Percona lock wait timeout entries (fixtures/percona/NOTES.md).
const TIMEOUTS: &str = include_str!("../fixtures/percona/lock-wait-timeouts.log");

/// The deadlock prints of the captured log, without its startup lines.
fn deadlock_prints() -> String {
    let start = LOG
        .find("Transactions deadlock detected")
        .and_then(|p| LOG[..p].rfind('\n'))
        .map_or(0, |p| p + 1);
    LOG[start..].to_string()
}

/// Unrelated log lines, as a busy server writes them.
fn filler_line(i: usize) -> String {
    format!("2026-11-23 12:{:02}:{:02} {} [Warning] Aborted connection {} to db: 'shop' user: 'app' host: '10.0.{}.{}' (Got timeout reading communication packets)\n", (i / 60) % 60, i % 60, i % 5000, i, i % 250, i % 200)
}

/// About `target` bytes: `deadlock_rounds` copies of the three captured prints spread among filler lines.
pub fn generated_log(target: usize, deadlock_rounds: usize) -> String {
    generated_log_of(target, deadlock_rounds, &deadlock_prints())
}

/// About `target` bytes: `rounds` copies of `prints` spread among filler lines.
fn generated_log_of(target: usize, deadlock_rounds: usize, prints: &str) -> String {
    let mut log = String::with_capacity(target + prints.len());
    let filler_budget = target.saturating_sub(prints.len() * deadlock_rounds);
    let per_gap = filler_budget
        .checked_div(deadlock_rounds)
        .unwrap_or(filler_budget);
    let mut i = 0;
    for round in 0..deadlock_rounds.max(1) {
        let gap_end = log.len() + per_gap;
        while log.len() < gap_end {
            log.push_str(&filler_line(i));
            i += 1;
        }
        if round < deadlock_rounds {
            log.push_str(prints);
        }
    }
    log
}

fn status_texts(c: &mut Criterion) {
    let mut group = c.benchmark_group("status_text");
    for (name, text) in STATUS {
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(BenchmarkId::new("parse", name), text, |b, text| {
            b.iter(|| parse_innodb_status(text))
        });
        group.bench_with_input(
            BenchmarkId::new("parse_and_analyze", name),
            text,
            |b, text| {
                b.iter(|| {
                    let status = parse_innodb_status(text);
                    analyze_deadlock(status.latest_deadlock.as_ref().unwrap())
                })
            },
        );
    }
    group.finish();
}

fn error_logs(c: &mut Criterion) {
    let mut group = c.benchmark_group("error_log");
    group.sample_size(10);
    // 20,000 deadlocks: ~6,700 rounds of the three captured prints.
    let with_deadlocks = generated_log(200 << 20, 20_000 / 3);
    let filler_only = generated_log(200 << 20, 0);
    for (name, log) in [
        ("200MB_20000_deadlocks", &with_deadlocks),
        ("200MB_no_deadlocks", &filler_only),
    ] {
        group.throughput(Throughput::Bytes(log.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(name), log, |b, log| {
            b.iter(|| {
                ErrorLogDeadlocks::new(log.as_bytes())
                    .filter_map(Result::ok)
                    .count()
            })
        });
    }
    // Percona's lock wait timeout entries too: 20,000 deadlocks and 33,000 timeouts, every entry read.
    let mixed_prints = format!("{}{TIMEOUTS}", deadlock_prints());
    let mixed = generated_log_of(200 << 20, 20_000 / 3, &mixed_prints);
    group.throughput(Throughput::Bytes(mixed.len() as u64));
    group.bench_function("200MB_deadlocks_and_timeouts", |b| {
        b.iter(|| {
            ErrorLogEntries::new(mixed.as_bytes())
                .filter_map(Result::ok)
                .count()
        })
    });
    // Only the deadlock prints, back to back: the structured parse rate inside a log.
    let prints = deadlock_prints().repeat(2_000);
    group.throughput(Throughput::Bytes(prints.len() as u64));
    group.bench_function("deadlock_prints_only", |b| {
        b.iter(|| {
            ErrorLogDeadlocks::new(prints.as_bytes())
                .filter_map(Result::ok)
                .count()
        })
    });
    group.finish();
}

criterion_group!(benches, status_texts, error_logs);
criterion_main!(benches);
