//! Partner keys for operators and for development.

use std::{fs, io::Write as _, path::Path};

use anyhow::Context as _;
use paymesh_identity::CreatedPartner;
use paymesh_kit::config::CommonConfig;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

/// The development partner's keys, kept on the developer's machine.
#[derive(Debug, Serialize, Deserialize)]
struct DevPartner {
    partner_id: String,
    keys: Vec<String>,
}

/// Prints a new partner's keys.
pub(crate) fn print_partner(partner: &CreatedPartner, json: bool) -> anyhow::Result<()> {
    if json {
        let keys: serde_json::Map<String, serde_json::Value> = partner
            .keys
            .iter()
            .map(|k| {
                (k.class.prefix().trim_end_matches('_').to_owned(), serde_json::Value::String(k.key.clone()))
            })
            .collect();
        println!("{}", serde_json::json!({"partner_id": partner.id, "name": partner.name, "keys": keys}));
    } else {
        println!("partner {} ({})", partner.id, partner.name);
        for key in &partner.keys {
            println!("  {}", key.key);
        }
        println!("These keys are shown only now; paymesh keeps their hashes.");
    }
    Ok(())
}

/// The development partner's test secret key: the one in `state_file` while
/// it still works, otherwise a new partner's (saved to `state_file`).
pub(crate) async fn dev_partner_key(
    common: &CommonConfig,
    pool: &PgPool,
    state_file: &Path,
) -> anyhow::Result<String> {
    if let Ok(text) = fs::read_to_string(state_file) {
        let saved: DevPartner = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a development partner file", state_file.display()))?;
        if let Some(key) = saved.keys.iter().find(|k| k.starts_with("test_secret_key_"))
            && paymesh_identity::admin::principal_for_key(common, pool, key).await?.is_some()
        {
            return Ok(key.clone());
        }
        tracing::info!(file = %state_file.display(), "saved development keys no longer work; creating a new partner");
    }
    let partner = paymesh_identity::admin::create_partner(
        common,
        pool,
        "Development partner",
        "developer@paymesh.test",
    )
    .await?;
    let saved = DevPartner {
        partner_id: partner.id.to_string(),
        keys: partner.keys.iter().map(|k| k.key.clone()).collect(),
    };
    if let Some(dir) = state_file.parent() {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut file = open_private(state_file)?;
    file.write_all(serde_json::to_string_pretty(&saved)?.as_bytes())?;
    saved
        .keys
        .into_iter()
        .find(|k| k.starts_with("test_secret_key_"))
        .context("the new partner has no test secret key")
}

/// Creates (or truncates) a file only its owner can read.
fn open_private(path: &Path) -> anyhow::Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(path).with_context(|| format!("cannot write {}", path.display()))
}
