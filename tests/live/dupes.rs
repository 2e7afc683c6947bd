//! `dupes` judged by the server itself: the duplicates it reports are exactly
//! those an `ALTER TABLE … ADD UNIQUE KEY` on a copy rejects, its cleanup
//! removes exactly the reported extra rows, and any primary-key type pages
//! exactly whatever the chunk size.

use mysql_async::prelude::Queryable;
use mysql_async::Conn;

use crate::ctx::Ctx;

/// The server's verdict: does `ADD UNIQUE KEY (columns)` fail on a copy of `table`?
fn unique_key_rejected(ctx: &Ctx, conn: &mut Conn, table: &str, columns: &str) -> bool {
    let copy = format!("{table}_oracle");
    ctx.exec(conn, &format!("DROP TABLE IF EXISTS {copy}"));
    ctx.exec(conn, &format!("CREATE TABLE {copy} LIKE {table}"));
    ctx.exec(conn, &format!("INSERT INTO {copy} SELECT * FROM {table}"));
    let result = ctx.rt.block_on(conn.query_drop(format!(
        "ALTER TABLE {copy} ADD UNIQUE KEY oracle ({columns})"
    )));
    ctx.exec(conn, &format!("DROP TABLE {copy}"));
    match result {
        Ok(()) => false,
        Err(mysql_async::Error::Server(e)) if e.code == 1062 => true,
        Err(e) => panic!("ALTER on a copy of {table}: {e}"),
    }
}

/// Primary keys of `table` as dupes shows them (`0x…` for binary), sorted.
fn primary_keys(ctx: &Ctx, conn: &mut Conn, sql: &str) -> Vec<String> {
    let mut keys: Vec<String> = ctx.rt.block_on(conn.query(sql)).unwrap();
    keys.sort();
    keys
}

/// Runs dupes on `table`, checks its verdict against the server's, runs its
/// cleanup on the table itself and checks that exactly the reported extra rows
/// went and the UNIQUE key now goes on. Returns the dupes document.
fn agrees_with_server(
    ctx: &Ctx,
    conn: &mut Conn,
    table: &str,
    columns: &str,
    pk_sql: &str,
    extra: &[&str],
) -> serde_json::Value {
    let mut args = vec!["dupes", "--table", table, "--columns", columns];
    args.extend_from_slice(extra);
    let doc = ctx.lockdiag_json(&args);
    let groups = doc["duplicate_groups"].as_u64().unwrap();
    assert_eq!(
        unique_key_rejected(ctx, conn, table, columns),
        groups > 0,
        "the server and dupes disagree on {table}: {doc:#}"
    );
    if groups == 0 {
        return doc;
    }
    assert_eq!(doc["fix"]["cleanup_covers_all"], true, "{doc:#}");
    let mut expected_gone: Vec<String> = doc["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| {
            g["primary_keys"].as_array().unwrap()[1..]
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    expected_gone.sort();
    assert_eq!(
        expected_gone.len() as u64,
        doc["extra_rows"].as_u64().unwrap()
    );
    let before = primary_keys(ctx, conn, pk_sql);
    let script = doc["fix"]["cleanup"].as_str().unwrap();
    ctx.exec(conn, script);
    let after = primary_keys(ctx, conn, pk_sql);
    let gone: Vec<String> = before.into_iter().filter(|k| !after.contains(k)).collect();
    assert_eq!(
        gone, expected_gone,
        "the cleanup of {table} removed other rows:\n{script}"
    );
    assert!(
        !unique_key_rejected(ctx, conn, table, columns),
        "duplicates left in {table} after the cleanup"
    );
    doc
}

fn keys_of(doc: &serde_json::Value) -> Vec<Vec<String>> {
    let mut spellings: Vec<Vec<String>> = doc["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            let mut s: Vec<String> = g["spellings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k[0].as_str().unwrap().to_string())
                .collect();
            s.sort();
            s
        })
        .collect();
    spellings.sort();
    spellings
}

pub fn duplicates_are_what_a_unique_index_rejects(ctx: &Ctx) {
    let mut conn = ctx.conn();
    // One table per collation: case-insensitive with PAD SPACE, binary with PAD SPACE,
    // binary without padding, accent-insensitive.
    let rows =
        "('pk_ABC'), ('pk_abc'), ('pk_x'), ('pk_x '), ('solo'), ('café'), ('cafe'), (NULL), (NULL)";
    let cases = [
        (
            "utf8mb4_general_ci",
            vec![
                vec!["cafe", "café"],
                vec!["pk_ABC", "pk_abc"],
                vec!["pk_x", "pk_x "],
            ],
        ),
        ("utf8mb4_bin", vec![vec!["pk_x", "pk_x "]]),
        ("utf8mb4_nopad_bin", vec![]),
        (
            "utf8mb4_unicode_ci",
            vec![
                vec!["cafe", "café"],
                vec!["pk_ABC", "pk_abc"],
                vec!["pk_x", "pk_x "],
            ],
        ),
    ];
    // Each collation twice: a nullable column without an index (two passes by
    // digest), and a NOT NULL indexed one (one pass in index order).
    let variants = cases.iter().flat_map(|case| [(case, false), (case, true)]);
    for ((collation, expected), indexed) in variants {
        let table = format!("shop.dup_{collation}");
        let (column, rows) = if indexed {
            (
                "NOT NULL, KEY ik (payment_key)",
                rows.replace(", (NULL), (NULL)", ""),
            )
        } else {
            ("NULL", rows.to_string())
        };
        ctx.exec(&mut conn, &format!("DROP TABLE IF EXISTS {table}"));
        ctx.exec(
            &mut conn,
            &format!(
                "CREATE TABLE {table} (id INT AUTO_INCREMENT PRIMARY KEY, \
                 payment_key VARCHAR(40) CHARACTER SET utf8mb4 COLLATE {collation} {column})"
            ),
        );
        ctx.exec(
            &mut conn,
            &format!("INSERT INTO {table} (payment_key) VALUES {rows}"),
        );
        let doc = agrees_with_server(
            ctx,
            &mut conn,
            &table,
            "payment_key",
            &format!("SELECT CAST(id AS CHAR) FROM {table}"),
            &["--chunk-rows", "3"],
        );
        let expected: Vec<Vec<String>> = expected
            .iter()
            .map(|g| g.iter().map(|s| s.to_string()).collect())
            .collect();
        assert_eq!(keys_of(&doc), expected, "{collation}: {doc:#}");
        assert_eq!(doc["collations"][0], *collation, "{doc:#}");
        assert_eq!(doc["rows_with_null_key"], if indexed { 0 } else { 2 });
        assert_eq!(
            doc["read_through_index"].as_str(),
            indexed.then_some("ik"),
            "{doc:#}"
        );
        let one_pass = indexed || expected.is_empty();
        assert_eq!(doc["passes"], if one_pass { 1 } else { 2 }, "{doc:#}");
        ctx.exec(&mut conn, &format!("DROP TABLE {table}"));
    }
}

pub fn binary_and_composite_keys_page_exactly(ctx: &Ctx) {
    let mut conn = ctx.conn();
    // 100 rows keyed by BINARY(16) digests (bytes 0x00, 0xff, invalid UTF-8 among them);
    // 60 distinct keys, 40 of them twice.
    // Read by primary key (two passes), then through an index on the key (one pass).
    for index in ["", ", KEY ik (k)"] {
        binary_keys_page_exactly(ctx, &mut conn, index);
    }
    composite_keys_page_exactly(ctx, &mut conn);
}

fn binary_keys_page_exactly(ctx: &Ctx, conn: &mut Conn, index: &str) {
    ctx.exec(conn, "DROP TABLE IF EXISTS shop.dup_uuid");
    ctx.exec(
        conn,
        &format!(
            "CREATE TABLE shop.dup_uuid (id BINARY(16) PRIMARY KEY, k BINARY(16) NOT NULL{index})"
        ),
    );
    ctx.exec(
        conn,
        "INSERT INTO shop.dup_uuid SELECT UNHEX(MD5(seq)), UNHEX(MD5(seq MOD 60)) FROM seq_1_to_100",
    );
    for chunk in ["1", "7", "10", "100", "10000"] {
        let doc = ctx.lockdiag_json(&[
            "dupes",
            "--table",
            "shop.dup_uuid",
            "--columns",
            "k",
            "--chunk-rows",
            chunk,
            "--limit",
            "100",
        ]);
        assert_eq!(
            (
                doc["rows_scanned"].as_u64(),
                doc["duplicate_groups"].as_u64(),
                doc["extra_rows"].as_u64()
            ),
            (Some(100), Some(40), Some(40)),
            "--chunk-rows {chunk}: {doc:#}"
        );
        let key = doc["groups"][0]["key"][0].as_str().unwrap();
        assert!(key.starts_with("0x") && key.len() == 34, "hex: {key}");
        assert_eq!(
            doc["read_through_index"].is_string(),
            !index.is_empty(),
            "{doc:#}"
        );
    }
    agrees_with_server(
        ctx,
        conn,
        "shop.dup_uuid",
        "k",
        "SELECT CONCAT('0x', LOWER(HEX(id))) FROM shop.dup_uuid",
        &["--chunk-rows", "7", "--limit", "100"],
    );
    ctx.exec(conn, "DROP TABLE shop.dup_uuid");
}

fn composite_keys_page_exactly(ctx: &Ctx, conn: &mut Conn) {
    // A composite primary key (INT, VARCHAR) and a composite key (DATETIME(6), DECIMAL).
    ctx.exec(conn, "DROP TABLE IF EXISTS shop.dup_comp");
    ctx.exec(
        conn,
        "CREATE TABLE shop.dup_comp (a INT, b VARCHAR(10), at DATETIME(6) NULL, amount DECIMAL(10,2) NULL, \
         PRIMARY KEY (a, b))",
    );
    ctx.exec(
        conn,
        "INSERT INTO shop.dup_comp VALUES \
         (1, 'x', '2024-01-01 10:00:00.5', 10.5), (1, 'y', '2024-01-01 10:00:00.5', 10.50), \
         (2, 'x', '2024-01-01 10:00:00.5', 10.5), (2, 'y', '2024-01-01 10:00:00', 10.5), \
         (3, 'it''s', '2024-01-01 10:00:00', 10.51), (3, 'z', '2024-01-01 10:00:00', 10.51), \
         (4, 'a', NULL, 1), (4, 'b', NULL, 1)",
    );
    for chunk in ["1", "2", "100"] {
        let doc = agrees_with_server(
            ctx,
            conn,
            "shop.dup_comp",
            "at,amount",
            "SELECT CONCAT(a, ',', b) FROM shop.dup_comp",
            &["--chunk-rows", chunk],
        );
        if chunk == "1" {
            assert_eq!(doc["rows_scanned"], 8, "{doc:#}");
            assert_eq!(doc["duplicate_groups"], 2, "{doc:#}");
            assert_eq!(
                doc["groups"][0]["key"],
                serde_json::json!(["2024-01-01 10:00:00.500000", "10.50"]),
                "{doc:#}"
            );
            assert_eq!(
                doc["groups"][0]["primary_keys"],
                serde_json::json!(["1,x", "1,y", "2,x"])
            );
            assert_eq!(
                doc["groups"][1]["primary_keys"],
                serde_json::json!(["3,it's", "3,z"])
            );
        } else {
            assert_eq!(doc["duplicate_groups"], 0, "the cleanup ran: {doc:#}");
        }
    }
    // The same key NOT NULL with an index on (amount, at): read in index order,
    // the bound spans (amount, at, a, b).
    ctx.exec(conn, "DROP TABLE IF EXISTS shop.dup_comp2");
    ctx.exec(
        conn,
        "CREATE TABLE shop.dup_comp2 (a INT, b VARCHAR(10), at DATETIME(6) NOT NULL, \
         amount DECIMAL(10,2) NOT NULL, PRIMARY KEY (a, b), KEY ix (amount, at))",
    );
    ctx.exec(
        conn,
        "INSERT INTO shop.dup_comp2 VALUES \
         (1, 'x', '2024-01-01 10:00:00.5', 10.5), (1, 'y', '2024-01-01 10:00:00.5', 10.50), \
         (2, 'x', '2024-01-01 10:00:00.5', 10.5), (2, 'y', '2024-01-01 10:00:00', 10.5), \
         (3, 'it''s', '2024-01-01 10:00:00', 10.51), (3, 'z', '2024-01-01 10:00:00', 10.51)",
    );
    for chunk in ["1", "4"] {
        let doc = ctx.lockdiag_json(&[
            "dupes",
            "--table",
            "shop.dup_comp2",
            "--columns",
            "at,amount",
            "--chunk-rows",
            chunk,
        ]);
        assert_eq!(doc["read_through_index"], "ix", "{doc:#}");
        assert_eq!(doc["rows_scanned"], 6, "{doc:#}");
        assert_eq!(doc["duplicate_groups"], 2, "{doc:#}");
        assert_eq!(
            doc["groups"][0]["primary_keys"],
            serde_json::json!(["1,x", "1,y", "2,x"]),
            "{doc:#}"
        );
    }
    agrees_with_server(
        ctx,
        conn,
        "shop.dup_comp2",
        "at,amount",
        "SELECT CONCAT(a, ',', b) FROM shop.dup_comp2",
        &["--chunk-rows", "1"],
    );
    ctx.exec(conn, "DROP TABLE shop.dup_comp");
    ctx.exec(conn, "DROP TABLE shop.dup_comp2");
}
