//! The canary: after cards and bank accounts went through the methods service (and a
//! Detokenize), no full number and no security code is anywhere in the
//! database — in any column of any table of any schema — but inside the
//! ciphertext of its own method.

use paymesh_proto::methods::v1 as pb;

use super::{Methods, bank, card, test_key};

const PANS: &[&str] = &["4242424242424242", "5555555555554444", "378282246310005"];
const CODES: &[&str] = &["737", "8431"];
const ACCOUNT: &str = "987654321012";

#[tokio::test]
async fn no_number_nor_code_is_stored_in_clear_anywhere() {
    let vault = Methods::start().await;
    let key = test_key(&vault.acme);
    let matt = vault.customer(key, "Matt Perez").await;
    let mut ids = Vec::new();
    for (number, code) in [(PANS[0], CODES[0]), (PANS[1], CODES[0]), (PANS[2], CODES[1])] {
        let mut method = card(&matt.id, number, "12/30");
        method.card.as_mut().unwrap().card_code = code.to_owned();
        method.default_payment_method = true;
        ids.push(vault.create(key, method).await.unwrap().id);
    }
    let shop = vault.recipient(key, "Corner Shop").await;
    ids.push(vault.create(key, bank(&shop.id, "021000021", ACCOUNT)).await.unwrap().id);
    let payments = vault.common.service_keys.token("payments");
    vault
        .vault()
        .detokenize(payments.request(
            Methods::scope(&vault.acme, false),
            pb::DetokenizeRequest { id: ids[0].clone(), purpose: "canary".to_owned() },
        ))
        .await
        .unwrap();

    let columns: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT table_schema::text, table_name::text, column_name::text, data_type::text \
         FROM information_schema.columns c \
         WHERE table_schema IN ('identity', 'methods') \
         AND EXISTS (SELECT 1 FROM information_schema.tables t WHERE t.table_schema = c.table_schema \
                     AND t.table_name = c.table_name AND t.table_type = 'BASE TABLE')",
    )
    .fetch_all(&vault.pool)
    .await
    .unwrap();
    assert!(columns.len() > 50, "every column of both schemas: {}", columns.len());
    let numbers: Vec<&str> = PANS.iter().copied().chain([ACCOUNT]).collect();
    let mut scanned = 0;
    for (schema, table, column, ty) in &columns {
        let col = format!("\"{schema}\".\"{table}\".\"{column}\"");
        // A number may hide inside any text; a 3- or 4-digit code only as a
        // value of its own (it could be part of a hex fingerprint by chance).
        let (number_test, code_test) = match ty.as_str() {
            "bytea" => (format!("position(convert_to($1, 'UTF8') in {col}) > 0"), None),
            "text" | "character varying" => (format!("strpos({col}, $1) > 0"), Some(format!("{col} = $1"))),
            "json" | "jsonb" => (
                format!("strpos({col}::text, $1) > 0"),
                Some(format!("strpos({col}::text, '\"' || $1 || '\"') > 0")),
            ),
            "ARRAY" => (format!("strpos({col}::text, $1) > 0"), None),
            _ => continue,
        };
        let tests = numbers
            .iter()
            .map(|n| (number_test.clone(), *n))
            .chain(code_test.iter().flat_map(|t| CODES.iter().map(move |c| (t.clone(), *c))));
        for (test, needle) in tests {
            let sql = format!("SELECT count(*) FROM \"{schema}\".\"{table}\" WHERE {test}");
            let found: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .bind(needle)
                .fetch_one(&vault.pool)
                .await
                .unwrap();
            assert_eq!(found, 0, "{needle} found in {schema}.{table}.{column}");
            scanned += 1;
        }
    }
    assert!(scanned > 100, "scanned {scanned} column × number pairs");
}
