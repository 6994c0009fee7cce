//! JDBCExecute, JDBCExtract and JDBCLoad against real databases: SQLite (a file), and
//! throwaway PostgreSQL and MariaDB servers started here on 127.0.0.1 (installed by
//! `./scripts/test.sh`), each with a password. The tables are checked with each database's
//! own client (psql, mariadb, rusqlite), not through Weir.

use super::{Run, Scratch};
use crate::support::{MariaDbServer, PgServer};

/// One database under test.
struct Db<'a> {
    name: &'static str,
    url: String,
    password: &'a str,
    /// Runs SQL with the database's own client, returning the first column of the first row.
    scalar: Box<dyn Fn(&str) -> String + 'a>,
    /// DDL/DML creating `people` with one row of every type and one row of NULLs.
    people_sql: &'static str,
    /// The error text the database gives for a missing table `nope`.
    missing_table: &'static str,
}

/// The expected `people` view: one row of every type, one of NULLs.
const EXPECTED: &str = "SELECT * FROM VALUES \
    (CAST(1 AS INT), 'Ann \\\"tab\\\"\\t', CAST(12.50 AS DECIMAL(10,2)), true, DATE '2024-01-31', TIMESTAMP '2024-01-31 10:11:12.345678'), \
    (CAST(2 AS INT), CAST(NULL AS STRING), CAST(NULL AS DECIMAL(10,2)), CAST(NULL AS BOOLEAN), CAST(NULL AS DATE), CAST(NULL AS TIMESTAMP)) \
    AS t(id, name, amount, ok, born, seen)";

fn stage(json: &str) -> String {
    json.replacen('{', r#"{"environments": ["test"], "#, 1)
}

fn job(stages: &[String]) -> String {
    format!(r#"{{"stages": [{}]}}"#, stages.join(",\n"))
}

impl Db<'_> {
    fn run(&self, s: &Scratch, stages: &[String]) -> Run {
        let run = s.run_job("job.json", &job(stages));
        assert!(!run.all().contains(self.password), "{}: the password is in the output\n{}", self.name, run.all());
        run
    }

    fn count(&self, table: &str) -> i64 {
        (self.scalar)(&format!("SELECT COUNT(*) FROM {table}")).parse().expect("a count")
    }

    fn extract(&self, table: &str, view: &str) -> String {
        stage(&format!(
            r#"{{"type": "JDBCExtract", "name": "extract {table}", "jdbcURL": "{}", "tableName": "{table}", "outputView": "{view}", "fetchsize": 1, "params": {{"password": "{}"}}}}"#,
            self.url, self.password
        ))
    }

    fn load(&self, view: &str, table: &str, extra: &str) -> String {
        stage(&format!(
            r#"{{"type": "JDBCLoad", "name": "load {table}", "inputView": "{view}", "jdbcURL": "{}", "tableName": "{table}", "params": {{"password": "{}"}} {extra}}}"#,
            self.url, self.password
        ))
    }

    fn execute(&self, s: &Scratch, name: &str, sql: &str) -> String {
        let path = s.file(&format!("{}.sql", name.replace(' ', "_")), sql);
        let params = if sql.contains("${second}") { r#", "sqlParams": {"second": "2"}"# } else { "" };
        stage(&format!(
            r#"{{"type": "JDBCExecute", "name": "{name}", "inputURI": "{}", "jdbcURL": "{}", "password": "{}"{params}}}"#,
            path.display(),
            self.url,
            self.password
        ))
    }

    /// Every JDBC behaviour on this database.
    fn check_all(&self) {
        let s = Scratch::new();
        let sql = |name: &str, sql: &str| {
            stage(&format!(r#"{{"type": "SQLTransform", "name": "{name}", "sql": "{sql}", "outputView": "{name}"}}"#))
        };
        let validate =
            |name: &str, sql: &str| stage(&format!(r#"{{"type": "SQLValidate", "name": "{name}", "sql": "{sql}"}}"#));
        let equal = |left: &str, right: &str| {
            stage(&format!(
                r#"{{"type": "EqualityValidate", "name": "{left} = {right}", "leftView": "{left}", "rightView": "{right}"}}"#
            ))
        };

        // JDBCExecute runs DDL and DML (sqlParams injected); JDBCExtract reads typed rows,
        // in batches of `fetchsize`; a subquery as tableName; JDBCLoad creates a table from
        // the view's types and a JDBCExtract of it equals the view (round trip).
        let run = self.run(
            &s,
            &[
                self.execute(&s, "create people", self.people_sql),
                self.extract("people", "people"),
                sql("expected", EXPECTED),
                stage(r#"{"type": "SQLTransform", "name": "typed", "sql": "SELECT id, name, amount, ok, born, CAST(seen AS TIMESTAMP) AS seen FROM people", "outputView": "typed"}"#),
                equal("typed", "expected"),
                validate("bytes", "SELECT COUNT(*) = 1 AND MAX(hex(photo)) = '01FF', 'one photo' FROM people WHERE photo IS NOT NULL"),
                self.extract("(SELECT id FROM people WHERE id > 1) AS sub", "sub"),
                validate("subquery", "SELECT COUNT(*) = 1 AND MAX(id) = 2, 'one row' FROM sub"),
                self.load("expected", "round_trip", ""),
                self.extract("round_trip", "back_raw"),
                sql("back", "SELECT id, name, amount, ok, born, CAST(seen AS TIMESTAMP) AS seen FROM back_raw"),
                equal("back", "expected"),
            ],
        );
        assert_eq!(run.code, 0, "{}: {}", self.name, run.all());
        let exit = run.exit_stage("load round_trip");
        assert_eq!(exit["records"], 2, "{}: {exit}", self.name);
        assert_eq!(exit["params"]["password"], "*****", "{}: {exit}", self.name);
        assert_eq!(self.count("round_trip"), 2, "{}", self.name);

        // saveMode: Overwrite (default) replaces, Append adds, Ignore skips, ErrorIfExists fails
        // with Arc's message.
        let three = sql("three", "SELECT CAST(id AS INT) AS id, CONCAT('n', id) AS name FROM range(3)");
        for (mode, expected) in [("Overwrite", 3), ("Append", 6), ("Append", 9), ("Overwrite", 3), ("Ignore", 3)] {
            let run =
                self.run(&s, &[three.clone(), self.load("three", "modes", &format!(r#", "saveMode": "{mode}""#))]);
            assert_eq!(run.code, 0, "{} {mode}: {}", self.name, run.all());
            assert_eq!(self.count("modes"), expected, "{} after {mode}", self.name);
        }
        let run = self.run(&s, &[three.clone(), self.load("three", "modes", r#", "saveMode": "ErrorIfExists""#)]);
        assert_eq!(run.code, 1, "{}: {}", self.name, run.all());
        assert!(
            run.stderr
                .contains("Table 'modes' already exists and 'saveMode' equals 'ErrorIfExists' so cannot continue."),
            "{}: {}",
            self.name,
            run.stderr
        );
        let run = self.run(
            &s,
            &[three.clone(), self.load("three", "fresh", r#", "saveMode": "ErrorIfExists", "truncate": true"#)],
        );
        assert_eq!(run.code, 0, "{}: {}", self.name, run.all());
        assert_eq!(self.count("fresh"), 3, "{}", self.name);

        // All or nothing: 2500 rows in batches of 1000 whose last row breaks the primary key of
        // the existing table. Overwrite's delete and every batch are rolled back.
        let run = self.run(
            &s,
            &[self.execute(
                &s,
                "keyed",
                "CREATE TABLE keyed (id INTEGER PRIMARY KEY, name VARCHAR(20)); INSERT INTO keyed VALUES (7, 'kept')",
            )],
        );
        assert_eq!(run.code, 0, "{}: {}", self.name, run.all());
        let clash = sql(
            "clash",
            "SELECT * FROM (SELECT CAST(id AS INT) AS id, 'new' AS name FROM range(10, 2509) UNION ALL SELECT 2508, 'again') AS u ORDER BY id, name DESC",
        );
        let run =
            self.run(&s, &[clash, self.load("clash", "keyed", r#", "batchsize": 1000, "saveMode": "Overwrite""#)]);
        assert_eq!(run.code, 1, "{}: {}", self.name, run.all());
        assert_eq!(self.count("keyed"), 1, "{}: nothing half-loaded", self.name);
        assert_eq!((self.scalar)("SELECT name FROM keyed"), "kept", "{}", self.name);

        // Run-time failures carry the database's message.
        let run = self.run(&s, &[self.execute(&s, "broken", "SELECT * FROM nope")]);
        assert_eq!(run.code, 1, "{}: {}", self.name, run.all());
        assert!(run.stderr.contains(self.missing_table), "{}: {}", self.name, run.stderr);
        let run = self.run(&s, &[self.extract("nope", "n")]);
        assert_eq!(run.code, 1, "{}: {}", self.name, run.all());
        assert!(run.stderr.contains(self.missing_table), "{}: {}", self.name, run.stderr);
    }
}

const PEOPLE_SQLITE: &str =
    "CREATE TABLE people (id INT, name TEXT, amount DECIMAL(10,2), ok BOOLEAN, born DATE, seen TIMESTAMP, photo BLOB);
INSERT INTO people VALUES (1, 'Ann \"tab\"' || char(9), 12.5, 1, '2024-01-31', '2024-01-31 10:11:12.345678', X'01FF');
INSERT INTO people VALUES (${second}, NULL, NULL, NULL, NULL, NULL, NULL);";

const PEOPLE_PG: &str = "CREATE TABLE people (id INTEGER, name TEXT, amount NUMERIC(10,2), ok BOOLEAN, born DATE, seen TIMESTAMPTZ, photo BYTEA);
INSERT INTO people VALUES (1, E'Ann \"tab\"\\t', 12.5, true, '2024-01-31', '2024-01-31 11:11:12.345678+01', '\\x01ff');
INSERT INTO people VALUES (${second}, NULL, NULL, NULL, NULL, NULL, NULL);";

const PEOPLE_MARIADB: &str = "CREATE TABLE people (id INT, name TEXT, amount DECIMAL(10,2), ok BOOLEAN, born DATE, seen DATETIME(6), photo BLOB) ENGINE=InnoDB;
INSERT INTO people VALUES (1, 'Ann \"tab\"\\t', 12.5, true, '2024-01-31', '2024-01-31 10:11:12.345678', X'01FF');
INSERT INTO people VALUES (${second}, NULL, NULL, NULL, NULL, NULL, NULL);";

#[test]
fn jdbc_sqlite_execute_extract_load() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("shop.db");
    let db_file = file.clone();
    Db {
        name: "SQLite",
        url: format!("jdbc:sqlite:{}", file.display()),
        password: "unused-Sq1ite-pw",
        scalar: Box::new(move |sql| {
            let conn = rusqlite::Connection::open(&db_file).expect("open");
            conn.query_row(sql, [], |r| r.get::<_, rusqlite::types::Value>(0))
                .map(|v| match v {
                    rusqlite::types::Value::Integer(i) => i.to_string(),
                    rusqlite::types::Value::Text(t) => t,
                    other => format!("{other:?}"),
                })
                .expect("query")
        }),
        people_sql: PEOPLE_SQLITE,
        missing_table: "no such table: nope",
    }
    .check_all();
}

#[test]
fn jdbc_postgresql_execute_extract_load() {
    let password = "Pg-s3cret-9x";
    let pg = PgServer::start_with_password(password);
    Db {
        name: "PostgreSQL",
        url: format!("jdbc:postgresql://127.0.0.1:{}/postgres?user=postgres", pg.port()),
        password,
        scalar: Box::new(|sql| pg.psql(Some(password), sql).lines().next().unwrap_or_default().to_string()),
        people_sql: PEOPLE_PG,
        missing_table: "relation \"nope\" does not exist",
    }
    .check_all();

    // A wrong password: the server's refusal, naming neither password.
    let s = Scratch::new();
    let url = format!("jdbc:postgresql://127.0.0.1:{}/postgres?user=postgres&password=Wr0ng-pw", pg.port());
    let sql = s.file("q.sql", "SELECT 1");
    let run = s.run_job(
        "job.json",
        &job(&[stage(&format!(
            r#"{{"type": "JDBCExecute", "name": "wrong", "inputURI": "{}", "jdbcURL": "{url}"}}"#,
            sql.display()
        ))]),
    );
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("password authentication failed"), "{}", run.stderr);
    assert!(run.stderr.contains(&format!("127.0.0.1:{}", pg.port())), "{}", run.stderr);
    assert!(!run.all().contains("Wr0ng-pw") && !run.all().contains(password), "{}", run.all());
}

#[test]
fn jdbc_mariadb_execute_extract_load() {
    let password = "Maria-s3cret-7y";
    let db = MariaDbServer::start(password);
    for prefix in ["jdbc:mariadb", "jdbc:mysql"] {
        let _ = db.root_sql("DROP DATABASE weir; CREATE DATABASE weir");
        Db {
            name: "MariaDB",
            url: format!("{prefix}://127.0.0.1:{}/{}?user={}", db.port(), MariaDbServer::DATABASE, MariaDbServer::USER),
            password,
            scalar: Box::new(|sql| {
                db.root_sql(&format!("USE weir; {sql}")).lines().next().unwrap_or_default().to_string()
            }),
            people_sql: PEOPLE_MARIADB,
            missing_table: "Table 'weir.nope' doesn't exist",
        }
        .check_all();
    }
}

#[test]
fn jdbc_unreachable_server_names_the_host_and_never_the_password() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
    let s = Scratch::new();
    let sql = s.file("q.sql", "SELECT 1");
    for url in [
        format!("jdbc:postgresql://127.0.0.1:{port}/db?user=u&password=Cl0sed-pw"),
        format!("jdbc:mysql://u:Cl0sed-pw@127.0.0.1:{port}/db"),
    ] {
        for stage_json in [
            format!(r#"{{"type": "JDBCExecute", "name": "x", "inputURI": "{}", "jdbcURL": "{url}"}}"#, sql.display()),
            format!(
                r#"{{"type": "JDBCExtract", "name": "x", "jdbcURL": "{url}", "tableName": "t", "outputView": "v"}}"#
            ),
        ] {
            let run = s.run_job("job.json", &job(&[stage(&stage_json)]));
            assert_eq!(run.code, 1, "{}", run.all());
            assert!(run.stderr.contains(&format!("cannot connect to 127.0.0.1:{port}")), "{url}: {}", run.stderr);
            assert!(!run.all().contains("Cl0sed-pw"), "{url}: {}", run.all());
        }
    }
}

#[test]
fn jdbc_extract_attaches_the_schemas_metadata() {
    let s = Scratch::new();
    let file = s.path().join("meta.db");
    let conn = rusqlite::Connection::open(&file).expect("open");
    conn.execute_batch("CREATE TABLE t (id INTEGER NOT NULL, name TEXT); INSERT INTO t VALUES (1, 'a');")
        .expect("create");
    drop(conn);
    s.file(
        "schema.json",
        r#"[{"name": "id", "type": "integer", "nullable": false, "description": "the key", "metadata": {"pii": false}},
            {"name": "absent", "type": "string", "nullable": true}]"#,
    );
    let extract = stage(&format!(
        r#"{{"type": "JDBCExtract", "name": "read", "jdbcURL": "jdbc:sqlite:{}", "tableName": "t", "outputView": "t", "schemaURI": "{}"}}"#,
        file.display(),
        s.path().join("schema.json").display()
    ));
    let meta = stage(r#"{"type": "MetadataExtract", "name": "meta", "inputView": "t", "outputView": "meta"}"#);
    let log = stage(
        r#"{"type": "LogExecute", "name": "log", "sql": "SELECT TO_JSON(COLLECT_LIST(CONCAT(name, ':', type, ':', COALESCE(metadata.description, ''), ':', COALESCE(CAST(metadata.pii AS STRING), '')))) FROM meta"}"#,
    );
    let run = s.run_job("job.json", &job(&[extract, meta, log]));
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.exit_stage("read")["schemaURI"], s.path().join("schema.json").display().to_string());
    assert_eq!(
        run.exit_stage("log")["message"],
        serde_json::json!(["id:long:the key:false", "name:string::"]),
        "types from the database, metadata from the schema"
    );
}

#[test]
fn jdbc_config_errors_use_arcs_messages() {
    let s = Scratch::new();
    let cases = [
        (
            r#"{"type": "JDBCExtract", "name": "x", "jdbcURL": "jdbc:sqlite::memory:", "outputView": "v"}"#,
            "Missing required attribute 'tableName'.",
        ),
        (
            r#"{"type": "JDBCExtract", "name": "x", "tableName": "t", "outputView": "v"}"#,
            "Missing required attribute 'jdbcURL'.",
        ),
        (
            r#"{"type": "JDBCLoad", "name": "x", "jdbcURL": "jdbc:sqlite::memory:", "inputView": "v"}"#,
            "Missing required attribute 'tableName'.",
        ),
        (
            r#"{"type": "JDBCLoad", "name": "x", "jdbcURL": "jdbc:sqlite::memory:", "tableName": "t"}"#,
            "Missing required attribute 'inputView'.",
        ),
        (
            r#"{"type": "JDBCLoad", "name": "x", "jdbcURL": "jdbc:sqlite::memory:", "tableName": "t", "inputView": "v", "saveMode": "Replace"}"#,
            "Invalid value 'Replace'. Expected one of: ['Append', 'ErrorIfExists', 'Ignore', 'Overwrite'].",
        ),
        (
            r#"{"type": "JDBCExecute", "name": "x", "jdbcURL": "jdbc:sqlite::memory:", "sql": "SELECT 1"}"#,
            "Missing required attribute 'inputURI'.",
        ),
        (
            r#"{"type": "JDBCExtract", "name": "x", "jdbcURL": "jdbc:sqlserver://h:1433;user=sa;password=Ms-s3cret", "tableName": "t", "outputView": "v"}"#,
            "Invalid driver for ('jdbc:sqlserver://h:1433;user=sa;password=*****'). Available JDBC drivers: [jdbc:postgresql, jdbc:mysql, jdbc:mariadb, jdbc:sqlite].",
        ),
        (
            r#"{"type": "JDBCExtract", "name": "x", "jdbcURL": "jdbc:sqlite::memory:", "tableName": "t", "outputView": "v", "schemaURI": "/weir-no-such-schema.json"}"#,
            "/weir-no-such-schema.json",
        ),
    ];
    for (json, message) in cases {
        let run = s.run_job("job.json", &job(&[stage(json)]));
        assert_eq!(run.code, 1, "{json}: {}", run.all());
        assert!(run.stderr.contains(message), "{json}\nwanted: {message}\n{}", run.stderr);
        assert!(!run.all().contains("Ms-s3cret"), "{}", run.all());
        assert!(
            !run.events().iter().any(|e| e["event"] == "enter" && e.get("stage").is_some()),
            "nothing ran: {}",
            run.all()
        );
    }
}
