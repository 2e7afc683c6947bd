//! The waits analysis and its JSON on the worst metadata-lock pile-up shape:
//! R readers hold SHARED_READ on a table, an ALTER waits for EXCLUSIVE behind
//! them, and N SELECTs queue behind the ALTER. Sizes 200 → 2,000 → 20,000
//! queued sessions; prints time and JSON size so growth can be read as linear.
//! Run: cargo bench --bench waits

use std::time::Instant;

use lockdiag::analyze::analyze_waits;
use lockdiag::analyze::views::waits_view;
use lockdiag::model::{
    LiveState, LockWait, MdlDuration, MdlStatus, MetadataLock, Session, SessionCommand, WaitKind,
};
use lockdiag::render::{json, View};

fn pile_up(readers: u64, queued: u64) -> LiveState {
    let mut state = LiveState::default();
    let lock = |thread_id: u64, lock_type: &str, status: MdlStatus| MetadataLock {
        thread_id,
        object_type: "TABLE".into(),
        schema: Some("shop".into()),
        name: Some("t0".into()),
        lock_type: lock_type.into(),
        lock_status: status,
        duration: Some(MdlDuration::Transaction),
    };
    let session = |thread_id: u64, command: SessionCommand, info: &str| Session {
        thread_id,
        user: "app".into(),
        host: "10.0.0.5".into(),
        command,
        time_secs: 300,
        info: Some(info.into()).filter(|i: &String| !i.is_empty()),
        ..Session::default()
    };
    for r in 0..readers {
        state
            .sessions
            .push(session(100 + r, SessionCommand::Sleep, ""));
        state
            .metadata_locks
            .push(lock(100 + r, "SHARED_READ", MdlStatus::Granted));
    }
    let alter = 10;
    state.sessions.push(session(
        alter,
        SessionCommand::Query,
        "ALTER TABLE t0 ADD COLUMN c INT",
    ));
    state
        .metadata_locks
        .push(lock(alter, "SHARED_UPGRADABLE", MdlStatus::Granted));
    state
        .metadata_locks
        .push(lock(alter, "EXCLUSIVE", MdlStatus::Pending));
    for q in 0..queued {
        let id = 100_000 + q;
        state.sessions.push(session(
            id,
            SessionCommand::Query,
            "SELECT * FROM t0 WHERE id = 1",
        ));
        state
            .metadata_locks
            .push(lock(id, "SHARED_READ", MdlStatus::Pending));
    }
    state
}

/// A row-lock DAG: session k waits for sessions k-1 and k-2 (each row held by one, wanted by
/// two). Expanded as a tree, its size grows like Fibonacci numbers; as a DAG, linearly.
fn row_dag(sessions: u64) -> LiveState {
    let mut state = LiveState::default();
    for id in 1..=sessions {
        state.sessions.push(Session {
            thread_id: id,
            user: "app".into(),
            host: "10.0.0.5".into(),
            command: SessionCommand::Query,
            time_secs: 30,
            info: Some(format!(
                "UPDATE t SET v = v + 1 WHERE id IN ({}, {})",
                id,
                id + 1
            )),
            ..Session::default()
        });
        for back in [1, 2] {
            if id > back {
                state.row_waits.push(LockWait {
                    waiting_thread_id: id,
                    blocking_thread_id: id - back,
                    kind: WaitKind::Row,
                    waiting_trx_id: Some(format!("{}", 1000 + id)),
                    blocking_trx_id: Some(format!("{}", 1000 + id - back)),
                    schema: Some("shop".into()),
                    table: Some("t".into()),
                    index: Some("PRIMARY".into()),
                    lock_mode: "X,REC_NOT_GAP".into(),
                    blocking_lock_mode: Some("X,REC_NOT_GAP".into()),
                    blocking_lock_status: Some(lockdiag::model::LockStatus::Granted),
                    lock_data: Some(format!("{}", id - back)),
                    wait_secs: 10,
                });
            }
        }
    }
    state
}

fn main() {
    // `cargo bench` passes --bench; any other argument is a filter we ignore.
    println!("readers  queued  sessions  analysis ms  analysis+json ms  json bytes  root blockers");
    for (readers, queued) in [(200, 200), (200, 2_000), (200, 20_000)] {
        let state = pile_up(readers, queued);
        let started = Instant::now();
        let analysis = analyze_waits(&state);
        let analysed = started.elapsed();
        let roots = analysis.root_blockers.len();
        let text = json::render(&View::Waits(waits_view(&state, analysis))).unwrap_or_default();
        let elapsed = started.elapsed();
        println!(
            "{readers:>7}  {queued:>6}  {:>8}  {:>11.1}  {:>16.1}  {:>10}  {roots:>13}",
            state.sessions.len(),
            analysed.as_secs_f64() * 1000.0,
            elapsed.as_secs_f64() * 1000.0,
            text.len()
        );
    }
    let state = row_dag(41);
    let started = Instant::now();
    let text =
        json::render(&View::Waits(waits_view(&state, analyze_waits(&state)))).unwrap_or_default();
    println!(
        "row-lock DAG, 41 sessions each waiting for the two before it: {:.1} ms, json {} bytes",
        started.elapsed().as_secs_f64() * 1000.0,
        text.len()
    );
}
