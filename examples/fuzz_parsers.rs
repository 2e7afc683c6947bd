//! Many-million-input fuzz run of every text parser (run by `bench/fuzz-parsers.sh`).
//!
//! Inputs are mutations of real texts (the captures in fixtures/live, the MySQL 8 and
//! JSON-sink shapes built from them, option files, `--where` filters): a multi-byte or
//! control character put at a random character position, cuts at random places, runs of
//! spaces, digits and separators spliced in, lines dropped or repeated, plus raw random
//! bytes through the encoding sniffer. Every parser entry point gets each input; a panic
//! is caught, counted and its input printed. The exit status is 1 when any input panicked.
//!
//! Usage: `cargo run --release --example fuzz_parsers -- [INPUTS] [SEED]`

use std::io::Read;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use lockdiag::analyze::analyze_deadlock;
use lockdiag::parse::encoding::decode;
use lockdiag::parse::lines::{classify, parse_lock_header, split_timestamp};
use lockdiag::parse::option_file::parse_option_file;
use lockdiag::parse::where_filter::parse_filter;
use lockdiag::parse::{parse_deadlock_lines, parse_innodb_status, ErrorLogDeadlocks, JsonSinkText};

const SEEDS: [&str; 5] = [
    include_str!("../fixtures/live/payments-reservations.status.txt"),
    include_str!("../fixtures/live/three-way-cycle.status.txt"),
    include_str!("../fixtures/live/check-then-insert-gap.status.txt"),
    include_str!("../fixtures/live/error.log"),
    include_str!("../fixtures/percona/lock-wait-timeouts.log"),
];

/// Shapes the captures lack, one line each: a MySQL 8 and 5.6 log prefix, a JSON-sink
/// event, option-file lines, filters, 5.0-style two-part ids, ANSI-quoted names.
const EXTRA_LINES: &[&str] = &[
    "2025-11-10T08:52:25.728850+08:00 9 [Note] [MY-012469] [InnoDB]  *** (1) TRANSACTION: ",
    "2016-06-15 20:28:25 7f72c0043700InnoDB: transactions deadlock detected, dumping detailed information.",
    "2016-06-15 20:28:25 7f72c0043700",
    r#"{ "prio" : 3, "err_code" : 12469, "subsystem" : "InnoDB", "msg" : "*** (1) TRANSACTION:\n", "time" : "2025-11-10T08:52:25.728871+08:00", "thread" : 21, "label" : "Note" }"#,
    "[client]\nuser = app\npassword = \"s3cr\\\"et\"\n!include /etc/mysql/extra.cnf\n[mysqld-8.0]\nsocket=/run/mysqld.sock",
    "status = 'PAID' AND amount >= 10 AND created_at < '2026-01-01'",
    "---TRANSACTION 0 3793488, ACTIVE 4294967296 sec, process no 4294967295, OS thread id 1141152064",
    "RECORD LOCKS space id 7 page no 3 n bits 320 index \"PRIMARY\" of table \"shop\".\"pay\"\"ments\" /* Partition \"p1\" */ trx id 76 lock_mode X locks rec but not gap waiting",
    "111212 1:23:4é",
    " 0: len 4294967295; hex 8000000000000bb1; asc         ;;",
    "RECORD LOCKS space id 1926 page no 10117 n bits 368 index `PRIMARY` of table `db`.`t` /* Partition `p51` */ trx table locks 2 total table locks 2  trx id 5432527494 lock mode S locks rec but not gap waiting lock hold time 0 wait time before grant 0 ",
    "TABLE LOCK table `db`.`t` trx table locks 1 total table locks 1 trx id 0 77 key 5 lock mode IX lock hold time 0 wait time before grant 0",
    "2026-11-23 12:43:22 5 [Note] InnoDB: \n*** (1) TRANSACTION:",
    "2026-11-23 12:43:23 24 [Note] InnoDB: *** WE ROLL BACK TRANSACTION (1)",
    "> > \t*** (2) HOLDS THE LOCK(S):",
];

/// What may be spliced in: multi-byte characters of every width, a BOM, controls.
const JUNK: &[&str] = &[
    "é",
    "😀",
    "‐",
    "\u{feff}",
    "\u{0}",
    "\r",
    "\t",
    "  ",
    "\u{2028}",
    "中",
    "ä",
    "`",
    "\"",
    "'",
    "/*",
    "*/",
    ":",
    ";",
    ",",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "0x",
    "-",
    "+",
    ".",
    "4294967296",
    "18446744073709551616",
    "99999999999999999999",
    "***",
    "len ",
    "hex ",
];

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// A byte offset at a character boundary of `s`.
fn char_boundary(s: &str, rng: &mut Rng) -> usize {
    let count = s.chars().count();
    s.char_indices()
        .nth(rng.below(count + 1))
        .map_or(s.len(), |(b, _)| b)
}

fn mutate_line(line: &str, rng: &mut Rng) -> String {
    let mut s = line.to_string();
    for _ in 0..=rng.below(3) {
        let at = char_boundary(&s, rng);
        match rng.below(5) {
            0 | 1 => s.insert_str(at, JUNK[rng.below(JUNK.len())]),
            2 => s.truncate(at),
            3 => {
                let end = at + char_boundary(&s[at..], rng);
                s.replace_range(at..end, JUNK[rng.below(JUNK.len())]);
            }
            _ => {
                let digits = format!("{}", rng.next());
                s.insert_str(at, &digits[..rng.below(digits.len()) + 1]);
            }
        }
    }
    s
}

fn mutate_text(text: &str, rng: &mut Rng) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for _ in 0..=rng.below(8) {
        if lines.is_empty() {
            break;
        }
        let i = rng.below(lines.len());
        match rng.below(4) {
            0 => {
                lines.remove(i);
            }
            1 => {
                let copy = lines[i].clone();
                lines.insert(i, copy);
            }
            _ => lines[i] = mutate_line(&lines[i], rng),
        }
    }
    // Pasted: every line behind one margin (indentation, a quote prefix).
    if rng.below(8) == 0 {
        let margin = ["\t", "> ", "    ", ">"][rng.below(4)];
        lines.iter_mut().for_each(|l| l.insert_str(0, margin));
    }
    lines.join(if rng.below(10) == 0 { "\r\n" } else { "\n" })
}

/// Runs every parser on `text` (and its bytes); the result is dropped.
fn feed(text: &str) {
    let status = parse_innodb_status(text);
    if let Some(d) = &status.latest_deadlock {
        let _ = analyze_deadlock(d);
    }
    for d in ErrorLogDeadlocks::new(text.as_bytes()).flatten() {
        let _ = analyze_deadlock(&d);
    }
    let d = parse_deadlock_lines(text.lines());
    let _ = analyze_deadlock(&d);
    let mut sink = String::new();
    let _ = JsonSinkText::new(text.as_bytes()).read_to_string(&mut sink);
    let _ = parse_option_file(text);
    let _ = parse_filter(text);
    for line in text.lines().take(64) {
        let _ = split_timestamp(line);
        let _ = classify(line);
        let _ = parse_lock_header(line);
    }
}

fn one_input(rng: &mut Rng) -> String {
    match rng.below(100) {
        // A whole text with line-level mutations: deep parser states.
        0..=2 => mutate_text(SEEDS[rng.below(SEEDS.len())], rng),
        // Raw bytes through the encoding sniffer (UTF-16 with or without BOM, garbage).
        3..=7 => {
            let len = rng.below(300);
            let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            decode(&bytes).into_owned()
        }
        // One real line, mutated, with its neighbours (a header needs its section).
        _ => {
            let seed = SEEDS[rng.below(SEEDS.len())];
            let lines: Vec<&str> = seed.lines().collect();
            let line = if rng.below(4) == 0 {
                EXTRA_LINES[rng.below(EXTRA_LINES.len())]
            } else {
                lines[rng.below(lines.len())]
            };
            let mutated = mutate_line(line, rng);
            match rng.below(3) {
                0 => mutated,
                1 => format!(
                    "2026-11-23 12:43:22 5 [Note] InnoDB: Transactions deadlock detected, dumping detailed information.\n*** (1) TRANSACTION:\n{mutated}\n*** (1) WAITING FOR THIS LOCK TO BE GRANTED:\n{mutated}"
                ),
                _ => format!("LATEST DETECTED DEADLOCK\n------------------------\n{mutated}\n*** (1) TRANSACTION:\n{mutated}\n------------\nTRANSACTIONS\n------------\n"),
            }
        }
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let total: u64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000_000);
    let seed: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(0x5eed);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    let done = AtomicU64::new(0);
    let bytes = AtomicU64::new(0);
    let panics = AtomicU64::new(0);
    let first_panic: Mutex<Option<String>> = Mutex::new(None);
    // Panics are counted here, not printed by the default hook for each one.
    std::panic::set_hook(Box::new(|_| {}));
    let started = Instant::now();
    std::thread::scope(|scope| {
        for t in 0..threads {
            let (done, bytes, panics, first_panic) = (&done, &bytes, &panics, &first_panic);
            scope.spawn(move || {
                let mut rng = Rng(seed ^ (t + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
                let share = total / threads + u64::from(t < total % threads);
                for i in 0..share {
                    let input = one_input(&mut rng);
                    bytes.fetch_add(input.len() as u64, Ordering::Relaxed);
                    if catch_unwind(AssertUnwindSafe(|| feed(&input))).is_err() {
                        panics.fetch_add(1, Ordering::Relaxed);
                        first_panic.lock().unwrap().get_or_insert(input);
                    }
                    if t == 0 && i % 1_000_000 == 999_999 {
                        eprintln!(
                            "  {} inputs, {:.0} s",
                            done.load(Ordering::Relaxed) + 1,
                            started.elapsed().as_secs_f64()
                        );
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    let panics = panics.load(Ordering::Relaxed);
    println!(
        "fuzz_parsers: {} inputs ({:.1} MB), {panics} panics, {:.0} s on {threads} threads, seed {seed:#x}",
        done.load(Ordering::Relaxed),
        bytes.load(Ordering::Relaxed) as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    if let Some(input) = first_panic.into_inner().unwrap() {
        println!("first panicking input: {input:?}");
        std::process::exit(1);
    }
}
