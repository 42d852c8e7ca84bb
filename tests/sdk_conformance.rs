//! The official partner SDKs, unmodified, against the whole mesh: runs the
//! pytest suites in `tests/sdk/` (the Payload SDK `payload-api` and the
//! PlacePay SDK `place-api`; the Payload reference's own examples) with the
//! Python environment `make venv` creates, pointed at a gateway of their
//! own. `make test` creates it first.

// Tests fail by panicking: unwrap and expect are their assertions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{path::PathBuf, process::Command};

use paymesh_tests::{Mesh, key, test_key};

/// The repository's root.
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs the pytest suite `suite` (relative to the root) against a mesh of
/// its own, and checks that every test of it ran and passed.
async fn pytest(suite: &str) {
    let python = root().join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run `make venv` (make test does) to install the SDKs and pytest",
        python.display()
    );
    // PlacePay's event registration names a handler URL: here, loopback.
    let mesh = Mesh::start_with(&[("PAYMESH_WEBHOOK_ALLOW_PRIVATE", "true")]).await;
    let mut command = Command::new(python);
    command
        .current_dir(root())
        .args(["-m", "pytest", suite, "-q", "-p", "no:cacheprovider", "--color=no"])
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PAYMESH_URL", &mesh.url)
        .env("PAYMESH_KEY", test_key(&mesh.acme))
        .env("PAYMESH_OTHER_KEY", test_key(&mesh.globex))
        .env("PAYMESH_LIVE_KEY", key(&mesh.acme, "secret_key_"))
        .env("PAYMESH_PROCESSING", mesh.acme.default_accounts[0].to_string());
    // The mesh serves on this test's runtime; the suite waits off it.
    let output = tokio::task::spawn_blocking(move || command.output()).await.unwrap().expect("pytest runs");
    let report =
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "the suite {suite} failed:\n{report}");
    // Every test ran: none was skipped or deselected.
    let summary = report.lines().rev().find(|l| l.contains(" passed")).unwrap_or_default();
    assert!(
        !summary.is_empty() && !summary.contains("skipped") && !summary.contains("deselected"),
        "unexpected summary: {summary}\n{report}"
    );
    mesh.assert_ledger_invariants().await;
}

#[tokio::test]
async fn the_payload_and_placepay_sdks_work_unmodified() {
    pytest("tests/sdk").await;
}

/// Every Python example of the Payload reference, as printed: see
/// `tests/sdk/reference_payload.py`.
#[tokio::test]
async fn the_payload_references_python_examples_run_as_written() {
    pytest("tests/sdk/reference_payload.py").await;
}
