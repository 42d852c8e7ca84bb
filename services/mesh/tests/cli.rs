//! The `paymesh` binary as operators run it.

// Tests fail by panicking: unwrap and expect are their assertions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    net::TcpListener,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use paymesh_kit::testing::TestDatabase;

fn paymesh() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_paymesh"));
    command.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
    command
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn invalid_settings_are_all_reported_before_anything_starts() {
    let output = paymesh()
        .args(["all"])
        .env("PAYMESH_LOG_FORMAT", "yaml")
        .env("PAYMESH_GATEWAY_ADDR", "localhost")
        .env("DATABASE_URL", "mysql://root:hunter2@db/x")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    for name in ["PAYMESH_LOG_FORMAT", "PAYMESH_GATEWAY_ADDR", "DATABASE_URL"] {
        assert!(stderr.contains(name), "{name} missing from {stderr}");
    }
    assert!(!stderr.contains("hunter2"), "{stderr}");
}

#[tokio::test]
async fn the_development_partner_keeps_its_key() {
    let db = TestDatabase::create().await.unwrap();
    let dir = std::env::temp_dir().join(format!("paymesh-cli-{}", std::process::id()));
    let state = dir.join("dev-partner.json");
    let run = || {
        let output = paymesh()
            .args(["partner", "dev", "--state-file", state.to_str().unwrap()])
            .env("DATABASE_URL", db.url())
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap().trim().to_owned()
    };
    let first = run();
    assert!(first.starts_with("test_secret_key_"), "{first}");
    assert_eq!(run(), first);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(&state).unwrap().permissions().mode() & 0o777, 0o600);
    }
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn paymesh_all_serves_and_stops_cleanly_on_sigterm() {
    let db = TestDatabase::create().await.unwrap();
    let (gateway, identity, metrics) = (free_port(), free_port(), free_port());
    let created = paymesh()
        .args(["partner", "create", "--name", "CLI", "--email", "ops@cli.example", "--json"])
        .env("DATABASE_URL", db.url())
        .output()
        .unwrap();
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let partner: serde_json::Value = serde_json::from_slice(&created.stdout).unwrap();
    let key = partner["keys"]["test_secret_key"].as_str().unwrap().to_owned();

    let child = paymesh()
        .arg("all")
        .env("DATABASE_URL", db.url())
        .env("PAYMESH_GATEWAY_ADDR", format!("127.0.0.1:{gateway}"))
        .env("PAYMESH_IDENTITY_ADDR", format!("127.0.0.1:{identity}"))
        // The services the test does not call listen where the system puts
        // them (`paymesh all` points its clients at the bound addresses);
        // their default ports could be taken by any other connection.
        .env("PAYMESH_METHODS_ADDR", "127.0.0.1:0")
        .env("PAYMESH_INTENTS_ADDR", "127.0.0.1:0")
        .env("PAYMESH_PAYMENTS_ADDR", "127.0.0.1:0")
        .env("PAYMESH_LOG_FORMAT", "json")
        .env("PAYMESH_METRICS_ADDR", format!("127.0.0.1:{metrics}"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{gateway}");
    let started = Instant::now();
    loop {
        if let Ok(r) = client.get(format!("{base}/readyz")).send().await
            && r.status() == 200
        {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "paymesh all did not become ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let reply = client.get(format!("{base}/customers")).basic_auth(&key, Some("")).send().await.unwrap();
    assert_eq!(reply.status(), 200);

    // Metrics are served on their own port, not the gateway's.
    let scraped = client.get(format!("http://127.0.0.1:{metrics}/metrics")).send().await.unwrap();
    assert_eq!(scraped.status(), 200);
    let text = scraped.text().await.unwrap();
    assert!(
        text.contains(r#"paymesh_http_requests_total{method="GET",route="/customers",status="200"} 1"#),
        "{text}"
    );
    assert!(text.contains(r#"method="ListAccounts",code="OK"} 1"#), "{text}");
    assert_eq!(client.get(format!("{base}/metrics")).send().await.unwrap().status(), 404);

    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "exit: {:?}", output.status);
    let logs = String::from_utf8(output.stderr).unwrap();
    assert!(logs.contains("SIGTERM received"), "{logs}");
    assert!(logs.contains("gateway stopped") && logs.contains("gRPC server stopped"), "{logs}");
    // JSON logs: one object per line, and no key anywhere.
    for line in logs.lines().filter(|l| !l.trim().is_empty()) {
        serde_json::from_str::<serde_json::Value>(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    }
    assert!(!logs.contains(&key));
}
