//! A lock pile-up for benchmarks (`bench/pileup.sh`): one session holds a row of
//! `shop.hot` in an open transaction and N sessions wait for it, all on one
//! process's connections (2,000 `mariadb` clients would take gigabytes). Prints
//! `ready N` once InnoDB counts N row-lock waits, then holds everything until its
//! standard input closes, and ends the pile-up.
//!
//! `cargo run --release --example pileup -- SOCKET N`

use std::io::Read;
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder};

async fn connect(socket: &str) -> Conn {
    let opts = OptsBuilder::default()
        .socket(Some(socket.to_string()))
        .user(Some("root"))
        .db_name(Some("shop"));
    Conn::new(opts).await.expect("connect to the bench server")
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(socket), Some(count)) =
        (args.get(1), args.get(2).and_then(|n| n.parse::<u64>().ok()))
    else {
        eprintln!("usage: pileup SOCKET N");
        std::process::exit(2);
    };
    let mut admin = connect(socket).await;
    admin
        .query_drop(
            "CREATE TABLE IF NOT EXISTS hot (id INT PRIMARY KEY, v INT NOT NULL) ENGINE=InnoDB",
        )
        .await
        .unwrap();
    admin
        .query_drop("INSERT IGNORE INTO hot VALUES (1, 0)")
        .await
        .unwrap();
    let mut holder = connect(socket).await;
    holder.query_drop("BEGIN").await.unwrap();
    holder
        .query_drop("UPDATE hot SET v = v + 1 WHERE id = 1")
        .await
        .unwrap();
    let mut waiters = Vec::new();
    for _ in 0..count {
        let mut conn = connect(socket).await;
        waiters.push(tokio::spawn(async move {
            // Waits until the holder ends; the error (a KILL, the server gone) ends it too.
            let _ = conn
                .query_drop("UPDATE hot SET v = v + 1 WHERE id = 1")
                .await;
            conn
        }));
    }
    let started = Instant::now();
    loop {
        let waiting: Option<u64> = admin
            .query_first(
                "SELECT COUNT FROM information_schema.INNODB_METRICS WHERE NAME = 'lock_row_lock_current_waits'",
            )
            .await
            .unwrap();
        if waiting.unwrap_or(0) >= count {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "only {waiting:?} of {count} waiting after 2 minutes"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!("ready {count}");
    // Hold until the bench closes our standard input.
    tokio::task::spawn_blocking(|| {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
    })
    .await
    .unwrap();
    holder.query_drop("ROLLBACK").await.unwrap();
    for waiter in waiters {
        if let Ok(mut conn) = waiter.await {
            let _ = conn.query_drop("ROLLBACK").await;
        }
    }
}
