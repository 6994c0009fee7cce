//! Credentials in JDBC and storage URLs never reach the output: not the JSON events, not the
//! error, not the summary, whatever form the URL takes.

use super::{Scratch, weir};

/// Every output stream of a run and a lint that carry the URL, to search for the password.
fn job_output(s: &Scratch, url: &str, password: &str) -> String {
    // A stage that runs logs its SQL in its events (lint logs every stage's settings).
    let sql = format!(
        r#"{{"stages": [{{"type": "SQLTransform", "name": "log the url", "environments": ["test"],
    "sql": "SELECT '{url}' AS url", "outputView": "u"}}]}}"#
    );
    let path = s.file("sql.json", &sql);
    let lint = weir(&["lint", path.to_str().expect("utf8"), "--env", "test"], &[], s.path());
    assert_eq!(lint.code, 0, "{}", lint.all());
    assert!(lint.stdout.contains("\"event\":\"lint\""), "{}", lint.all());
    let ran = s.run_job("sql.json", &sql);
    assert_eq!(ran.code, 0, "{}", ran.all());
    // A JDBCExecute is refused (no such driver, or no SQL file): its error names the URL.
    let jdbc = format!(
        r#"{{"stages": [{{"type": "JDBCExecute", "name": "call the database", "environments": ["test"],
    "inputURI": "/nowhere.sql", "jdbcURL": "{url}", "password": "{password}"}}]}}"#
    );
    let refused = s.run_job("jdbc.json", &jdbc);
    assert_eq!(refused.code, 1, "{}", refused.all());
    format!("{}\n{}\n{}", lint.all(), ran.all(), refused.all())
}

#[test]
fn jdbc_passwords_are_masked_in_events_errors_and_summary() {
    let s = Scratch::new();
    for (url, password) in [
        ("jdbc:oracle:thin:scott/Tiger9q@db.example:1521:orcl", "Tiger9q"),
        ("jdbc:postgresql://etl:Pg5ecret@db.example/warehouse", "Pg5ecret"),
        ("jdbc:sqlserver://db.example:1433;user=etl;password=Ms5ecret;databaseName=dw", "Ms5ecret"),
        ("jdbc:mysql://db.example/dw?user=etl&pwd=My5ecret", "My5ecret"),
    ] {
        let all = job_output(&s, url, password);
        assert!(all.contains("*****"), "{url}: nothing masked\n{all}");
        assert!(!all.contains(password), "{url}: the password is in the output\n{all}");
        if url.contains("oracle") || url.contains("sqlserver") {
            assert!(all.contains("Invalid driver"), "{url}: {all}");
        }
    }
}
