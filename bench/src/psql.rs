//! The bench's own SQL, through `psql`: the helpers of `bench-setup.sql`,
//! the ids behind the bench partner, and the seeding of the list query's
//! transactions (`bench-seed.sql`). The database is the scratch one
//! `scripts/scratch-mesh.sh` made, dropped after the run.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::Context as _;

/// `psql` against one database.
pub(crate) struct Psql {
    program: PathBuf,
    url: String,
}

impl std::fmt::Debug for Psql {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Psql").field("program", &self.program).finish_non_exhaustive()
    }
}

/// The ids behind the bench's payments, read from the database.
#[derive(Clone, Debug)]
pub(crate) struct Ids {
    pub(crate) partner_id: String,
    pub(crate) processing_id: String,
    pub(crate) customer_id: String,
    pub(crate) method_id: String,
}

impl Psql {
    pub(crate) fn new(program: PathBuf, url: String) -> Self {
        Self { program, url }
    }

    fn command(&self) -> Command {
        let mut command = Command::new(&self.program);
        command.args(["-X", "-q", "-v", "ON_ERROR_STOP=1"]).arg("-d").arg(&self.url);
        command
    }

    fn output(&self, mut command: Command, what: &str) -> anyhow::Result<String> {
        let output = command.output().with_context(|| format!("cannot run {}", self.program.display()))?;
        if !output.status.success() {
            anyhow::bail!("psql failed to {what}: {}", String::from_utf8_lossy(&output.stderr).trim());
        }
        String::from_utf8(output.stdout).with_context(|| format!("psql's answer to {what} is not UTF-8"))
    }

    /// The one-line answer of `sql`.
    pub(crate) fn value(&self, sql: &str) -> anyhow::Result<String> {
        let mut command = self.command();
        command.args(["-A", "-t", "-c", sql]);
        Ok(self.output(command, sql)?.trim().to_owned())
    }

    /// Runs `file` with psql variables `vars` (quoted by psql as `:'name'`).
    pub(crate) fn script(&self, file: &Path, vars: &[(&str, &str)]) -> anyhow::Result<()> {
        let mut command = self.command();
        for (name, value) in vars {
            command.arg("-v").arg(format!("{name}={value}"));
        }
        command.arg("-f").arg(file);
        self.output(command, &format!("run {}", file.display())).map(drop)
    }

    /// The partner, processing account, customer and method of a payment.
    pub(crate) fn parties(&self, payment_id: &str) -> anyhow::Result<Ids> {
        uuid::Uuid::parse_str(payment_id).context("the payment id is not a UUID")?;
        let row = self.value(&format!(
            "SELECT concat_ws(' ', partner_id, processing_id, customer_id, payment_method_id) \
             FROM payments.transactions WHERE id = '{payment_id}'"
        ))?;
        let ids: Vec<&str> = row.split(' ').collect();
        let [partner_id, processing_id, customer_id, method_id] = ids.as_slice() else {
            anyhow::bail!("payment {payment_id} is not stored with its parties");
        };
        Ok(Ids {
            partner_id: (*partner_id).to_owned(),
            processing_id: (*processing_id).to_owned(),
            customer_id: (*customer_id).to_owned(),
            method_id: (*method_id).to_owned(),
        })
    }

    /// Stores `rows` transactions of the bench partner (`bench-seed.sql`).
    pub(crate) fn seed(&self, file: &Path, ids: &Ids, rows: u64) -> anyhow::Result<()> {
        let rows = rows.to_string();
        self.script(
            file,
            &[
                ("rows", &rows),
                ("partner", &ids.partner_id),
                ("processing", &ids.processing_id),
                ("customer", &ids.customer_id),
                ("method", &ids.method_id),
            ],
        )
    }

    /// How many transactions the partner has in test mode.
    pub(crate) fn count_transactions(&self, partner_id: &str) -> anyhow::Result<u64> {
        uuid::Uuid::parse_str(partner_id).context("the partner id is not a UUID")?;
        let count = self.value(&format!(
            "SELECT count(*) FROM payments.transactions WHERE partner_id = '{partner_id}' AND NOT livemode"
        ))?;
        count.parse().with_context(|| format!("not a count: {count}"))
    }
}
