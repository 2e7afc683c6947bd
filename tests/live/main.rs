//! Live tests: one throwaway MariaDB for the whole binary, real lock waits
//! and deadlocks made with several connections, asserted through the
//! lockdiag binary's JSON. Runs with `cargo test --test live`.

mod connect;
mod cron;
mod ctx;
mod ddl_ready;
mod deadlocks;
mod dupes;
mod edges;
mod fleet;
mod history;
mod kill;
mod mysql8_rows;
mod prometheus;
mod record;
mod report;
#[path = "../support/schema_check.rs"]
mod schema_check;
mod serve;
mod server;
mod ui;
mod waits;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Instant;

use ctx::Ctx;

type Test = (&'static str, fn(&Ctx));

const TESTS: &[Test] = &[
    (
        "waits_chain_and_unrelated_pair",
        waits::chain_and_unrelated_pair,
    ),
    ("waits_metadata_lock_pile_up", waits::metadata_lock_pile_up),
    ("ps_filters", waits::ps_filters),
    (
        "waits_duplicate_key_explained",
        waits::duplicate_key_wait_is_explained,
    ),
    (
        "history_root_blocker_statements",
        history::root_blocker_statement_history,
    ),
    (
        "history_record_enables_consumers",
        history::record_enables_statement_history_for_its_run,
    ),
    (
        "prometheus_sees_pile_up_on_one_instance",
        prometheus::a_real_prometheus_sees_the_pile_up_on_one_instance,
    ),
    (
        "serve_metrics_probe_and_stalled_target",
        serve::serve_metrics_probe_and_a_stalled_target,
    ),
    (
        "serve_burst_with_stalled_targets",
        serve::a_burst_with_stalled_targets_never_delays_the_answering_one,
    ),
    (
        "fleet_status_and_snapshots",
        fleet::fleet_status_and_snapshots,
    ),
    (
        "report_recorded_incident_in_chromium",
        report::report_of_a_recorded_incident_renders_in_chromium,
    ),
    (
        "history_killed_recorder_consumers_restored",
        history::killed_recorder_leaves_consumers_to_the_next,
    ),
    (
        "history_record_keeps_deadlock_statements",
        history::record_keeps_deadlocks_with_their_statements,
    ),
    (
        "waits_holder_without_session",
        waits::holder_without_session_is_reported,
    ),
    (
        "connect_closed_port_fails_fast",
        connect::closed_port_fails_fast,
    ),
    (
        "connect_wrong_password_is_not_echoed",
        connect::wrong_password_is_not_echoed,
    ),
    (
        "connect_without_process_privilege_degrades",
        connect::without_process_privilege_degrades,
    ),
    (
        "connect_one_free_slot",
        connect::one_free_connection_slot_is_enough,
    ),
    ("connect_stalled_server", connect::stalled_server_is_bounded),
    (
        "connect_url_and_defaults_file",
        connect::url_and_defaults_file,
    ),
    (
        "ddl_ready_idle_reader_until_commit",
        ddl_ready::idle_reader_holds_a_ddl_up_until_it_commits,
    ),
    (
        "ddl_ready_wait_ready",
        ddl_ready::wait_ready_returns_when_the_holder_commits,
    ),
    (
        "ddl_ready_unseen_locks_are_an_error",
        ddl_ready::unseen_metadata_locks_are_an_error,
    ),
    (
        "deadlock_payments_reservations",
        deadlocks::payments_reservations,
    ),
    ("deadlock_three_way_cycle", deadlocks::three_way_cycle),
    (
        "deadlock_check_then_insert_gap",
        deadlocks::check_then_insert_gap,
    ),
    (
        "deadlock_check_then_insert_unique_key",
        deadlocks::check_then_insert_on_a_unique_key,
    ),
    (
        "deadlock_duplicate_key_check",
        deadlocks::duplicate_key_check_closes_a_cycle,
    ),
    (
        "deadlock_transactions_statement_history",
        deadlocks::deadlock_transactions_carry_their_statements,
    ),
    ("deadlock_error_log_has_all", deadlocks::error_log_has_all),
    (
        "kill_root_blocker_and_waiters_finish",
        kill::root_blocker_is_killed_and_waiters_finish,
    ),
    (
        "kill_without_confirmation_or_dry_run",
        kill::no_terminal_no_yes_and_dry_run_kill_nothing,
    ),
    ("kill_prompt_yes_and_no", kill::prompt_answered_yes_and_no),
    (
        "kill_race_target_changed",
        kill::target_changed_before_confirmation_is_skipped,
    ),
    (
        "kill_protected_threads_refused",
        kill::protected_threads_are_refused,
    ),
    (
        "kill_read_only_trx_replaced",
        kill::read_only_transaction_replaced_before_confirmation_is_skipped,
    ),
    (
        "kill_query_statement_changed",
        kill::statement_changed_under_query_is_skipped,
    ),
    (
        "kill_second_target_fresh",
        kill::second_target_is_reread_fresh,
    ),
    (
        "kill_from_watch_screen",
        kill::watch_screen_kills_the_chosen_root_blocker,
    ),
    (
        "kill_expect_server",
        kill::expect_server_refuses_another_server,
    ),
    (
        "kill_query_on_idle_blocker",
        kill::kill_query_on_idle_blocker_warns_and_releases_nothing,
    ),
    (
        "mysql8_statements_on_published_rows",
        mysql8_rows::statements_on_published_mysql8_rows,
    ),
    (
        "mysql8_reduced_waits_on_generated_queues",
        mysql8_rows::reduced_waits_on_generated_queues,
    ),
    (
        "deadlock_history_error_log_table",
        mysql8_rows::error_log_table_history,
    ),
    // After the deadlock tests: the server has a latest deadlock for snapshots to carry.
    (
        "snapshot_chain_offline_and_check",
        cron::snapshot_during_a_chain_renders_offline,
    ),
    (
        "snapshot_atomic_and_keep",
        cron::snapshots_appear_atomically_and_are_pruned,
    ),
    (
        "snapshot_writer_edges",
        cron::snapshot_writer_refuses_guesses_and_marks_failures,
    ),
    (
        "record_timeout_and_deadlock",
        record::record_catches_a_timeout_and_a_deadlock,
    ),
    (
        "record_keeps_percona_lock_wait_timeouts",
        record::record_keeps_percona_lock_wait_timeouts,
    ),
    (
        "dupes_groups_and_unique_key",
        cron::dupes_finds_groups_and_names_the_unique_key,
    ),
    (
        "dupes_agree_with_unique_index",
        dupes::duplicates_are_what_a_unique_index_rejects,
    ),
    (
        "dupes_binary_and_composite_keys",
        dupes::binary_and_composite_keys_page_exactly,
    ),
    (
        "dupes_scan_does_not_block_writers",
        cron::dupes_scan_does_not_block_writers,
    ),
    ("ui_watch_deadlock_view", ui::watch_deadlock_view_goes_back),
    (
        "ui_watch_kill_clears",
        ui::watch_kill_leaves_no_prompt_behind,
    ),
    (
        "ui_connect_errors",
        ui::connect_errors_say_it_once_with_a_hint,
    ),
    ("ui_kill_dry_run_audit", ui::kill_dry_run_audit_is_complete),
    ("ui_man_exit_status", ui::man_pages_have_exit_status),
    ("ui_completion_formats", ui::completion_offers_formats),
    ("ui_term_dumb_no_colour", ui::term_dumb_gets_no_colour),
    (
        "edges_deadlock_storm",
        edges::a_deadlock_storm_is_kept_whole,
    ),
    ("edges_full_disk", edges::a_full_disk_loses_no_deadlock),
    (
        "edges_timeout_burst_full_disk",
        edges::a_timeout_burst_on_a_full_disk_loses_none,
    ),
    (
        "edges_one_recorder_per_directory",
        edges::one_recorder_per_directory_and_no_password_in_argv,
    ),
    (
        "edges_killed_recorder",
        edges::a_killed_recorder_does_not_lock_its_directory,
    ),
    ("edges_two_copies_at_once", edges::two_copies_at_once_agree),
    (
        "edges_frozen_innodb_cache",
        edges::a_frozen_innodb_cache_is_never_taken_for_the_truth,
    ),
    (
        "edges_unknown_is_never_empty",
        edges::unknown_is_never_empty,
    ),
    ("edges_hostile_inputs", edges::hostile_inputs_and_arguments),
    (
        "edges_alter_pile_up_never_joined",
        edges::an_alter_pile_up_is_never_joined,
    ),
    (
        "edges_lingering_read_not_stacked",
        edges::a_lingering_read_is_not_stacked,
    ),
    (
        "edges_big_pile_up_counted_not_listed",
        edges::a_big_pile_up_is_counted_not_listed,
    ),
    // Last: the restart ends every other session.
    ("record_restart", record::record_survives_a_restart),
];

fn setup(ctx: &Ctx) {
    let mut root = ctx
        .rt
        .block_on(mysql_async::Conn::new(
            mysql_async::OptsBuilder::default()
                .socket(Some(ctx.server.socket().to_string_lossy().into_owned()))
                .user(Some("root")),
        ))
        .expect("connect to the test server");
    for sql in include_str!("schema.sql")
        .split(";\n")
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        ctx.exec(&mut root, sql);
    }
}

fn main() {
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let started = Instant::now();
    let server = match server::Server::start() {
        Ok(server) => server,
        Err(e) => {
            eprintln!("live tests: cannot start the throwaway MariaDB: {e}");
            std::process::exit(1);
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let ctx = Ctx { server, rt };
    setup(&ctx);
    eprintln!(
        "live tests: MariaDB on port {} ready in {:?}",
        ctx.server.port,
        started.elapsed()
    );

    let (mut passed, mut failed) = (0, 0);
    for (name, test) in TESTS
        .iter()
        .filter(|(name, _)| filter.as_ref().is_none_or(|f| name.contains(f.as_str())))
    {
        let t0 = Instant::now();
        match catch_unwind(AssertUnwindSafe(|| test(&ctx))) {
            Ok(()) => {
                passed += 1;
                println!("test {name} ... ok ({:.1}s)", t0.elapsed().as_secs_f64());
            }
            Err(_) => {
                failed += 1;
                println!("test {name} ... FAILED");
            }
        }
    }
    let Ctx { server, rt } = ctx;
    rt.shutdown_background();
    drop(server);
    println!(
        "live: {} JSON documents and lines validated against docs/schema/",
        schema_check::validated()
    );
    println!("live: {passed} passed, {failed} failed");
    std::process::exit(if failed > 0 { 1 } else { 0 });
}
